//! `app.protocol_mismatch`: one mismatched connection is a problem; none, nothing. The
//! ending is read from the conversation (who reset it).

use tracehound_apps::auth::Mismatch;
use tracehound_flows::Dir;

use super::{check, ID};
use crate::testkit::{conv, ts, Kit};
use crate::Severity::Problem;

fn mismatch() -> Mismatch {
    Mismatch {
        flow_id: 1,
        client: "10.0.0.1:40001".parse().unwrap(),
        server: "10.0.0.2:445".parse().unwrap(),
        frame: 4,
        ts: ts(1.0),
        client_spoke: "TLS".into(),
        server_spoke: "nothing".into(),
        what: "ClientHello to a plain-text port".into(),
    }
}

#[test]
fn one_mismatch_is_a_problem() {
    let mut k = Kit::new();
    let mut c = conv(1);
    c.rst_frames = vec![(6, Dir::Resp)];
    k.convs.push(c);
    assert!(k.run(check).is_empty());
    k.apps.auth.mismatches.push(mismatch());
    let v = k.run(check);
    assert_eq!(v.iter().map(|f| (f.id, f.severity)).collect::<Vec<_>>(), [(ID, Problem)]);
    assert!(v[0].evidence.lines[0].contains("the server reset the connection (frame 6)"));
    assert_eq!(v[0].evidence.frames, [4, 6]);
}

#[test]
fn each_connection_counts_and_each_kind_is_named_once() {
    let mut k = Kit::new();
    let mut c = conv(1);
    c.rst_frames = vec![(6, Dir::Orig)];
    k.convs.push(c);
    let second = Mismatch { flow_id: 2, frame: 14, ..mismatch() };
    k.apps.auth.mismatches = vec![mismatch(), second];
    let v = k.run(check);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].evidence.values["connections"], 2);
    assert_eq!(v[0].evidence.values["kinds"], serde_json::json!(["TLS to port 445"]));
    assert!(v[0].evidence.lines[0].ends_with("the client reset the connection (frame 6)"));
    assert!(v[0].evidence.lines[1].ends_with("the connection ended"), "flow 2 was not kept");
}

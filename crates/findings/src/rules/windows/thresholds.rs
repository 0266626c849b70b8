//! `windows.packet_dropped` at its numbers: one finding per component and reason; a problem
//! when a dropped flow is a conversation of the capture with packets beyond the dropped ones
//! (either way round), else a warning; nothing without a Windows trace.

use tracehound_flows::Proto;

use super::{check, WindowsDrop, WindowsFacts, ID};
use crate::testkit::{conv, Kit};
use crate::FlowRef;
use crate::Severity::{self, Problem, Warning};

fn dropped(reason: u32, flow: Option<FlowRef>) -> WindowsDrop {
    WindowsDrop {
        ts: 1.5,
        component: "TCPIP (component 10)".into(),
        component_id: 10,
        reason,
        reason_name: format!("INET_{reason}"),
        location: 0xE000_4500,
        direction: "inbound",
        flow,
        orig_len: 60,
    }
}

/// The flow of conversation 1, as the dropped packet's headers name it.
fn conv_flow(reversed: bool) -> FlowRef {
    let c = conv(1);
    if reversed {
        FlowRef::new(Proto::Tcp, c.info.resp, c.info.orig)
    } else {
        FlowRef::of(&c)
    }
}

/// `drops` dropped packets of conversation 1, which has `packets` packets in all.
fn sev(drops: Vec<WindowsDrop>, packets: u64) -> Vec<Severity> {
    let mut k = Kit::new();
    let mut c = conv(1);
    c.dirs[0].packets = packets;
    c.dirs[1].packets = 0;
    k.convs.push(c);
    let n = drops.len() as u64;
    k.capture.windows = Some(WindowsFacts { drops, drops_total: n });
    k.sev(check, ID)
}

#[test]
fn nothing_without_a_windows_trace_or_a_drop() {
    let mut k = Kit::new();
    assert!(k.run(check).is_empty());
    assert!(sev(vec![], 10).is_empty());
}

#[test]
fn a_problem_when_the_conversation_had_more_than_the_drops() {
    let d = || vec![dropped(1204, Some(conv_flow(false))), dropped(1204, Some(conv_flow(false)))];
    assert_eq!(sev(d(), 2), [Warning], "the conversation is made of the dropped packets only");
    assert_eq!(sev(d(), 3), [Problem]);
    assert_eq!(sev(vec![dropped(1204, Some(conv_flow(true)))], 2), [Problem], "either way round");
    assert_eq!(sev(vec![dropped(1204, None)], 10), [Warning], "no flow decoded");
}

#[test]
fn one_finding_per_component_and_reason() {
    let v = sev(vec![dropped(1204, None), dropped(1204, None), dropped(25, None)], 10);
    assert_eq!(v, [Warning, Warning]);
}

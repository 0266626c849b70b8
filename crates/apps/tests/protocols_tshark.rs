//! HTTP, SMB2 and DNS as read by this crate agree with tshark on real captures
//! (/work/shared/captures, see SOURCES.md; lab captures from lab/net).

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use tracehound_apps::{AppProto, DnsOutcome};

fn http_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = [
        "tcp/zeek__http-on-irc-port-missing-syn.pcapng",
        "tcp/zeek__miss_end_data.pcap",
        "tcp/zeek__missing-syn.pcap",
        "tcp/zeek__no-handshake.pcap",
        "tcp/zeek__options.pcap",
        "tcp/zeek__payload-syn.pcap",
        "tcp/zeek__qi_internet_SYNACK_curl_jsonip.pcap",
        "tcp/zeek__tcp-fast-open.pcap",
    ]
    .iter()
    .map(|p| common::shared(p))
    .collect();
    v.push(common::lab("net-healthy.pcap"));
    v.push(common::lab("net-slow-responder.pcap"));
    v
}

#[test]
fn http_requests_and_statuses_match_tshark() {
    let mut n = 0;
    for cap in http_captures() {
        let (r, _) = common::run(&cap);
        let mut reqs: Vec<(u64, String)> = Vec::new();
        let mut statuses: Vec<(u64, String)> = Vec::new();
        for t in r.transactions.iter().filter(|t| t.proto == AppProto::Http) {
            assert_eq!(t.not_sampled, 0);
            for x in &t.samples {
                reqs.push((x.request_frame, x.request.to_string()));
                if let Some(s) = &x.status {
                    statuses.push((x.response_frame.unwrap(), s.to_string()));
                }
            }
        }
        reqs.sort();
        statuses.sort();
        let want: Vec<(u64, String)> =
            common::tshark(&cap, "http.request", &["http.request.method", "http.request.uri"])
                .into_iter()
                .map(|(f, v)| (f, format!("{} {}", v[0], v[1])))
                .collect();
        assert_eq!(reqs, want, "{}", cap.display());
        // tshark shows a response in the frame that completes it, we note its first byte
        let codes: Vec<String> = common::tshark(&cap, "http.response", &["http.response.code"])
            .into_iter()
            .map(|x| x.1[0].clone())
            .collect();
        assert_eq!(
            statuses.iter().map(|s| s.1.clone()).collect::<Vec<_>>(),
            codes,
            "{}",
            cap.display()
        );
        n += reqs.len();
    }
    assert!(n >= 20, "{n} requests compared");
}

/// SMB2 headers: every request (but CANCEL) and every final response (not the interim
/// STATUS_PENDING) that tshark shows, with the same message id, command and NTSTATUS.
#[test]
fn smb2_matches_tshark() {
    let dir = common::shared("dcerpc");
    let mut caps: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    caps.push(common::lab("rpc-smb-pipe.pcap"));
    caps.push(common::lab("rpc-healthy-mixed.pcap"));
    caps.sort();
    let mut compared = 0;
    let mut files = 0;
    for cap in caps {
        let t = common::tshark(
            &cap,
            "smb2 && !tcp.analysis.retransmission",
            &[
                "smb2.flags.response",
                "smb2.msg_id",
                "smb2.cmd",
                "smb2.nt_status",
                "smb2.flags.async",
            ],
        );
        if t.is_empty() {
            continue;
        }
        let (r, _) = common::run(&cap);
        let mut want_req = 0u64;
        let mut want_resp: BTreeMap<(u64, String), Vec<String>> = BTreeMap::new();
        for (_, v) in &t {
            let resp: Vec<&str> = v[0].split(',').collect();
            let ids: Vec<&str> = v[1].split(',').collect();
            let cmds: Vec<&str> = v[2].split(',').collect();
            let sts: Vec<&str> = v[3].split(',').collect();
            let asy: Vec<&str> = v[4].split(',').collect();
            for i in 0..ids.len() {
                let cmd: u16 = cmds[i].parse().unwrap();
                if resp[i] == "0" || resp[i] == "False" {
                    if cmd != 12 {
                        want_req += 1;
                    }
                } else {
                    let st = u32::from_str_radix(sts[i].trim_start_matches("0x"), 16).unwrap();
                    if st == 0x103 && (asy[i] == "1" || asy[i] == "True") {
                        continue;
                    }
                    let id: u64 = ids[i].parse().unwrap();
                    want_resp
                        .entry((id, tracehound_apps::smb2::command_name(cmd).into_owned()))
                        .or_default()
                        .push(tracehound_apps::smb2::status_name(st).into_owned());
                }
            }
        }
        let smb: Vec<_> = r.transactions.iter().filter(|t| t.proto == AppProto::Smb2).collect();
        let requests: u64 = smb.iter().map(|t| t.requests).sum();
        assert_eq!(requests, want_req, "{}: requests", cap.display());
        let answered: u64 = smb.iter().map(|t| t.answered + t.orphan_responses).sum();
        let want_n: usize = want_resp.values().map(Vec::len).sum();
        assert_eq!(answered as usize, want_n, "{}: responses", cap.display());
        for t in &smb {
            for x in t.samples.iter().filter(|x| x.response_frame.is_some()) {
                // message ids are per connection, tshark's list is per file
                let sts = want_resp.get(&(x.id.unwrap(), x.request.to_string()));
                assert!(
                    sts.is_some_and(|s| s.iter().any(|v| Some(v.as_str()) == x.status.as_deref())),
                    "{}: {:?} {} {:?} not in tshark's responses",
                    cap.display(),
                    x.id,
                    x.request,
                    x.status
                );
                compared += 1;
            }
        }
        files += 1;
    }
    assert!(files >= 8 && compared >= 100, "{files} files, {compared} responses compared");
}

/// DNS queries and responses: same frames, ids, names, rcodes and answer counts as tshark.
#[test]
fn dns_matches_tshark() {
    let mut n = 0;
    // lab/net captures (a python DNS server) and Samba's internal DNS server, over UDP and
    // TCP (tests/fixtures/dns-samba.pcap, made by tests/fixtures/make-samba-fixtures.sh)
    let own =
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dns-samba.pcap"))
            .to_path_buf();
    assert!(own.exists(), "{} missing", own.display());
    let mut tcp = 0;
    for cap in [common::lab("net-dns-failure.pcap"), common::lab("net-healthy.pcap"), own] {
        let name = cap.display().to_string();
        let (r, _) = common::run(&cap);
        let t = common::tshark(
            &cap,
            "dns",
            &[
                "dns.flags.response",
                "dns.id",
                "dns.qry.name",
                "dns.flags.rcode",
                "dns.count.answers",
            ],
        );
        let mut queries: Vec<(u64, String)> = Vec::new();
        let mut responses: Vec<(u64, String)> = Vec::new();
        for (f, v) in &t {
            let id = u16::from_str_radix(v[1].trim_start_matches("0x"), 16).unwrap();
            if v[0] == "0" || v[0] == "False" {
                queries.push((*f, format!("{id} {}", v[2])));
            } else {
                responses.push((*f, format!("{id} {} {} {}", v[2], v[3], v[4])));
            }
        }
        let mut oq: Vec<(u64, String)> = Vec::new();
        let mut or: Vec<(u64, String)> = Vec::new();
        for q in &r.dns {
            if let Some(f) = q.query_frame {
                oq.push((f, format!("{} {}", q.id, q.name)));
            }
            for f in &q.retransmit_frames {
                oq.push((*f, format!("{} {}", q.id, q.name)));
            }
            if let Some(f) = q.response_frame {
                or.push((
                    f,
                    format!("{} {} {} {}", q.id, q.name, q.rcode.unwrap(), q.answers.unwrap()),
                ));
            }
            assert!(q.outcome != DnsOutcome::ResponseOnly);
            if q.transport == tracehound_flows::Proto::Tcp {
                tcp += 1;
            }
        }
        oq.sort();
        or.sort();
        assert_eq!(oq, queries, "{name}: queries");
        assert_eq!(or, responses, "{name}: responses");
        n += oq.len() + or.len();
    }
    assert!(n >= 24, "{n}");
    assert_eq!(tcp, 2, "DNS over TCP queries");
}

/// LDAP against a real Samba AD DC (tests/fixtures/ldap-samba.pcap, made by
/// tests/fixtures/make-samba-fixtures.sh): requests, message ids and result codes as tshark reads
/// them (a search's entries and its searchResDone in one frame included).
#[test]
fn ldap_matches_tshark() {
    let cap = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ldap-samba.pcap"
    ));
    assert!(cap.exists(), "{} missing (run tests/fixtures/make-samba-fixtures.sh)", cap.display());
    let (r, _) = common::run(cap);
    let t = common::tshark(cap, "ldap", &["ldap.messageID", "ldap.protocolOp", "ldap.resultCode"]);
    let mut want_req = Vec::new();
    let mut want_resp = Vec::new();
    for (f, v) in &t {
        let ids: Vec<&str> = v[0].split(',').collect();
        let ops: Vec<&str> = v[1].split(',').collect();
        let mut rcs = v[2].split(',').filter(|s| !s.is_empty());
        for (id, op) in ids.iter().zip(&ops) {
            let op: u8 = op.parse().unwrap();
            let id: u64 = id.parse().unwrap();
            if tracehound_apps::ldap::is_request(op) {
                want_req.push((*f, id, tracehound_apps::ldap::op_name(op)));
            } else if tracehound_apps::ldap::is_response(op) {
                let rc: u32 = rcs.next().unwrap().parse().unwrap();
                want_resp.push((id, tracehound_apps::ldap::result_name(rc)));
            }
        }
    }
    let mut req = Vec::new();
    let mut resp = Vec::new();
    for x in
        r.transactions.iter().filter(|t| t.proto == AppProto::Ldap).flat_map(|t| t.samples.iter())
    {
        req.push((x.request_frame, x.id.unwrap(), x.request.clone()));
        resp.push((x.id.unwrap(), x.status.clone().unwrap()));
    }
    req.sort();
    assert_eq!(req, want_req);
    assert_eq!(resp.len(), want_resp.len());
    for x in &resp {
        assert!(want_resp.contains(x), "{x:?} not in {want_resp:?}");
    }
    assert!(resp.iter().any(|x| x.1 == "operationsError") && resp.iter().any(|x| x.1 == "success"));
    assert!(r.issues.is_empty(), "{:?}", r.issues);
}

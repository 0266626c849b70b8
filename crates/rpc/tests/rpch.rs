//! RPC over HTTP v2 (ncacn_http, MS-RPCH) lab captures, made by lab/rpch/rpch-tunnel.sh:
//! impacket's real ncacn_http client through lab/rpch/rpch_proxy.py (an RPC proxy peer
//! speaking the RTS exchange) to a real Samba AD DC's endpoint mapper.
//! - rpch-http.pcap: two virtual connections over plain HTTP (port 80): ept_lookup x2, an
//!   opnum EPM lacks (fault), then ept_map for SAMR.
//! - rpch-denied.pcap: the proxy answers CONN/A1 with "503 RPC Error: 6ba".
//!
//! tshark reads the DCE/RPC inside with HTTP disabled and TCP heuristics first (its HTTP
//! dissector treats the channel bodies as "Continuation"); the calls must agree with it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;

use tracehound_rpc::Outcome;

fn fixture(name: &str) -> PathBuf {
    let p =
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab")).join(name);
    assert!(p.is_file(), "lab fixture missing: {}", p.display());
    p
}

/// tshark's reading of the DCE/RPC PDUs in `pcap` (HTTP off, TCP heuristics first):
/// (frame, tcp stream, packet type, opnum, call_id, destination port) per PDU.
fn tshark_pdus(pcap: &str) -> Vec<(u64, u64, u8, Option<u16>, u32, u16)> {
    let out = common::tshark(&[
        "-r",
        pcap,
        "--disable-protocol",
        "http",
        "-o",
        "tcp.try_heuristic_first:TRUE",
        "-Y",
        "dcerpc",
        "-T",
        "fields",
        "-E",
        "occurrence=f",
        "-e",
        "frame.number",
        "-e",
        "tcp.stream",
        "-e",
        "dcerpc.pkt_type",
        "-e",
        "dcerpc.opnum",
        "-e",
        "dcerpc.cn_call_id",
        "-e",
        "tcp.dstport",
    ]);
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().ok(),
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn http_tunnel_calls_match_tshark() {
    let pcap = fixture("rpch-http.pcap");
    let run = common::run(&pcap);
    let pdus = tshark_pdus(pcap.to_str().unwrap());
    // Requests: tshark's request PDUs (type 0) are our calls, frame by frame.
    let theirs: Vec<(u64, u16)> =
        pdus.iter().filter(|p| p.2 == 0).map(|p| (p.0, p.3.unwrap())).collect();
    let ours: Vec<(u64, u16)> =
        run.calls.iter().filter_map(|c| Some((c.frame, c.opnum?))).collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 4, "ept_lookup x2, opnum 99, ept_map");
    // Each response is the last response/fault PDU tshark sees with the call's call_id on
    // another TCP stream (the OUT channel) after the request and before the next request
    // with that call_id (the second virtual connection starts again at call_id 1).
    for c in &run.calls {
        let req = pdus.iter().find(|p| p.0 == c.frame).unwrap();
        let next = pdus.iter().find(|p| p.0 > req.0 && p.2 == 0 && p.4 == req.4);
        let resp = pdus
            .iter()
            .filter(|p| p.0 > c.frame && matches!(p.2, 2 | 3) && p.4 == req.4 && p.1 != req.1)
            .rfind(|p| next.is_none_or(|n| p.0 < n.0))
            .unwrap();
        assert_eq!(c.response_frame, Some(resp.0), "call at frame {}", c.frame);
        assert_eq!(c.tunnel.as_ref().unwrap().out_sport, Some(resp.5), "OUT channel port");
        assert_eq!(c.outcome == Outcome::Fault, resp.2 == 3, "call at frame {}", c.frame);
        assert!(c.rtt.unwrap() > 0.0);
        let t = c.tunnel.as_ref().expect("tagged as ncacn_http");
        assert_eq!((t.transport, t.target.as_deref()), ("ncacn_http", Some("10.101.1.20:593")));
        assert_ne!(t.out_sport, Some(c.sport), "responses came on the OUT channel");
        // The call belongs to the IN channel's conversation (where the request went).
        let conv = run.convs.iter().find(|v| Some(v.info.id) == c.flow).unwrap();
        assert_eq!(conv.info.orig.port(), c.sport);
    }
    // Two virtual connections (two cookies); the fault is nca_s_op_rng_error.
    let cookies: std::collections::BTreeSet<_> =
        run.calls.iter().map(|c| c.tunnel.as_ref().unwrap().cookie.clone()).collect();
    assert_eq!(cookies.len(), 2);
    let fault = run.calls.iter().find(|c| c.opnum == Some(99)).unwrap();
    assert_eq!(fault.status.as_deref(), Some("nca_s_op_rng_error"));
    let map = run.calls.iter().find(|c| c.opnum == Some(3)).unwrap();
    assert_eq!(map.endpoints[0].port, Some(49154));
    assert!(run.report.issues.is_empty(), "{:?}", run.report.issues);
}

#[test]
fn proxy_refusal_said_in_plain_words() {
    let pcap = fixture("rpch-denied.pcap");
    let run = common::run(&pcap);
    assert!(run.calls.is_empty());
    // tshark: the OUT channel's answer is HTTP 503 after CONN/A1 (RTS, type 20).
    let http = common::tshark(&[
        "-r",
        pcap.to_str().unwrap(),
        "-Y",
        "http.response.code >= 400",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "http.response.code",
    ]);
    let last = http.lines().last().unwrap().split('\t').collect::<Vec<_>>();
    assert_eq!(last[1], "503");
    let what: Vec<String> =
        run.report.issues.iter().map(|i| format!("{} {}", i.frame, i.what)).collect();
    assert_eq!(
        what,
        [format!("{} ncacn_http: RPC_OUT_DATA 10.101.1.20:593: the RPC proxy answered HTTP 503 RPC Error: 6ba to CONN/A1, no CONN/A3: the RPC proxy refused the target or could not reach it (ValidPorts, server down)", last[0])]
    );
}

// ---- awkward paths, with PDUs built by the codec (the real exchange is checked above) ----

use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};
use tracehound_rpc::ndr::Drep;
use tracehound_rpc::pdu::rts::{self, Command, Cookie};
use tracehound_rpc::pdu::{Body, Repr, Request, Response};
use tracehound_rpc::RpcAnalyzer;

fn chan(id: u64, port: u16) -> FlowInfo {
    FlowInfo {
        id,
        proto: Proto::Tcp,
        orig: format!("10.0.0.1:{port}").parse().unwrap(),
        resp: "10.0.0.2:443".parse().unwrap(),
    }
}

fn head(method: &str, len: u64) -> Vec<u8> {
    format!("{method} /rpc/rpcproxy.dll?exch01:6001 HTTP/1.1\r\nContent-Length: {len}\r\n\r\n")
        .into_bytes()
}

fn a1(vc: u8) -> Vec<u8> {
    rts::Repr::new(
        0,
        vec![
            Command::Version(1),
            Command::Cookie(Cookie([vc; 16])),
            Command::Cookie(Cookie([0xa; 16])),
            Command::ReceiveWindowSize(65536),
        ],
    )
    .emit()
}

fn b1(vc: u8) -> Vec<u8> {
    rts::Repr::new(
        0,
        vec![
            Command::Version(1),
            Command::Cookie(Cookie([vc; 16])),
            Command::Cookie(Cookie([0xb; 16])),
            Command::ChannelLifetime(1 << 30),
            Command::ClientKeepalive(300_000),
            Command::AssociationGroupId(Cookie([0xc; 16])),
        ],
    )
    .emit()
}

fn a3_c2() -> Vec<u8> {
    let a3 = rts::Repr::new(0, vec![Command::ConnectionTimeout(120_000)]);
    let c2 = rts::Repr::new(
        0,
        vec![
            Command::Version(1),
            Command::ReceiveWindowSize(65536),
            Command::ConnectionTimeout(120_000),
        ],
    );
    [a3.emit(), c2.emit()].concat()
}

fn issues(an: RpcAnalyzer) -> Vec<String> {
    an.finish().issues.into_iter().map(|i| i.what).collect()
}

#[test]
fn channels_paired_across_segments_split_anywhere() {
    let (inn, out) = (chan(1, 50000), chan(2, 50001));
    let req = Repr::new(
        7,
        Drep::LE,
        Body::Request(Request { opnum: 4, stub: vec![0; 16], ..Default::default() }),
    )
    .emit();
    let resp =
        Repr::new(7, Drep::LE, Body::Response(Response { stub: vec![0; 8], ..Default::default() }))
            .emit();
    let in_bytes = [head("RPC_IN_DATA", 1 << 30), b1(1), req].concat();
    let out_bytes = [head("RPC_OUT_DATA", 76), a1(1)].concat();
    let out_resp =
        [b"HTTP/1.1 200 Success\r\nContent-Length: 1073741824\r\n\r\n".to_vec(), a3_c2(), resp]
            .concat();
    for cut in [1, 13, 60, 100, 150] {
        let mut an = RpcAnalyzer::default();
        let t = |ms: i64| Timestamp(ms * 1_000_000);
        let c = cut.min(in_bytes.len());
        an.tcp_data(&inn, Dir::Orig, 0, &in_bytes[..c], 1, t(1));
        an.tcp_data(&inn, Dir::Orig, c as u64, &in_bytes[c..], 2, t(2));
        an.tcp_data(&out, Dir::Orig, 0, &out_bytes, 3, t(3));
        let c = cut.min(out_resp.len());
        an.tcp_data(&out, Dir::Resp, 0, &out_resp[..c], 4, t(4));
        an.tcp_data(&out, Dir::Resp, c as u64, &out_resp[c..], 5, t(9));
        let calls = an.take_calls();
        assert_eq!(calls.len(), 1, "cut {cut}");
        assert_eq!(
            (calls[0].opnum, calls[0].sport, calls[0].response_frame),
            (Some(4), 50000, Some(5))
        );
        assert_eq!(calls[0].rtt, Some(0.007));
        let tun = calls[0].tunnel.as_ref().unwrap();
        assert_eq!((tun.target.as_deref(), tun.out_sport), (Some("exch01:6001"), Some(50001)));
        assert!(issues(an).is_empty());
    }
}

#[test]
fn channel_failures_in_plain_words() {
    // IN channel alone: B1, then a request that can never meet its response.
    let mut an = RpcAnalyzer::default();
    let inn = chan(1, 50000);
    an.tcp_data(
        &inn,
        Dir::Orig,
        0,
        &[head("RPC_IN_DATA", 1 << 30), b1(1)].concat(),
        1,
        Timestamp(0),
    );
    an.tcp_end(&inn, Timestamp(0));
    let got = issues(an);
    assert_eq!(got, ["ncacn_http: RPC_IN_DATA exch01:6001: CONN/B1 sent (frame 1) but no OUT channel (RPC_OUT_DATA) of this virtual connection in the capture: no response can be matched"]);

    // OUT channel: CONN/A3 but no CONN/C2.
    let mut an = RpcAnalyzer::default();
    let out = chan(2, 50001);
    an.tcp_data(&out, Dir::Orig, 0, &[head("RPC_OUT_DATA", 76), a1(2)].concat(), 1, Timestamp(0));
    let resp =
        [b"HTTP/1.1 200 Success\r\nContent-Length: 1073741824\r\n\r\n".to_vec(), a3_c2()].concat();
    an.tcp_data(&out, Dir::Resp, 0, &resp[..resp.len() - 44], 2, Timestamp(0));
    let got = issues(an);
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("CONN/A3 received (frame 2) but no CONN/C2"), "{got:?}");

    // 401 as the last answer to RPC_IN_DATA: the client gave up.
    let mut an = RpcAnalyzer::default();
    an.tcp_data(&inn, Dir::Orig, 0, &head("RPC_IN_DATA", 0), 1, Timestamp(0));
    an.tcp_data(
        &inn,
        Dir::Resp,
        0,
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
        2,
        Timestamp(0),
    );
    let got = issues(an);
    assert_eq!(got, ["ncacn_http: RPC_IN_DATA exch01:6001: the RPC proxy answered HTTP 401 Unauthorized: the proxy did not accept the credentials (authentication failed)"]);

    // A gap in a channel: said once, the rest of that direction is not read.
    let mut an = RpcAnalyzer::default();
    an.tcp_data(&out, Dir::Orig, 0, &head("RPC_OUT_DATA", 76), 1, Timestamp(0));
    an.tcp_gap(&out, Dir::Orig, 60, 10, 2, Timestamp(0));
    an.tcp_data(&out, Dir::Orig, 70, &a1(3)[10..], 3, Timestamp(0));
    let got = issues(an);
    assert!(got[0].starts_with("ncacn_http: 10 bytes missing at stream offset 60"), "{got:?}");
    assert_eq!(got.len(), 1, "{got:?}");
}

#[test]
fn direct_leg_to_port_593_pairs_conn_b2_and_a2() {
    // The proxy-to-server leg (MS-RPCH 3.2.3/3.2.5): the server greets with the legacy
    // banner on both connections; the proxy opens the IN side with CONN/B2 and the OUT side
    // with CONN/A2 (same cookie); requests go on IN, responses come on OUT.
    let server = |id: u64, port: u16| FlowInfo {
        id,
        proto: Proto::Tcp,
        orig: format!("10.0.0.5:{port}").parse().unwrap(),
        resp: "10.0.0.9:593".parse().unwrap(),
    };
    let (inn, out) = (server(1, 40000), server(2, 40001));
    let vc = Cookie([7; 16]);
    let b2 = rts::Repr::new(
        rts::rts_flags::IN_CHANNEL,
        vec![
            Command::Version(1),
            Command::Cookie(vc),
            Command::Cookie(Cookie([8; 16])),
            Command::ReceiveWindowSize(65536),
            Command::ConnectionTimeout(120_000),
            Command::AssociationGroupId(Cookie([9; 16])),
            Command::ClientAddress("10.0.0.1".parse().unwrap()),
        ],
    )
    .emit();
    let a2 = rts::Repr::new(
        rts::rts_flags::OUT_CHANNEL,
        vec![
            Command::Version(1),
            Command::Cookie(vc),
            Command::Cookie(Cookie([6; 16])),
            Command::ChannelLifetime(1 << 30),
            Command::ReceiveWindowSize(65536),
        ],
    )
    .emit();
    let req = Repr::new(
        3,
        Drep::LE,
        Body::Request(Request { opnum: 1, stub: vec![0; 8], ..Default::default() }),
    )
    .emit();
    let resp =
        Repr::new(3, Drep::LE, Body::Response(Response { stub: vec![0; 8], ..Default::default() }))
            .emit();
    let mut an = RpcAnalyzer::default();
    let ts = |ms: i64| Timestamp(ms * 1_000_000);
    an.tcp_data(&inn, Dir::Resp, 0, b"ncacn_http/1.0", 1, ts(1));
    an.tcp_data(&out, Dir::Resp, 0, b"ncacn_http/1.0", 2, ts(2));
    an.tcp_data(&out, Dir::Orig, 0, &a2, 3, ts(3));
    an.tcp_data(&inn, Dir::Orig, 0, &[b2, req].concat(), 4, ts(4));
    an.tcp_data(&out, Dir::Resp, 14, &resp, 5, ts(6));
    let calls = an.take_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].sport, calls[0].response_frame, calls[0].rtt),
        (40000, Some(5), Some(0.002))
    );
    let t = calls[0].tunnel.as_ref().unwrap();
    assert_eq!((t.target.as_deref(), t.out_sport), (Some("10.0.0.9:593"), Some(40001)));
    assert!(issues(an).is_empty());
}

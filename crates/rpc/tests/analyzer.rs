//! The awkward stream paths, fed straight into the analyzer's StreamHandler: PDUs split over
//! segments, several per segment, fragments, interleaved calls, mid-stream start, gaps, both
//! byte orders, malformed PDUs. PDUs are built with our own emitter (pdu::Repr).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};
use tracehound_rpc::ndr::Drep;
use tracehound_rpc::pdu::{
    flags, Bind, BindAck, BindNak, Body, Context, CtxResult, Fault, Repr, Request, Response, Syntax,
};
use tracehound_rpc::uuid::Uuid;
use tracehound_rpc::{Call, Outcome, RpcAnalyzer, RpcReport};

const IFACE: Uuid = Uuid::from_str_const("12345778-1234-abcd-ef00-0123456789ac");

fn flow() -> FlowInfo {
    FlowInfo {
        id: 7,
        proto: Proto::Tcp,
        orig: "10.0.0.1:50000".parse().unwrap(),
        resp: "10.0.0.2:49700".parse().unwrap(),
    }
}

fn bind(call_id: u32, drep: Drep) -> Vec<u8> {
    let ctx = Context {
        id: 0,
        abstract_syntax: Syntax { uuid: IFACE, ver_major: 1, ver_minor: 0 },
        transfer_syntaxes: vec![Syntax::NDR],
    };
    Repr::new(call_id, drep, Body::Bind(Bind { contexts: vec![ctx], ..Default::default() })).emit()
}
fn bind_ack(call_id: u32, drep: Drep, result: u16) -> Vec<u8> {
    Repr::new(
        call_id,
        drep,
        Body::BindAck(BindAck {
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group: 1,
            sec_addr: b"49700".to_vec(),
            results: vec![CtxResult {
                result,
                reason: if result == 0 { 0 } else { 1 },
                transfer_syntax: Syntax::NDR,
            }],
        }),
    )
    .emit()
}
fn request(call_id: u32, drep: Drep, opnum: u16, stub: usize, fl: u8) -> Vec<u8> {
    let mut r = Repr::new(
        call_id,
        drep,
        Body::Request(Request {
            opnum,
            stub: vec![0xab; stub],
            alloc_hint: 0,
            ..Default::default()
        }),
    );
    r.flags = fl;
    r.emit()
}
fn response(call_id: u32, drep: Drep, stub: usize, fl: u8) -> Vec<u8> {
    let mut r = Repr::new(
        call_id,
        drep,
        Body::Response(Response { stub: ok_stub(stub), ..Default::default() }),
    );
    r.flags = fl;
    r.emit()
}
const SINGLE: u8 = flags::FIRST_FRAG | flags::LAST_FRAG;

/// A response stub of `n` filler bytes ending, like every SAMR answer, in its NTSTATUS return
/// value: STATUS_SUCCESS (0), so the call's outcome is `ok` (a non-zero error status there
/// would make it `error`).
fn ok_stub(n: usize) -> Vec<u8> {
    let mut s = vec![0xcd; n];
    let tail = n.saturating_sub(4);
    s[tail..].fill(0);
    s
}

/// Feeds (dir, bytes) segments, one frame each (numbered from 1, 1 ms apart).
struct Feed {
    an: RpcAnalyzer,
    off: [u64; 2],
    frame: u64,
}
impl Feed {
    fn new() -> Feed {
        Feed { an: RpcAnalyzer::default(), off: [0, 0], frame: 0 }
    }
    fn seg(&mut self, dir: Dir, data: &[u8]) -> u64 {
        self.frame += 1;
        let ts = Timestamp(1_000_000 * self.frame as i64);
        self.an.tcp_data(&flow(), dir, self.off[dir.idx()], data, self.frame, ts);
        self.off[dir.idx()] += data.len() as u64;
        self.frame
    }
    fn gap(&mut self, dir: Dir, len: u64) {
        self.frame += 1;
        self.an.tcp_gap(
            &flow(),
            dir,
            self.off[dir.idx()],
            len,
            self.frame,
            Timestamp(1_000_000 * self.frame as i64),
        );
        self.off[dir.idx()] += len;
    }
    fn done(mut self) -> (Vec<Call>, RpcReport) {
        let mut calls = self.an.take_calls();
        self.an.tcp_end(&flow(), Timestamp(0));
        let r = self.an.finish();
        calls.extend(r.calls.iter().cloned());
        (calls, r)
    }
}

/// The report has an issue at `frame` whose text contains `text`.
#[track_caller]
fn assert_issue(r: &RpcReport, frame: u64, text: &str) {
    assert!(r.issues.iter().any(|i| i.frame == frame && i.what.contains(text)), "{:?}", r.issues);
}

fn bound(drep: Drep) -> Feed {
    let mut f = Feed::new();
    f.seg(Dir::Orig, &bind(1, drep));
    f.seg(Dir::Resp, &bind_ack(1, drep, 0));
    f
}

#[test]
fn pdu_split_across_segments() {
    let mut f = Feed::new();
    let mut all = bind(1, Drep::LE);
    all.extend(request(2, Drep::LE, 13, 100, SINGLE));
    // The bind_ack split in 3, the request byte by byte.
    let ack = bind_ack(1, Drep::LE, 0);
    f.seg(Dir::Orig, &all[..bind(1, Drep::LE).len()]);
    f.seg(Dir::Resp, &ack[..7]);
    f.seg(Dir::Resp, &ack[7..30]);
    f.seg(Dir::Resp, &ack[30..]);
    let req = &all[bind(1, Drep::LE).len()..];
    let mut last = 0;
    for b in req {
        last = f.seg(Dir::Orig, std::slice::from_ref(b));
    }
    let resp_frame = f.seg(Dir::Resp, &response(2, Drep::LE, 40, SINGLE));
    let (calls, r) = f.done();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let c = &calls[0];
    assert_eq!(c.frame, last, "the request is logged in the frame that completed it");
    assert_eq!((c.opnum, c.outcome, c.response_frame), (Some(13), Outcome::Ok, Some(resp_frame)));
    assert_eq!(c.uuid.as_deref(), Some("12345778-1234-abcd-ef00-0123456789ac"));
    assert_eq!(c.request_bytes, req.len() as u64);
    assert!(r.issues.is_empty(), "{:?}", r.issues);
}

#[test]
fn several_pdus_in_one_segment() {
    let mut f = Feed::new();
    let mut seg = bind(1, Drep::LE);
    for id in 2..5 {
        seg.extend(request(id, Drep::LE, id as u16, 8, SINGLE));
    }
    let fr = f.seg(Dir::Orig, &seg);
    let mut back = bind_ack(1, Drep::LE, 0);
    for id in 2..5 {
        back.extend(response(id, Drep::LE, 4, SINGLE));
    }
    let rf = f.seg(Dir::Resp, &back);
    let (calls, _) = f.done();
    let got: Vec<_> =
        calls.iter().map(|c| (c.frame, c.opnum, c.outcome, c.response_frame)).collect();
    assert_eq!(
        got,
        vec![
            (fr, Some(2), Outcome::Ok, Some(rf)),
            (fr, Some(3), Outcome::Ok, Some(rf)),
            (fr, Some(4), Outcome::Ok, Some(rf))
        ]
    );
}

#[test]
fn multi_fragment_request_and_response() {
    let mut f = bound(Drep::LE);
    let parts = [
        request(5, Drep::LE, 9, 1000, flags::FIRST_FRAG),
        request(5, Drep::LE, 9, 1000, 0),
        request(5, Drep::LE, 9, 500, flags::LAST_FRAG),
    ];
    let first = f.seg(Dir::Orig, &parts[0]);
    f.seg(Dir::Orig, &parts[1]);
    f.seg(Dir::Orig, &parts[2]);
    f.seg(Dir::Resp, &response(5, Drep::LE, 2000, flags::FIRST_FRAG));
    let last = f.seg(Dir::Resp, &response(5, Drep::LE, 10, flags::LAST_FRAG));
    let (calls, _) = f.done();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!((c.frame, c.response_frame, c.outcome), (first, Some(last), Outcome::Ok));
    assert_eq!(c.request_bytes, parts.iter().map(|p| p.len() as u64).sum::<u64>());
    assert!((c.rtt.unwrap() - (last - first) as f64 * 1e-3).abs() < 1e-9);
}

#[test]
fn interleaved_calls_match_by_call_id() {
    let mut f = bound(Drep::LE);
    let a = f.seg(Dir::Orig, &request(10, Drep::LE, 1, 8, SINGLE));
    let b = f.seg(Dir::Orig, &request(11, Drep::LE, 2, 8, SINGLE));
    let rb = f.seg(Dir::Resp, &response(11, Drep::LE, 8, SINGLE));
    let fault =
        Repr::new(10, Drep::LE, Body::Fault(Fault { status: 0x1c01_0002, ..Default::default() }))
            .emit();
    let ra = f.seg(Dir::Resp, &fault);
    let (calls, _) = f.done();
    let mut got: Vec<_> = calls
        .iter()
        .map(|c| (c.frame, c.opnum, c.outcome, c.response_frame, c.status_code))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (a, Some(1), Outcome::Fault, Some(ra), Some(0x1c01_0002)),
            (b, Some(2), Outcome::Ok, Some(rb), None)
        ]
    );
}

#[test]
fn mid_stream_start_resyncs() {
    // The capture starts 10 bytes into a request: the rest of it is skipped, the next PDUs
    // are found. Without the bind the interface is unknown (null).
    let mut f = Feed::new();
    let mut seg = request(1, Drep::LE, 3, 50, SINGLE)[10..].to_vec();
    seg.extend(request(2, Drep::LE, 4, 50, SINGLE));
    let fr = f.seg(Dir::Orig, &seg);
    f.seg(Dir::Resp, &response(2, Drep::LE, 4, SINGLE));
    let (calls, r) = f.done();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (calls[0].frame, calls[0].opnum, calls[0].outcome, calls[0].uuid.clone()),
        (fr, Some(4), Outcome::Ok, None)
    );
    assert_issue(&r, fr, "mid-stream");
}

#[test]
fn gap_then_resync() {
    let mut f = bound(Drep::LE);
    let req = request(3, Drep::LE, 7, 300, SINGLE);
    f.seg(Dir::Orig, &req[..100]);
    f.gap(Dir::Orig, 150);
    // The rest of the lost PDU, then a complete new call.
    let mut seg = req[250..].to_vec();
    seg.extend(request(4, Drep::LE, 8, 20, SINGLE));
    let fr = f.seg(Dir::Orig, &seg);
    f.seg(Dir::Resp, &response(4, Drep::LE, 4, SINGLE));
    let (calls, r) = f.done();
    let got: Vec<_> = calls.iter().map(|c| (c.frame, c.opnum, c.outcome)).collect();
    assert_eq!(got, vec![(fr, Some(8), Outcome::Ok)]);
    assert_eq!(r.stats.gaps, 1);
    assert_issue(&r, 4, "150 bytes missing");
    assert_issue(&r, fr, "resynchronised");
}

#[test]
fn big_endian_association() {
    // A whole big-endian association: emitted, then parsed back by the analyzer.
    let mut f = bound(Drep::BE);
    let req = request(2, Drep::BE, 0x0102, 16, SINGLE);
    assert_eq!(&req[4..8], &[0, 0, 0, 0], "big-endian drep");
    assert_eq!(&req[8..10], &(req.len() as u16).to_be_bytes());
    let fr = f.seg(Dir::Orig, &req);
    let fault =
        Repr::new(2, Drep::BE, Body::Fault(Fault { status: 0x1c01_0003, ..Default::default() }))
            .emit();
    assert_eq!(&fault[24..28], &[0x1c, 0x01, 0, 0x03]);
    f.seg(Dir::Resp, &fault);
    let (calls, _) = f.done();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].frame, calls[0].opnum, calls[0].outcome, calls[0].status_code),
        (fr, Some(0x0102), Outcome::Fault, Some(0x1c01_0003))
    );
    assert_eq!(calls[0].uuid.as_deref(), Some("12345778-1234-abcd-ef00-0123456789ac"));
}

#[test]
fn malformed_pdus_reported_with_frame() {
    let mut f = bound(Drep::LE);
    // frag_length 12 (< header), then auth_length larger than the PDU.
    let mut bad = request(2, Drep::LE, 1, 8, SINGLE);
    bad[8..10].copy_from_slice(&12u16.to_le_bytes());
    let f1 = f.seg(Dir::Orig, &bad);
    // While resynchronising, the next (also bad) header is skipped as implausible: it is
    // part of the skipped bytes reported at the resync.
    let mut bad2 = request(3, Drep::LE, 1, 8, SINGLE);
    bad2[10..12].copy_from_slice(&500u16.to_le_bytes());
    f.seg(Dir::Orig, &bad2);
    // A good call afterwards is still found.
    let f3 = f.seg(Dir::Orig, &request(4, Drep::LE, 5, 8, SINGLE));
    f.seg(Dir::Resp, &response(4, Drep::LE, 8, SINGLE));
    let (calls, r) = f.done();
    assert_issue(&r, f1, "frag_length 12");
    assert_issue(&r, f3, "skipping 64 bytes");
    assert!(
        calls.iter().any(|c| c.frame == f3 && c.opnum == Some(5) && c.outcome == Outcome::Ok),
        "{calls:?}"
    );
    // On a synchronised stream the lying auth_length is reported with its frame.
    let mut f = bound(Drep::LE);
    let f2 = f.seg(Dir::Orig, &bad2);
    let (_, r) = f.done();
    assert_issue(&r, f2, "auth_length 500");
    assert_eq!(r.stats.malformed_pdus, 1);
}

#[test]
fn bind_failures_are_logged() {
    // bind_nak
    let mut f = Feed::new();
    let b = f.seg(Dir::Orig, &bind(1, Drep::LE));
    let nak =
        Repr::new(1, Drep::LE, Body::BindNak(BindNak { reason: 4, versions: vec![(5, 0)] })).emit();
    let n = f.seg(Dir::Resp, &nak);
    let (calls, _) = f.done();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (
            calls[0].frame,
            calls[0].outcome,
            calls[0].response_frame,
            calls[0].opnum,
            calls[0].status_code
        ),
        (b, Outcome::BindNak, Some(n), None, Some(4))
    );
    // context rejected
    let mut f = Feed::new();
    f.seg(Dir::Orig, &bind(1, Drep::LE));
    f.seg(Dir::Resp, &bind_ack(1, Drep::LE, 2));
    let (calls, _) = f.done();
    assert_eq!(
        calls.iter().map(|c| (c.outcome, c.status_code)).collect::<Vec<_>>(),
        vec![(Outcome::Rejected, Some(1))]
    );
    // no answer, and an unanswered request
    let mut f = Feed::new();
    f.seg(Dir::Orig, &bind(1, Drep::LE));
    let (calls, _) = f.done();
    assert_eq!(
        calls.iter().map(|c| (c.outcome, c.operation.clone())).collect::<Vec<_>>(),
        vec![(Outcome::NoResponse, Some("bind".into()))]
    );
    let mut f = bound(Drep::LE);
    f.seg(Dir::Orig, &request(9, Drep::LE, 1, 8, SINGLE));
    let (calls, _) = f.done();
    assert_eq!(
        calls.iter().map(|c| (c.outcome, c.rtt)).collect::<Vec<_>>(),
        vec![(Outcome::NoResponse, None)]
    );
}

#[test]
fn json_field_names_are_stable() {
    let mut f = bound(Drep::LE);
    f.seg(Dir::Orig, &request(2, Drep::LE, 1, 8, SINGLE));
    f.seg(Dir::Resp, &response(2, Drep::LE, 8, SINGLE));
    let (calls, _) = f.done();
    let v = serde_json::to_value(&calls[0]).unwrap();
    for k in [
        "ts",
        "frame",
        "src",
        "sport",
        "dst",
        "dport",
        "pipe",
        "uuid",
        "version",
        "interface",
        "interface_source",
        "opnum",
        "operation",
        "outcome",
        "status",
        "return_code",
        "status_space",
        "rtt",
        "request_bytes",
        "response_bytes",
        "response_frame",
        "auth_type",
        "auth_level",
        "user",
    ] {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
    assert_eq!(v["outcome"], "ok");
    assert_eq!(v["version"], "1.0");
    assert_eq!(v["dport"], 49700);
}

#[test]
fn ncacn_http_preamble() {
    // RPC over HTTP v1 (port 593): both sides send "ncacn_http/1.0" before the PDUs.
    let mut f = Feed::new();
    f.seg(Dir::Resp, b"ncacn_http/1.0");
    let mut first = b"ncacn_http/1.0".to_vec();
    first.extend(bind(1, Drep::LE));
    f.seg(Dir::Orig, &first[..9]); // the preamble itself split
    f.seg(Dir::Orig, &first[9..]);
    f.seg(Dir::Resp, &bind_ack(1, Drep::LE, 0));
    let fr = f.seg(Dir::Orig, &request(2, Drep::LE, 6, 8, SINGLE));
    f.seg(Dir::Resp, &response(2, Drep::LE, 8, SINGLE));
    let (calls, r) = f.done();
    assert_eq!(
        calls.iter().map(|c| (c.frame, c.opnum, c.outcome)).collect::<Vec<_>>(),
        vec![(fr, Some(6), Outcome::Ok)]
    );
    assert!(r.issues.is_empty(), "{:?}", r.issues);
}

#[test]
fn other_protocols_are_left_alone_after_the_window() {
    // 100 KiB of bytes that never form a header: nothing reported; a header after the
    // 64 KiB detection window is not searched for.
    let mut f = Feed::new();
    let noise: Vec<u8> =
        (0..100 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80).collect();
    for c in noise.chunks(1460) {
        f.seg(Dir::Orig, c);
    }
    f.seg(Dir::Orig, &bind(1, Drep::LE));
    let (calls, r) = f.done();
    assert!(calls.is_empty(), "{calls:?}");
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert_eq!(r.stats.tcp_connections_rpc, 0);
}

#[test]
fn found_mid_stream_within_the_window() {
    let mut f = Feed::new();
    let noise = vec![0x41u8; 3000];
    f.seg(Dir::Orig, &noise[..1500]);
    f.seg(Dir::Orig, &noise[1500..]);
    let fr = f.seg(Dir::Orig, &request(2, Drep::LE, 6, 8, SINGLE));
    f.seg(Dir::Resp, &response(2, Drep::LE, 8, SINGLE));
    let (calls, r) = f.done();
    assert_eq!(
        calls.iter().map(|c| (c.frame, c.outcome)).collect::<Vec<_>>(),
        vec![(fr, Outcome::Ok)]
    );
    assert!(
        r.issues.iter().any(|i| i.what.contains("mid-stream: first header at stream offset 3000")),
        "{:?}",
        r.issues
    );
}

#[test]
fn smb3_encrypted_and_broken_smb1_are_reported() {
    let mut f = Feed::new();
    // NetBIOS session message with an SMB3 transform header (52 bytes + 16 of ciphertext).
    let mut enc = vec![0u8, 0, 0, 68];
    enc.extend_from_slice(b"\xfdSMB");
    enc.extend(std::iter::repeat_n(0x11u8, 64));
    let fr = f.seg(Dir::Orig, &enc);
    // An SMB1 Trans request (command 0x25) whose parameter block (WordCount 5: 10 bytes)
    // runs past the message is counted and reported.
    let mut smb1 = vec![0u8, 0, 0, 40];
    smb1.extend_from_slice(b"\xffSMB\x25");
    smb1.extend(std::iter::repeat_n(0u8, 27));
    smb1.extend_from_slice(&[5, 0, 0, 0, 0, 0, 0, 0]);
    let fr1 = f.seg(Dir::Orig, &smb1);
    let (_, r) = f.done();
    assert_eq!((r.stats.smb_connections, r.stats.smb_encrypted, r.stats.smb1_messages), (1, 1, 1));
    assert_issue(&r, fr, "encrypted");
    assert_issue(&r, fr1, "SMB1");
}

/// Connectionless header (C706 12.5.2), big-endian drep, built field by field.
fn cl(ptype: u8, seq: u32, opnum: u16, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 80];
    h[0] = 4;
    h[1] = ptype;
    h[2] = 0x20; // idempotent
                 // drep 00 00 00: big-endian
    h[24..40].copy_from_slice(&IFACE.0); // interface, canonical = big-endian order
    h[40..56].copy_from_slice(&[0xaa; 16]); // activity
    h[60..64].copy_from_slice(&1u32.to_be_bytes());
    h[64..68].copy_from_slice(&seq.to_be_bytes());
    h[68..70].copy_from_slice(&opnum.to_be_bytes());
    h[74..76].copy_from_slice(&(body.len() as u16).to_be_bytes());
    h.extend_from_slice(body);
    h
}

#[test]
fn connectionless_calls() {
    let mut an = RpcAnalyzer::default();
    let uflow = FlowInfo {
        id: 9,
        proto: Proto::Udp,
        orig: "10.0.0.1:1030".parse().unwrap(),
        resp: "10.0.0.2:135".parse().unwrap(),
    };
    an.udp(&uflow, Dir::Orig, &cl(0, 1, 4, &[1, 2, 3, 4]), 1, Timestamp(0));
    an.udp(&uflow, Dir::Resp, &cl(3, 1, 4, &0x1c01_0003u32.to_be_bytes()), 2, Timestamp(2_000_000));
    an.udp(&uflow, Dir::Orig, &cl(0, 2, 5, &[]), 3, Timestamp(3_000_000));
    // Not DCE/RPC: ignored silently.
    an.udp(&uflow, Dir::Orig, b"\x04not really a header", 4, Timestamp(4_000_000));
    let r = an.finish();
    let got: Vec<_> = r
        .calls
        .iter()
        .map(|c| (c.frame, c.opnum, c.outcome, c.status_code, c.uuid.clone()))
        .collect();
    let u = Some("12345778-1234-abcd-ef00-0123456789ac".to_string());
    assert_eq!(
        got,
        vec![
            (1, Some(4), Outcome::Fault, Some(0x1c01_0003), u.clone()),
            (3, Some(5), Outcome::NoResponse, None, u)
        ]
    );
    assert_eq!(r.calls[0].version.as_deref(), Some("1.0"));
    assert!((r.calls[0].rtt.unwrap() - 0.002).abs() < 1e-9);
}

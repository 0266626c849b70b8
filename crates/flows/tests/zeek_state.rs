//! The engine's Zeek connection state and history letters, and its eviction (idle timeouts,
//! the flow limit), on packets built byte for byte by the wire crate's emitters
//! (`ethernet::Repr::emit`, `ipv4::Repr::emit`, `tcp::Repr::emit`, `udp::Repr::emit`: real
//! Ethernet/IPv4/TCP frames with correct checksums) and fed through the whole pass (decoder,
//! engine), as a capture's frames are. tshark reads the same bytes
//! (`frames_are_what_tshark_reads`).
//!
//! The expected states follow Zeek's documented meaning of `conn_state` (Zeek's
//! `base/protocols/conn/main.zeek`, `Conn::Info$conn_state`): S0 attempt without reply, S1
//! established not terminated, SF normal establishment and termination, REJ attempt rejected,
//! S2 / S3 established and close attempt by the originator / responder only, RSTO / RSTR
//! established then aborted by the originator / reset by the responder, RSTOS0 SYN then the
//! originator's RST without a SYN-ACK, RSTRH SYN-ACK then the responder's RST without a SYN,
//! SH SYN then FIN without a SYN-ACK, SHR SYN-ACK then FIN without a SYN, OTH midstream.
//! History letters: upper case from the originator; S SYN, H SYN-ACK, A bare ACK, D data,
//! F FIN, R RST, T retransmission, W zero window, G gap, C bad checksum, Q SYN+FIN, I SYN+RST.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use tracehound_capture::{Frame, LinkType, Timestamp};
use tracehound_flows::{
    Config, ConnState, Conversation, Dir, FlowInfo, NoHandler, Pass, StreamHandler,
};
use tracehound_wire::{ethernet, ipv4, tcp, udp, TcpFlags, TcpOpts};

const S: u8 = TcpFlags::SYN;
const A: u8 = TcpFlags::ACK;
const F: u8 = TcpFlags::FIN;
const R: u8 = TcpFlags::RST;
const P: u8 = TcpFlags::PSH;

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];
const CISN: u32 = 1000;
const SISN: u32 = 5000;

/// One packet to build: who sends it, when, and its TCP header facts.
#[derive(Clone)]
struct Seg {
    from_client: bool,
    /// Milliseconds from the start.
    ms: i64,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload: Vec<u8>,
    /// Client port (several flows at once).
    cport: u16,
}

fn c(ms: i64, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Seg {
    Seg {
        from_client: true,
        ms,
        seq,
        ack,
        flags,
        window: 64240,
        payload: payload.to_vec(),
        cport: 40000,
    }
}
fn s(ms: i64, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Seg {
    Seg { from_client: false, ..c(ms, seq, ack, flags, payload) }
}

/// The Ethernet/IPv4/TCP bytes of `g`, from the wire crate's emitters.
fn frame_bytes(g: &Seg, ident: u16) -> Vec<u8> {
    let (src, dst, sport, dport) =
        if g.from_client { (CLIENT, SERVER, g.cport, 445) } else { (SERVER, CLIENT, 445, g.cport) };
    let opts = TcpOpts { mss: (g.flags & S != 0).then_some(1460), ..TcpOpts::default() };
    let t = tcp::Repr {
        src_port: sport,
        dst_port: dport,
        seq: g.seq,
        ack: g.ack,
        flags: TcpFlags(g.flags),
        window: g.window,
        urgent: 0,
        opts,
        payload: &g.payload,
    };
    let (sa, da) = (IpAddr::V4(Ipv4Addr::from(src)), IpAddr::V4(Ipv4Addr::from(dst)));
    let mut l4 = vec![0u8; t.buffer_len()];
    assert_eq!(t.emit(&mut l4, &sa, &da), Some(l4.len()));
    ip_frame(src, dst, 6, ident, &l4)
}

fn ip_frame(src: [u8; 4], dst: [u8; 4], proto: u8, ident: u16, l4: &[u8]) -> Vec<u8> {
    let ip = ipv4::Repr {
        src: Ipv4Addr::from(src),
        dst: Ipv4Addr::from(dst),
        protocol: proto,
        ttl: 64,
        dscp_ecn: 0,
        ident,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        payload_len: l4.len() as u16,
    };
    let eth = ethernet::Repr {
        src: [2, 0, 0, 0, 0, src[3]],
        dst: [2, 0, 0, 0, 0, dst[3]],
        ethertype: 0x0800,
    };
    let mut b = vec![0u8; 14 + ip.buffer_len()];
    eth.emit(&mut b);
    ip.emit(&mut b[14..]);
    b[34..].copy_from_slice(l4);
    b
}

/// The frames of `segs`, numbered from 1, with their times.
fn frames(segs: &[Seg]) -> Vec<(Timestamp, Vec<u8>)> {
    segs.iter()
        .enumerate()
        .map(|(i, g)| (Timestamp(g.ms * 1_000_000), frame_bytes(g, i as u16 + 1)))
        .collect()
}

/// Every conversation of a pass over `frames`, in the order they ended (those ended by the
/// pass itself first, then the rest at the end of input).
fn run<H: StreamHandler>(
    frames: &[(Timestamp, Vec<u8>)],
    cfg: Config,
    h: &mut H,
) -> (Vec<Conversation>, Pass) {
    let mut pass = Pass::new(cfg);
    let mut out = Vec::new();
    for (i, (ts, b)) in frames.iter().enumerate() {
        let f = Frame {
            number: i as u64 + 1,
            ts: *ts,
            link: LinkType::ETHERNET,
            data: b,
            orig_len: b.len() as u32,
            interface: 0,
        };
        pass.frame(&f, h);
        out.extend(pass.take_finished());
    }
    out.extend(pass.finish(h));
    (out, pass)
}

fn one(segs: &[Seg]) -> Conversation {
    let (mut v, pass) = run(&frames(segs), Config::default(), &mut NoHandler);
    assert_eq!(pass.decode_stats().decode_errors, 0);
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

/// SYN, SYN-ACK, ACK between the client and the server.
fn handshake() -> Vec<Seg> {
    vec![
        c(0, CISN, 0, S, b""),
        s(10, SISN, CISN + 1, S | A, b""),
        c(20, CISN + 1, SISN + 1, A, b""),
    ]
}

fn with(mut a: Vec<Seg>, more: &[Seg]) -> Vec<Seg> {
    a.extend_from_slice(more);
    a
}

/// Every state of Zeek's list, each from the shortest packet exchange that makes it, with
/// the history Zeek's letters give that exchange.
fn state_cases() -> Vec<(&'static str, Vec<Seg>, ConnState, &'static str)> {
    let (c1, s1) = (CISN + 1, SISN + 1);
    vec![
        ("S0", vec![c(0, CISN, 0, S, b"")], ConnState::S0, "S"),
        ("REJ", vec![c(0, CISN, 0, S, b""), s(5, 0, c1, R | A, b"")], ConnState::REJ, "Sr"),
        ("S1", handshake(), ConnState::S1, "ShA"),
        (
            "SF",
            with(
                handshake(),
                &[
                    c(30, c1, s1, P | A, b"hello"),
                    s(40, s1, c1 + 5, A, b""),
                    c(50, c1 + 5, s1, F | A, b""),
                    s(60, s1, c1 + 6, F | A, b""),
                    c(70, c1 + 6, s1 + 1, A, b""),
                ],
            ),
            ConnState::SF,
            "ShADaFf",
        ),
        ("S2", with(handshake(), &[c(30, c1, s1, F | A, b"")]), ConnState::S2, "ShAF"),
        ("S3", with(handshake(), &[s(30, s1, c1, F | A, b"")]), ConnState::S3, "ShAf"),
        ("RSTO", with(handshake(), &[c(30, c1, s1, R | A, b"")]), ConnState::RSTO, "ShAR"),
        ("RSTR", with(handshake(), &[s(30, s1, c1, R | A, b"")]), ConnState::RSTR, "ShAr"),
        ("RSTOS0", vec![c(0, CISN, 0, S, b""), c(5, c1, 0, R, b"")], ConnState::RSTOS0, "SR"),
        (
            "RSTRH",
            vec![s(0, SISN, c1, S | A, b""), s(5, s1, c1, R | A, b"")],
            ConnState::RSTRH,
            "hr",
        ),
        ("SH", vec![c(0, CISN, 0, S, b""), c(5, c1, 0, F, b"")], ConnState::SH, "SF"),
        ("SHR", vec![s(0, SISN, c1, S | A, b""), s(5, s1, c1, F | A, b"")], ConnState::SHR, "hf"),
        (
            "OTH",
            vec![c(0, 77, 99, P | A, b"midstream"), s(5, 99, 86, A, b"")],
            ConnState::OTH,
            "Da",
        ),
    ]
}

#[test]
fn every_zeek_state_from_its_packets() {
    for (name, segs, state, history) in state_cases() {
        let cv = one(&segs);
        assert_eq!(cv.state, Some(state), "{name}: history {}", cv.history);
        assert_eq!(cv.history, history, "{name}");
    }
}

/// The originator and responder are told apart by the SYN, whatever the port numbers: a
/// SYN-ACK seen first makes its receiver the originator (RSTRH/SHR above), and a lone SYN
/// from the well-known port still makes that side the originator.
#[test]
fn originator_is_the_syn_sender() {
    let cv = one(&[s(0, SISN, 0, S, b"")]);
    assert_eq!(cv.state, Some(ConnState::S0));
    assert_eq!(cv.info.orig.port(), 445);
    let cv = one(&[s(0, SISN, CISN + 1, S | A, b""), s(5, SISN + 1, CISN + 1, R | A, b"")]);
    assert_eq!(cv.info.orig.port(), 40000);
}

/// The rarer letters: T (retransmission), W (zero window), C (bad checksum), Q (SYN+FIN),
/// I (SYN+RST), G (gap, when payload is delivered).
#[test]
fn rarer_history_letters() {
    let (c1, s1) = (CISN + 1, SISN + 1);
    // A data segment sent again after 300 ms: a retransmission.
    let t = one(&with(
        handshake(),
        &[
            c(30, c1, s1, P | A, b"abcd"),
            c(330, c1, s1, P | A, b"abcd"),
            s(340, s1, c1 + 4, A, b""),
        ],
    ));
    assert_eq!(t.history, "ShADTa");
    // The server advertises a zero window.
    let mut zw = s(40, s1, c1 + 4, A, b"");
    zw.window = 0;
    let w = one(&with(handshake(), &[c(30, c1, s1, P | A, b"abcd"), zw]));
    assert_eq!(w.history, "ShADwa"); // W is marked by the analysis, before the ACK's letter
                                     // SYN+FIN and SYN+RST from the originator: the multi-flag letter instead of S, then the
                                     // FIN's or the RST's own letter.
    assert_eq!(one(&[c(0, CISN, 0, S | F, b"")]).history, "QF");
    assert_eq!(one(&[c(0, CISN, 0, S | R, b"")]).history, "IR");

    // A bad TCP checksum on the client's data segment: C (checksums are sampled on the
    // first packets of each direction).
    let segs = with(handshake(), &[c(30, c1, s1, P | A, b"abcd")]);
    let mut fr = frames(&segs);
    let last = fr.last_mut().unwrap();
    last.1[34 + 16] ^= 0xff; // TCP checksum field
    let (v, _) = run(&fr, Config::default(), &mut NoHandler);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].history, "ShACD"); // counted all the same (Zeek would drop it)
    assert_eq!(v[0].bad_checksums, 1);

    // A hole in the client's data, acknowledged past by the server: the bytes are declared
    // lost to the analyzers (G on the client's side).
    let g = with(handshake(), &[c(30, c1 + 100, s1, P | A, b"late"), s(40, s1, c1 + 104, A, b"")]);
    let mut rec = Recorder::default();
    let (v, _) = run(&frames(&g), Config::default(), &mut rec);
    assert!(v[0].history.contains('G'), "{}", v[0].history);
    assert!(rec.gaps.values().any(|n| *n == 100), "{:?}", rec.gaps);
}

/// Each letter is written once per direction, however often its event repeats: twelve
/// retransmissions give one T. (Zeek itself writes C, T and W again at the 10th, 100th and
/// 1000th occurrence; the engine does not scale letters, so its history stays short and the
/// counts live in `analysis` / `flag_counts`.)
#[test]
fn repeated_events_give_one_letter_per_direction() {
    let (c1, s1) = (CISN + 1, SISN + 1);
    let mut segs = with(handshake(), &[c(30, c1, s1, P | A, b"abcd")]);
    for i in 0..12 {
        segs.push(c(300 + 300 * i, c1, s1, P | A, b"abcd"));
    }
    segs.push(s(4000, s1, c1 + 4, A, b""));
    segs.push(s(4300, s1, c1 + 4, A, b"")); // duplicate ACK: no letter of its own
    let cv = one(&segs);
    assert_eq!(cv.history, "ShADTa");
    assert_eq!(cv.history.matches('T').count(), 1);
    let retx = tracehound_flows::TcpFlag::Retransmission as usize;
    assert_eq!(cv.flag_counts[retx], 12);
}

/// What a handler saw, per flow id.
#[derive(Default)]
struct Recorder {
    data: HashMap<u64, Vec<u8>>,
    gaps: HashMap<u64, u64>,
    ends: Vec<u64>,
    udp: usize,
}

impl StreamHandler for Recorder {
    fn tcp_data(&mut self, f: &FlowInfo, d: Dir, _: u64, data: &[u8], _: u64, _: Timestamp) {
        if d == Dir::Orig {
            self.data.entry(f.id).or_default().extend_from_slice(data);
        }
    }
    fn tcp_gap(&mut self, f: &FlowInfo, _: Dir, _: u64, len: u64, _: u64, _: Timestamp) {
        *self.gaps.entry(f.id).or_default() += len;
    }
    fn tcp_end(&mut self, f: &FlowInfo, _: Timestamp) {
        self.ends.push(f.id);
    }
    fn udp(&mut self, _: &FlowInfo, _: Dir, _: &[u8], _: u64, _: Timestamp) {
        self.udp += 1;
    }
}

/// A connection from client port `cport` at `ms` that sends `data` and has it acknowledged.
fn talk(cport: u16, ms: i64, data: &[u8]) -> Vec<Seg> {
    let (c1, s1) = (CISN + 1, SISN + 1);
    let n = data.len() as u32;
    [
        c(ms, CISN, 0, S, b""),
        s(ms + 1, SISN, c1, S | A, b""),
        c(ms + 2, c1, s1, A, b""),
        c(ms + 3, c1, s1, P | A, data),
        s(ms + 4, s1, c1 + n, A, b""),
    ]
    .into_iter()
    .map(|mut g| {
        g.cport = cport;
        g
    })
    .collect()
}

/// At the flow limit the longest-idle flow is ended early — through the handler: the
/// analyzers get its remaining bytes and its `tcp_end` before the new flow starts, so they
/// do not keep its state (with a `NoHandler` there, as before, they never heard of its end).
#[test]
fn flows_evicted_at_the_limit_end_through_the_handler() {
    let mut segs = Vec::new();
    for i in 0..11u16 {
        segs.extend(talk(41000 + i, 10 * i64::from(i), format!("flow {i}").as_bytes()));
    }
    let cfg = Config { max_flows: 10, ..Config::default() };
    let fr = frames(&segs);
    let mut rec = Recorder::default();
    let mut pass = Pass::new(cfg);
    let mut ended_early = Vec::new();
    for (i, (ts, b)) in fr.iter().enumerate() {
        let f = Frame {
            number: i as u64 + 1,
            ts: *ts,
            link: LinkType::ETHERNET,
            data: b,
            orig_len: b.len() as u32,
            interface: 0,
        };
        pass.frame(&f, &mut rec);
        for cv in pass.take_finished() {
            // Ended while frames still came: its end reached the handler by now.
            assert!(rec.ends.contains(&cv.info.id), "flow {} ended without tcp_end", cv.info.id);
            ended_early.push((i + 1, cv));
        }
    }
    assert_eq!(pass.engine.stats().evicted_by_limit, 1);
    assert_eq!(ended_early.len(), 1);
    let (at_frame, ev) = &ended_early[0];
    assert_eq!(*at_frame, 51, "evicted when the 11th flow's SYN (frame 51) came");
    assert_eq!(ev.info.id, 0, "the longest-idle flow");
    assert_eq!(ev.state, Some(ConnState::S1));
    assert_eq!(rec.ends, vec![0]);
    assert_eq!(rec.data[&0], b"flow 0");
    let rest = pass.finish(&mut rec);
    assert_eq!(rest.len(), 10);
    let mut ends = rec.ends.clone();
    ends.sort_unstable();
    assert_eq!(ends, (0..11).collect::<Vec<u64>>());
    for i in 0..11u64 {
        assert_eq!(rec.data[&i], format!("flow {i}").as_bytes());
    }
}

/// Over the memory budget the longest-idle flows are closed too, through the handler, until
/// the estimate is under nine tenths of the budget.
#[test]
fn flows_closed_over_the_memory_budget_end_through_the_handler() {
    let per_flow = tracehound_flows::COMPACT_BYTES + 64 + tracehound_flows::FULL_FLOW_BYTES;
    // Room for five and a half full flows: the seventh flow finds six over the budget.
    let cfg = Config { memory_budget: per_flow * 11 / 2, ..Config::default() };
    let mut segs = Vec::new();
    for i in 0..7u16 {
        segs.extend(talk(42000 + i, 10 * i64::from(i), format!("budget {i}").as_bytes()));
    }
    let fr = frames(&segs);
    let mut rec = Recorder::default();
    let mut pass = Pass::new(cfg);
    let mut early = Vec::new();
    for (i, (ts, b)) in fr.iter().enumerate() {
        let f = Frame {
            number: i as u64 + 1,
            ts: *ts,
            link: LinkType::ETHERNET,
            data: b,
            orig_len: b.len() as u32,
            interface: 0,
        };
        pass.frame(&f, &mut rec);
        for cv in pass.take_finished() {
            assert!(rec.ends.contains(&cv.info.id), "flow {} ended without tcp_end", cv.info.id);
            assert_eq!(rec.data[&cv.info.id], format!("budget {}", cv.info.id).as_bytes());
            early.push(cv.info.id);
        }
    }
    let st = pass.engine.stats();
    assert_eq!(st.memory_budget_hits, 1);
    assert_eq!(st.evicted_by_limit, 2, "six flows down to four (under 4.95 flows' worth)");
    assert_eq!(early, vec![0, 1], "the two longest idle");
    assert_eq!(pass.finish(&mut rec).len(), 5);
    assert_eq!(rec.ends.len(), 7);
}

/// Idle flows end by capture time: an unanswered SYN after the attempt timeout (300 s), a
/// reset connection after the closed timeout (120 s), a UDP flow after 300 s; an
/// established connection stays (TCP idle timeout 3600 s) until the end of input.
#[test]
fn idle_flows_end_after_their_timeouts() {
    let c1 = CISN + 1;
    let mut segs = vec![c(0, CISN, 0, S, b"")]; // 0: attempt, port 40000
    segs.extend(talk(41001, 1, b"kept")); // 1: established, open
    segs.extend(talk(41002, 2, b"reset").into_iter().chain([{
        let mut r = c(8, c1 + 5, SISN + 1, R | A, b"");
        r.cport = 41002;
        r
    }])); // 2: reset
    let mut fr = frames(&segs);
    // 3: a UDP datagram (DNS-like) at 0.5 s.
    let (sa, da) = (IpAddr::V4(Ipv4Addr::from(CLIENT)), IpAddr::V4(Ipv4Addr::from(SERVER)));
    let u = udp::Repr { src_port: 53000, dst_port: 53, payload: b"query" };
    let mut l4 = vec![0u8; 8 + 5];
    assert_eq!(u.emit(&mut l4, &sa, &da), Some(13));
    fr.push((Timestamp(500_000_000), ip_frame(CLIENT, SERVER, 17, 999, &l4)));
    // Ticks: a lone packet of another flow every 50 s up to 400 s (each one its own flow).
    for k in 1..=8u16 {
        let mut t = c(50_000 * i64::from(k), 1, 1, A, b"");
        t.cport = 50000 + k;
        fr.extend(frames(&[t]));
    }
    let mut at = HashMap::new();
    let mut pass = Pass::new(Config::default());
    for (i, (ts, b)) in fr.iter().enumerate() {
        let f = Frame {
            number: i as u64 + 1,
            ts: *ts,
            link: LinkType::ETHERNET,
            data: b,
            orig_len: b.len() as u32,
            interface: 0,
        };
        pass.frame(&f, &mut NoHandler);
        for cv in pass.take_finished() {
            at.insert(cv.info.orig.port(), (ts.as_nanos() / 1_000_000_000, cv.state));
        }
    }
    // The sweep runs every 10 s of capture time, on the packets: the ticks at 50 s steps.
    assert_eq!(at[&41002], (150, Some(ConnState::RSTO)), "closed: > 120 s idle");
    assert_eq!(at[&40000], (350, Some(ConnState::S0)), "attempt: > 300 s idle");
    assert_eq!(at[&53000], (350, None), "udp: > 300 s idle");
    assert!(!at.contains_key(&41001), "established flows stay an hour");
    let rest = pass.finish(&mut NoHandler);
    let kept = rest.iter().find(|c| c.info.orig.port() == 41001).unwrap();
    assert_eq!(kept.state, Some(ConnState::S1));
}

/// tshark reads the built frames as the same TCP segments (flags, lengths, a valid
/// checksum), so the tests above run on real packet bytes.
#[test]
fn frames_are_what_tshark_reads() {
    let (c1, s1) = (CISN + 1, SISN + 1);
    let segs = with(
        handshake(),
        &[c(30, c1, s1, P | A, b"hello"), s(40, s1, c1 + 5, F | A, b""), c(50, c1 + 5, s1, R, b"")],
    );
    let fr = frames(&segs);
    let text = tshark(
        &fr,
        &["-e", "tcp.flags", "-e", "tcp.len", "-e", "tcp.seq", "-e", "tcp.checksum.status"],
    );
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), segs.len());
    for (g, r) in segs.iter().zip(&rows) {
        let flags = u16::from_str_radix(r[0].trim_start_matches("0x"), 16).unwrap();
        assert_eq!(flags, u16::from(g.flags), "{r:?}");
        assert_eq!(r[1].parse::<usize>().unwrap(), g.payload.len());
        assert_eq!(r[2].parse::<u32>().unwrap(), g.seq);
        assert_eq!(r[3], "1", "checksum good (status 1) in {r:?}");
    }
    // And the engine reads the same exchange as RSTO (established, the originator reset).
    let (v, _) = run(&fr, Config::default(), &mut NoHandler);
    assert_eq!(v[0].state, Some(ConnState::RSTO));
    assert_eq!(v[0].history, "ShADfR");
}

/// tshark's fields of every packet of `frames` (written to a temporary pcap), tab-separated;
/// sequence numbers absolute, checksums checked, two passes (final values on every packet).
fn tshark(frames: &[(Timestamp, Vec<u8>)], fields: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!(
        "tracehound-zeek-{}-{}",
        std::process::id(),
        fields.join("").len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("built.pcap");
    let mut pcap = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        pcap.extend_from_slice(&v.to_le_bytes());
    }
    for (ts, b) in frames {
        let ns = ts.as_nanos();
        let (sec, usec) = ((ns / 1_000_000_000) as u32, ((ns % 1_000_000_000) / 1000) as u32);
        for v in [sec, usec, b.len() as u32, b.len() as u32] {
            pcap.extend_from_slice(&v.to_le_bytes());
        }
        pcap.extend_from_slice(b);
    }
    std::fs::write(&path, &pcap).unwrap();
    let out = Command::new("tshark")
        .args(["-2", "-o", "tcp.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:FALSE"])
        .arg("-r")
        .arg(&path)
        .args(["-T", "fields"])
        .args(fields)
        .output()
        .expect("tshark is required (/usr/bin/tshark)");
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Wireshark's `tcp.completeness` (bits: 1 SYN, 2 SYN-ACK, 4 ACK, 8 DATA, 16 FIN, 32 RST)
/// of each exchange agrees with the engine's Zeek state: the handshake packets and closing
/// flags each state stands for were seen, and the ones it rules out were not.
#[test]
fn zeek_states_agree_with_tshark_completeness() {
    const SYN: u32 = 1;
    const SYNACK: u32 = 2;
    const RST: u32 = 32;
    const FIN: u32 = 16;
    let cases = state_cases();
    let mut all = Vec::new();
    for (i, (_, segs, _, _)) in cases.iter().enumerate() {
        for g in segs {
            let mut g = g.clone();
            g.cport = 43000 + i as u16;
            g.ms += 1000 * i as i64;
            all.push(g);
        }
    }
    let fr = frames(&all);
    let (convs, _) = run(&fr, Config::default(), &mut NoHandler);
    let text = tshark(&fr, &["-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.completeness"]);
    let mut completeness: HashMap<u16, u32> = HashMap::new();
    for l in text.lines() {
        let r: Vec<&str> = l.split('\t').collect();
        let port = r[0].parse::<u16>().unwrap().max(r[1].parse::<u16>().unwrap());
        completeness.insert(port, r[2].parse().unwrap());
    }
    for (i, (name, _, state, _)) in cases.iter().enumerate() {
        let port = 43000 + i as u16;
        let cv = convs.iter().find(|c| c.info.orig.port().max(c.info.resp.port()) == port);
        assert_eq!(cv.and_then(|c| c.state), Some(*state), "{name}");
        let c = completeness[&port];
        let (has, not) = match state {
            ConnState::S0 => (SYN, SYNACK | RST | FIN),
            ConnState::REJ | ConnState::RSTOS0 => (SYN | RST, SYNACK | FIN),
            ConnState::S1 => (SYN | SYNACK | 4, RST | FIN),
            ConnState::SF | ConnState::S2 | ConnState::S3 => (SYN | SYNACK | 4 | FIN, RST),
            ConnState::RSTO | ConnState::RSTR => (SYN | SYNACK | 4 | RST, FIN),
            ConnState::RSTRH => (SYNACK | RST, SYN | FIN),
            // The SH exchange's FIN carries no ACK flag, and tshark 4.0 does not count such a
            // FIN in the completeness (as observed here); the rest must agree.
            ConnState::SH => (SYN, SYNACK | RST),
            ConnState::SHR => (SYNACK | FIN, SYN | RST),
            ConnState::OTH => (8, SYN | SYNACK | RST | FIN),
        };
        assert_eq!(c & has, has, "{name}: completeness {c} lacks {has}");
        assert_eq!(c & not, 0, "{name}: completeness {c} has one of {not}");
    }
}

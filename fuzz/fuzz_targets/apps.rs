//! Application protocols: arbitrary bytes fed through `AppAnalyzer` as TCP streams (both
//! directions, with gaps and connection ends) and UDP datagrams, on ports that hint TLS,
//! HTTP, LDAP, SMB2 and DNS (recognition is by content, so any port reaches every parser).
//! Contract: no panic, bounded memory (the analyzer's caps, made small here), and the
//! report is well formed.
//!
//! Input: `[port selector: u8]` then records `[op: u8][len: u16 BE][bytes (len)]`:
//! op bits 0-1: 0 TCP data orig→resp, 1 TCP data resp→orig, 2 UDP datagram (bit 2: from the
//! responder), 3 a gap of `len` bytes (bit 2: the connection ends instead);
//! bits 3-4: which of 4 flows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_apps::{AppAnalyzer, AppConfig};
use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};

const PORTS: [u16; 8] = [443, 80, 389, 445, 53, 5353, 3268, 4433];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else { return };
    let cfg = AppConfig {
        max_flows: 3,
        max_dns_queries: 16,
        max_tls_sessions: 4,
        max_transaction_flows: 4,
        max_issues: 8,
        stream_cap: 8192,
        ..Default::default()
    };
    let mut an = AppAnalyzer::new(cfg);
    let flows: Vec<(FlowInfo, FlowInfo)> = (0..4u64)
        .map(|i| {
            let port = PORTS[((sel as usize) + i as usize) % PORTS.len()];
            let t = FlowInfo {
                id: i * 2,
                proto: Proto::Tcp,
                orig: format!("10.0.0.1:{}", 50000 + i).parse().unwrap(),
                resp: format!("10.0.0.2:{port}").parse().unwrap(),
            };
            (t, FlowInfo { id: i * 2 + 1, proto: Proto::Udp, ..t })
        })
        .collect();
    let mut off = [[0u64; 2]; 4];
    let mut frame = 0u64;
    let mut ts = 1_000_000_000i64;
    while rest.len() >= 3 {
        let op = rest[0];
        let len = u16::from_be_bytes([rest[1], rest[2]]) as usize;
        rest = &rest[3..];
        let n = len.min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        frame += 1;
        ts += (op as i64) * 7_000_000;
        let t = Timestamp(ts);
        let fi = ((op >> 3) & 3) as usize;
        let (tcp, udp) = &flows[fi];
        match op & 3 {
            d @ (0 | 1) => {
                let dir = if d == 0 { Dir::Orig } else { Dir::Resp };
                an.tcp_data(tcp, dir, off[fi][d as usize], chunk, frame, t);
                off[fi][d as usize] += chunk.len() as u64;
                rest = tail;
            }
            2 => {
                let dir = if op & 4 == 0 { Dir::Orig } else { Dir::Resp };
                an.udp(udp, dir, chunk, frame, t);
                rest = tail;
            }
            _ => {
                if op & 4 == 0 {
                    let dir = if op & 0x20 == 0 { Dir::Orig } else { Dir::Resp };
                    an.tcp_gap(tcp, dir, off[fi][dir.idx()], len as u64, frame, t);
                    off[fi][dir.idx()] += len as u64;
                } else {
                    an.tcp_end(tcp, t);
                    off[fi] = [0, 0];
                }
            }
        }
    }
    let r = an.finish();
    assert!(r.dns.len() <= 16 && r.tls.len() <= 4 && r.transactions.len() <= 4 && r.issues.len() <= 8);
    for t in &r.transactions {
        assert!(t.samples.len() <= tracehound_apps::txn::SAMPLES && t.slowest.len() <= tracehound_apps::txn::SLOWEST);
        assert!(t.answered <= t.requests);
    }
    let _ = format!("{r:?}");
});

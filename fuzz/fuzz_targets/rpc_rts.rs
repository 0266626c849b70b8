//! RPC over HTTP v2 (ncacn_http): parses the input as one RTS PDU (view, command iterator,
//! Repr parse, emit and re-parse must give the same Repr), then feeds it through
//! RpcAnalyzer as the two HTTP channels of a virtual connection (IN and OUT, both
//! directions, with gaps). Contract: no panic, bounded memory (the analyzer's caps), a
//! parsed Repr's emit parses back to itself.
//!
//! Input: `[mode: u8]` then records `[len: u8][flags: u8][bytes (len)]`; flags bit 0 picks
//! the direction, bit 1 the channel (0 = flow 1, 1 = flow 2), bit 2 inserts a gap before
//! the record. mode bit 0 ends both connections before `finish`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};
use tracehound_rpc::pdu::rts::{Packet, Repr};
use tracehound_rpc::{RpcAnalyzer, RpcConfig};

fuzz_target!(|data: &[u8]| {
    // 1. One RTS PDU.
    if let Ok(p) = Packet::new_checked(data) {
        let _ = (p.flags(), p.num_commands(), p.call_id(), p.commands().count());
        assert!(p.pdu().len() <= data.len());
    }
    if let Ok((r, used)) = Repr::parse(data) {
        assert!(used <= data.len());
        let bytes = r.emit();
        let (back, n) = Repr::parse(&bytes).expect("emitted RTS PDU parses");
        assert_eq!((back, n), (r, bytes.len()));
    }

    // 2. Two channels through the analyzer.
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let cfg = RpcConfig { max_buffer: 4096, detect_window: 2048, ..Default::default() };
    let mut an = RpcAnalyzer::new(cfg);
    let flow = |id: u64, port: u16| FlowInfo {
        id,
        proto: Proto::Tcp,
        orig: format!("10.0.0.1:{port}").parse().unwrap(),
        resp: "10.0.0.2:443".parse().unwrap(),
    };
    let flows = [flow(1, 50000), flow(2, 50001)];
    let mut off = [[0u64; 2]; 2];
    let mut frame = 0u64;
    while let [len, fl, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        frame += 1;
        let dir = if fl & 1 == 0 { Dir::Orig } else { Dir::Resp };
        let ch = usize::from(fl & 2 != 0);
        let ts = Timestamp(frame as i64 * 1000);
        let o = &mut off[ch][dir.idx()];
        if fl & 4 != 0 {
            let gap = u64::from(fl >> 3) + 1;
            an.tcp_gap(&flows[ch], dir, *o, gap, frame, ts);
            *o += gap;
        }
        an.tcp_data(&flows[ch], dir, *o, chunk, frame, ts);
        *o += chunk.len() as u64;
        let _ = an.take_calls();
    }
    if mode & 1 != 0 {
        an.tcp_end(&flows[0], Timestamp(0));
        an.tcp_end(&flows[1], Timestamp(0));
    }
    let report = an.finish();
    assert!(report.issues.len() <= 1001);
});

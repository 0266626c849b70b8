//! DCE/RPC: parses the input as one connection-oriented PDU (view getters, Repr parse, emit
//! and re-parse), as a connectionless header, and feeds it through RpcAnalyzer's stream layer
//! as TCP segments of both directions (with gaps) and as UDP datagrams. Contract: no panic,
//! bounded memory (the analyzer's caps), a parsed Repr's emit parses again.
//!
//! Input: `[mode: u8]` then records `[len: u8][flags: u8][bytes (len)]`; flags bit 0 picks
//! the direction, bit 1 inserts a gap before the record, bit 2 sends it as UDP instead.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};
use tracehound_rpc::cl::ClHeader;
use tracehound_rpc::pdu::{Packet, Repr};
use tracehound_rpc::{RpcAnalyzer, RpcConfig};

fuzz_target!(|data: &[u8]| {
    // 1. Single PDU.
    if let Ok(p) = Packet::new_checked(data) {
        let _ = (p.ptype(), p.call_id(), p.auth(), p.stub(), p.opnum(), p.object(), p.status(), p.alloc_hint());
        assert!(p.pdu().len() <= data.len());
    }
    if let Ok((r, used)) = Repr::parse(data) {
        assert!(used <= data.len());
        let bytes = r.emit();
        // Emit fills in lengths; the result parses again when it fits in a u16 frag_length.
        if bytes.len() <= u16::MAX as usize {
            Repr::parse(&bytes).expect("emitted PDU parses");
        }
    }
    let _ = ClHeader::parse(data);

    // 2. Stream layer.
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let cfg = RpcConfig { max_buffer: 4096, detect_window: 2048, ..Default::default() };
    let mut an = RpcAnalyzer::new(cfg);
    let port = if mode & 1 == 0 { 135 } else { 445 };
    let flow = FlowInfo { id: 1, proto: Proto::Tcp, orig: "10.0.0.1:50000".parse().unwrap(), resp: format!("10.0.0.2:{port}").parse().unwrap() };
    let uflow = FlowInfo { id: 2, proto: Proto::Udp, ..flow };
    let mut off = [0u64; 2];
    let mut frame = 0u64;
    while let [len, fl, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        frame += 1;
        let dir = if fl & 1 == 0 { Dir::Orig } else { Dir::Resp };
        let ts = Timestamp(frame as i64 * 1000);
        if fl & 4 != 0 {
            an.udp(&uflow, dir, chunk, frame, ts);
            continue;
        }
        if fl & 2 != 0 {
            let gap = u64::from(fl >> 3) + 1;
            an.tcp_gap(&flow, dir, off[dir.idx()], gap, frame, ts);
            off[dir.idx()] += gap;
        }
        an.tcp_data(&flow, dir, off[dir.idx()], chunk, frame, ts);
        off[dir.idx()] += chunk.len() as u64;
        let _ = an.take_calls();
    }
    if mode & 2 != 0 {
        an.tcp_end(&flow, Timestamp(0));
    }
    let report = an.finish();
    assert!(report.issues.len() <= 1001);
});

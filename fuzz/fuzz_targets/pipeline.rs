//! The whole analysis on arbitrary input: capture reader (when the input is a capture file),
//! else frames cut from the input; decode, IP reassembly, the conversation engine with its
//! stream reassembly, the DCE/RPC and application analyzers, the endpoint follow-up and every
//! finding rule. Nothing may panic, and the engine must hand every finished conversation out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_apps::{AppAnalyzer, AppConfig};
use tracehound_capture::{CaptureReader, Frame, LinkType, Timestamp};
use tracehound_findings::{evaluate, CaptureFacts, Facts};
use tracehound_flows::{Config, Pass};
use tracehound_rpc::{endpoints::follow_up, RpcAnalyzer, RpcConfig};

fuzz_target!(|data: &[u8]| {
    // Small limits so that the limit paths are exercised too.
    let cfg = Config { reasm_limit: 2048, max_events: 16, max_flows: 64, ..Config::default() };
    let mut pass = Pass::new(cfg);
    let mut h = (RpcAnalyzer::new(RpcConfig::default()), AppAnalyzer::new(AppConfig::default()));
    let mut convs = Vec::new();
    let magic = data.get(..4).unwrap_or(&[]);
    if [[0xd4, 0xc3, 0xb2, 0xa1], [0x4d, 0x3c, 0xb2, 0xa1], [0x0a, 0x0d, 0x0d, 0x0a]].iter().any(|m| m == magic) {
        let Ok(mut r) = CaptureReader::from_reader(Box::new(std::io::Cursor::new(data.to_vec())), "fuzz") else { return };
        let mut n = 0;
        while let Ok(Some(f)) = r.next_frame() {
            pass.frame(&f, &mut h);
            n += 1;
            if n > 5000 {
                break;
            }
        }
    } else {
        // Frames: [link selector][len hi][len lo][bytes...] repeated; time advances 1 ms a frame
        // (and jumps when the selector's high bit is set, to reach the idle timeouts).
        let mut rest = data;
        let mut ts = 1_600_000_000_000_000_000i64;
        let mut number = 0;
        while let [sel, hi, lo, tail @ ..] = rest {
            let len = (usize::from(*hi) << 8 | usize::from(*lo)).min(tail.len());
            let (frame, next) = tail.split_at(len);
            rest = next;
            number += 1;
            ts += if sel & 0x80 != 0 { 400_000_000_000 } else { 1_000_000 };
            let link = [LinkType::ETHERNET, LinkType::RAW, LinkType::LINUX_SLL, LinkType::NULL][usize::from(sel & 3)];
            let f = Frame { number, ts: Timestamp(ts), link, data: frame, orig_len: frame.len() as u32, interface: 0 };
            pass.frame(&f, &mut h);
            convs.extend(pass.take_finished());
        }
    }
    convs.extend(pass.take_finished());
    convs.extend(pass.finish(&mut h));
    let (rpc, apps) = h;
    let rpc = rpc.finish();
    let apps = apps.finish();
    convs.sort_by_key(|c| c.info.id);
    let endpoints = follow_up(&rpc.endpoints, &convs);
    let capture = CaptureFacts::default();
    let facts = Facts { file: "fuzz", capture: &capture, conversations: &convs, rpc: &rpc, endpoints: &endpoints, apps: &apps };
    let _ = evaluate(&facts);
});

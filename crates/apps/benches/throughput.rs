//! Throughput of the analyzer on bulk streams: `cargo bench -p tracehound-apps --bench throughput`. TLS application data and an HTTP body are
//! skipped without buffering, so this measures the per-chunk overhead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
use std::time::Instant;

use tracehound_apps::{AppAnalyzer, AppConfig};
use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};

fn main() {
    bulk_tls_and_http();
}

fn bulk_tls_and_http() {
    let flow = FlowInfo {
        id: 1,
        proto: Proto::Tcp,
        orig: "10.0.0.1:5000".parse().unwrap(),
        resp: "10.0.0.2:443".parse().unwrap(),
    };
    let mut rec = vec![0x17, 3, 3, 0x40, 0x00];
    rec.extend(std::iter::repeat_n(0xaa, 0x4000));
    let total: usize = 512 << 20;
    let mut a = AppAnalyzer::new(AppConfig::default());
    let t = Instant::now();
    let mut off = 0u64;
    let mut frame = 0;
    while (off as usize) < total {
        // 1448-byte segments cutting records anywhere
        let pos = (off as usize) % rec.len();
        let end = (pos + 1448).min(rec.len());
        let seg = &rec[pos..end];
        frame += 1;
        a.tcp_data(&flow, Dir::Resp, off, seg, frame, Timestamp(frame as i64));
        off += seg.len() as u64;
    }
    let secs = t.elapsed().as_secs_f64();
    let r = a.finish();
    assert!(r.tls[0].app_data_records[1] > 30_000);
    println!("TLS application data: {:.0} MB/s ({} segments)", total as f64 / secs / 1e6, frame);
}

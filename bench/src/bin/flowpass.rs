//! `flowpass FILE [--no-compact] [--payload] [--budget BYTES]`: one pass of the flows engine
//! over a capture, as `conversations` runs it (no payload delivery unless asked), printing
//! CPU-relevant counts and the engine's statistics. For profiling the engine alone
//! (`perf record target/release/flowpass FILE`), without the command-line tool's output.

use std::time::Instant;

use tracehound_capture::CaptureReader;
use tracehound_flows::{Config, NoHandler, Pass};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        anyhow::bail!("usage: flowpass FILE [--no-compact] [--payload] [--budget BYTES]")
    };
    let mut cfg = Config { deliver_payload: false, ..Config::default() };
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-compact" => cfg.compact = false,
            "--payload" => cfg.deliver_payload = true,
            "--budget" => {
                cfg.memory_budget =
                    it.next().and_then(|v| v.parse().ok()).unwrap_or(cfg.memory_budget)
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let t = Instant::now();
    let mut r =
        CaptureReader::open(std::path::Path::new(path)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut pass = Pass::new(cfg);
    let mut convs = 0usize;
    while let Ok(Some(f)) = r.next_frame() {
        pass.frame(&f, &mut NoHandler);
        convs += pass.take_finished().len();
    }
    loop {
        let b = pass.finish_batch(&mut NoHandler, 4096);
        if b.is_empty() {
            break;
        }
        convs += b.len();
    }
    let s = pass.engine.stats();
    println!(
        "{convs} conversations, {} packets in {:.3} s; live peak {}, compact peak {}, promoted {}, budget hits {}, expired early {}, evicted {}, attempts {}",
        s.packets,
        t.elapsed().as_secs_f64(),
        s.live_flows_peak,
        s.compact_flows_peak,
        s.compact_promoted,
        s.memory_budget_hits,
        s.expired_early_by_budget,
        s.evicted_by_limit,
        s.attempts.counts.attempts
    );
    Ok(())
}

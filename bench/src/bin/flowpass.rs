//! `flowpass FILE [--no-compact] [--payload] [--budget BYTES]`: one pass of the flows engine
//! over a capture through `tracehound-pipeline`, as `conversations` runs it (no payload
//! delivery unless asked), printing CPU-relevant counts and the engine's statistics. For profiling the engine alone
//! (`perf record target/release/flowpass FILE`), without the command-line tool's output.

use std::time::Instant;

use tracehound_flows::{Config, NoHandler};

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
    // The pass every command runs (tracehound-pipeline), with no protocol analyzer behind it.
    let reader = tracehound_pipeline::open(std::path::Path::new(path))?;
    let mut convs = 0usize;
    let run = tracehound_pipeline::run_reader(
        reader,
        cfg,
        &mut NoHandler,
        &mut |_, _| convs += 1,
        &mut |_| {},
    )?;
    let s = &run.engine;
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

//! Warnings about a capture's pass, on standard error, prefixed `tracehound:`.

use tracehound_pipeline::FileRun;

/// Print the damage / decode notes of a run on stderr, prefixed `tracehound:`.
pub fn warn_run(run: &FileRun) {
    for w in &run.warnings {
        eprintln!("tracehound: warning: {w}");
    }
    if let Some(d) = &run.damage {
        eprintln!("tracehound: {d} — stopped there; frames before it were analysed");
    }
    let c = &run.capture;
    if c.skipped_packets > 0 {
        let first = c.problems.first().map(|p| format!(" (first: {p})")).unwrap_or_default();
        eprintln!(
            "tracehound: {}: {} skipped{first}",
            run.name,
            plural(c.skipped_packets, "packet record", "packet records")
        );
    }
    let d = &run.decode;
    if d.decode_errors + d.malformed_transport > 0 {
        let first = d
            .issues
            .first()
            .map(|i| format!(" (first: frame {}: {})", i.frame, i.what))
            .unwrap_or_default();
        eprintln!(
            "tracehound: {}: {} could not be decoded{first}",
            run.name,
            plural(d.decode_errors + d.malformed_transport, "frame", "frames")
        );
    }
    for (lt, n) in &d.unsupported_link_types {
        eprintln!(
            "tracehound: {}: {} of unsupported link type {lt} skipped",
            run.name,
            plural(*n, "frame", "frames")
        );
    }
    if run.engine.evicted_by_limit > 0 {
        eprintln!(
            "tracehound: {}: flow table limit reached, {} closed early",
            run.name,
            plural(run.engine.evicted_by_limit, "flow", "flows")
        );
    }
}

/// "1 frame", "2 frames".
fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

//! `tcp.zero_window`: a receiver that does not keep up.

use tracehound_flows::{Dir, TcpFlag};

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

/// Seconds of zero window (one direction, all periods) from which it is a problem.
pub const PROBLEM_SECS: f64 = 1.0;

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    for c in f.conversations {
        for dir in [Dir::Orig, Dir::Resp] {
            let periods = c.zero_window_periods[dir.idx()];
            if periods == 0 {
                continue;
            }
            let secs = c.zero_window_secs[dir.idx()];
            let receiver = c.info.src(dir);
            let sender = c.info.dst(dir);
            let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
            ev.flows.push(FlowRef::of(c));
            let zw: Vec<u64> = c
                .events
                .iter()
                .filter(|e| e.dir == dir && e.flag == TcpFlag::ZeroWindow)
                .map(|e| e.frame)
                .collect();
            let probes = c
                .events
                .iter()
                .filter(|e| {
                    e.dir != dir && matches!(e.flag, TcpFlag::ZeroWindowProbe | TcpFlag::KeepAlive)
                })
                .count();
            let full =
                c.events.iter().filter(|e| e.dir != dir && e.flag == TcpFlag::WindowFull).count();
            ev.add_frames(zw.iter().copied());
            ev.line(format!(
                "{receiver} advertised a zero window {} time{} (frames {}), for {secs:.2} s in all; {probes} probes, {full} window-full segments from {sender}",
                periods,
                if periods == 1 { "" } else { "s" },
                zw.iter().take(8).map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
            ));
            ev.value("receiver", receiver.to_string());
            ev.value("periods", periods);
            ev.value("secs", secs);
            ev.finish();
            out.push(Finding {
                id: "tcp.zero_window",
                severity: if secs >= PROBLEM_SECS { Severity::Problem } else { Severity::Warning },
                title: format!("{receiver} stopped reading: zero window for {secs:.2} s"),
                explanation: format!(
                    "{receiver} told {sender} that its receive buffer was full (window 0), so {sender} had to stop sending until the window opened again. \
The network is not the bottleneck here: the receiving application did not read its data fast enough."
                ),
                likely_causes: vec![
                    format!("the application on {receiver} is busy, blocked or slow to read (CPU, disk, a lock, a slow downstream)").into(),
                    "a receive buffer too small for the rate".into(),
                ],
                next_steps: vec![
                    format!("Look at the process on {receiver} during those {secs:.1} s (CPU, disk, thread dumps).").into(),
                    "Check the socket receive buffer / autotuning settings on the receiver.".into(),
                ],
                evidence: ev,
                weight: if secs >= PROBLEM_SECS { 60 } else { 35 },
            });
        }
    }
}

#[cfg(test)]
mod thresholds;

//! `windows.packet_dropped`: packets a Windows component dropped, from the PktMon drop events
//! (event 170) of a `pktmon start --capture` trace. PktMon logs the drop where it happens:
//! which component (a NIC driver, a filter, TCPIP, the Windows Filtering Platform …), the drop
//! reason (an NDIS or INET code, named where known) and the drop location (a code identifying
//! the place in the component's source). A pcap never carries this: it is the one place where
//! Windows itself says "I threw this packet away, and why".
//!
//! One finding per component and reason. Severity `problem` when the dropped packets belong to
//! TCP / UDP conversations of the capture (the drops hurt traffic that was analysed), else
//! `warning`.

use std::collections::BTreeMap;

use tracehound_flows::Proto;

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity, Text};

pub const ID: &str = "windows.packet_dropped";

pub use crate::facts::{flow_of, WindowsDrop, WindowsFacts, MAX_DROPS};

/// Drops of one component for one reason.
#[derive(Default)]
struct Group<'a> {
    drops: Vec<&'a WindowsDrop>,
    /// Drop locations, as `0xE0004500`.
    locations: BTreeMap<String, u64>,
    directions: BTreeMap<&'static str, u64>,
}

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(w) = &facts.capture.windows else { return };
    let mut groups: BTreeMap<(&str, u32), Group> = BTreeMap::new();
    for d in &w.drops {
        let g = groups.entry((d.component.as_str(), d.reason)).or_default();
        g.drops.push(d);
        *g.locations.entry(format!("0x{:08X}", d.location)).or_default() += 1;
        *g.directions.entry(d.direction).or_default() += 1;
    }
    for g in groups.values() {
        out.push(finding(facts, w, g));
    }
}

/// A conversation of the capture has this flow (either way round) with packets beyond the
/// `dropped` ones (the reader delivers a packet seen only in a drop event as a frame too: a
/// flow made of nothing but drops is not traffic the drops hurt).
fn in_capture(facts: &Facts, f: &FlowRef, dropped: u64) -> bool {
    facts.conversations.iter().any(|c| {
        let r = FlowRef::of(c);
        let packets = c.dirs[0].packets.saturating_add(c.dirs[1].packets);
        r.proto == f.proto
            && packets > dropped
            && ((r.src, r.sport, r.dst, r.dport) == (f.src, f.sport, f.dst, f.dport)
                || (r.src, r.sport, r.dst, r.dport) == (f.dst, f.dport, f.src, f.sport))
    })
}

fn counts<K: std::fmt::Display>(m: &BTreeMap<K, u64>) -> String {
    let v: Vec<String> = m.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    v.join(", ")
}

fn finding(facts: &Facts, w: &WindowsFacts, g: &Group) -> Finding {
    let first = g.drops.first().copied();
    let component = first.map_or("?", |d| d.component.as_str());
    let reason_name = first.map_or("?", |d| d.reason_name.as_str());
    let reason = first.map_or(0, |d| d.reason);
    let first_ts = g.drops.iter().map(|d| d.ts).fold(f64::INFINITY, f64::min);
    let last_ts = g.drops.iter().map(|d| d.ts).fold(f64::NEG_INFINITY, f64::max);
    let mut ev = Evidence::default();
    let mut flows: Vec<FlowRef> = g.drops.iter().filter_map(|d| d.flow).collect();
    flows.sort_by_key(|f| (f.proto as u8, f.src, f.sport, f.dst, f.dport));
    flows.dedup();
    let mut hit = 0usize;
    for f in &flows {
        let n = g.drops.iter().filter(|d| d.flow.as_ref() == Some(f)).count();
        let here = in_capture(facts, f, n as u64);
        hit += usize::from(here);
        let proto = if f.proto == Proto::Tcp { "TCP" } else { "UDP" };
        let conv = if here { ", a conversation of this capture" } else { "" };
        ev.line(format!(
            "{proto} {f}: {} dropped{conv}",
            super::util::plural(n, "packet", "packets")
        ));
    }
    ev.flows = flows.iter().take(crate::MAX_EVIDENCE_LINES).copied().collect();
    let count = g.drops.len() as u64;
    ev.value("component", component);
    ev.value("component_id", first.map_or(0, |d| d.component_id));
    ev.value("reason", reason);
    ev.value("reason_name", reason_name);
    ev.value("locations", counts(&g.locations));
    ev.value("directions", counts(&g.directions));
    ev.value("count", count);
    ev.value("first_ts", first_ts);
    ev.value("last_ts", last_ts);
    ev.value("flows_in_capture", hit as u64);
    ev.why("drop_events", count);
    ev.why("drops_in_trace", w.drops_total);
    ev.why("dropped_flows_in_capture", hit);
    ev.finish();
    let severity = if hit > 0 { Severity::Problem } else { Severity::Warning };
    let plural = if count == 1 { "" } else { "s" };
    Finding {
        id: ID,
        severity,
        title: format!("Windows dropped {count} packet{plural} in {component}: {reason_name}"),
        explanation: format!(
            "The PktMon trace records {count} packet{plural} dropped by {component}: \
             {reason_name} (locations {}; {}), between {first_ts:.6} and {last_ts:.6}. {}",
            counts(&g.locations),
            counts(&g.directions),
            if hit > 0 {
                format!("{hit} of the dropped flows are conversations of this capture: Windows itself threw their packets away.")
            } else {
                "None of them belongs to a TCP / UDP conversation of the capture with packets \
                 beyond the dropped ones."
                    .to_string()
            }
        ),
        likely_causes: vec![Text::from(
            "A Windows component discarded the packet: a firewall / WFP filter (reasons naming \
             the filtering platform), no socket listening (INET_EndpointNotFound), a bad \
             checksum or header, an interface not ready, or a filter driver (VPN, antivirus, \
             NIC teaming) rejecting it.",
        )],
        next_steps: vec![Text::from(
            "Look the component and drop reason up (`pktmon list` names the components; \
             `pktmon etl2txt --verbose 2` shows each drop); for filtering-platform drops, \
             `netsh wfp show state` / audit event 5152 names the filter; for endpoint-not-found \
             drops check that the service is listening (`netstat -ano`).",
        )],
        evidence: ev,
        weight: if hit > 0 { 72 } else { 40 },
    }
}

#[cfg(test)]
mod thresholds;

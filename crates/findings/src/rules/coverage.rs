//! What was *not* analysed, so that an empty or partly unreadable capture never passes for a
//! healthy one:
//! - `capture.damaged`: the file is cut short or its framing is broken (everything before was
//!   analysed), or frames could not be decoded;
//! - `capture.not_analysed`: the capture holds no packet, packet records were skipped (a
//!   pcapng packet naming an undefined interface), frames of a link type tracehound does not
//!   decode, IP fragments that never completed, or a limit reached.
//!
//! One finding per cause, each with advice that fits it. Any of them makes `analyze` exit
//! with code 4 ([`crate::CaptureFacts::incomplete`]).

use super::util::plural;
use super::Facts;
use crate::{Evidence, Finding, Severity, Text};

pub const DAMAGED: &str = "capture.damaged";
pub const NOT_ANALYSED: &str = "capture.not_analysed";

/// Name of a LINKTYPE_* value (pcap / pcapng link-layer header types), for the common ones.
pub fn link_type_name(lt: u32) -> Option<&'static str> {
    Some(match lt {
        0 => "BSD loopback",
        1 => "Ethernet",
        6 => "Token Ring",
        8 => "SLIP",
        9 => "PPP",
        10 => "FDDI",
        50 => "PPP in HDLC framing",
        101 => "raw IP",
        104 => "Cisco HDLC",
        105 => "IEEE 802.11",
        107 => "Frame Relay",
        108 => "OpenBSD loopback",
        113 => "Linux cooked (SLL)",
        119 => "802.11 with Prism header",
        122 => "IP over Fibre Channel",
        127 => "802.11 with radiotap header",
        143 => "DOCSIS",
        147..=162 => "a private (user-defined) link type",
        163 => "802.11 with AVS header",
        187 => "Bluetooth HCI",
        189 => "USB (Linux)",
        192 => "PPI",
        195 => "IEEE 802.15.4",
        201 => "Bluetooth HCI with direction",
        220 => "USB (Linux, memory-mapped)",
        227 => "CAN (SocketCAN)",
        228 => "raw IPv4",
        229 => "raw IPv6",
        249 => "USB (USBPcap, Windows)",
        252 => "Wireshark upper-protocol",
        254 => "Bluetooth LE link layer",
        263 => "Netlink",
        276 => "Linux cooked v2 (SLL2)",
        _ => return None,
    })
}

fn finding(
    id: &'static str,
    title: String,
    explanation: String,
    causes: Vec<Text>,
    steps: Vec<Text>,
    ev: Evidence,
) -> Finding {
    Finding {
        id,
        severity: Severity::Warning,
        title,
        explanation,
        likely_causes: causes,
        next_steps: steps,
        evidence: ev,
        weight: 3,
    }
}

fn evidence(f: &Facts) -> Evidence {
    Evidence { file: Some(f.file.to_string()), ..Default::default() }
}

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    cut_short(f, out);
    empty(f, out);
    undecodable(f, out);
    skipped(f, out);
    link_types(f, out);
    fragments(f, out);
    limits(f, out);
}

fn cut_short(f: &Facts, out: &mut Vec<Finding>) {
    let Some(d) = &f.capture.damage else { return };
    let mut ev = evidence(f);
    ev.line(d.clone());
    ev.value("frames_read", f.capture.frames);
    ev.value("damage", d.clone());
    ev.finish();
    out.push(finding(
        DAMAGED,
        "The capture file is cut short or damaged".into(),
        format!(
            "Reading stopped where the file ends or its framing breaks ({} read before that). Everything before the damage was analysed; what came after it is not in this file, so nothing can be concluded about it.",
            plural(f.capture.frames as usize, "frame was", "frames were")
        ),
        vec![
            "the capture was copied while still being written, or a ring-buffer file was cut".into(),
            "the transfer of the file was interrupted or it was damaged on disk".into(),
        ],
        vec![
            "Take the complete file from the capture host (stop the capture first, or take the finished ring-buffer files).".into(),
        ],
        ev,
    ));
}

fn empty(f: &Facts, out: &mut Vec<Finding>) {
    let c = f.capture;
    if c.frames > 0 || c.damage.is_some() || c.skipped_records > 0 {
        return;
    }
    let mut ev = evidence(f);
    ev.line(format!("{}: a file header and no packet records", f.file));
    ev.value("frames", 0u64);
    ev.finish();
    out.push(finding(
        NOT_ANALYSED,
        "The capture holds no packets: nothing was analysed".into(),
        "The file is a valid capture with no packet in it, so there is nothing to diagnose: no finding here means nothing was seen, not that the network is healthy.".into(),
        vec![
            "the capture was stopped before any packet arrived, or saved before the capture tool flushed its buffers".into(),
            "the capture filter matched nothing, or the wrong interface was captured".into(),
        ],
        vec![
            "Capture again on the interface that carries the traffic while the problem happens, and check that packets are being counted (`tcpdump -i IFACE -w F` prints the count on exit; `dumpcap -D` lists interfaces).".into(),
        ],
        ev,
    ));
}

fn undecodable(f: &Facts, out: &mut Vec<Finding>) {
    let c = f.capture;
    if c.decode_errors == 0 {
        return;
    }
    let mut ev = evidence(f);
    for (frame, what) in c.decode_issues.iter().take(10) {
        ev.add_frames([*frame]);
        ev.line(format!("frame {frame}: {what}"));
    }
    ev.value("decode_errors", c.decode_errors);
    ev.value("frames", c.frames);
    ev.finish();
    let cut = c.frames_cut_by_snaplen > 0;
    let mut causes: Vec<Text> = Vec::new();
    if cut {
        causes.push(
            format!(
                "{} were cut by the capture's snap length: headers beyond the cut are missing",
                plural(c.frames_cut_by_snaplen as usize, "frame", "frames")
            )
            .into(),
        );
    }
    causes
        .push("malformed or corrupted packets on the wire (or from a faulty capture tool)".into());
    causes.push("crafted packets (scans, fuzzing, attacks)".into());
    out.push(finding(
        DAMAGED,
        format!("{} could not be decoded", plural(c.decode_errors as usize, "frame", "frames")),
        format!(
            "{} of {} frames have headers that do not parse (the evidence says what is wrong, frame by frame); they were left out of every conversation and finding.",
            c.decode_errors, c.frames
        ),
        causes,
        vec![
            "Open the frames named in the evidence in Wireshark to see what they carry.".into(),
            if cut {
                "Capture without a snap length (`tcpdump -s 0`, `dumpcap -s 0`) so every header is complete.".into()
            } else {
                "If they come from one host or device, check its NIC / driver (interface error counters).".into()
            },
        ],
        ev,
    ));
}

fn skipped(f: &Facts, out: &mut Vec<Finding>) {
    let c = f.capture;
    if c.skipped_records == 0 {
        return;
    }
    let mut ev = evidence(f);
    for r in c.skipped_reasons.iter().take(10) {
        ev.line(r.clone());
    }
    ev.value("skipped_records", c.skipped_records);
    ev.value("frames", c.frames);
    ev.finish();
    let undefined = c.skipped_reasons.iter().any(|r| r.contains("interface"));
    out.push(finding(
        NOT_ANALYSED,
        format!(
            "{} in the file could not be read and {} skipped",
            plural(c.skipped_records as usize, "packet record", "packet records"),
            if c.skipped_records == 1 { "was" } else { "were" }
        ),
        format!(
            "The file's framing is intact, but {} {}: they are not in any conversation or finding.",
            plural(c.skipped_records as usize, "packet record", "packet records"),
            if undefined {
                "name an interface that the file never describes (no Interface Description Block for it), so their link type and timestamps are unknown"
            } else {
                "contradict their own block (a captured length beyond the block, or over the limit)"
            }
        ),
        vec![
            "the file was written or edited by a tool that dropped or renumbered interface descriptions (merging or splitting pcapng files)".into(),
            "the file was damaged in place".into(),
        ],
        vec![
            "Take the original file from the capture host, or re-save it from the tool that wrote it; `tshark -r FILE` shows whether it can read those records.".into(),
        ],
        ev,
    ));
}

fn link_types(f: &Facts, out: &mut Vec<Finding>) {
    for &(lt, n) in &f.capture.unsupported_link_types {
        let name = link_type_name(lt)
            .map(|s| format!("link type {lt} ({s})"))
            .unwrap_or_else(|| format!("link type {lt}"));
        let mut ev = evidence(f);
        ev.line(format!("{}: {n} of {} frames are {name}", f.file, f.capture.frames));
        ev.value("link_type", lt);
        ev.value("frames", n);
        ev.finish();
        let wireless = matches!(lt, 105 | 119 | 127 | 163 | 192);
        out.push(finding(
            NOT_ANALYSED,
            format!("{} of {name} were not analysed", plural(n as usize, "frame", "frames")),
            format!(
                "tracehound decodes Ethernet (with VLAN tags), Linux cooked v1/v2, raw IPv4/IPv6 and BSD loopback frames; {} of {name} were skipped, so nothing in them was looked at. The file itself is fine.",
                plural(n as usize, "frame", "frames")
            ),
            vec![if wireless {
                "the capture was taken on a wireless interface in monitor mode (802.11 headers)".into()
            } else {
                format!("the capture was taken on an interface whose frames are {name}").into()
            }],
            vec![
                "Capture on an Ethernet interface, or on Linux with `-i any` (Linux cooked headers), so the frames carry IP in a form tracehound reads.".into(),
                if wireless {
                    "For Wi-Fi, capture in managed mode (not monitor mode), or decrypt and export the frames as Ethernet in Wireshark first.".into()
                } else {
                    "Or open the file in Wireshark, which knows this link type.".into()
                },
            ],
            ev,
        ));
    }
}

fn fragments(f: &Facts, out: &mut Vec<Finding>) {
    let c = f.capture;
    if c.datagrams_incomplete == 0 {
        return;
    }
    let mut ev = evidence(f);
    ev.line(format!(
        "{} IP fragments seen; {} reassembled; {} never completed",
        c.fragments,
        plural(c.datagrams_reassembled as usize, "datagram", "datagrams"),
        plural(c.datagrams_incomplete as usize, "datagram", "datagrams"),
    ));
    ev.value("fragments", c.fragments);
    ev.value("datagrams_reassembled", c.datagrams_reassembled);
    ev.value("datagrams_incomplete", c.datagrams_incomplete);
    ev.finish();
    out.push(finding(
        NOT_ANALYSED,
        format!(
            "{} arrived as IP fragments that never completed: not analysed",
            plural(c.datagrams_incomplete as usize, "datagram", "datagrams")
        ),
        format!(
            "Of {} IP fragments, some never came together into whole datagrams ({} incomplete): what those datagrams carried was not analysed. Fragments that never complete are either lost on the path (a firewall or router that drops non-first fragments) or missing from the capture.",
            c.fragments, c.datagrams_incomplete
        ),
        vec![
            "a firewall, NAT or router on the path dropping fragments (large UDP: Kerberos, DNS with EDNS, IKE, NFS/SMB over UDP)".into(),
            "the capture missed some fragments, or started or stopped in the middle of a datagram".into(),
            "a fragment flood or crafted fragments (an attack or a scan)".into(),
        ],
        vec![
            "Check whether the hosts send datagrams larger than the path MTU (Kerberos over TCP: MaxPacketSize=1; smaller DNS EDNS buffer size) and whether the firewalls on the path pass fragments.".into(),
            "Capture on the receiving side as well: fragments that left the sender but never arrived were dropped in between.".into(),
        ],
        ev,
    ));
}

fn limits(f: &Facts, out: &mut Vec<Finding>) {
    let l = &f.capture.limits_reached;
    if l.is_empty() {
        return;
    }
    let mut ev = evidence(f);
    for s in l.iter() {
        ev.line(s.clone());
    }
    ev.value("limits", l.clone());
    ev.finish();
    out.push(finding(
        NOT_ANALYSED,
        format!(
            "{} reached: part of the capture was left out of the analysis",
            plural(l.len(), "limit was", "limits were")
        ),
        "To keep memory bounded, tracehound caps what it holds (flows alive at a time, conversations and calls kept for the rules, buffers per connection). This capture reached some of those caps; the evidence says what was left out. Findings about what was kept stand; the absence of a finding about what was left out proves nothing.".into(),
        vec!["a very large capture, or one with very many connections (a scan, a flood, a busy server)".into()],
        vec![
            "Cut the capture to the hosts or the time of the problem first (`tshark -r IN -Y 'ip.addr==A' -w OUT`, `editcap -A START -B END IN OUT`), then analyse that.".into(),
        ],
        ev,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaptureFacts;

    fn run(c: &CaptureFacts) -> Vec<Finding> {
        let rpc = tracehound_rpc::RpcReport {
            calls: Vec::new(),
            endpoints: Vec::new(),
            issues: Vec::new(),
            issues_dropped: 0,
            stats: Default::default(),
            tunnel_failures: Vec::new(),
        };
        let apps = tracehound_apps::AppReport::default();
        let f = Facts {
            file: "x.pcap",
            capture: c,
            conversations: &[],
            rpc: &rpc,
            endpoints: &[],
            apps: &apps,
        };
        let mut out = Vec::new();
        check(&f, &mut out);
        out
    }

    #[test]
    fn every_cause_is_a_finding_with_its_own_advice() {
        let base = CaptureFacts { frames: 10, ..Default::default() };
        assert!(run(&base).is_empty());
        assert!(!base.incomplete());
        let empty = CaptureFacts::default();
        let f = run(&empty);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, NOT_ANALYSED);
        assert!(empty.incomplete());
        let lt = CaptureFacts { unsupported_link_types: vec![(127, 9)], ..base.clone() };
        let f = run(&lt);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("radiotap"), "{}", f[0].title);
        assert!(f[0].next_steps.iter().all(|s| !s.contains("complete file")));
        let lim = CaptureFacts { limits_reached: vec!["flow table".into()], ..base.clone() };
        assert_eq!(run(&lim)[0].id, NOT_ANALYSED);
        assert!(lim.incomplete());
    }
}

#[cfg(test)]
mod thresholds;

//! Lab captures (tests/fixtures/lab/rpc-*.pcap: Samba AD DC + impacket clients in network
//! namespaces, made by the lab helper's scripts; each has an `.expect.json` written from
//! tshark 4.0's reading of the same file). Our calls, binds, EPM towers and SMB2 pipes must
//! agree with it, and each scenario's failure must show in the endpoint follow-up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use tracehound_rpc::endpoints::{follow_up, EndpointReport};
use tracehound_rpc::Outcome;

/// A status the expect file does not record (see the calls check).
const NOT_READ: u32 = u32::MAX;

fn lab() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab"));
    assert!(p.is_dir(), "lab fixtures missing at {}", p.display());
    p
}

fn expect(name: &str) -> Value {
    let p = lab().join(format!("{name}.expect.json"));
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn hex(s: &str) -> u32 {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// Checks one scenario against its expect.json; returns the run and the endpoint reports.
fn check(name: &str) -> (common::Run, Vec<EndpointReport>) {
    let e = expect(name);
    let run = common::run(&lab().join(format!("{name}.pcap")));
    // Calls: request frame, opnum, outcome, and status (fault status, or the return code
    // in the last 4 stub bytes of the response, which is what the expect file records).
    let mut theirs: Vec<(u64, u16, &str, u32)> = Vec::new();
    for c in e["dcerpc_calls"].as_array().unwrap() {
        let frame = c["req_frame"].as_u64().unwrap();
        let outcome = c["outcome"].as_str().unwrap();
        let status = if outcome == "fault" {
            let f = e["dcerpc_faults"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["req_frame"].as_u64() == Some(frame))
                .expect("fault entry");
            hex(f["status"].as_str().unwrap())
        } else if let Some(st) = c["status"].as_str() {
            hex(st)
        } else {
            // No status field tshark reads for this interface (the expect file records
            // samr, lsarpc and epm ones; rpc-netlogon-retry's statuses are checked in
            // crates/findings/tests/rpc_rules.rs against tshark's netlogon.rc): not compared.
            NOT_READ
        };
        theirs.push((
            frame,
            c["opnum"].as_u64().unwrap() as u16,
            if outcome == "response" { "ok" } else { outcome },
            status,
        ));
    }
    let mut ours: Vec<(u64, u16, &str, u32)> = run
        .calls
        .iter()
        .filter_map(|c| {
            let status = match c.outcome {
                Outcome::Fault => c.status_code.unwrap(),
                _ => c.return_code.unwrap_or(0),
            };
            let o = match c.outcome {
                // A response PDU either way; `error` (a failing return status) is checked
                // against the status tshark reads just below.
                Outcome::Ok | Outcome::Error => "ok",
                Outcome::Fault => "fault",
                Outcome::NoResponse => "no_response",
                _ => "other",
            };
            Some((c.frame, c.opnum?, o, status))
        })
        .collect();
    theirs.sort();
    ours.sort();
    for (o, t) in ours.iter_mut().zip(&theirs) {
        if t.3 == NOT_READ && (o.0, o.1) == (t.0, t.1) {
            o.3 = NOT_READ;
        }
    }
    assert_eq!(ours, theirs, "{name}: calls");
    // Outcome `error` exactly where tshark reads an NTSTATUS of error severity or a non-zero
    // endpoint mapper status in a response.
    for c in run.calls.iter().filter(|c| c.opnum.is_some() && c.response_frame.is_some()) {
        let st = c.return_code.unwrap_or(0);
        // (ept_lookup ends its list with ept_s_not_registered: not a failure.)
        let epm_failed = c.dport == 135 && st != 0 && !(c.opnum == Some(2) && st == 0x16c9_a0d6);
        let failing = c.outcome != Outcome::Fault && (st >> 30 == 3 || epm_failed);
        assert_eq!(c.outcome == Outcome::Error, failing, "{name}: frame {} outcome", c.frame);
    }
    // Binds: every rejected one is a `rejected` call with the provider reason.
    let rejected: Vec<(u64, u32)> = e["dcerpc_binds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["accepted"] == Value::Bool(false))
        .map(|b| (b["frame"].as_u64().unwrap(), b["ack_reason"][0].as_u64().unwrap() as u32))
        .collect();
    let ours_rej: Vec<(u64, u32)> = run
        .calls
        .iter()
        .filter(|c| c.outcome == Outcome::Rejected)
        .map(|c| (c.frame, c.status_code.unwrap()))
        .collect();
    assert_eq!(ours_rej, rejected, "{name}: rejected binds");
    // ept_map towers.
    for m in e["epm_map"].as_array().unwrap() {
        let frame = m["req_frame"].as_u64().unwrap();
        let c = run
            .calls
            .iter()
            .find(|c| c.frame == frame)
            .unwrap_or_else(|| panic!("{name}: no call at {frame}"));
        let ports: Vec<u64> = c.endpoints.iter().filter_map(|x| x.port.map(u64::from)).collect();
        let ips: Vec<String> = c.endpoints.iter().filter_map(|x| x.address.clone()).collect();
        assert_eq!(
            ports,
            m["tcp_ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_u64().unwrap())
                .collect::<Vec<_>>(),
            "{name}: ports at {frame}"
        );
        assert_eq!(
            ips,
            m["ips"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
            "{name}: ips at {frame}"
        );
        assert!(c.epm_status.is_some());
        assert_eq!(
            c.status_code.unwrap_or(0),
            hex(m["status"].as_str().unwrap()),
            "{name}: EPM status at {frame}"
        );
    }
    // Named pipes opened over SMB2 (CREATE) and SMB1 (NT_CREATE_ANDX).
    let files: BTreeSet<String> = ["smb2", "smb1"]
        .iter()
        .flat_map(|v| e[*v]["files"].as_array().unwrap().iter())
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let pipes: BTreeSet<String> = run.calls.iter().filter_map(|c| c.pipe.clone()).collect();
    assert_eq!(pipes, files, "{name}: pipes");
    let reps = follow_up(&run.report.endpoints, &run.convs);
    (run, reps)
}

fn all_rpc_scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(lab())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("rpc-") && n.ends_with(".pcap"))
        .map(|n| n.trim_end_matches(".pcap").to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn every_rpc_lab_capture_matches_its_expectation() {
    let names = all_rpc_scenarios();
    assert!(names.len() >= 10, "lab rpc captures: {names:?}");
    for n in &names {
        check(n);
    }
}

fn only(reps: &[EndpointReport]) -> &EndpointReport {
    assert_eq!(reps.len(), 1, "{reps:#?}");
    &reps[0]
}

#[test]
fn dynamic_port_outcomes() {
    let (_, r) = check("rpc-epm-map-then-call");
    assert_eq!(
        (only(&r).follow_up, only(&r).port, only(&r).address_differs),
        ("answered", Some(49154), false)
    );
    let (_, r) = check("rpc-dynamic-filtered");
    assert_eq!(only(&r).follow_up, "unanswered");
    // The expect file counts 7 SYNs to the dynamic port.
    assert_eq!(only(&r).attempts.iter().map(|a| a.syn_frames.len()).sum::<usize>(), 7);
    let (_, r) = check("rpc-dynamic-filtered-server");
    assert_eq!(only(&r).follow_up, "unanswered");
    let (_, r) = check("rpc-dynamic-rejected");
    assert_eq!(only(&r).follow_up, "refused");
    assert!(!only(&r).attempts[0].rst_frames.is_empty());
    let (_, r) = check("rpc-dynamic-icmp");
    // ICMP administratively prohibited from the router is a firewall's reject, not a reset.
    assert_eq!(only(&r).follow_up, "icmp_prohibited");
    assert_eq!(only(&r).state, Some("FILTERED"));
    assert_eq!(check("rpc-dynamic-rejected").1[0].state, Some("NOT LISTENING"));
    assert!(
        only(&r).attempts[0].icmp.iter().any(|s| s.contains("type 3 code 13")),
        "{:?}",
        only(&r).attempts
    );
    let (_, r) = check("rpc-nat-mismatch");
    let x = only(&r);
    assert_eq!(
        (x.follow_up, x.address_differs, x.address.as_deref(), x.asked_address.as_str()),
        ("unanswered", true, Some("10.77.32.20"), "10.77.31.100")
    );
}

#[test]
fn failures_named() {
    let (run, _) = check("rpc-not-registered");
    let c = &run.calls[0];
    // ept_map found no registration: the mapping failed (outcome error, DCE status space).
    assert_eq!((c.outcome, c.status_code), (Outcome::Error, Some(0x16c9_a0d6)));
    assert_eq!(c.status.as_deref(), Some("ept_s_not_registered"));
    // The expect file's note names the interface asked for.
    let note = expect("rpc-not-registered")["note"].as_str().unwrap().to_string();
    let asked = c.epm_asked.clone().unwrap();
    assert!(note.contains(asked.split(' ').next().unwrap()), "{asked} not in {note}");
    assert!(c.endpoints.is_empty());
    let (run, _) = check("rpc-fault");
    let f = run.calls.iter().find(|c| c.outcome == Outcome::Fault).unwrap();
    assert_eq!((f.frame, f.opnum, f.status_code), (20, Some(44), Some(5)));
    let denied = run.calls.iter().find(|c| c.frame == 52).unwrap();
    assert_eq!((denied.outcome, denied.status_code), (Outcome::Error, Some(0xc000_0022)));
    let (run, _) = check("rpc-context-rejected");
    assert_eq!(run.calls.iter().filter(|c| c.outcome == Outcome::Rejected).count(), 2);
}

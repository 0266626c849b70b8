//! Real captures (/work/shared/captures/dcerpc, provenance in its SOURCES.md), cross-checked
//! with tshark where it reads the same thing: EPM towers and their follow-up connections,
//! NTLM users, SMB2 pipe names, auth type/level.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use tracehound_rpc::endpoints::follow_up;
use tracehound_rpc::Outcome;

fn fields(file: &str, filter: &str, f: &[&str]) -> Vec<Vec<String>> {
    let p = common::dcerpc(file);
    let mut args = vec![
        "-r",
        p.to_str().unwrap(),
        "-o",
        "tcp.desegment_tcp_streams:TRUE",
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=f",
    ];
    for x in f {
        args.push("-e");
        args.push(x);
    }
    common::tshark(&args).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

/// zerologon: the client asks the endpoint mapper (ept_map, TCP 135) for netlogon, gets
/// ncacn_ip_tcp:172.16.5.58[49668], and connects there.
#[test]
fn epm_towers_and_follow_up_zerologon() {
    let file = "dcerpc__zerologon__input.pcap";
    let run = common::run(&common::dcerpc(file));
    // tshark: the TCP port floor of every ept_map response, by frame.
    let theirs: BTreeMap<u64, String> =
        fields(file, "epm.opnum==3 && dcerpc.pkt_type==2", &["frame.number", "epm.proto.tcp_port"])
            .into_iter()
            .map(|r| (r[0].parse().unwrap(), r[1].clone()))
            .collect();
    assert!(!theirs.is_empty());
    let ours: BTreeMap<u64, String> = run
        .calls
        .iter()
        .filter(|c| {
            c.opnum == Some(3)
                && c.uuid.as_deref() == Some("e1af8308-5d1f-11c9-91a4-08002b14a0fa")
                && c.outcome == Outcome::Ok
        })
        .map(|c| {
            (
                c.response_frame.unwrap(),
                c.endpoints.first().and_then(|e| e.port).map(|p| p.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(ours, theirs);
    let c = run.calls.iter().find(|c| c.frame == 7).unwrap();
    assert_eq!(c.endpoints[0].binding, "ncacn_ip_tcp:172.16.5.58[49668]");
    assert_eq!(c.endpoints[0].uuid.as_deref(), Some("12345678-1234-abcd-ef00-01234567cffb"));
    assert_eq!(c.epm_status.as_deref().map(|s| s.is_empty()), Some(false));

    let reps = follow_up(&run.report.endpoints, &run.convs);
    let r = reps.iter().find(|r| r.handed_out_by.frame == 7).expect("endpoint from frame 7");
    assert_eq!((r.follow_up, r.address_differs, r.port), ("answered", false, Some(49668)));
    assert_eq!(r.asked_address, "172.16.5.58");
    // tshark: the first SYN to 49668 after the answer (frame 8).
    let syn: u64 = fields(
        file,
        "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==49668 && frame.number>8",
        &["frame.number"],
    )[0][0]
        .parse()
        .unwrap();
    assert_eq!(r.attempts[0].syn_frames.first(), Some(&syn));
    assert!(r.attempts.iter().all(|a| a.delay >= 0.0));
    assert!(
        reps.iter().all(|r| r.follow_up == "answered"),
        "{:?}",
        reps.iter().map(|r| (r.handed_out_by.frame, r.follow_up)).collect::<Vec<_>>()
    );
}

/// NTLMSSP AUTHENTICATE: domain\user as tshark reads it.
#[test]
fn ntlm_users_match_tshark() {
    for file in
        ["dcerpc__dcerpc-auth3-5133__input.pcap", "zeek__dce_rpc_ntlm.pcapng", "zeek__20-fids.pcap"]
    {
        let theirs: BTreeSet<String> = fields(
            file,
            "ntlmssp.messagetype==3",
            &["ntlmssp.auth.domain", "ntlmssp.auth.username"],
        )
        .into_iter()
        .map(|r| {
            if r[0].is_empty() || r[0] == "NULL" {
                r[1].clone()
            } else {
                format!("{}\\{}", r[0], r[1])
            }
        })
        .collect();
        let run = common::run(&common::dcerpc(file));
        let ours: BTreeSet<String> = run.calls.iter().filter_map(|c| c.user.clone()).collect();
        assert!(!theirs.is_empty(), "{file}");
        assert_eq!(ours, theirs, "{file}");
    }
}

/// SMB2 named pipes: every call's pipe is the name tshark shows in the CREATE of the FileId
/// the request went to (CREATE request name by MessageId, response FileId by MessageId).
#[test]
fn smb_pipe_names_match_tshark() {
    for file in [
        "zeek__20-fids.pcap",
        "dcerpc-smb-test-01__input.pcap",
        "smb-dce_iface__input.pcap",
        "dcerpc__dcerpc-3109__input.pcap",
    ] {
        let creates = fields(
            file,
            "smb2.cmd==5",
            &["smb2.flags.response", "smb2.msg_id", "smb2.filename", "smb2.fid"],
        );
        let names: BTreeMap<String, String> =
            creates.iter().filter(|r| r[0] == "0").map(|r| (r[1].clone(), r[2].clone())).collect();
        let fid_name: BTreeMap<String, String> = creates
            .iter()
            .filter(|r| r[0] == "1" && !r[3].is_empty())
            .filter_map(|r| {
                Some((r[3].clone(), names.get(&r[1])?.trim_start_matches('\\').to_string()))
            })
            .collect();
        let theirs: BTreeMap<u64, String> =
            fields(file, "dcerpc.pkt_type==0", &["frame.number", "smb2.fid"])
                .into_iter()
                .map(|r| (r[0].parse().unwrap(), fid_name.get(&r[1]).cloned().unwrap_or_default()))
                .collect();
        let run = common::run(&common::dcerpc(file));
        let ours: BTreeMap<u64, String> = run
            .calls
            .iter()
            .filter(|c| c.opnum.is_some())
            .map(|c| (c.frame, c.pipe.clone().unwrap_or_default()))
            .collect();
        assert!(!theirs.is_empty() && theirs.values().all(|v| !v.is_empty()), "{file}: {theirs:?}");
        assert_eq!(ours, theirs, "{file}");
    }
}

/// Auth type and level of each request, as tshark reads the verifier.
#[test]
fn auth_type_and_level_match_tshark() {
    let ty = |s: &str| match s {
        "9" => "spnego",
        "10" => "ntlmssp",
        "16" => "kerberos",
        "68" => "netlogon",
        _ => "other",
    };
    let lv = |s: &str| match s {
        "2" => "connect",
        "3" => "call",
        "4" => "pkt",
        "5" => "integrity",
        "6" => "privacy",
        _ => "other",
    };
    for file in [
        "dcerpc__dcerpc-auth3-5133__input.pcap",
        "dcerpc__dce-gap-handling__input.pcap",
        "zeek__20-fids.pcap",
        "dcerpc__dcerpc-dce-iface-01__20171220_smb_psexec_mimikatz_ticket_dump-s2.pcap",
    ] {
        let theirs: BTreeMap<u64, (String, String)> = fields(
            file,
            "dcerpc.pkt_type==0 && dcerpc.auth_type",
            &["frame.number", "dcerpc.auth_type", "dcerpc.auth_level"],
        )
        .into_iter()
        .map(|r| (r[0].parse().unwrap(), (ty(&r[1]).to_string(), lv(&r[2]).to_string())))
        .collect();
        let run = common::run(&common::dcerpc(file));
        let ours: BTreeMap<u64, (String, String)> = run
            .calls
            .iter()
            .filter(|c| theirs.contains_key(&c.frame))
            .map(|c| {
                (
                    c.frame,
                    (
                        c.auth_type.clone().unwrap_or_default().into_owned(),
                        c.auth_level.clone().unwrap_or_default().into_owned(),
                    ),
                )
            })
            .collect();
        assert!(!theirs.is_empty(), "{file}");
        assert_eq!(ours, theirs, "{file}");
        // Privacy: stubs are encrypted and flagged so.
        for c in run.calls.iter().filter(|c| c.auth_level.as_deref() == Some("privacy")) {
            assert!(c.encrypted, "{file} frame {}", c.frame);
        }
    }
}

/// bind_ack secondary address without the terminating NUL (zeek trace): parsed, not an error.
#[test]
fn bind_ack_without_nul() {
    let run = common::run(&common::dcerpc("zeek__bind-ack-no-inband-null.pcap"));
    assert_eq!(run.report.stats.malformed_pdus, 0, "{:?}", run.report.issues);
    let theirs: BTreeSet<String> = fields(
        "zeek__bind-ack-no-inband-null.pcap",
        "dcerpc.pkt_type==12",
        &["dcerpc.cn_sec_addr"],
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let ours: BTreeSet<String> = run
        .report
        .endpoints
        .iter()
        .filter(|e| e.source == "bind_ack")
        .map(|e| e.port.map(|p| p.to_string()).or(e.pipe.clone()).unwrap_or_default())
        .collect();
    assert_eq!(ours, theirs);
}

/// The gap capture (suricata-verify dce-gap-handling): frame 10 lost 215 bytes; the call
/// after it is still found and the gap is reported with its frame.
#[test]
fn gap_capture_reported() {
    let run = common::run(&common::dcerpc("dcerpc__dce-gap-handling__input.pcap"));
    assert_eq!(run.report.stats.gaps, 1);
    assert!(
        run.report.issues.iter().any(|i| i.what.contains("215 bytes missing")),
        "{:?}",
        run.report.issues
    );
}

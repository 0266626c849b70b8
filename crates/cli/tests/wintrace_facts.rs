//! What Windows traces carry beyond packets, through the whole tool (issue 10 item 3):
//! PktMon drop events become `windows.packet_dropped` findings, NetMon process tables give
//! `process` / `pid` on conversations.
//!
//! The files are synthetic (no permissively licensed real pktmon / NetMon 3.4 capture is
//! known): real packets from the shared captures (shared/captures/SOURCES.md) wrapped in the
//! documented ETL / NetMon structures by the wintrace crate's test builders
//! (`crates/wintrace/tests/common`, which documents how they differ from files Windows
//! writes).

#[path = "../../wintrace/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::etl::{pktmon_20, pktmon_pkt, ClockKind, EtlBuilder, PKTMON};
use common::{read_pcap, shared, Rec};
use serde_json::Value;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tracehound-cli-winfacts-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// The JSON lines the command prints.
fn json(args: &[&str], file: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound")).args(args).arg(file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.trim().is_empty(),
        "{args:?}: no output: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// A pktmon trace of every packet of `recs` (seen once, at the miniport, inbound), the last
/// one also dropped by TCPIP (INET_EndpointNotFound, 1204), and `other` — a packet of a flow
/// not in the trace — dropped twice by the WFP filter with reason 1.
fn pktmon_with_drops(recs: &[Rec], other: &Rec) -> Vec<u8> {
    let t0 = recs[0].ts_ns;
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), t0 - 1_000_000_000, false);
    b.event(PKTMON, 20, 0, 0, t0, &pktmon_20(1, 2, "Intel(R) Ethernet"), false);
    b.event(PKTMON, 20, 0, 0, t0, &pktmon_20(10, 4, "TCPIP"), false);
    b.event(PKTMON, 20, 0, 0, t0, &pktmon_20(11, 3, "WFP filter"), false);
    for (i, r) in recs.iter().enumerate() {
        let p = pktmon_pkt(1000 + i as u64, 1, 1, 3, 1, 1, 0, r.data.len() as u16, &r.data);
        b.event(PKTMON, 160, 0, 0, r.ts_ns, &p, false);
    }
    let last = recs.last().unwrap();
    let cut = &last.data[..last.data.len().min(128)];
    // The same packet (group and number) as its miniport appearance, as pktmon logs it.
    let g = 1000 + recs.len() as u64 - 1;
    let p = pktmon_pkt(g, 1, 2, 1, 1, 10, 1204, last.data.len() as u16, cut);
    b.event(PKTMON, 170, 0, 0, last.ts_ns + 1000, &p, false);
    for k in 0..2 {
        let cut = &other.data[..other.data.len().min(128)];
        let p = pktmon_pkt(20 + k, 1, 2, 1, 1, 11, 1, other.data.len() as u16, cut);
        b.event(PKTMON, 170, 0, 0, last.ts_ns + 2000 + k as i64, &p, false);
    }
    b.finish()
}

fn finding<'a>(v: &'a [Value], component: &str) -> &'a Value {
    v.iter()
        .find(|f| {
            f["id"] == "windows.packet_dropped" && f["evidence"]["values"]["component"] == component
        })
        .unwrap_or_else(|| panic!("no windows.packet_dropped for {component}: {v:?}"))
}

#[test]
fn pktmon_drops_become_findings() {
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let (_, others) = read_pcap(&shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap"));
    let etl = tmp("pktmon-drops.etl");
    std::fs::write(&etl, pktmon_with_drops(&recs, &others[0])).unwrap();
    let v = json(&["analyze", "--json"], &etl);

    let tcpip = finding(&v, "TCPIP (component 10)");
    let e = &tcpip["evidence"]["values"];
    assert_eq!(tcpip["severity"], "problem", "{tcpip:#}");
    assert_eq!(e["reason"], 1204);
    assert_eq!(e["reason_name"], "INET_EndpointNotFound (1204)");
    assert_eq!(e["locations"], "0xE0004500 ×1");
    assert_eq!(e["directions"], "inbound ×1");
    assert_eq!(e["count"], 1);
    assert_eq!(e["flows_in_capture"], 1);
    // The dropped packet's flow, as its headers say.
    let flows = tcpip["evidence"]["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 1);
    let f = &flows[0];
    let last = recs.last().unwrap();
    // Ethernet + IPv4 + TCP of the last packet (the shared capture is plain Ethernet/IPv4).
    let ip = |o: usize| {
        format!("{}.{}.{}.{}", last.data[o], last.data[o + 1], last.data[o + 2], last.data[o + 3])
    };
    let ihl = usize::from(last.data[14] & 0x0f) * 4;
    let port = |o: usize| u64::from(u16::from_be_bytes([last.data[o], last.data[o + 1]]));
    assert_eq!(f["proto"], "tcp");
    assert_eq!(
        (f["src"].as_str().unwrap(), f["sport"].as_u64().unwrap()),
        (ip(26).as_str(), port(14 + ihl))
    );
    assert_eq!(
        (f["dst"].as_str().unwrap(), f["dport"].as_u64().unwrap()),
        (ip(30).as_str(), port(16 + ihl))
    );

    // The capinfo-style summary after the table.
    let t = text(&["conversations"], &etl);
    assert!(t.contains("\nwindows trace: etl, Windows "), "{t}");
    assert!(t.contains(", 0 buffers lost, 0 events lost\n"), "{t}");
    assert!(t.contains("  providers: Microsoft-Windows-PktMon ×"), "{t}");
    assert!(t.contains("; 3 packets dropped by Windows (see `analyze`"), "{t}");

    let wfp = finding(&v, "WFP filter (component 11)");
    assert_eq!(wfp["severity"], "warning", "{wfp:#}");
    assert_eq!(wfp["evidence"]["values"]["count"], 2);
    assert_eq!(wfp["evidence"]["values"]["reason"], 1);
    assert_eq!(wfp["evidence"]["values"]["flows_in_capture"], 0);
}

fn text(args: &[&str], file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound")).args(args).arg(file).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn endpoint(c: &Value, side: &str) -> std::net::SocketAddr {
    let ip: std::net::IpAddr = c[side].as_str().unwrap().parse().unwrap();
    let port = c[if side == "src" { "sport" } else { "dport" }].as_u64().unwrap() as u16;
    std::net::SocketAddr::new(ip, port)
}

#[test]
fn netmon_process_table_names_the_conversations_process() {
    let pcap = shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap");
    let (link, recs) = read_pcap(&pcap);
    assert_eq!(link, 1);
    let plain = json(&["conversations", "--json"], &pcap);
    assert!(plain.iter().all(|c| c.get("process").is_none() && c.get("pid").is_none()));
    let text_plain = text(&["conversations"], &pcap);
    assert!(!text_plain.contains("PROCESS"), "{text_plain}");
    // Two processes from the capture's own conversations (the SMB one and the endpoint
    // mapper one), one entry that matches nothing.
    let smb = plain.iter().find(|c| c["dport"] == 445).expect("an SMB conversation");
    let epm = plain.iter().find(|c| c["dport"] == 135 && c["state"] == "SF").expect("EPM");
    let procs = vec![
        common::NmProcess {
            path: r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE".into(),
            pid: 4242,
            local: endpoint(smb, "src"),
            remote: endpoint(smb, "dst"),
        },
        common::NmProcess {
            path: r"C:\Windows\System32\svchost.exe".into(),
            pid: 1044,
            local: endpoint(epm, "src"),
            remote: endpoint(epm, "dst"),
        },
        common::NmProcess {
            path: r"C:\Windows\explorer.exe".into(),
            pid: 7,
            local: "10.9.9.9:1".parse().unwrap(),
            remote: "10.9.9.8:2".parse().unwrap(),
        },
    ];
    let frames: Vec<common::NmFrame> = recs
        .iter()
        .map(|r| common::NmFrame {
            ts_ns: r.ts_ns,
            orig_len: r.orig_len,
            data: r.data.clone(),
            network: 1,
            process: 0,
        })
        .collect();
    let cap = tmp("netmon23-process.cap");
    std::fs::write(&cap, common::write_netmon(3, recs[0].ts_ns, &frames, &procs, 3)).unwrap();
    let win = json(&["conversations", "--json"], &cap);
    assert_eq!(win.len(), plain.len());
    let mut named = 0;
    for c in &win {
        let key = |v: &Value| {
            (v["src"].clone(), v["sport"].clone(), v["dst"].clone(), v["dport"].clone())
        };
        let p = plain.iter().find(|p| key(p) == key(c)).expect("same conversation in the pcap");
        let mut stripped = c.clone();
        let obj = stripped.as_object_mut().unwrap();
        let process = obj.remove("process");
        let pid = obj.remove("pid");
        obj.insert("file".into(), p["file"].clone());
        assert_eq!(&stripped, p, "besides process / pid, the same conversation");
        let want = if key(c) == key(smb) {
            Some(("OUTLOOK.EXE", 4242))
        } else if key(c) == key(epm) {
            Some(("svchost.exe", 1044))
        } else {
            None
        };
        let got =
            process.map(|n| (n.as_str().unwrap().to_string(), pid.unwrap().as_u64().unwrap()));
        assert_eq!(got, want.map(|(n, p)| (n.to_string(), p)), "{c}");
        named += usize::from(want.is_some());
    }
    assert_eq!(named, 2);
    let t = text(&["conversations"], &cap);
    assert!(t.lines().next().unwrap().ends_with("PROCESS"), "{t}");
    let row = t.lines().find(|l| l.contains(&format!("{}", endpoint(smb, "src")))).unwrap();
    assert!(row.ends_with("OUTLOOK.EXE (4242)"), "{row}");
}

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

use common::etl::{ndis_1001, pktmon_20, pktmon_pkt, ClockKind, EtlBuilder, NDIS, PKTMON};
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
    let mut win = json(&["conversations", "--json"], &cap);
    // The last line is the trace summary, with the process table.
    let sum = win.pop().unwrap();
    assert_eq!(sum["windows_trace"]["format"], "netmon 2.3", "{sum}");
    assert_eq!(sum["windows_trace"]["processes"].as_array().unwrap().len(), 3, "{sum}");
    assert_eq!(sum["windows_trace"]["processes"][0]["pid"], 4242, "{sum}");
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

/// Conversation key: (src, sport, dst, dport) as JSON values.
fn conv_key(v: &Value) -> (Value, Value, Value, Value) {
    (v["src"].clone(), v["sport"].clone(), v["dst"].clone(), v["dport"].clone())
}

/// A `netsh trace` of two adapters: the packets of one shared capture on LowerIfIndex 12, of
/// another on LowerIfIndex 7 (under a filter over miniport 5), in time order. Every
/// conversation names the adapter its packets came from (`interface`, and an INTERFACE
/// column), the trace summary lists both; converted to pcapng (two IDBs named as the trace
/// names them), the same conversations name the same interfaces; a one-interface input has
/// no `interface` at all.
#[test]
fn two_adapter_trace_conversations_name_their_interface() {
    let a_pcap = shared().join("tcp/zeek__options.pcap");
    let b_pcap = shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap");
    let (_, a) = read_pcap(&a_pcap);
    let (_, b) = read_pcap(&b_pcap);
    let mut all: Vec<(&Rec, u32)> =
        a.iter().map(|r| (r, 12)).chain(b.iter().map(|r| (r, 7))).collect();
    all.sort_by_key(|(r, _)| r.ts_ns);
    let mut eb = EtlBuilder::new(ClockKind::Qpc(10_000_000), all[0].0.ts_ns - 1_000_000_000, true);
    let kw = 0x2_0000_0000 | 0xC000_0000;
    for (r, lower) in &all {
        let mini = if *lower == 7 { 5 } else { 12 };
        eb.event(NDIS, 1001, 0, kw, r.ts_ns, &ndis_1001(mini, *lower, &r.data), false);
    }
    let etl = tmp("two-adapters.etl");
    std::fs::write(&etl, eb.finish()).unwrap();
    let from_a = json(&["conversations", "--json"], &a_pcap);
    let from_b = json(&["conversations", "--json"], &b_pcap);
    assert!(from_a.iter().chain(&from_b).all(|c| c.get("interface").is_none()));
    let mut win = json(&["conversations", "--json"], &etl);
    let sum = win.pop().unwrap();
    let ifs = sum["windows_trace"]["interfaces"].as_array().unwrap();
    assert_eq!(ifs.len(), 2, "{sum}");
    let names: Vec<&str> = ifs.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"eth:7") && names.contains(&"eth:12"), "{names:?}");
    assert_eq!(win.len(), from_a.len() + from_b.len());
    let which = |c: &Value| {
        if from_a.iter().any(|x| conv_key(x) == conv_key(c)) {
            "eth:12"
        } else {
            assert!(from_b.iter().any(|x| conv_key(x) == conv_key(c)), "{c}");
            "eth:7"
        }
    };
    for c in &win {
        assert_eq!(c["interface"], which(c), "{c}");
    }
    let t = text(&["conversations", "--top", "1000"], &etl);
    assert!(t.lines().next().unwrap().ends_with("INTERFACE"), "{t}");
    assert_eq!(t.lines().filter(|l| l.ends_with("eth:7")).count(), from_b.len(), "{t}");

    // The same packets as a pcapng with two IDBs (in the order the trace named them).
    let ng = tmp("two-adapters.pcapng");
    let st = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .arg("convert")
        .arg(&etl)
        .arg("-w")
        .arg(&ng)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    // Read back, each conversation names the same interface: the IDB's if_name.
    let ngj = json(&["conversations", "--json", "--top", "1000"], &ng);
    assert_eq!(ngj.len(), win.len());
    for c in &ngj {
        assert_eq!(c["interface"], which(c), "{c}");
    }
    let t = text(&["conversations", "--top", "1000"], &ng);
    assert_eq!(t.lines().filter(|l| l.ends_with("eth:7")).count(), from_b.len(), "{t}");
    // Streamed `--json` (written before the IDB list is complete): `if<N>` off interface 0.
    for c in &json(&["conversations", "--json"], &ng) {
        let idx = names.iter().position(|n| *n == which(c)).unwrap();
        let want = (idx != 0).then(|| format!("if{idx}"));
        assert_eq!(c.get("interface").and_then(|v| v.as_str()), want.as_deref(), "{c}");
    }
}

/// The done-when item "per-flow packet counts as `pktmon etl2txt` (each packet once)", on the
/// synthetic stand-in for a real pktmon capture (tests/fixtures/wintrace/pktmon-cut128.etl:
/// every packet of a shared capture logged at three components, payloads cut at 128 bytes,
/// compressed buffers; made by the wintrace crate's `regenerate_fixtures`): every TCP / UDP
/// conversation has the packet and byte counts of the capture the packets came from.
#[test]
fn pktmon_trace_per_flow_counts_equal_the_source_capture() {
    let etl = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/wintrace/pktmon-cut128.etl"
    ));
    let pcap = shared().join("dcerpc/dcerpc__dcerpc-bind-no-frag-flag__input.pcap");
    let want = json(&["conversations", "--json"], &pcap);
    let mut got = json(&["conversations", "--json"], etl);
    let sum = got.pop().unwrap();
    assert_eq!(
        sum["windows_trace"]["duplicate_appearances"],
        2 * sum["windows_trace"]["packets"].as_u64().unwrap()
    );
    assert!(!want.is_empty());
    assert_eq!(got.len(), want.len());
    for w in &want {
        let g = got.iter().find(|g| conv_key(g) == conv_key(w)).expect("same conversation");
        for k in ["packets", "bytes"] {
            assert_eq!(g[k], w[k], "{k}: {g}");
        }
        for d in ["orig", "resp"] {
            assert_eq!(g[d]["packets"], w[d]["packets"], "{d}: {g}");
        }
    }
}

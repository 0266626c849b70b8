//! Names against tshark, on every DCE/RPC capture in /work/shared/captures/dcerpc
//! (suricata-verify and zeek test traces, see SOURCES.md): for every call the
//! analyzer logs, where tshark names the operation (its Info column reads
//! `<Operation> request`) we must name it too, and the same way; where tshark
//! names the interface of an operation it does not know (`Ctx: N <Interface>
//! V<ver>`), we must name the interface; where tshark names the status of
//! the answer (`<Operation> response, <STATUS>`, `Fault: ... status: <name>`),
//! the name read in the interface's own status space must agree.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::HashMap;

use tracehound_rpc::names::{self, StatusSpace};
use tracehound_rpc::uuid::Uuid;
use tracehound_rpc::Outcome;

/// tshark's Info column per frame.
fn tshark_info(path: &std::path::Path, extra: &[&str]) -> HashMap<u64, String> {
    let p = path.to_str().expect("utf8 path");
    // Only the frames tshark decodes as DCE/RPC, two fields, no name resolution.
    let mut args = vec!["-n", "-r", p, "-o", "tcp.desegment_tcp_streams:TRUE", "-Y", "dcerpc"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info"]);
    common::tshark(&args)
        .lines()
        .filter_map(|l| {
            let (f, info) = l.split_once('\t')?;
            Some((f.parse().ok()?, info.to_string()))
        })
        .collect()
}

/// Words that precede ` request` / ` response` in tshark's Info column.
fn ops_before(info: &str, what: &str) -> Vec<String> {
    let pat = format!(" {what}");
    let mut out = Vec::new();
    let mut rest = info;
    while let Some(i) = rest.find(&pat) {
        let head = &rest[..i];
        let word: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let named = word.starts_with(|c: char| c.is_ascii_alphabetic());
        if named && !word.eq_ignore_ascii_case("Request") {
            out.push(word);
        }
        rest = &rest[i + pat.len()..];
    }
    out
}

/// The interface tshark names in `Ctx: N <Interface> V<ver>` (operation unknown to it).
fn ctx_interface(info: &str) -> Option<String> {
    let i = info.find("Ctx: ")?;
    let mut it = info[i + 5..].split_whitespace();
    it.next()?; // context id
    let name = it.next()?;
    let ver = it.next()?;
    // tshark prints the bare UUID when it does not know the interface.
    (ver.starts_with('V') && name.parse::<Uuid>().is_err())
        .then(|| name.trim_end_matches(',').to_string())
}

/// tshark's status name after `response, ` or in `status: ` of a fault.
fn tshark_status(info: &str) -> Option<String> {
    if let Some(i) = info.find("status: ") {
        return info[i + 8..].split([',', ' ']).next().map(str::to_string);
    }
    let i = info.find(" response, ")?;
    let s = info[i + 11..].split([',', ' ']).next()?;
    // Only status names: tshark also appends other facts here (EPM towers:
    // "Map response, RPC_NETLOGON, ...").
    const PREFIXES: [&str; 10] = [
        "STATUS_",
        "WERR_",
        "NT_STATUS_",
        "ERROR_",
        "E_",
        "MAPI_",
        "WBEM_",
        "RPC_E_",
        "RPC_S_",
        "CO_E_",
    ];
    PREFIXES.iter().any(|p| s.starts_with(p)).then(|| s.to_string())
}

fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase()
}

/// tshark (Wireshark's value_strings) and the specs spell a few names
/// differently; each pair is the same code.
fn same_status(tshark: &str, ours: &str) -> bool {
    if tshark == ours {
        return true;
    }
    // Wireshark's WERR_* are the Win32 ERROR_* codes.
    if let Some(t) = tshark.strip_prefix("WERR_") {
        return ours.strip_prefix("ERROR_") == Some(t);
    }
    // Wireshark spells two C706 fault codes without the "_s_".
    matches!(
        (tshark, ours),
        ("nca_op_rng_error", "nca_s_op_rng_error") | ("nca_unk_if", "nca_s_unk_if")
    )
}

/// Wireshark's operation names that differ from the specs' (and ours):
/// its SAMR, WINREG and DSSETUP dissectors use Samba's IDL names.
const WIRESHARK_ALIASES: [(&str, &str); 5] = [
    ("DsRoleUpgradeDownlevelServer", "DsRolerUpgradeDownlevelServer"),
    ("EnumDomains", "SamrEnumerateDomainsInSamServer"),
    ("EnumDomainUsers", "SamrEnumerateUsersInDomain"),
    ("QueryUserInfo", "SamrQueryInformationUser"),
    ("OpenHKLM", "OpenLocalMachine"),
];

fn same_op(tshark: &str, ours: &str) -> bool {
    let (t, o) = (norm(tshark), norm(ours));
    if t == o || WIRESHARK_ALIASES.contains(&(tshark, ours)) {
        return true;
    }
    // Wireshark shortens some spec names: drops the "Samr"/"Rpc"/"Netr"/"R"
    // prefixes or an "Object"/"W" suffix (QuerySecurity = SamrQuerySecurityObject).
    o.contains(&t)
}

#[derive(Default)]
struct Tally {
    ops_checked: usize,
    ifaces_checked: usize,
    statuses_checked: usize,
    /// Captures with no call to compare (tshark not run).
    skipped: usize,
    problems: Vec<String>,
}

fn check_capture(name: &str, t: &mut Tally) {
    let path = common::dcerpc(name);
    let extra: &[&str] = match name {
        // tshark hands TCP 8080 to HTTP; see tshark_compare.rs.
        "dcerpc-request-http-response__input.pcap" => &["-d", "tcp.port==8080,dcerpc"],
        _ => &[],
    };
    let run = common::run(&path);
    // A capture in which the analyzer finds no call with an interface and an
    // opnum has nothing to compare: skip its tshark run (tshark's start-up
    // dominates the test's time).
    if !run.calls.iter().any(|c| c.uuid.is_some() && c.opnum.is_some()) {
        t.skipped += 1;
        return;
    }
    let info = tshark_info(&path, extra);
    for c in &run.calls {
        let (Some(uuid), Some(opnum)) = (c.uuid.as_deref(), c.opnum) else { continue };
        let Ok(u) = uuid.parse::<Uuid>() else { continue };
        let major: u16 = c
            .version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let at = format!("{name} frame {} ({uuid} opnum {opnum})", c.frame);
        let req = info.get(&c.frame).map(String::as_str).unwrap_or("");
        let ours = names::opnum_name(&u, opnum);
        let theirs = ops_before(req, "request");
        if !theirs.is_empty() {
            t.ops_checked += 1;
            match ours {
                None => t.problems.push(format!("{at}: tshark names {theirs:?}, we do not")),
                Some(o) if !theirs.iter().any(|x| same_op(x, o)) => {
                    t.problems.push(format!("{at}: tshark {theirs:?}, ours {o}"))
                }
                Some(_) => {}
            }
        } else if ctx_interface(req).is_some() {
            t.ifaces_checked += 1;
            if names::interface_name(&u, major).is_none() {
                t.problems.push(format!("{at}: tshark names the interface ({req}), we do not"));
            }
        }
        let Some(rf) = c.response_frame else { continue };
        let Some(ts) = info.get(&rf).and_then(|i| tshark_status(i)) else { continue };
        let ours = match (c.outcome, c.status_code, c.return_code) {
            (Outcome::Fault, Some(st), _) => names::fault_status_name(st),
            (_, _, Some(rc)) => names::call_status_name(&u, major, opnum, rc),
            _ => None,
        };
        t.statuses_checked += 1;
        match ours {
            Some(o) if same_status(&ts, o) => {}
            other => t.problems.push(format!("{at}: status tshark {ts}, ours {other:?}")),
        }
    }
}

#[test]
fn names_match_tshark_on_shared_captures() {
    let dir = common::shared().join("dcerpc");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("captures dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} captures", files.len());
    // Captures are independent: check them on two threads (the machine has
    // two cores; tshark's start-up dominates), largest first, each thread
    // taking the next capture from a shared counter.
    let size = |f: &String| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
    files.sort_by_cached_key(|f| std::cmp::Reverse(size(f)));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut t = Tally::default();
    let parts: Vec<Tally> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                sc.spawn(|| {
                    let mut part = Tally::default();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(f) = files.get(i) else { break };
                        check_capture(f, &mut part);
                    }
                    part
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("capture check thread")).collect()
    });
    for p in parts {
        t.ops_checked += p.ops_checked;
        t.ifaces_checked += p.ifaces_checked;
        t.statuses_checked += p.statuses_checked;
        t.skipped += p.skipped;
        t.problems.extend(p.problems);
    }
    eprintln!(
        "checked {} operation names, {} interface names, {} statuses against tshark \
         ({} of {} captures without calls to compare)",
        t.ops_checked,
        t.ifaces_checked,
        t.statuses_checked,
        t.skipped,
        files.len()
    );
    let compared = files.len() - t.skipped;
    assert!(compared >= 15, "only {compared} captures compared");
    assert!(t.ops_checked >= 100, "too few operations compared: {}", t.ops_checked);
    assert!(t.statuses_checked >= 5, "too few statuses compared: {}", t.statuses_checked);
    assert!(t.problems.is_empty(), "{} differences:\n{}", t.problems.len(), t.problems.join("\n"));
}

/// The statuses tshark cannot name in these captures are named from the
/// interface's space (tshark: "Unknown error 0x00000032" on atsvc NetrJobAdd).
#[test]
fn atsvc_status_is_win32() {
    let atsvc: Uuid = "1ff70682-0a51-30e8-076d-740be8cee98b".parse().unwrap();
    assert_eq!(names::call_status_space(&atsvc, 1, 0), StatusSpace::Win32);
    assert_eq!(names::call_status_name(&atsvc, 1, 0, 0x32), Some("ERROR_NOT_SUPPORTED"));
}

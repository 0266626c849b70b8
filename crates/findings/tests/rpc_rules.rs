//! The DCE/RPC rules (`rpc.refused`, `rpc.zerologon`) over whole real captures: the capture
//! reader, the flows engine and the DCE/RPC analyzer as `analyze` runs them, then every rule.
//! Captures: the shared dcerpc captures (../shared/captures/SOURCES.md) and the lab captures
//! (tests/fixtures/lab, made by lab/rpc/*.sh); counts are cross-checked with tshark.

use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_capture::CaptureReader;
use tracehound_findings::rules::{all, Facts};
use tracehound_findings::{Finding, Severity};
use tracehound_flows::{Config, Pass};
use tracehound_rpc::endpoints::follow_up;
use tracehound_rpc::RpcAnalyzer;

fn shared(name: &str) -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures/dcerpc"))
        .join(name);
    assert!(p.is_file(), "shared capture missing: {}", p.display());
    p
}

fn lab_dir() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab"));
    assert!(p.is_dir(), "lab captures missing: {}", p.display());
    p
}

/// Every rpc.* finding of a capture.
fn findings(path: &Path) -> Vec<Finding> {
    let mut rd = CaptureReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pass = Pass::new(Config::default());
    let mut an = RpcAnalyzer::default();
    let mut calls = Vec::new();
    let mut convs = Vec::new();
    while let Some(f) = rd.next_frame().expect("capture readable") {
        pass.frame(&f, &mut an);
        calls.extend(an.take_calls());
        convs.extend(pass.take_finished());
    }
    convs.extend(pass.finish(&mut an));
    convs.sort_by_key(|c| c.info.id);
    let mut rpc = an.finish();
    calls.append(&mut rpc.calls);
    calls.sort_by_key(|c| (c.frame, c.response_frame));
    rpc.calls = calls;
    let endpoints = follow_up(&rpc.endpoints, &convs);
    let apps = Default::default();
    let facts = Facts {
        file: "test",
        capture: &Default::default(),
        conversations: &convs,
        rpc: &rpc,
        endpoints: &endpoints,
        apps: &apps,
    };
    let mut out = Vec::new();
    for r in all() {
        (r.check)(&facts, &mut out);
    }
    out.retain(|f| f.id.starts_with("rpc."));
    out
}

fn tshark_count(path: &Path, filter: &str) -> usize {
    let out = Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark must be installed (tests compare with it)");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn value<'a>(f: &'a Finding, k: &str) -> &'a serde_json::Value {
    f.evidence.values.get(k).unwrap_or_else(|| panic!("{}: no evidence value {k}", f.id))
}

fn advice(f: &Finding) -> String {
    f.likely_causes
        .iter()
        .chain(f.next_steps.iter())
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn zerologon_succeeded_and_set_the_password() {
    let path = shared("dcerpc__zerologon__input.pcap");
    let fs = findings(&path);
    let z: Vec<&Finding> = fs.iter().filter(|f| f.id == "rpc.zerologon").collect();
    assert_eq!(z.len(), 1, "{:#?}", fs.iter().map(|f| &f.title).collect::<Vec<_>>());
    let z = z[0];
    assert_eq!(z.severity, Severity::Problem);
    // tshark dissects 20 zero-credential NetrServerAuthenticate3 requests (19 denied, the last
    // accepted); frame 419 is one
    // more it does not dissect (a segment it takes for a retransmission; see
    // crates/rpc/tests/tshark_compare.rs), answered STATUS_ACCESS_DENIED in frame 420.
    let zero = tshark_count(
        &path,
        "netlogon.clientcred == 00:00:00:00:00:00:00:00 && dcerpc.pkt_type == 0",
    );
    assert_eq!(zero, 20);
    assert_eq!(value(z, "attempts"), &serde_json::json!(zero + 1));
    assert_eq!(value(z, "denied"), &serde_json::json!(zero - 1 + 1)); // 19 + frame 419
    assert_eq!(value(z, "account"), "BAS-AD-01$");
    assert_eq!(value(z, "succeeded"), true);
    assert_eq!(value(z, "password_set"), true);
    assert_eq!(tshark_count(&path, "netlogon.opnum == 30 && dcerpc.pkt_type == 0"), 1);
    assert!(z.title.contains("succeeded, password set"), "{}", z.title);
    // The denied attempts are the attack, not an authentication-level problem.
    assert!(!fs
        .iter()
        .any(|f| f.id == "rpc.refused" && f.title.contains("NetrServerAuthenticate")));
    // SamrConnect denied 5 times over \pipe\samr: a problem (it keeps failing), with advice
    // for a pipe (the SMB session's user), not "raise the authentication level".
    let samr = fs
        .iter()
        .find(|f| f.id == "rpc.refused" && f.title.contains("SamrConnect"))
        .expect("SamrConnect refused");
    assert_eq!(samr.severity, Severity::Problem);
    assert_eq!(value(samr, "failures"), 5);
    assert!(!advice(samr).contains("authentication level"), "{}", advice(samr));
}

#[test]
fn zerologon_attempts_that_never_succeeded() {
    let path = shared("dcerpc__dcerpc-dce-iface-many__input.pcap");
    let fs = findings(&path);
    let z = fs.iter().find(|f| f.id == "rpc.zerologon").expect("rpc.zerologon");
    let zero = tshark_count(
        &path,
        "netlogon.clientcred == 00:00:00:00:00:00:00:00 && dcerpc.pkt_type == 0",
    );
    assert_eq!(zero, 3);
    assert_eq!(value(z, "attempts"), &serde_json::json!(zero));
    assert_eq!(value(z, "account"), "dc01$");
    assert_eq!(value(z, "succeeded"), false);
    assert_eq!(value(z, "password_set"), false);
    assert_eq!(z.severity, Severity::Problem);
}

#[test]
fn healthy_lab_rpc_raises_no_zerologon() {
    let mut n = 0;
    for e in std::fs::read_dir(lab_dir()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("rpc-") && name.ends_with(".pcap") {
            n += 1;
            let fs = findings(&p);
            assert!(!fs.iter().any(|f| f.id == "rpc.zerologon"), "{name}");
        }
    }
    assert!(n >= 10, "only {n} lab rpc captures");
}

#[test]
fn optional_interface_probes_are_not_findings() {
    // 24 RemQueryInterface answered E_NOINTERFACE (tshark: dcom.hresult 0x80004002) in
    // sessions that then make hundreds of successful calls.
    let path = shared("dcerpc__dcerpc-ctxids__input.pcap");
    assert_eq!(
        tshark_count(
            &path,
            "dcerpc.pkt_type == 2 && dcerpc.opnum == 3 && dcom.hresult == 0x80004002"
        ),
        24
    );
    let fs = findings(&path);
    assert!(
        !fs.iter()
            .any(|f| f.title.contains("RemQueryInterface") || f.title.contains("E_NOINTERFACE")),
        "{:#?}",
        fs.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
}

#[test]
fn buffer_size_probe_is_not_a_finding() {
    // RpcEnumPrinterDrivers → ERROR_INSUFFICIENT_BUFFER, then the same call succeeds.
    let path = shared("smb-dce_iface__input.pcap");
    assert_eq!(tshark_count(&path, "spoolss.rc == 122"), 1);
    let fs = findings(&path);
    assert!(
        !fs.iter().any(|f| f.title.contains("RpcEnumPrinterDrivers")),
        "{:#?}",
        fs.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
}

#[test]
fn fault_that_ends_the_association_is_a_problem() {
    // dce-gap-handling: SamrConnect answered with a fault (tshark: nca_s_fault_sec_pkg_error),
    // then the server closes the connection (FIN) and resets the client's next request (RST).
    let path = shared("dcerpc__dce-gap-handling__input.pcap");
    assert_eq!(tshark_count(&path, "dcerpc.pkt_type == 3"), 1);
    assert_eq!(tshark_count(&path, "tcp.flags.fin == 1 && ip.src == 172.31.9.211"), 1);
    assert_eq!(tshark_count(&path, "tcp.flags.reset == 1 && ip.src == 172.31.9.211"), 1);
    let fs = findings(&path);
    let f = fs.iter().find(|f| f.id == "rpc.refused").expect("rpc.refused");
    assert_eq!(f.severity, Severity::Problem, "{}", f.title);
    assert_eq!(value(f, "ended_by"), "server FIN, server RST");
    assert!(advice(f).contains("security package"), "{}", advice(f));
}

#[test]
fn opnum_no_version_has_is_a_probe_not_a_version_mismatch() {
    // dcerpc-bind-no-frag-flag: epmapper opnum 42 (the endpoint mapper has opnums 0-6) →
    // nca_s_op_rng_error.
    let path = shared("dcerpc__dcerpc-bind-no-frag-flag__input.pcap");
    assert_eq!(tshark_count(&path, "dcerpc.pkt_type == 0 && dcerpc.opnum == 42"), 2);
    let fs = findings(&path);
    let f = fs
        .iter()
        .find(|f| f.id == "rpc.refused" && f.title.contains("opnum 42"))
        .expect("opnum 42");
    // A probe (the client even closed before the answer, frame 31): a fact, not a problem.
    assert_eq!(f.severity, Severity::Info, "{}", f.title);
    let a = advice(f);
    assert!(!a.contains("Update the older side"), "{a}");
    assert!(a.contains("no version of this interface"), "{a}");
}

#[test]
fn refused_then_retried_successfully_is_info() {
    // lab/rpc/rpc-retry-auth.sh: anonymous IDL_DRSBind → fault (frame 20/21), the same call
    // with NTLM on a new connection → response (frame 34/36).
    let path = lab_dir().join("rpc-retry-auth.pcap");
    assert_eq!(tshark_count(&path, "dcerpc.pkt_type == 3 && dcerpc.request_in == 20"), 1);
    assert_eq!(tshark_count(&path, "dcerpc.pkt_type == 2 && dcerpc.request_in == 34"), 1);
    let fs = findings(&path);
    assert_eq!(fs.len(), 1, "{:#?}", fs.iter().map(|f| &f.title).collect::<Vec<_>>());
    let f = &fs[0];
    assert_eq!((f.id, f.severity), ("rpc.refused", Severity::Info), "{}", f.title);
    assert!(f.title.contains("IDL_DRSBind") && f.title.contains("retried and succeeded"));
    assert_eq!(value(f, "retried_ok_frame"), 34);
}

#[test]
fn netlogon_stale_password_then_current_one() {
    // lab/rpc/rpc-netlogon-retry.sh: NetrServerAuthenticate3 with a stale machine password
    // (STATUS_ACCESS_DENIED, frame 22/23), then with the current one (STATUS_SUCCESS, 36/37).
    let path = lab_dir().join("rpc-netlogon-retry.pcap");
    assert_eq!(tshark_count(&path, "netlogon.rc == 0xc0000022"), 1);
    assert_eq!(tshark_count(&path, "netlogon.opnum == 26 && netlogon.rc == 0"), 1);
    // Genuine credentials: none is all-zero.
    assert_eq!(tshark_count(&path, "netlogon.clientcred == 00:00:00:00:00:00:00:00"), 0);
    let fs = findings(&path);
    assert!(!fs.iter().any(|f| f.id == "rpc.zerologon"));
    assert_eq!(fs.len(), 1, "{:#?}", fs.iter().map(|f| &f.title).collect::<Vec<_>>());
    let f = &fs[0];
    assert_eq!((f.id, f.severity), ("rpc.refused", Severity::Info), "{}", f.title);
    assert_eq!(value(f, "retried_ok_frame"), 36);
    // Advice for the secure channel, not for the authentication level of the binding.
    let a = advice(f);
    assert!(a.contains("secure channel"), "{a}");
    assert!(!a.contains("authentication level"), "{a}");
    assert!(f.explanation.contains("unauthenticated binding by design"), "{}", f.explanation);
}

//! Every rule the engine registers has threshold tests: [`RULE_FILES`] maps each registered
//! rule name to its file, and each file's `thresholds` module (`rules/<file>/thresholds.rs`,
//! declared at the bottom of the rule file) must hold at least [`MIN_TESTS`] tests. A rule
//! registered in [`super::all`] without an entry here, an entry for a rule no longer
//! registered, or a rule file under `rules/` that is neither a rule nor a listed helper
//! fails the suite.

use std::collections::BTreeSet;
use std::path::Path;

/// Registered rule name → the file (module) under `rules/` that implements it.
pub const RULE_FILES: &[(&str, &str)] = &[
    ("app.slow_responder", "slow_responder"),
    ("tls.certificate_expired", "tls"),
    ("tcp.connect", "tcp_connect"),
    ("rpc.endpoints", "rpc_endpoints"),
    ("rpc.refused", "rpc_refused"),
    ("rpc.zerologon", "rpc_zerologon"),
    ("rpc.http_tunnel", "rpc_http"),
    ("tcp.loss", "tcp_loss"),
    ("tcp.zero_window", "tcp_window"),
    ("tcp.scan", "scan"),
    ("tcp.injected_data", "tcp_inject"),
    ("tcp.reset", "tcp_reset"),
    ("tcp.nagle_delayed_ack", "tcp_nagle"),
    ("tcp.mtu", "tcp_mtu"),
    ("capture", "capture"),
    ("capture.coverage", "coverage"),
    ("app.no_response", "no_response"),
    ("dns.failure", "dns"),
    ("tls.handshake_failure", "tls"),
    ("tls.certificate_mismatch", "tls"),
    ("tls.client_refused", "tls_refused"),
    ("tls.not_decryptable", "tls_decrypt"),
    ("kerberos.failure", "kerberos"),
    ("ntlm.failure", "ntlm"),
    ("ldap.bind_failure", "ldap"),
    ("ldap.error", "ldap"),
    ("smb.auth_failure", "smb_auth"),
    ("smb.access_denied", "smb_auth"),
    ("http.errors", "http_errors"),
    ("app.protocol_mismatch", "protocol_mismatch"),
    ("rdp.negotiation_failure", "rdp"),
    ("auth.patterns", "auth"),
    ("windows.packet_dropped", "windows"),
];

/// Files under `rules/` that hold no rule of their own (shared helpers, the registry).
const HELPERS: &[&str] = &["mod", "tests", "util", "offload", "answer", "rpc_advice"];

/// Threshold tests each rule file needs at least (below and at a number, or present and
/// absent).
const MIN_TESTS: usize = 2;

fn rules_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules"))
}

/// `#[test]` functions in the file's `thresholds` module.
fn threshold_tests(file: &str) -> usize {
    let src = rules_dir().join(format!("{file}.rs"));
    let src = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    assert!(
        src.contains("#[cfg(test)]\nmod thresholds;"),
        "rules/{file}.rs does not declare `#[cfg(test)] mod thresholds;`"
    );
    let t = rules_dir().join(file).join("thresholds.rs");
    let t = std::fs::read_to_string(&t).unwrap_or_else(|e| panic!("{}: {e}", t.display()));
    t.lines().filter(|l| l.trim() == "#[test]").count()
}

#[test]
fn every_registered_rule_has_threshold_tests() {
    let registered: BTreeSet<&str> = super::all().iter().map(|r| r.name).collect();
    let listed: BTreeSet<&str> = RULE_FILES.iter().map(|(n, _)| *n).collect();
    let missing: Vec<_> = registered.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "registered without threshold tests (add to RULE_FILES): {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&registered).collect();
    assert!(stale.is_empty(), "listed in RULE_FILES but not registered: {stale:?}");
    assert_eq!(listed.len(), RULE_FILES.len(), "a rule listed twice");
    let mut table = Vec::new();
    for (name, file) in RULE_FILES {
        let n = threshold_tests(file);
        assert!(
            n >= MIN_TESTS,
            "{name} (rules/{file}.rs): {n} threshold tests, want ≥ {MIN_TESTS}"
        );
        table.push(format!("{name:28} rules/{file}/thresholds.rs: {n} tests"));
    }
    println!("{}", table.join("\n"));
}

#[test]
fn every_rule_file_is_registered_or_a_helper() {
    let files: BTreeSet<&str> = RULE_FILES.iter().map(|(_, f)| *f).collect();
    for e in std::fs::read_dir(rules_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            files.contains(stem.as_str()) || HELPERS.contains(&stem.as_str()),
            "rules/{stem}.rs is neither in RULE_FILES (a registered rule with threshold tests) nor a helper"
        );
    }
}

//! The rules over this crate's output (crates/findings/src/rules/{dns,tls,slow_responder}.rs)
//! on real captures: the lab scenarios (tests/fixtures/lab, made by lab/net) and the shared
//! captures (/work/shared/captures, see SOURCES.md).

mod common;

use std::path::Path;

use tracehound_findings::{Evidence, Finding, FlowRef, Severity};

/// The rule files, compiled here as they are in crates/findings (they name `crate::Finding`
/// and `super::Facts`, which the imports above provide).
#[allow(dead_code)]
#[path = "../../findings/src/rules/dns.rs"]
mod dns;
#[allow(dead_code)]
#[path = "../../findings/src/rules/slow_responder.rs"]
mod slow_responder;
#[allow(dead_code)]
#[path = "../../findings/src/rules/tls.rs"]
mod tls;
use tracehound_findings::rules::Facts;

/// Our finding ids.
const IDS: [&str; 5] = ["dns.failure", "tls.handshake_failure", "tls.certificate_mismatch", "tls.certificate_expired", "app.slow_responder"];

fn findings(path: &Path) -> Vec<Finding> {
    let all = common::run_all(path);
    let facts = Facts { file: "test", capture: &Default::default(), conversations: &all.convs, rpc: &all.rpc, endpoints: &[], apps: &all.apps };
    let mut out = Vec::new();
    dns::check(&facts, &mut out);
    tls::check(&facts, &mut out);
    slow_responder::check(&facts, &mut out);
    for f in &out {
        assert!(IDS.contains(&f.id));
        assert!(!f.explanation.is_empty() && !f.likely_causes.is_empty() && !f.next_steps.is_empty(), "{}", f.id);
        assert!(f.evidence.frames.windows(2).all(|w| w[0] < w[1]), "frames sorted: {:?}", f.evidence.frames);
    }
    out
}

#[allow(dead_code)]
fn show(f: &[Finding]) -> String {
    serde_json::to_string_pretty(f).unwrap()
}

#[test]
#[ignore]
fn dump_findings() {
    let p = std::env::var("CAP").unwrap();
    println!("{}", show(&findings(Path::new(&p))));
}

#[allow(dead_code)]
fn unused(_: Evidence, _: FlowRef, _: Severity) {}

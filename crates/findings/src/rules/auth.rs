//! Logon failures across protocols, and the patterns support and security both ask for:
//!
//! - `auth.stale_credentials`: one account failing again and again (3–9 times) from one host
//!   — a service, scheduled task or mapped drive still using an old password;
//! - `auth.password_spray`: one source failing on many accounts (≥ 4), a few times each;
//! - `auth.brute_force`: one account failing many times (≥ 10).
//!
//! A "credential failure" is a wrong or refused password or account: Kerberos
//! PREAUTH_FAILED / C_PRINCIPAL_UNKNOWN / CLIENT_REVOKED / KEY_EXPIRED, NTSTATUS logon
//! failures (LOGON_FAILURE, WRONG_PASSWORD, NO_SUCH_USER, ACCOUNT_LOCKED_OUT, …) in SMB,
//! LDAP invalidCredentials, HTTP 401 after credentials were sent. Also the helpers the
//! per-protocol auth rules share: which failures count, and what followed each one.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub const STALE: &str = "auth.stale_credentials";
pub const SPRAY: &str = "auth.password_spray";
pub const BRUTE: &str = "auth.brute_force";

/// Failures of one account from one host before it counts as stale credentials.
pub const STALE_MIN: usize = 3;
/// Failures of one account (any source) that count as brute force.
pub const BRUTE_MIN: usize = 10;
/// Distinct accounts failing from one source that count as a spray.
pub const SPRAY_MIN_ACCOUNTS: usize = 4;

/// A failed outcome that the rules report (not a success, not a normal intermediate step
/// such as Kerberos PREAUTH_REQUIRED or an HTTP 401 challenge leg).
pub fn is_failure(e: &AuthEvent) -> bool {
    if e.ok || e.leg {
        return false;
    }
    match e.proto {
        AuthProto::Kerberos => !e.code.is_some_and(tracehound_apps::proto::krb::is_normal_step),
        _ => true,
    }
}

/// A failure that says the credentials or the account were refused.
pub fn is_credential_failure(e: &AuthEvent) -> bool {
    if !is_failure(e) {
        return false;
    }
    let c = e.code.unwrap_or(0);
    match e.proto {
        AuthProto::Kerberos => matches!(c, 6 | 18 | 23 | 24),
        AuthProto::Smb => {
            e.op == "session setup" && tracehound_apps::proto::ntstatus::is_logon_failure(c as u32)
        }
        AuthProto::Ldap => e.op == "bind" && c == 49,
        AuthProto::Http => c == 401 && e.account.is_some(),
        AuthProto::Rdp => false,
    }
}

/// The account in a comparable form: lower case, without `DOMAIN\` or `@realm`.
pub fn account_key(e: &AuthEvent) -> Option<String> {
    let a = e.account.as_deref()?;
    let a = a.rsplit('\\').next().unwrap_or(a);
    let a = a.split('@').next().unwrap_or(a);
    let a = a.strip_prefix("CN=").or_else(|| a.strip_prefix("cn=")).unwrap_or(a);
    let a = a.split(',').next().unwrap_or(a);
    (!a.is_empty()).then(|| a.to_ascii_lowercase())
}

/// `DOMAIN\user` / `user@REALM` for display.
pub fn who(e: &AuthEvent) -> String {
    let anon = e.mech.as_deref() == Some("anonymous");
    let a = match (&e.account, anon, e.proto) {
        (Some(a), _, _) => a.clone(),
        (None, true, _) => "anonymous (null session)".into(),
        // a TGS-REQ names its client only inside the encrypted authenticator
        (None, false, AuthProto::Kerberos) => return "a client (not named in the request)".into(),
        (None, false, _) => "(no account name)".into(),
    };
    let mut s = match (&e.domain, e.proto) {
        (Some(d), AuthProto::Kerberos) if !a.contains('@') => format!("{a}@{d}"),
        (Some(d), _) if !a.contains('\\') && !a.contains('@') => format!("{d}\\{a}"),
        _ => a,
    };
    if let Some(w) = &e.workstation {
        s.push_str(&format!(" (workstation {w})"));
    }
    s
}

/// What followed a failure from the same client: the same account succeeding at the same
/// operation (a retry that worked), or — for Kerberos — the client falling back to NTLM
/// (over SMB, HTTP, LDAP, or DCE/RPC whose bind carried an NTLM AUTHENTICATE).
///
/// Built once per rule: the logon events and the authenticated DCE/RPC calls of each client,
/// so that asking about one failure reads that client's events only (asking every failure
/// of a capture with tens of thousands of logons against every event was quadratic).
pub struct Followups<'a> {
    facts: &'a Facts<'a>,
    /// Indices into the logon events, per client address, in the events' order.
    events: FxHashMap<IpAddr, Vec<u32>>,
    /// Indices into the DCE/RPC calls that carry a user name, per client, in the calls' order.
    rpc_users: FxHashMap<IpAddr, Vec<u32>>,
}

impl<'a> Followups<'a> {
    pub fn new(facts: &'a Facts<'a>) -> Self {
        let mut events: FxHashMap<IpAddr, Vec<u32>> = FxHashMap::default();
        for (i, e) in facts.apps.auth.events.iter().enumerate() {
            events.entry(e.client.ip()).or_default().push(i as u32);
        }
        let mut rpc_users: FxHashMap<IpAddr, Vec<u32>> = FxHashMap::default();
        for (i, c) in facts.rpc.calls.iter().enumerate() {
            if c.user.is_some() {
                rpc_users.entry(c.src).or_default().push(i as u32);
            }
        }
        Followups { facts, events, rpc_users }
    }

    /// What followed failure `e`: `(text, resolved)`.
    pub fn after(&self, e: &AuthEvent) -> (String, bool) {
        let all = &self.facts.apps.auth.events;
        let key = account_key(e);
        let mut best: Option<(u64, String, bool)> = None;
        let mine = self.events.get(&e.client.ip()).map(Vec::as_slice).unwrap_or_default();
        let later = mine
            .iter()
            .filter_map(|&i| all.get(i as usize))
            .filter(|x| x.ts >= e.ts && x.frame > e.frame);
        for x in later {
            if x.ok
                && account_key(x) == key
                && key.is_some()
                && x.proto == e.proto
                && x.op == e.op
                && x.service == e.service
            {
                let how = match (&x.mech, &e.mech) {
                    (Some(m), Some(n)) if m != n => format!(", {m}"),
                    _ => String::new(),
                };
                best = Some((
                    x.frame,
                    format!("then {} succeeded (frame {}{how})", x.op, x.frame),
                    true,
                ));
                break;
            }
            if e.proto == AuthProto::Kerberos
                && x.mech.as_deref() == Some("NTLM")
                && matches!(x.proto, AuthProto::Smb | AuthProto::Http | AuthProto::Ldap)
            {
                let how = if x.ok { "succeeded" } else { "failed too" };
                let t = format!(
                    "the client fell back to NTLM over {} (frame {}), which {how}",
                    x.proto.name(),
                    x.frame
                );
                best = Some((x.frame, t, x.ok));
                break;
            }
        }
        if e.proto == AuthProto::Kerberos {
            let calls = &self.facts.rpc.calls;
            let rpc = self
                .rpc_users
                .get(&e.client.ip())
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|&i| calls.get(i as usize))
                .find(|c| c.frame > e.frame);
            if let Some(c) = rpc {
                if best.as_ref().is_none_or(|b| c.frame < b.0) {
                    let ok = c.outcome == tracehound_rpc::calls::Outcome::Ok;
                    let t = format!(
                        "the client fell back to NTLM over DCE/RPC as {} (frame {}), and the call {}",
                        c.user.as_deref().unwrap_or("?"),
                        c.frame,
                        if ok { "succeeded" } else { "failed" }
                    );
                    best = Some((c.frame, t, ok));
                }
            }
        }
        match best {
            Some((_, t, ok)) => (t, ok),
            None => {
                ("nothing followed: no later success for this account in the capture".into(), false)
            }
        }
    }
}

/// Span of a set of events, in seconds.
pub fn span(evs: &[&AuthEvent]) -> f64 {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for e in evs {
        lo = lo.min(e.ts.0);
        hi = hi.max(e.ts.0);
    }
    if lo > hi {
        0.0
    } else {
        (hi.saturating_sub(lo)) as f64 / 1e9
    }
}

/// Add flows (deduplicated, bounded) and frames of events to evidence.
pub fn add_events(ev: &mut Evidence, evs: &[&AuthEvent]) {
    for e in evs {
        let f = FlowRef::new(e.transport, e.client, e.server);
        if !ev.flows.contains(&f) && ev.flows.len() < 20 {
            ev.flows.push(f);
        }
        ev.add_frames(e.request_frame.into_iter().chain([e.frame]));
    }
}

fn counts(evs: &[&AuthEvent]) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for e in evs {
        *by.entry(format!("{} {}", e.proto.name(), e.code_name)).or_default() += 1;
    }
    by.iter().map(|(k, n)| format!("{n}× {k}")).collect::<Vec<_>>().join(", ")
}

/// The three pattern rules in one pass.
pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let fails: Vec<&AuthEvent> = all.iter().filter(|e| is_credential_failure(e)).collect();
    if fails.len() < STALE_MIN {
        return;
    }
    let mut by_account: BTreeMap<String, Vec<&AuthEvent>> = BTreeMap::new();
    let mut by_source: BTreeMap<std::net::IpAddr, BTreeMap<String, Vec<&AuthEvent>>> =
        BTreeMap::new();
    for e in &fails {
        let Some(k) = account_key(e) else { continue };
        by_account.entry(k.clone()).or_default().push(e);
        by_source.entry(e.client.ip()).or_default().entry(k).or_default().push(e);
    }
    let next = Followups::new(facts);
    let mut brute: BTreeSet<String> = BTreeSet::new();
    for (acct, evs) in &by_account {
        if evs.len() >= BRUTE_MIN {
            brute.insert(acct.clone());
            out.push(brute_force(&next, acct, evs));
        }
    }
    for (src, accts) in &by_source {
        if accts.len() >= SPRAY_MIN_ACCOUNTS {
            out.push(spray(*src, accts));
        }
        for (acct, evs) in accts {
            if evs.len() >= STALE_MIN && !brute.contains(acct) {
                out.push(stale(&next, *src, acct, evs));
            }
        }
    }
}

fn sources(evs: &[&AuthEvent]) -> Vec<String> {
    evs.iter().map(|e| e.client.ip().to_string()).collect::<BTreeSet<_>>().into_iter().collect()
}

fn lines(ev: &mut Evidence, evs: &[&AuthEvent]) {
    for e in evs.iter().take(12) {
        ev.line(format!(
            "frame {}: {} {} {} from {} to {} → {}",
            e.frame,
            e.proto.name(),
            e.op,
            who(e),
            e.client.ip(),
            e.server,
            e.code_name
        ));
    }
}

fn brute_force(next: &Followups, acct: &str, evs: &[&AuthEvent]) -> Finding {
    let mut ev = Evidence::default();
    add_events(&mut ev, evs);
    lines(&mut ev, evs);
    let srcs = sources(evs);
    let (next, _) = evs.last().map(|e| next.after(e)).unwrap_or_default();
    ev.value("account", acct);
    ev.value("failures", evs.len());
    ev.value("sources", srcs.clone());
    ev.value("time_span_s", span(evs));
    ev.value("by_code", counts(evs));
    ev.finish();
    Finding {
        id: BRUTE,
        severity: Severity::Problem,
        title: format!("Account {acct} failed to log on {} times (brute force?)", evs.len()),
        explanation: format!(
            "{} logon attempts for account {acct} failed ({}) within {:.0} s, from {}. After the last one: {next}. Many failures of one account in a short time is a password-guessing attack or a broken client retrying in a loop; either way it locks the account out when a lockout threshold is set.",
            evs.len(), counts(evs), span(evs), srcs.join(", ")
        ),
        likely_causes: vec![
            "A password-guessing (brute-force) attack on this account.".into(),
            "A script, service or device retrying a wrong password in a loop.".into(),
        ],
        next_steps: vec![
            "Find the source process on the client(s): Security log events 4625 / 4771 / 4776 on the DC name the workstation; on the client, check services, scheduled tasks and mapped drives using this account.".into(),
            "If the source is not yours, block it and reset the account's password; review the account lockout policy.".into(),
        ],
        evidence: ev,
        weight: 75,
    }
}

fn spray(src: std::net::IpAddr, accts: &BTreeMap<String, Vec<&AuthEvent>>) -> Finding {
    let evs: Vec<&AuthEvent> = accts.values().flatten().copied().collect();
    let mut ev = Evidence::default();
    add_events(&mut ev, &evs);
    lines(&mut ev, &evs);
    let names: Vec<String> = accts.keys().cloned().collect();
    ev.value("source", src.to_string());
    ev.value("accounts", names.clone());
    ev.value("failures", evs.len());
    ev.value("time_span_s", span(&evs));
    ev.value("by_code", counts(&evs));
    ev.finish();
    Finding {
        id: SPRAY,
        severity: Severity::Problem,
        title: format!("{src} failed to log on as {} different accounts (password spray?)", accts.len()),
        explanation: format!(
            "{} logon failures from {src} spread over {} accounts ({}) within {:.0} s: {}. One source trying many accounts a few times each is the pattern of a password spray (one common password against many users); it can also be a misconfigured application cycling through accounts.",
            evs.len(), accts.len(), names.iter().take(10).cloned().collect::<Vec<_>>().join(", "), span(&evs), counts(&evs)
        ),
        likely_causes: vec![
            "A password-spray attack from this host.".into(),
            "An application or script configured with the wrong password for several accounts.".into(),
        ],
        next_steps: vec![
            format!("Identify what runs on {src} and whether it should log on as these accounts; on the DCs, look for events 4625 / 4771 from this address.").into(),
            "If unexpected: isolate the host, reset the passwords of accounts that later succeeded, enable smart lockout / fine-grained password policy.".into(),
        ],
        evidence: ev,
        weight: 72,
    }
}

fn stale(next: &Followups, src: std::net::IpAddr, acct: &str, evs: &[&AuthEvent]) -> Finding {
    let mut ev = Evidence::default();
    add_events(&mut ev, evs);
    lines(&mut ev, evs);
    let (next, resolved) = evs.last().map(|e| next.after(e)).unwrap_or_default();
    let locked = evs.iter().any(|e| {
        matches!(
            (e.proto, e.code),
            (AuthProto::Kerberos, Some(18)) | (AuthProto::Smb, Some(0xc000_0234))
        ) || e.sub_code == Some(0x775)
    });
    ev.value("account", acct);
    ev.value("source", src.to_string());
    ev.value("failures", evs.len());
    ev.value("time_span_s", span(evs));
    ev.value("by_code", counts(evs));
    ev.value("locked_out", locked);
    ev.finish();
    Finding {
        id: STALE,
        severity: if resolved { Severity::Warning } else { Severity::Problem },
        title: format!("{acct} keeps failing to log on from {src} ({} times)", evs.len()),
        explanation: format!(
            "Host {src} tried to log on as {acct} {} times and was refused each time ({}), over {:.0} s.{} After the last failure: {next}. One account failing again and again from one host is usually something on that host still using an old password.",
            evs.len(), counts(evs), span(evs),
            if locked { " The account ended up disabled or locked out." } else { "" }
        ),
        likely_causes: vec![
            "A service, scheduled task, IIS application pool or mapped drive on that host still uses the account's old password.".into(),
            "Saved credentials (Credential Manager) or a mobile device with the old password.".into(),
        ],
        next_steps: vec![
            format!("On {src}: check services (`sc qc`), scheduled tasks, mapped drives (`net use`) and Credential Manager (`cmdkey /list`) for {acct}; update the password there.").into(),
            "Unlock the account after fixing the source (`Unlock-ADAccount`); the DC's events 4740 name the caller computer of lockouts.".into(),
        ],
        evidence: ev,
        weight: 70,
    }
}

/// How one per-protocol failure rule words its finding.
pub struct Spec {
    pub id: &'static str,
    /// "NTLM logons", "LDAP binds" …
    pub what: &'static str,
    /// What the failures mean, one sentence.
    pub explain: &'static str,
    /// Cause and next step for one event.
    pub advice: fn(&AuthEvent) -> (crate::Text, crate::Text),
    /// Severity when some failure was not followed by success (else info).
    pub severity: Severity,
    pub weight: u8,
}

/// One evidence line for a group of like events.
pub fn event_line(e: &AuthEvent, n: usize, next: &str) -> String {
    let via = e.carried_in.map(|p| format!(" (inside {})", p.name())).unwrap_or_default();
    let mut l = format!(
        "frame {}: {} {} by {} from {} to {}{via}{} → {} ({}){}",
        e.frame,
        e.proto.name(),
        e.op,
        who(e),
        e.client.ip(),
        e.server,
        e.service.as_deref().map(|s| format!(" for {s}")).unwrap_or_default(),
        e.code_name,
        e.meaning,
        if n > 1 { format!(" ×{n}") } else { String::new() }
    );
    if let Some(m) = &e.mech {
        l.push_str(&format!("; {m}"));
    }
    if let Some(s) = &e.sub_name {
        l.push_str(&format!("; AD sub-code {s}"));
    }
    if let Some(d) = &e.detail {
        l.push_str(&format!("; \"{d}\""));
    }
    l.push_str(&format!("; {next}"));
    l
}

/// How many groups of like failures (same account and error: an evidence line each) no
/// `success` followed, in words that fit the counts.
pub fn not_followed(unresolved: usize, groups: usize, success: &str) -> String {
    match (unresolved, groups) {
        (_, 1) => format!("No {success} followed in the capture."),
        (u, g) if u == g => {
            format!("None of the {g} groups of like failures (same account and error) was followed by a {success} in the capture.")
        }
        (u, g) => format!(
            "{u} of the {g} groups of like failures (same account and error) {} not followed by a {success} in the capture.",
            if u == 1 { "was" } else { "were" }
        ),
    }
}

/// A finding over failure events grouped by `key` (events in capture order).
pub fn grouped(
    facts: &Facts,
    evs: &[&AuthEvent],
    key: impl Fn(&AuthEvent) -> String,
    spec: &Spec,
) -> Option<Finding> {
    if evs.is_empty() {
        return None;
    }
    let mut groups: BTreeMap<String, Vec<&AuthEvent>> = BTreeMap::new();
    for e in evs {
        groups.entry(key(e)).or_default().push(e);
    }
    let mut ev = Evidence::default();
    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    let (mut unresolved, mut causes, mut steps) = (0usize, Vec::new(), Vec::new());
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    let mut ordered: Vec<&Vec<&AuthEvent>> = groups.values().collect();
    ordered.sort_by_key(|g| std::cmp::Reverse(g.len()));
    let followups = Followups::new(facts);
    for g in ordered {
        let Some(last) = g.last().copied() else { continue };
        let (next, ok) = followups.after(last);
        unresolved += usize::from(!ok);
        ev.line(event_line(last, g.len(), &next));
        *by_code.entry(last.code_name.to_string()).or_default() += g.len();
        add_events(&mut ev, g);
        if last.account.is_some() {
            accounts.insert(who(last));
        }
        let (c, s) = (spec.advice)(last);
        if !causes.contains(&c) {
            causes.push(c);
        }
        if !steps.contains(&s) {
            steps.push(s);
        }
    }
    let total: usize = by_code.values().sum();
    let summary = by_code.iter().map(|(k, n)| format!("{n}× {k}")).collect::<Vec<_>>().join(", ");
    ev.value("failures", total);
    ev.value("by_code", serde_json::to_value(&by_code).unwrap_or_default());
    ev.value("accounts", accounts.iter().cloned().collect::<Vec<_>>());
    ev.value("unresolved_groups", unresolved);
    ev.value("time_span_s", span(evs));
    ev.finish();
    let sev = if unresolved > 0 { spec.severity } else { Severity::Info };
    Some(Finding {
        id: spec.id,
        severity: sev,
        title: format!("{} failed: {summary}", spec.what),
        explanation: format!(
            "{total} {} failed ({summary}){}. {} {}",
            spec.what,
            if accounts.is_empty() {
                String::new()
            } else {
                format!(" for {}", accounts.iter().take(8).cloned().collect::<Vec<_>>().join(", "))
            },
            spec.explain,
            if unresolved > 0 {
                not_followed(unresolved, groups.len(), "success")
            } else {
                "Each was followed by a success: it worked in the end.".to_string()
            }
        ),
        likely_causes: causes,
        next_steps: steps,
        evidence: ev,
        weight: if unresolved > 0 { spec.weight } else { 15 },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    //! The pattern thresholds, just below / at each number, over Kerberos PREAUTH_FAILED
    //! events shaped like the lab's (lab/auth/auth-dc.sh, tests/fixtures/lab/auth-kerberos.pcap).
    use super::*;
    use tracehound_flows::{FlowInfo, Proto, Timestamp};

    fn fail(src: u8, account: &str, frame: u64) -> AuthEvent {
        let f = FlowInfo {
            id: frame,
            proto: Proto::Udp,
            orig: format!("10.90.1.{src}:40000").parse().unwrap(),
            resp: "10.90.1.20:88".parse().unwrap(),
        };
        let mut e = AuthEvent::new(
            AuthProto::Kerberos,
            "AS-REQ",
            &f,
            frame,
            Timestamp(frame as i64 * 1_000_000),
        );
        e.account = Some(account.into());
        e.code = Some(24);
        e.code_name = "KDC_ERR_PREAUTH_FAILED".into();
        e
    }

    fn ids(evs: Vec<AuthEvent>) -> Vec<&'static str> {
        let apps = tracehound_apps::AppReport {
            auth: tracehound_apps::auth::AuthReport { events: evs, ..Default::default() },
            ..Default::default()
        };
        let rpc = tracehound_rpc::RpcReport {
            calls: vec![],
            endpoints: vec![],
            issues: vec![],
            issues_dropped: 0,
            stats: Default::default(),
            tunnel_failures: vec![],
        };
        let cap = crate::facts::CaptureFacts::default();
        let facts = Facts {
            file: "t",
            capture: &cap,
            conversations: &[],
            rpc: &rpc,
            endpoints: &[],
            apps: &apps,
        };
        let mut out = Vec::new();
        check(&facts, &mut out);
        out.iter().map(|f| f.id).collect()
    }

    #[test]
    fn stale_at_three_failures_from_one_host() {
        assert!(ids((0..2).map(|i| fail(10, "carol", i)).collect()).is_empty());
        assert_eq!(ids((0..3).map(|i| fail(10, "carol", i)).collect()), vec![STALE]);
        // three failures from three hosts: not one host's stale password
        assert!(ids((0..3).map(|i| fail(10 + i as u8, "carol", i)).collect()).is_empty());
    }

    #[test]
    fn brute_force_at_ten_failures() {
        assert_eq!(ids((0..9).map(|i| fail(10, "carol", i)).collect()), vec![STALE]);
        assert_eq!(ids((0..10).map(|i| fail(10, "carol", i)).collect()), vec![BRUTE]);
    }

    #[test]
    fn spray_at_four_accounts_from_one_source() {
        let evs =
            |n: usize| (0..n).map(|i| fail(10, &format!("user{i}"), i as u64)).collect::<Vec<_>>();
        assert!(ids(evs(3)).is_empty());
        assert_eq!(ids(evs(4)), vec![SPRAY]);
        // the normal first step and successes never count
        let mut e = fail(10, "x", 1);
        e.code = Some(25);
        assert!(!is_credential_failure(&e));
        e.code = Some(24);
        e.ok = true;
        assert!(!is_credential_failure(&e));
    }
}

#[cfg(test)]
mod thresholds;

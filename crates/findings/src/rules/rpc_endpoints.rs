//! `rpc.endpoint_unreachable`, `rpc.endpoint_address_mismatch`, `rpc.endpoint_not_registered`:
//! what the endpoint mapper (or a DCOM activation) handed out, and whether the client got there.

use std::collections::BTreeMap;

use tracehound_rpc::endpoints::EndpointReport;

use super::util::plural;
use super::Facts;
use crate::{Evidence, Finding, Severity};

/// EPT_S_NOT_REGISTERED, the endpoint mapper's "no such interface registered".
const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;
use tracehound_rpc::known::EPM_TEXT as EPM_UUID;

fn who(e: &EndpointReport) -> String {
    let by = &e.handed_out_by;
    let what = match by.source {
        "dcom" => "the DCOM activation answer",
        "bind_ack" => "the bind_ack",
        _ => "the endpoint mapper",
    };
    format!(
        "{what} in frame {}{}",
        by.response_frame,
        match (&by.interface, &by.operation) {
            (Some(i), Some(o)) => format!(", {i} {o}"),
            (Some(i), None) => format!(", {i}"),
            _ => String::new(),
        }
    )
}

fn target(e: &EndpointReport) -> String {
    let addr = match e.address.as_deref() {
        None | Some("0.0.0.0") => e.asked_address.clone(),
        Some(a) => a.to_string(),
    };
    format!("{addr}:{}", e.port.unwrap_or(0))
}

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    unreachable(f, out);
    mismatch(f, out);
    not_registered(f, out);
}

fn unreachable(f: &Facts, out: &mut Vec<Finding>) {
    // Group by the endpoint the client tried and the outcome.
    let mut groups: BTreeMap<(String, &'static str), Vec<&EndpointReport>> = BTreeMap::new();
    for e in f.endpoints {
        if matches!(e.follow_up, "unanswered" | "refused" | "icmp_prohibited" | "icmp_unreachable")
        {
            groups.entry((target(e), e.follow_up)).or_default().push(e);
        }
    }
    // Conversations by their first frame (several flows can start in one frame).
    let mut by_first: rustc_hash::FxHashMap<u64, Vec<&tracehound_flows::Conversation>> =
        Default::default();
    if !groups.is_empty() {
        for c in f.conversations {
            by_first.entry(c.first_frame).or_default().push(c);
        }
    }
    for ((tgt, outcome), es) in groups {
        let e = es[0];
        let port = e.port.unwrap_or(0);
        let iface = es
            .iter()
            .find_map(|e| e.interface.as_deref().map(str::to_string))
            .or_else(|| e.uuid.clone())
            .unwrap_or_else(|| "the interface".into());
        let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
        ev.value("binding", e.binding.clone());
        ev.value("address", tgt.rsplit_once(':').map(|x| x.0).unwrap_or(&tgt).to_string());
        ev.value("port", port);
        ev.value("asked_address", e.asked_address.clone());
        ev.value("follow_up", outcome);
        ev.value("interface", iface.clone());
        for e in es.iter().take(5) {
            ev.add_frames([e.handed_out_by.frame, e.handed_out_by.response_frame]);
            ev.line(format!(
                "{} handed out {} for {}",
                who(e),
                e.binding,
                e.interface.as_deref().unwrap_or("?")
            ));
            for a in e.attempts.iter().take(5) {
                ev.add_frames(a.syn_frames.iter().copied());
                ev.add_frames(a.rst_frames.iter().copied());
                let icmp: Vec<String> = by_first
                    .get(&a.frame)
                    .into_iter()
                    .flatten()
                    .flat_map(|c| c.icmp_errors.iter().take(1).map(super::tcp_connect::icmp_name))
                    .collect();
                let what = match (a.rst_frames.first(), icmp.first()) {
                    (Some(r), _) => format!("reset in frame {r}"),
                    (None, Some(i)) => format!("answered by {i}"),
                    (None, None) => {
                        format!("{} — no answer", plural(a.syn_frames.len(), "SYN", "SYNs"))
                    }
                };
                ev.line(format!(
                    "frame {}: {}:{} → {tgt}, {} ms after the answer: {what}",
                    a.frame,
                    a.src,
                    a.sport,
                    (a.delay * 1e3).round()
                ));
            }
        }
        ev.finish();
        let dynamic = port >= 49152;
        // What came back (reset, ICMP and who sent it, silence): rules/answer.rs.
        let attempt_convs: Vec<&tracehound_flows::Conversation> = es
            .iter()
            .flat_map(|e| e.attempts.iter())
            .flat_map(|a| by_first.get(&a.frame).into_iter().flatten().copied())
            .collect();
        let answer = super::answer::endpoint(outcome, &attempt_convs, port, dynamic);
        let title = format!(
            "The endpoint mapper sent the client to {tgt}, and the client {} there",
            answer.verb
        );
        let explanation = format!(
            "The client asked for {iface} and was told to connect to {} ({}). Its connection to {tgt} {}. \
The endpoint mapper on port 135 was reachable, but the {}port it hands out is not — this is the classic \
\"RPC server is unavailable\" (error 1722) failure.{}",
            e.binding,
            who(e),
            answer.what,
            if dynamic { "dynamic " } else { "" },
            if dynamic { " Windows hands out dynamic RPC ports from 49152–65535 by default (1025–5000 on Windows 2003 and older)." } else { "" }
        );
        let mut causes = answer.causes;
        if e.address_differs {
            causes.insert(0, format!("the answer names {} while the client asked {} (NAT or another interface): that address is not reachable", e.address.clone().unwrap_or_default(), e.asked_address));
        }
        out.push(Finding {
            id: "rpc.endpoint_unreachable",
            severity: Severity::Problem,
            title,
            explanation,
            likely_causes: causes.into_iter().map(Into::into).collect(),
            next_steps: vec![
                format!("Open TCP {} (or the whole dynamic range 49152–65535) from the client to the server, in every firewall on the path.", port).into(),
                "Or restrict RPC to a fixed range on the server and open only that: HKLM\\Software\\Microsoft\\Rpc\\Internet (Ports, PortsInternetAvailable, UseInternetPorts), or `netsh int ipv4 set dynamicport tcp start=… num=…`; many services have their own static-port settings (AD replication: NTDS \"TCP/IP Port\"; Netlogon: DCTcpipPort; DFSR: `dfsrdiag StaticRPC`; WMI: `winmgmt /standalonehost`).".into(),
                format!("Verify every endpoint the server hands out: `tracehound portqry -n {} -e 135` probes each one.", e.asked_address).into(),
            ],
            evidence: ev,
            weight: 95,
        });
    }
}

fn mismatch(f: &Facts, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, String), Vec<&EndpointReport>> = BTreeMap::new();
    for e in f.endpoints.iter().filter(|e| e.address_differs) {
        groups
            .entry((e.asked_address.clone(), e.address.clone().unwrap_or_default()))
            .or_default()
            .push(e);
    }
    for ((asked, given), es) in groups {
        let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
        ev.value("asked_address", asked.clone());
        ev.value("address", given.clone());
        for e in es.iter().take(8) {
            ev.add_frames([e.handed_out_by.frame, e.handed_out_by.response_frame]);
            ev.line(format!(
                "frame {}: asked {} → answer {} ({})",
                e.handed_out_by.response_frame, e.asked_address, e.binding, e.follow_up
            ));
        }
        ev.finish();
        let failed = es.iter().any(|e| {
            matches!(e.follow_up, "unanswered" | "refused" | "icmp_prohibited" | "icmp_unreachable")
        });
        out.push(Finding {
            id: "rpc.endpoint_address_mismatch",
            severity: if failed { Severity::Problem } else { Severity::Warning },
            title: format!("The endpoint mapper at {asked} answered with another address: {given}"),
            explanation: format!(
                "The client asked {asked}, but {} named {given}. Between client and server something changes addresses (NAT, a load balancer's virtual IP) \
or the server registered another interface's address. Clients then connect to an address they may not reach, and RPC-aware firewalls and proxies \
often drop such answers.",
                plural(es.len(), "answer", "answers")
            ),
            likely_causes: vec![
                "a load balancer or NAT in front of the server (the tower carries the server's real address)".into(),
                "a multi-homed server registering its other interface".into(),
            ],
            next_steps: vec![
                "Let clients reach the real address, or publish the RPC service so the address in the answer is reachable.".into(),
                "Behind a load balancer: use static RPC ports and balance them too, or avoid dynamic RPC through it.".into(),
            ],
            evidence: ev,
            weight: if failed { 98 } else { 50 },
        });
    }
}

fn not_registered(f: &Facts, out: &mut Vec<Finding>) {
    // ept_map (opnum 3) answered "not registered" or with no towers.
    let mut groups: BTreeMap<(std::net::IpAddr, String), Vec<&tracehound_rpc::Call>> =
        BTreeMap::new();
    for c in &f.rpc.calls {
        if c.uuid.as_deref() != Some(EPM_UUID)
            || c.opnum != Some(3)
            || !matches!(
                c.outcome,
                tracehound_rpc::calls::Outcome::Ok | tracehound_rpc::calls::Outcome::Error
            )
        {
            continue;
        }
        let empty = c.endpoints.is_empty();
        let not_reg = c.status_code == Some(EPT_S_NOT_REGISTERED)
            || c.epm_status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("ept_s_not_registered"));
        if not_reg || empty {
            groups
                .entry((c.dst, c.epm_status.clone().unwrap_or_else(|| "no endpoints".into())))
                .or_default()
                .push(c);
        }
    }
    for ((server, status), cs) in groups {
        let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
        ev.value("address", server.to_string());
        ev.value("status", status.clone());
        for c in cs.iter().take(10) {
            ev.add_frames([c.frame]);
            ev.add_frames(c.response_frame);
            ev.line(format!(
                "frame {}: {}:{} asked {}:{} for ept_map; answer (frame {}): {}",
                c.frame,
                c.src,
                c.sport,
                c.dst,
                c.dport,
                c.response_frame.unwrap_or(0),
                status
            ));
        }
        ev.finish();
        out.push(Finding {
            id: "rpc.endpoint_not_registered",
            severity: Severity::Problem,
            title: format!("The endpoint mapper on {server} has no endpoint for the interface asked ({status})"),
            explanation: format!(
                "{} to the endpoint mapper on {server} asked where an interface is served and got {status}: no server process has registered that interface there. \
The client then reports \"There are no more endpoints available from the endpoint mapper\" (1753) or \"RPC server is unavailable\".",
                plural(cs.len(), "ept_map request", "ept_map requests")
            ),
            likely_causes: vec![
                "the service that provides the interface is not running on that server".into(),
                "the role or feature is not installed there (wrong server asked)".into(),
                "the service registers only over named pipes or local RPC, not TCP".into(),
            ],
            next_steps: vec![
                format!("List what is registered: `tracehound portqry -n {server} -e 135`.").into(),
                "Start the service (check its event log for start-up errors), or point the client at a server that has the role.".into(),
            ],
            evidence: ev,
            weight: 85,
        });
    }
}

#[cfg(test)]
mod thresholds;

//! `tcp.connect_unanswered`, `tcp.connect_refused`, `udp.port_unreachable`: connection
//! attempts that got no answer, a reset, or an ICMP error.

use std::collections::BTreeSet;

use tracehound_flows::{ConnState, Conversation, IcmpError, Proto};

use super::util::{by_responder, num, plural, port_desc};
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

/// Name an ICMP error the way people know it.
pub fn icmp_name(e: &IcmpError) -> String {
    let s = if !e.v6 {
        match (e.icmp_type, e.code) {
            (3, 0) => "network unreachable",
            (3, 1) => "host unreachable",
            (3, 2) => "protocol unreachable",
            (3, 3) => "port unreachable",
            (3, 4) => "fragmentation needed",
            (3, 9) => "network administratively prohibited",
            (3, 10) => "host administratively prohibited",
            (3, 13) => "communication administratively prohibited",
            (3, _) => "destination unreachable",
            (11, _) => "time exceeded",
            _ => "ICMP error",
        }
    } else {
        match (e.icmp_type, e.code) {
            (1, 0) => "no route to destination",
            (1, 1) => "communication administratively prohibited",
            (1, 3) => "address unreachable",
            (1, 4) => "port unreachable",
            (1, 5) => "source address failed ingress/egress policy",
            (1, 6) => "reject route to destination",
            (1, _) => "destination unreachable",
            (2, _) => "packet too big",
            (3, _) => "time exceeded",
            _ => "ICMPv6 error",
        }
    };
    format!(
        "ICMP{} {s} (type {}, code {}) from {}",
        if e.v6 { "v6" } else { "" },
        e.icmp_type,
        e.code,
        e.from
    )
}

fn prohibited(e: &IcmpError) -> bool {
    (!e.v6 && e.icmp_type == 3 && matches!(e.code, 9 | 10 | 13))
        || (e.v6 && e.icmp_type == 1 && matches!(e.code, 1 | 5 | 6))
}

/// SYN frames of connection attempts that the RPC endpoint rules already explain.
pub fn rpc_followed(f: &Facts) -> BTreeSet<u64> {
    f.endpoints.iter().flat_map(|e| e.attempts.iter().map(|a| a.frame)).collect()
}

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let skip = rpc_followed(f);
    // Attempts of a scan or a SYN flood are explained by `tcp.scan` / `tcp.syn_flood`.
    let (scanners, flooded) = super::scan::explained(&super::scan::summary(f));
    let tcp = |c: &&Conversation| {
        c.info.proto == Proto::Tcp
            && !c.syn_frames.first().is_some_and(|s| skip.contains(s))
            && !(c.is_attempt_only()
                && (scanners.contains(&c.info.orig.ip())
                    || flooded.contains(&(c.info.resp.ip(), c.info.resp.port()))))
    };
    unanswered(
        f,
        f.conversations.iter().filter(tcp).filter(|c| {
            c.state == Some(ConnState::S0)
                || (c.synack_frame.is_none()
                    && !c.syn_frames.is_empty()
                    && !c.icmp_errors.is_empty()
                    && c.dirs[1].packets == 0)
        }),
        out,
    );
    refused(f, f.conversations.iter().filter(tcp).filter(|c| c.state == Some(ConnState::REJ)), out);
    udp_unreachable(f, out);
}

fn unanswered<'a>(
    f: &Facts,
    convs: impl Iterator<Item = &'a Conversation>,
    out: &mut Vec<Finding>,
) {
    for (resp, cs) in by_responder(convs) {
        let syns: usize = cs.iter().map(|c| c.syn_frames.len()).sum();
        let icmp: Vec<&IcmpError> = cs.iter().flat_map(|c| c.icmp_errors.iter()).collect();
        let clients: BTreeSet<_> = cs.iter().map(|c| c.info.orig.ip()).collect();
        let span = cs.iter().map(|c| c.duration()).fold(0.0, f64::max);
        // A single SYN with less than a retransmission timeout of capture after it proves
        // nothing: the answer (or the retry) may simply have come after the capture stopped.
        let single = cs.iter().all(|c| c.syn_frames.len() == 1);
        let after = cs
            .iter()
            .map(|c| f.capture.last_ts - c.start.as_secs_f64())
            .fold(f64::INFINITY, f64::min)
            .max(0.0);
        let near_end = single && after < RETRY_WINDOW;
        let mut ev = unanswered_evidence(f, &cs);
        ev.value("address", resp.ip().to_string());
        ev.value("port", resp.port());
        ev.value("attempts", cs.len());
        ev.value("syns", syns);
        ev.value("clients", clients.len());
        ev.why("SYNs sent, none answered (no SYN-ACK, reset or ICMP)", syns);
        ev.why("ICMP errors received", icmp.len());
        ev.why("every attempt a single SYN", single);
        ev.why("capture seconds after the last attempt began", format!("{after:.1}"));
        ev.why("threshold: retry window (shorter: not known, info)", format!("{RETRY_WINDOW} s"));
        ev.why("threshold: problem when", "ICMP error, or SYNs retransmitted; single SYN: warning");
        ev.finish();
        let (title, explanation, causes, steps, sev, weight) = match icmp.first() {
            Some(e) => rejected(resp, cs.len(), e),
            None if near_end => not_known(resp, cs.len(), after),
            None => silent(
                resp,
                &Silence { attempts: cs.len(), clients: clients.len(), syns, span, single },
            ),
        };
        out.push(Finding {
            id: "tcp.connect_unanswered",
            severity: sev,
            title,
            explanation,
            likely_causes: causes.into_iter().map(Into::into).collect(),
            next_steps: steps.into_iter().map(Into::into).collect(),
            evidence: ev,
            weight,
        });
    }
}

/// The flows, SYN and ICMP frames of unanswered attempts (the first ten).
fn unanswered_evidence(f: &Facts, cs: &[&Conversation]) -> Evidence {
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in cs.iter().take(10) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames(c.syn_frames.iter().copied());
        ev.add_frames(c.icmp_errors.iter().map(|e| e.frame));
        ev.line(format!(
            "{}: SYN{} at frame{} {}{}",
            FlowRef::of(c),
            if c.syn_frames.len() > 1 {
                format!(" + {} retransmissions", c.syn_frames.len() - 1)
            } else {
                String::new()
            },
            if c.syn_frames.len() > 1 { "s" } else { "" },
            c.syn_frames.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "),
            if c.syn_frames.len() > 1 {
                format!(" over {:.1} s, nothing back", c.duration())
            } else {
                ", nothing back".into()
            }
        ));
        for e in &c.icmp_errors {
            ev.line(format!("frame {}: {}", e.frame, icmp_name(e)));
        }
    }
    ev
}

/// Attempts answered by an ICMP error (`e`, the first one).
fn rejected(resp: std::net::SocketAddr, n: usize, e: &IcmpError) -> Told {
    let p = prohibited(e);
    let title = format!(
        "Connections to {resp} were rejected with {}",
        icmp_name(e).split(" (").next().unwrap_or("")
    );
    let explanation = format!(
        "{} to {} on {} {} answered by an ICMP error instead of a SYN-ACK: {}. {}",
        plural(n, "connection attempt", "connection attempts"),
        resp.ip(),
        port_desc(resp.port()),
        if n == 1 { "was" } else { "were" },
        icmp_name(e),
        if p {
            "A firewall (host firewall or a device on the path) rejects this traffic on purpose."
        } else {
            "Something on the path or the host itself says the destination cannot be reached."
        }
    );
    let causes = if p {
        vec![
            format!(
                "a firewall rule rejecting TCP {} to {} (REJECT with ICMP)",
                resp.port(),
                resp.ip()
            ),
            "a router access list with an explicit reject".into(),
        ]
    } else {
        vec![
            "no route to the destination network or host".into(),
            "the host is down (its router answers host unreachable)".into(),
        ]
    };
    let steps = vec![
        format!(
            "Find the device at {} that sent the ICMP error and check its rules for TCP {}.",
            e.from,
            resp.port()
        ),
        format!(
            "From the client, test with `tracehound portqry -n {} -e {}`.",
            resp.ip(),
            resp.port()
        ),
    ];
    (title, explanation, causes, steps, Severity::Problem, 80)
}

/// What is known of attempts that got nothing back.
struct Silence {
    attempts: usize,
    clients: usize,
    syns: usize,
    /// The longest attempt (seconds).
    span: f64,
    single: bool,
}

/// Attempts that got nothing back at all, with enough capture after them to know it.
fn silent(resp: std::net::SocketAddr, s: &Silence) -> Told {
    let Silence { attempts, clients, syns, span, single } = *s;
    let title = format!("Connection attempts to {resp} were never answered");
    let explanation = format!(
        "{} from {} to {} on {} sent SYNs{} and got nothing back — no SYN-ACK, no reset, no ICMP error. \
Silence like this is what a firewall that drops packets produces; a closed port would answer with a reset.",
        plural(attempts, "connection attempt", "connection attempts"),
        plural(clients, "client", "clients"),
        resp.ip(),
        port_desc(resp.port()),
        if syns > attempts { format!(" ({syns} in all, retransmitted for up to {span:.1} s)") } else { String::new() },
    );
    let causes = vec![
        format!(
            "a firewall (host firewall on {} or a device on the path) dropping TCP {}",
            resp.ip(),
            resp.port()
        ),
        "the host is down or the address is wrong (no ARP answer on its subnet)".into(),
        "asymmetric routing: the SYN-ACK takes another path and is dropped there".into(),
    ];
    let steps = vec![
        format!("Check the firewall rules for TCP {} towards {} (Windows: `Get-NetFirewallRule`, `netsh advfirewall`; Linux: `nft list ruleset`).", resp.port(), resp.ip()),
        "Capture on the server side too: if the SYNs arrive there and nothing leaves, the host drops them; if they never arrive, the path does.".to_string(),
        format!("Probe it: `tracehound portqry -n {} -e {}` (FILTERED confirms a drop).", resp.ip(), resp.port()),
    ];
    let (sev, weight) = if single { (Severity::Warning, 30) } else { (Severity::Problem, 75) };
    (title, explanation, causes, steps, sev, weight)
}

/// Seconds of capture after a SYN within which every common stack retransmits it (Linux
/// after 1 s, Windows after 3 s): with less, silence is not known to be silence.
pub const RETRY_WINDOW: f64 = 3.0;

type Told = (String, String, Vec<String>, Vec<String>, Severity, u8);

/// A single SYN too close to the end of the capture: say what is known and what is not.
fn not_known(resp: std::net::SocketAddr, n: usize, after: f64) -> Told {
    // How long the capture went on: in ms below a tenth of a second, where "0.0 s" would say
    // nothing.
    let later = match after {
        a if a < 0.0005 => "right after".to_string(),
        a if a < 0.1 => format!("{:.0} ms later", a * 1000.0),
        a => format!("{a:.1} s later"),
    };
    (
        format!("No answer to {} to {resp} within the capture (it ended {later})", plural(n, "SYN", "SYNs")),
        format!(
            "Known: {} sent to {} on {}, and nothing came back before the capture ended {later}. Not known: whether a SYN-ACK, a reset or an ICMP error came after that, or whether the client retried — every common stack waits 1 to {} s before it retransmits. This alone says nothing about a firewall.",
            plural(n, "SYN was", "SYNs were"),
            resp.ip(),
            port_desc(resp.port()),
            num(RETRY_WINDOW)
        ),
        vec!["the capture stopped (or the file was cut) right after the connection attempt".into()],
        vec![format!("Capture longer, or probe it: `tracehound portqry -n {} -e {}`.", resp.ip(), resp.port())],
        Severity::Info,
        10,
    )
}

fn refused<'a>(f: &Facts, convs: impl Iterator<Item = &'a Conversation>, out: &mut Vec<Finding>) {
    for (resp, cs) in by_responder(convs) {
        let clients: BTreeSet<_> = cs.iter().map(|c| c.info.orig.ip()).collect();
        let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
        for c in cs.iter().take(10) {
            ev.flows.push(FlowRef::of(c));
            ev.add_frames(c.syn_frames.iter().copied());
            ev.add_frames(c.rst_frames.iter().map(|r| r.0));
            ev.line(format!(
                "{}: SYN frame {}, RST frame {}",
                FlowRef::of(c),
                c.syn_frames.first().map(|x| x.to_string()).unwrap_or("-".into()),
                c.rst_frames.first().map(|x| x.0.to_string()).unwrap_or("-".into())
            ));
        }
        ev.value("address", resp.ip().to_string());
        ev.value("port", resp.port());
        ev.value("attempts", cs.len());
        ev.why("attempts answered by a reset instead of a SYN-ACK", cs.len());
        ev.why("clients", clients.len());
        ev.finish();
        out.push(Finding {
            id: "tcp.connect_refused",
            severity: Severity::Problem,
            title: format!("Connections to {resp} were refused (reset)"),
            explanation: format!(
                "{} from {} to {} on {} {} answered with a TCP reset: the host is reachable, but nothing accepts connections on that port.",
                plural(cs.len(), "connection attempt", "connection attempts"),
                plural(clients.len(), "client", "clients"),
                resp.ip(),
                port_desc(resp.port()),
                if cs.len() == 1 { "was" } else { "were" },
            ),
            likely_causes: vec![
                "the service is not running or not listening on this port / address".into(),
                "the service listens on another address (e.g. 127.0.0.1 only) or another port".into(),
                "a firewall or load balancer rejecting on the server's behalf (REJECT with tcp-reset)".into(),
            ],
            next_steps: vec![
                format!("On {}: is anything listening on {}? (`netstat -ano | findstr :{}`, `ss -ltnp`, or `tracehound portqry -local`)", resp.ip(), resp.port(), resp.port()).into(),
                "Check that the service is started, and on which address it binds.".into(),
            ],
            evidence: ev,
            weight: 70,
        });
    }
}

fn udp_unreachable(f: &Facts, out: &mut Vec<Finding>) {
    let convs = f.conversations.iter().filter(|c| {
        c.info.proto == Proto::Udp
            && c.icmp_errors.iter().any(|e| {
                (!e.v6 && e.icmp_type == 3 && e.code == 3)
                    || (e.v6 && e.icmp_type == 1 && e.code == 4)
            })
            && c.dirs[1].packets == 0
    });
    for (resp, cs) in by_responder(convs) {
        let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
        for c in cs.iter().take(10) {
            ev.flows.push(FlowRef::of(c));
            ev.add_frames([c.first_frame]);
            ev.add_frames(c.icmp_errors.iter().map(|e| e.frame));
            for e in c.icmp_errors.iter().take(2) {
                ev.line(format!(
                    "{}: datagram frame {}, frame {}: {}",
                    FlowRef::of(c),
                    c.first_frame,
                    e.frame,
                    icmp_name(e)
                ));
            }
        }
        ev.value("address", resp.ip().to_string());
        ev.value("port", resp.port());
        ev.finish();
        out.push(Finding {
            id: "udp.port_unreachable",
            severity: Severity::Warning,
            title: format!("Nothing listens on UDP {resp}"),
            explanation: format!("Datagrams to {} on UDP {} were answered with ICMP port unreachable: the host is up, but no service receives on that port.", resp.ip(), port_desc(resp.port())),
            likely_causes: vec!["the service is stopped or listens on another port".into()],
            next_steps: vec![format!("Check the service on {}; probe with `tracehound portqry -n {} -p udp -e {}`.", resp.ip(), resp.ip(), resp.port()).into()],
            evidence: ev,
            weight: 40,
        });
    }
}

#[cfg(test)]
mod thresholds;

//! The DNS step: `--resolve NAME:ADDR` first (curl-style), then `--dns SERVER` (A and AAAA
//! queries over UDP with the probe's DNS encoder/parser, so the CNAME chain, the TTLs and the
//! answering server are known), else the system resolver (getaddrinfo: /etc/hosts and
//! nsswitch apply, but neither TTLs nor the chain are visible).
//!
//! With several `--dns` servers every one is asked; the first that answers provides the
//! addresses, and a different address set from another server is a split-brain hint.
//!
//! [`srv`]: an SRV lookup (RFC 2782: priority, weight, port, target) over UDP to the
//! `--dns` servers or, without them, the `nameserver` lines of /etc/resolv.conf (the
//! system resolver cannot ask for SRV).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::net::{self, UdpOutcome};
use crate::query::dns;

use super::record::DnsStep;

const TYPE_AAAA: u16 = 28;
const TYPE_CNAME: u16 = 5;

/// What one server said about a name.
#[derive(Clone, Debug, Default)]
struct Lookup {
    addrs: Vec<(IpAddr, u32)>,
    cname: Vec<String>,
    error: Option<String>,
}

/// Resolves `host` per the options; `hint` receives a split-brain note.
pub async fn resolve(
    host: &str,
    overrides: &[(String, IpAddr)],
    servers: &[SocketAddr],
    wait: Duration,
) -> (DnsStep, Option<String>) {
    let start = Instant::now();
    let mut step = DnsStep::default();
    let mut hint = None;
    if let Some(a) = crate::resolve::literal(host) {
        step.ok = true;
        step.addresses.push(a.to_string());
        step.server = "literal".into();
    } else if overrides.iter().any(|(n, _)| n.eq_ignore_ascii_case(host)) {
        step.ok = true;
        step.server = "--resolve".into();
        for (_, a) in overrides.iter().filter(|(n, _)| n.eq_ignore_ascii_case(host)) {
            step.addresses.push(a.to_string());
        }
    } else if servers.is_empty() {
        step.server = "system resolver".into();
        match crate::resolve::forward(host, wait).await {
            Ok(v) => {
                step.ok = true;
                step.addresses = v.iter().map(|a| a.to_string()).collect();
            }
            Err(e) => step.error = Some(e),
        }
    } else {
        let mut answers: Vec<(SocketAddr, Lookup)> = Vec::new();
        for s in servers.iter().take(8) {
            answers.push((*s, ask(*s, host, wait).await));
        }
        hint = split_brain(&answers);
        let first = answers.iter().find(|(_, l)| l.error.is_none()).or(answers.first());
        if let Some((s, l)) = first {
            step.server = format!("udp://{s}");
            step.cname = l.cname.clone();
            step.error = l.error.clone();
            step.ok = l.error.is_none();
            for (a, ttl) in &l.addrs {
                step.addresses.push(a.to_string());
                step.ttls.push(*ttl);
            }
        }
    }
    step.ms = start.elapsed().as_millis() as u64;
    (step, hint)
}

fn split_brain(answers: &[(SocketAddr, Lookup)]) -> Option<String> {
    let sets: Vec<(SocketAddr, Vec<IpAddr>)> = answers
        .iter()
        .map(|(s, l)| {
            let mut v: Vec<IpAddr> = l.addrs.iter().map(|(a, _)| *a).collect();
            v.sort();
            (*s, v)
        })
        .collect();
    let (s0, v0) = sets.first()?;
    let differ = sets.iter().find(|(_, v)| v != v0)?;
    Some(format!(
        "split-brain: {s0} answers {:?}, {} answers {:?}",
        v0.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        differ.0,
        differ.1.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    ))
}

/// A and AAAA from one server.
async fn ask(server: SocketAddr, host: &str, wait: Duration) -> Lookup {
    let mut out = Lookup::default();
    let mut errors = Vec::new();
    for (i, qtype) in [dns::TYPE_A, TYPE_AAAA].into_iter().enumerate() {
        let id = 0x4a10u16.wrapping_add(i as u16).wrapping_add(std::process::id() as u16);
        let q = dns::request(id, host, qtype);
        let reply = match net::udp_exchange(server, None, &q, wait, 2, 4096).await {
            UdpOutcome::Reply(r) => r,
            UdpOutcome::Failed(f) => {
                errors.push(format!("no answer from {server}: {}", f.describe()));
                continue;
            }
        };
        let r = match dns::parse(&reply) {
            Ok(r) if r.id == id => r,
            Ok(r) => {
                errors.push(format!("reply id {} does not match query id {id}", r.id));
                continue;
            }
            Err(e) => {
                errors.push(format!("malformed reply from {server}: {e}"));
                continue;
            }
        };
        if r.rcode != 0 {
            let e = format!("{} from {server}", r.rcode_name);
            if !errors.contains(&e) {
                errors.push(e);
            }
            continue;
        }
        for a in &r.answers {
            match a.rtype {
                TYPE_CNAME => {
                    let link = format!("{} -> {}", a.name, a.data);
                    if !out.cname.contains(&link) {
                        out.cname.push(link);
                    }
                }
                dns::TYPE_A | TYPE_AAAA => {
                    if let Ok(ip) = a.data.parse::<IpAddr>() {
                        if !out.addrs.iter().any(|(x, _)| *x == ip) {
                            out.addrs.push((ip, a.ttl));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if out.addrs.is_empty() {
        out.error = Some(if errors.is_empty() {
            format!("{server} has no A or AAAA record for {host}")
        } else {
            errors.join("; ")
        });
    }
    out
}

const TYPE_SRV: u16 = 33;

/// One SRV record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// The servers [`srv`] asks: `--dns`, else the first three `nameserver`s of
/// /etc/resolv.conf.
pub fn srv_servers(configured: &[SocketAddr]) -> Vec<SocketAddr> {
    if !configured.is_empty() {
        return configured.iter().take(8).copied().collect();
    }
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    text.lines()
        .take(256)
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| crate::resolve::literal(a.trim()))
        .map(|a| SocketAddr::new(a, 53))
        .take(3)
        .collect()
}

/// SRV records of `name` (sorted by priority, then heavier weight first), the server that
/// answered, or why there are none.
pub async fn srv(
    name: &str,
    servers: &[SocketAddr],
    wait: Duration,
) -> Result<(Vec<Srv>, SocketAddr), String> {
    let mut errors = Vec::new();
    if servers.is_empty() {
        return Err("no DNS server to ask (no --dns and none in /etc/resolv.conf)".into());
    }
    for (i, s) in servers.iter().enumerate() {
        let id = 0x5a20u16.wrapping_add(i as u16).wrapping_add(std::process::id() as u16);
        let reply =
            match net::udp_exchange(*s, None, &dns::request(id, name, TYPE_SRV), wait, 2, 4096)
                .await
            {
                UdpOutcome::Reply(r) => r,
                UdpOutcome::Failed(f) => {
                    errors.push(format!("no answer from {s}: {}", f.describe()));
                    continue;
                }
            };
        let r = match dns::parse(&reply) {
            Ok(r) if r.id == id => r,
            Ok(r) => {
                errors.push(format!("reply id {} from {s} does not match query id {id}", r.id));
                continue;
            }
            Err(e) => {
                errors.push(format!("malformed reply from {s}: {e}"));
                continue;
            }
        };
        if r.rcode != 0 {
            return Err(format!("{} for {name} from {s}", r.rcode_name));
        }
        let mut v = Vec::new();
        for a in r.answers.iter().filter(|a| a.rtype == TYPE_SRV) {
            match srv_rdata(&a.data) {
                Ok(x) => v.push(x),
                Err(e) => errors.push(format!("SRV record from {s}: {e}")),
            }
        }
        if v.is_empty() {
            errors.push(format!("{s} has no SRV record for {name}"));
            return Err(errors.join("; "));
        }
        v.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.weight.cmp(&a.weight)));
        return Ok((v, *s));
    }
    Err(errors.join("; "))
}

/// Decodes SRV RDATA from the hex text of [`dns::parse`] (its target is uncompressed per
/// RFC 2782; a compressed or over-long one is reported).
fn srv_rdata(hex: &str) -> Result<Srv, String> {
    if hex.ends_with('…') {
        return Err("SRV target longer than the 58 bytes decoded".into());
    }
    let b: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| hex.get(2 * i..2 * i + 2).and_then(|x| u8::from_str_radix(x, 16).ok()))
        .collect();
    let u16at = |o: usize| b.get(o..o + 2).and_then(|x| x.try_into().ok()).map(u16::from_be_bytes);
    let (Some(priority), Some(weight), Some(port)) = (u16at(0), u16at(2), u16at(4)) else {
        return Err(format!("SRV RDATA of {} bytes is shorter than 7", b.len()));
    };
    let mut labels = Vec::new();
    let mut off = 6usize;
    loop {
        let n = *b.get(off).ok_or_else(|| format!("SRV target ends at offset {off}"))? as usize;
        if n == 0 {
            break;
        }
        if n >= 0xc0 {
            return Err(format!("compressed SRV target at offset {off} (RFC 2782 forbids it)"));
        }
        let l = b
            .get(off + 1..off + 1 + n)
            .ok_or_else(|| format!("SRV label past the end at offset {off}"))?;
        labels.push(String::from_utf8_lossy(l).into_owned());
        off += 1 + n;
    }
    Ok(Srv { priority, weight, port, target: labels.join(".") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srv_rdata_decodes_and_rejects() {
        // 0 0 443 mail.good.lab (the lab responder's record, lab/check/servers.py)
        let ok = srv_rdata("0000000001bb046d61696c04676f6f64036c616200").unwrap();
        assert_eq!(ok, Srv { priority: 0, weight: 0, port: 443, target: "mail.good.lab".into() });
        assert_eq!(srv_rdata("0000…").unwrap_err(), "SRV target longer than the 58 bytes decoded");
        assert!(srv_rdata("0000").unwrap_err().contains("shorter"));
        assert!(srv_rdata("0000000001bbc00c").unwrap_err().contains("compressed"));
        assert!(srv_rdata("0000000001bb05ab").unwrap_err().contains("past the end"));
    }

    #[test]
    fn split_brain_is_flagged_only_on_difference() {
        let s1: SocketAddr = "10.0.0.1:53".parse().unwrap();
        let s2: SocketAddr = "10.0.0.2:53".parse().unwrap();
        let l = |a: &str| Lookup { addrs: vec![(a.parse().unwrap(), 60)], ..Default::default() };
        assert!(split_brain(&[(s1, l("1.2.3.4")), (s2, l("1.2.3.4"))]).is_none());
        let h = split_brain(&[(s1, l("1.2.3.4")), (s2, l("10.1.1.1"))]).unwrap();
        assert!(h.contains("10.0.0.2:53") && h.contains("10.1.1.1"), "{h}");
    }
}

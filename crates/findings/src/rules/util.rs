//! Small helpers shared by rules.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tracehound_flows::Conversation;

/// Group conversations by the responder's address and port.
pub fn by_responder<'a>(
    convs: impl Iterator<Item = &'a Conversation>,
) -> BTreeMap<SocketAddr, Vec<&'a Conversation>> {
    let mut m: BTreeMap<SocketAddr, Vec<&Conversation>> = BTreeMap::new();
    for c in convs {
        m.entry(c.info.resp).or_default().push(c);
    }
    m
}

/// "3 connection attempts" / "1 connection attempt".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Well-known service of a port, for explanations.
pub fn service(port: u16) -> Option<&'static str> {
    Some(match port {
        53 => "DNS",
        80 => "HTTP",
        88 => "Kerberos",
        135 => "the RPC endpoint mapper",
        139 => "NetBIOS session (SMB)",
        389 => "LDAP",
        443 => "HTTPS",
        445 => "SMB",
        464 => "Kerberos password change",
        593 => "RPC over HTTP",
        636 => "LDAPS",
        1433 => "SQL Server",
        3268 => "the global catalog (LDAP)",
        3269 => "the global catalog (LDAPS)",
        3389 => "RDP",
        5985 => "WinRM (HTTP)",
        5986 => "WinRM (HTTPS)",
        9389 => "AD Web Services",
        49152..=65535 => "a dynamic (RPC) port",
        _ => return None,
    })
}

pub fn port_desc(port: u16) -> String {
    match service(port) {
        Some(s) => format!("port {port} ({s})"),
        None => format!("port {port}"),
    }
}

/// A threshold constant as a rule's text spells it: at most four decimals, trailing zeros
/// dropped (`0.03 * 100.0` → "3", `0.5` → "0.5").
pub fn num(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// A share (0.03) as a percentage number ("3").
pub fn pct(share: f64) -> String {
    num(share * 100.0)
}

#[cfg(test)]
mod num_tests {
    use super::{num, pct};

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(pct(0.03), "3");
        assert_eq!(pct(0.01), "1");
        assert_eq!(pct(0.015), "1.5");
        assert_eq!(num(0.2 * 1000.0), "200");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(120.0), "120");
    }
}

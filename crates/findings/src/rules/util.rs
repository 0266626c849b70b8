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

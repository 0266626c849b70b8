//! Service names for the familiar `TCP port 135 (epmap service)` line, from
//! `data/services.txt` (data as data; the table is validated by a test).

use crate::Proto;

const TABLE: &str = include_str!("../data/services.txt");

/// One parsed line of the table.
#[derive(Debug, PartialEq, Eq)]
struct Entry<'a> {
    port: u16,
    tcp: bool,
    udp: bool,
    name: &'a str,
}

fn parse_line(line: &str) -> Result<Option<Entry<'_>>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (spec, name) = line.split_once(char::is_whitespace).ok_or("missing name")?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err("name must be one word".into());
    }
    let (port, proto) = spec.split_once('/').ok_or("expected port/proto")?;
    let port: u16 = port.parse().map_err(|_| format!("bad port {port:?}"))?;
    if port == 0 {
        return Err("port 0".into());
    }
    let (tcp, udp) = match proto {
        "tcp" => (true, false),
        "udp" => (false, true),
        "both" => (true, true),
        _ => return Err(format!("bad proto {proto:?}")),
    };
    Ok(Some(Entry { port, tcp, udp, name }))
}

fn index() -> &'static std::collections::HashMap<(Proto, u16), &'static str> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<(Proto, u16), &'static str>> =
        std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for e in TABLE.lines().filter_map(|l| parse_line(l).ok().flatten()) {
            if e.tcp {
                m.entry((Proto::Tcp, e.port)).or_insert(e.name);
            }
            if e.udp {
                m.entry((Proto::Udp, e.port)).or_insert(e.name);
            }
        }
        m
    })
}

/// The service name for a port, or `"unknown"` as PortQry prints it.
pub fn name(proto: Proto, port: u16) -> &'static str {
    index().get(&(proto, port)).copied().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_valid() {
        let mut seen = std::collections::HashSet::new();
        for (i, line) in TABLE.lines().enumerate() {
            match parse_line(line) {
                Ok(Some(e)) => {
                    assert!(seen.insert(e.port), "line {}: port {} listed twice", i + 1, e.port)
                }
                Ok(None) => {}
                Err(why) => panic!("services.txt line {}: {why}: {line:?}", i + 1),
            }
        }
        assert!(seen.len() > 50);
    }

    #[test]
    fn lookups() {
        assert_eq!(name(Proto::Tcp, 135), "epmap");
        assert_eq!(name(Proto::Udp, 1434), "ms-sql-m");
        assert_eq!(name(Proto::Tcp, 1434), "unknown");
        assert_eq!(name(Proto::Tcp, 3268), "msft-gc");
        assert!(parse_line("12/xyz a").is_err());
        assert!(parse_line("0/tcp a").is_err());
        assert!(parse_line("12/tcp").is_err());
    }
}

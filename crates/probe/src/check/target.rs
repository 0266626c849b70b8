//! Targets of `check`: a URL (`https://host[:port]/path`), `host:port`, a bare host
//! (HTTPS on 443), or `@FILE` (one target a line, `#` starts a comment).
//!
//! Which steps run follows the scheme or the port: TLS for https, ldaps and the ports 443,
//! 636, 3269, 8443, 5986, 993, 995 (or `--tls`); HTTP for http/https URLs and the ports 80,
//! 8080, 5985 (plain) and 443, 8443, 5986 (TLS).

/// Targets read from one `@FILE` at most.
pub const MAX_FILE_TARGETS: usize = 100_000;

/// Ports where TLS starts right after the TCP handshake.
pub const TLS_PORTS: [u16; 8] = [443, 636, 3269, 8443, 5986, 993, 995, 465];
const HTTPS_PORTS: [u16; 3] = [443, 8443, 5986];
const HTTP_PORTS: [u16; 3] = [80, 8080, 5985];

/// One parsed target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// As the user wrote it.
    pub raw: String,
    pub scheme: Option<String>,
    /// Host name or address literal (no brackets).
    pub host: String,
    pub port: u16,
    /// Request path for HTTP (`/` when none).
    pub path: String,
    pub tls: bool,
    pub http: bool,
}

/// Parses one target; `force_tls` is `--tls`.
pub fn parse(raw: &str, force_tls: bool) -> Result<Target, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("empty target".into());
    }
    let (scheme, rest) = match s.split_once("://") {
        Some((sch, r)) => (Some(sch.to_ascii_lowercase()), r),
        None => (None, s),
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = split_host_port(authority)?;
    if host.is_empty() {
        return Err(format!("{raw:?}: no host"));
    }
    let default = match scheme.as_deref() {
        Some("https") => 443,
        Some("http") => 80,
        Some("ldaps") => 636,
        Some("ldap") => 389,
        Some("imaps") => 993,
        Some("pop3s") => 995,
        Some("tcp") | None => {
            if scheme.is_some() && port.is_none() {
                return Err(format!("{raw:?}: tcp:// needs a port"));
            }
            443
        }
        Some(other) => return Err(format!("{raw:?}: unsupported scheme {other:?}")),
    };
    let port = port.unwrap_or(default);
    let (tls, http) = match scheme.as_deref() {
        Some("https") => (true, true),
        Some("http") => (force_tls, true),
        Some("ldaps" | "imaps" | "pop3s") => (true, false),
        Some(_) => (force_tls, false),
        None => (
            force_tls || TLS_PORTS.contains(&port),
            HTTPS_PORTS.contains(&port) || HTTP_PORTS.contains(&port),
        ),
    };
    let path = path.split('#').next().unwrap_or("");
    let path = if path.is_empty() || path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok(Target { raw: s.to_string(), scheme, host: host.to_string(), port, path, tls, http })
}

fn split_host_port(a: &str) -> Result<(&str, Option<u16>), String> {
    let bad = |p: &str| format!("bad port {p:?} in {a:?}");
    if let Some(r) = a.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or_else(|| format!("unclosed '[' in {a:?}"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((h, Some(p.parse().map_err(|_| bad(p))?))),
            None if after.is_empty() => Ok((h, None)),
            None => Err(format!("junk after ']' in {a:?}")),
        };
    }
    match a.rsplit_once(':') {
        // more than one ':' without brackets: a bare IPv6 address
        Some((h, _)) if h.contains(':') => Ok((a, None)),
        Some((h, p)) => Ok((h, Some(p.parse().map_err(|_| bad(p))?))),
        None => Ok((a, None)),
    }
}

/// Expands `@FILE` arguments (one target a line, `#` comments, blank lines skipped).
pub fn expand(args: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for a in args {
        match a.strip_prefix('@') {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                for line in text.lines() {
                    let t = line.split('#').next().unwrap_or("").trim();
                    if t.is_empty() {
                        continue;
                    }
                    if out.len() >= MAX_FILE_TARGETS {
                        return Err(format!("{path}: more than {MAX_FILE_TARGETS} targets"));
                    }
                    out.push(t.to_string());
                }
            }
            None => out.push(a.clone()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_host_ports() {
        let t = parse("https://Mail.example.com/ews/exchange.asmx", false).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls, t.http), ("Mail.example.com", 443, true, true));
        assert_eq!(t.path, "/ews/exchange.asmx");
        let t = parse("http://[fd00::1]:8080?x=1", false).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.tls, t.path.as_str()),
            ("fd00::1", 8080, false, "/?x=1")
        );
        let t = parse("dc1.example.com:636", false).unwrap();
        assert_eq!((t.port, t.tls, t.http), (636, true, false));
        let t = parse("dc1:389", false).unwrap();
        assert_eq!((t.tls, t.http), (false, false));
        assert!(parse("dc1:389", true).unwrap().tls);
        let t = parse("host", false).unwrap();
        assert_eq!((t.port, t.tls, t.http), (443, true, true));
        assert!(parse("ftp://x", false).is_err());
        assert!(parse("x:99999", false).is_err());
        assert!(parse("[::1", false).is_err());
        assert_eq!(parse("fd00::2", false).unwrap().host, "fd00::2");
    }

    #[test]
    fn file_expansion() {
        let p = std::env::temp_dir().join(format!("th-check-targets-{}", std::process::id()));
        std::fs::write(&p, "# list\na.example:443  # web\n\n  https://b.example/x\n").unwrap();
        let v = expand(&[format!("@{}", p.display()), "c:80".into()]).unwrap();
        let _ = std::fs::remove_file(&p);
        assert_eq!(v, vec!["a.example:443", "https://b.example/x", "c:80"]);
    }
}

//! HTTP: `HEAD /` and the status line plus the Server header (RFC 9110/9112).

use super::common::{ask, Ctx, Exchange, Output, Port, Query, QueryError};
use crate::Proto;

pub const MAX_REPLY: usize = 16 * 1024;

pub fn request(host: &str) -> Vec<u8> {
    format!("HEAD / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tracehound-portqry\r\nAccept: */*\r\nConnection: close\r\n\r\n").into_bytes()
}

/// The header block ends at the first empty line.
pub fn complete(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Head {
    pub status_line: String,
    pub status: Option<u16>,
    pub server: Option<String>,
    pub location: Option<String>,
    pub www_authenticate: Vec<String>,
}

pub fn parse(b: &[u8]) -> Result<Head, QueryError> {
    let text = String::from_utf8_lossy(b);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    if !first.starts_with("HTTP/") {
        return Err(QueryError::Other(format!(
            "not an HTTP response: {:?}",
            super::rd::printable(first.as_bytes(), 80)
        )));
    }
    let status = first.split_whitespace().nth(1).and_then(|s| s.parse().ok());
    let mut h = Head {
        status_line: super::rd::printable(first.as_bytes(), 200),
        status,
        server: None,
        location: None,
        www_authenticate: vec![],
    };
    for l in lines.take(200) {
        if let Some((k, v)) = l.split_once(':') {
            let v = super::rd::printable(v.trim().as_bytes(), 200);
            match k.trim().to_ascii_lowercase().as_str() {
                "server" => h.server = Some(v),
                "location" => h.location = Some(v),
                "www-authenticate" if h.www_authenticate.len() < 8 => h.www_authenticate.push(v),
                _ => {}
            }
        }
    }
    Ok(h)
}

impl Head {
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![format!("HTTP response: {}", self.status_line)];
        if let Some(s) = &self.server {
            v.push(format!("  Server: {s}"));
        }
        if let Some(s) = &self.location {
            v.push(format!("  Location: {s}"));
        }
        for a in &self.www_authenticate {
            v.push(format!("  WWW-Authenticate: {a}"));
        }
        v
    }
}

/// The HTTP query: `HEAD /` with the given name (else the address) as Host.
pub struct Http {
    host: String,
}

impl Exchange for Http {
    type Reply = Head;
    const WHAT: &'static str = "HTTP HEAD /";
    const MAX_REPLY: usize = MAX_REPLY;

    fn new(ctx: &Ctx) -> Self {
        Http { host: ctx.asked_name() }
    }
    fn request(&self, _proto: Proto) -> Vec<u8> {
        request(&self.host)
    }
    fn complete(b: &[u8]) -> Option<usize> {
        complete(b)
    }
    fn parse(&self, b: &[u8]) -> Result<Head, QueryError> {
        parse(b)
    }
    fn lines(&self, r: &Head, _ctx: &Ctx) -> Vec<String> {
        r.lines()
    }
}

impl Query for Http {
    async fn run(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
        ask::<Self>(ctx, at, kept).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parse_head() {
        let r = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nContent-type: text/html\r\n\r\n";
        assert_eq!(complete(r), Some(r.len()));
        let h = parse(r).unwrap();
        assert_eq!(h.status, Some(200));
        assert_eq!(h.server.as_deref(), Some("SimpleHTTP/0.6 Python/3.11.2"));
        assert!(parse(b"SSH-2.0-OpenSSH\r\n").is_err());
    }
}

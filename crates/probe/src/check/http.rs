//! A small HTTP/1.1 client (RFC 9112) for the HTTP step: one request per connection
//! (`Connection: close`), the status line and headers read with hard bounds, the body never
//! read (its announced length is reported). Hostile servers end within the wait with a
//! reason: headers beyond [`MAX_HEAD`] bytes or [`MAX_HEADERS`] lines, silence, a close
//! before the headers end.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest status line + header block accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most header lines accepted.
pub const MAX_HEADERS: usize = 200;
/// Most body bytes read (presets only; the rest is never read).
pub const MAX_BODY: usize = 64 * 1024;

/// A response head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    /// From sending the request to the first byte of the answer.
    pub first_byte: Duration,
    /// The body when asked for (at most [`MAX_BODY`] bytes, de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The authentication schemes of every WWW-Authenticate header (`Negotiate`, `NTLM`, ...).
    pub fn auth_schemes(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for (_, val) in
            self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        {
            // challenges are `scheme [token68 | params]`, comma-separated; a scheme is a
            // token (RFC 9110 §5.6.2), so parameters (`name=value`) and pieces of quoted
            // strings are not schemes.
            for part in split_unquoted(val) {
                let w = part.split_whitespace().next().unwrap_or("");
                let token = !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
                if token && !v.iter().any(|x| x.eq_ignore_ascii_case(w)) {
                    v.push(w.chars().take(40).collect());
                }
            }
            if v.len() >= 16 {
                break;
            }
        }
        v
    }
}

/// Splits on commas outside double quotes.
fn split_unquoted(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(s.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

/// Why no response head could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("no response within {0} ms (the server accepted the request and stayed silent)")]
    Silent(u128),
    #[error("response headers incomplete after {0} ms ({1} bytes received)")]
    Slow(u128, usize),
    #[error("response headers larger than the {0}-byte limit (endless headers?)")]
    TooLarge(usize),
    #[error("more than {0} header lines")]
    TooManyHeaders(usize),
    #[error("connection closed after {0} bytes, before the response headers ended")]
    Closed(usize),
    #[error("malformed response at byte {offset}: {what}")]
    Malformed { offset: usize, what: String },
    #[error("I/O error: {0}")]
    Io(String),
}

/// Encodes a request. Header names and values with CR/LF are dropped (no injection).
pub fn encode(
    method: &str,
    host: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let clean = |s: &str| !s.contains(['\r', '\n']);
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("user-agent") {
        r.push_str("User-Agent: tracehound-check\r\n");
    }
    if !has("accept") {
        r.push_str("Accept: */*\r\n");
    }
    for (k, v) in
        headers.iter().filter(|(k, v)| clean(k) && clean(v) && !k.eq_ignore_ascii_case("host"))
    {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("Connection: close\r\n\r\n");
    let mut v = r.into_bytes();
    v.extend_from_slice(body);
    v
}

/// Sends `req` and reads the response head within `wait`.
pub async fn exchange<S>(
    s: &mut S,
    req: &[u8],
    wait: Duration,
    want_body: bool,
) -> Result<Response, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let start = Instant::now();
    let deadline = start + wait;
    let ms = wait.as_millis();
    match tokio::time::timeout(wait, s.write_all(req)).await {
        Err(_) => return Err(HttpError::Silent(ms)),
        Ok(Err(e)) => return Err(HttpError::Io(e.to_string())),
        Ok(Ok(())) => {}
    }
    let _ =
        tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), s.flush()).await;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut first = None;
    loop {
        if let Some(end) = head_end(&buf) {
            let mut r = parse_head(buf.get(..end).unwrap_or_default())?;
            if (100..200).contains(&r.status) && r.status != 101 {
                buf.drain(..end);
                continue; // interim response (100 Continue): the real one follows
            }
            r.first_byte = first.unwrap_or_default();
            if want_body {
                buf.drain(..end);
                read_body(s, &mut r, buf, deadline).await;
            }
            return Ok(r);
        }
        if buf.len() >= MAX_HEAD {
            return Err(HttpError::TooLarge(MAX_HEAD));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let room = (MAX_HEAD - buf.len()).min(chunk.len());
        let n = match tokio::time::timeout(left, s.read(chunk.get_mut(..room).unwrap_or_default()))
            .await
        {
            Err(_) if buf.is_empty() => return Err(HttpError::Silent(ms)),
            Err(_) => return Err(HttpError::Slow(ms, buf.len())),
            Ok(Ok(0)) => return Err(HttpError::Closed(buf.len())),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(HttpError::Io(e.to_string())),
        };
        first.get_or_insert_with(|| start.elapsed());
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// Reads the body into `r.body` (bounded by [`MAX_BODY`], the Content-Length and the
/// deadline; a cut-short body is kept as it is).
async fn read_body<S: AsyncRead + Unpin>(
    s: &mut S,
    r: &mut Response,
    mut buf: Vec<u8>,
    deadline: Instant,
) {
    let want = r
        .header("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(MAX_BODY)
        .min(MAX_BODY);
    let mut chunk = [0u8; 4096];
    while buf.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let room = (want - buf.len()).min(chunk.len());
        match tokio::time::timeout(left, s.read(chunk.get_mut(..room).unwrap_or_default())).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            _ => break,
        }
    }
    buf.truncate(want);
    let chunked =
        r.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    r.body = if chunked { dechunk(&buf) } else { buf };
}

/// Decodes a chunked body as far as it goes (RFC 9112 §7.1); stops at the first bad size.
pub fn dechunk(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for _ in 0..4096 {
        let Some(rest) = b.get(pos..) else { break };
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { break };
        let line = String::from_utf8_lossy(rest.get(..eol).unwrap_or_default()).to_string();
        let size = line.split(';').next().unwrap_or("").trim();
        let Ok(n) = usize::from_str_radix(size, 16) else { break };
        if n == 0 {
            break;
        }
        let start = pos.saturating_add(eol).saturating_add(2);
        let end = start.saturating_add(n).min(b.len());
        out.extend_from_slice(b.get(start..end).unwrap_or_default());
        pos = end.saturating_add(2);
    }
    out
}

/// Length of the head including its blank line, if complete.
fn head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Parses a status line and headers (CRLF-terminated, blank line included).
pub fn parse_head(b: &[u8]) -> Result<Response, HttpError> {
    let text = String::from_utf8_lossy(b);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let bad = |offset: usize, what: &str| HttpError::Malformed { offset, what: what.to_string() };
    let rest = status_line
        .strip_prefix("HTTP/1.")
        .ok_or_else(|| bad(0, "status line does not start with HTTP/1.x"))?;
    let mut parts = rest.splitn(3, ' ');
    let _minor = parts.next();
    let code = parts.next().unwrap_or("");
    let status: u16 = match code.parse() {
        Ok(c) if (100..=999).contains(&c) && code.len() == 3 => c,
        _ => return Err(bad(9, "status code is not three digits")),
    };
    let reason = parts.next().unwrap_or("").chars().take(200).collect();
    let mut headers = Vec::new();
    let mut offset = status_line.len() + 2;
    for line in lines {
        if line.is_empty() {
            offset += 2;
            continue;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(HttpError::TooManyHeaders(MAX_HEADERS));
        }
        let (n, v) = line.split_once(':').ok_or_else(|| bad(offset, "header line without ':'"))?;
        headers.push((n.trim().to_string(), v.trim().chars().take(2048).collect()));
        offset += line.len() + 2;
    }
    Ok(Response { status, reason, headers, first_byte: Duration::ZERO, body: Vec::new() })
}

/// Resolves a Location value against the URL it came from (`scheme://authority/path`).
pub fn join(base: &str, location: &str) -> String {
    let loc = location.trim();
    if loc.contains("://") {
        return loc.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if let Some(r) = loc.strip_prefix("//") {
        return format!("{scheme}://{r}");
    }
    if loc.starts_with('/') {
        return format!("{scheme}://{authority}{loc}");
    }
    let path = &rest[authority.len()..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{scheme}://{authority}{dir}{loc}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_auth_schemes() {
        let raw = b"HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-IIS/10.0\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\nwww-authenticate: Basic realm=\"x, y\", Bearer error=\"invalid_token\"\r\nContent-Length: 0\r\n\r\n";
        let r = parse_head(raw).unwrap();
        assert_eq!((r.status, r.reason.as_str()), (401, "Unauthorized"));
        assert_eq!(r.header("server"), Some("Microsoft-IIS/10.0"));
        // a comma inside the quoted realm must not make a scheme of ` y"`
        assert_eq!(r.auth_schemes(), vec!["Negotiate", "NTLM", "Basic", "Bearer"]);
        assert!(parse_head(b"SSH-2.0-x\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 2000 x\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(dechunk(b"4\r\nWiki\r\n5;x=1\r\npedia\r\n0\r\n\r\n"), b"Wikipedia");
        assert_eq!(dechunk(b"ff\r\nabc"), b"abc", "cut short: kept as far as it goes");
        assert_eq!(dechunk(b"zz\r\n"), b"");
    }

    #[test]
    fn location_join() {
        assert_eq!(join("https://a/x/y?q", "/z"), "https://a/z");
        assert_eq!(join("https://a/x/y", "z"), "https://a/x/z");
        assert_eq!(join("https://a:8443/x", "http://b/"), "http://b/");
        assert_eq!(join("https://a/x", "//c/d"), "https://c/d");
    }

    #[test]
    fn request_has_no_injected_lines() {
        let r = encode(
            "GET",
            "h",
            "/",
            &[("X-A".into(), "1\r\nEvil: 1".into()), ("X-B".into(), "2".into())],
            &[],
        );
        let s = String::from_utf8(r).unwrap();
        assert!(!s.contains("Evil") && s.contains("X-B: 2\r\n") && s.ends_with("\r\n\r\n"));
    }

    #[test]
    fn hostile_servers_end_with_reasons() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            // endless headers
            let (mut c, mut s) = tokio::io::duplex(1 << 16);
            let feeder = tokio::spawn(async move {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
                for _ in 0..100_000 {
                    if s.write_all(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n").await.is_err() {
                        break;
                    }
                }
            });
            let e =
                exchange(&mut c, b"GET / HTTP/1.1\r\n\r\n", Duration::from_secs(5), false).await;
            assert_eq!(e, Err(HttpError::TooLarge(MAX_HEAD)));
            drop(c);
            let _ = feeder.await;
            // silence
            let (mut c, _s) = tokio::io::duplex(1024);
            let e = exchange(&mut c, b"GET / HTTP/1.1\r\n\r\n", Duration::from_millis(200), false)
                .await;
            assert_eq!(e, Err(HttpError::Silent(200)));
        });
    }
}

//! The HTTP/1.1 framing of an RPC over HTTP v2 channel (MS-RPCH 2.1.2.1).
//!
//! A channel is one HTTP request whose body is the byte stream of RTS and DCE/RPC PDUs:
//!
//! ```text
//! RPC_IN_DATA /rpc/rpcproxy.dll?server:593 HTTP/1.1     (IN channel, client to server)
//! Content-Length: 1073741824                             (the channel lifetime, not a size)
//!
//! RPC_OUT_DATA /rpc/rpcproxy.dll?server:593 HTTP/1.1    (OUT channel, server to client)
//! Content-Length: 76                                     (exactly CONN/A1)
//! ```
//!
//! The proxy answers `100 Continue` and, on the OUT channel, `200 Success` whose body carries
//! CONN/A3, CONN/C2 and then the server's PDUs. Before that a client commonly makes an
//! authentication round (a request with `Content-Length: 0` answered `401`) on the same
//! connection. This module only reads the heads; [`super::channel`] walks the bodies.

/// Longest HTTP head accepted (request or response line plus headers).
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// Longest text kept from a head (path, reason phrase).
const MAX_TEXT: usize = 256;

/// The two RPC over HTTP methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    In,
    Out,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::In => "RPC_IN_DATA",
            Method::Out => "RPC_OUT_DATA",
        }
    }
}

/// Do the first bytes a client sent on a connection begin an RPC over HTTP request?
/// `Some(true)` yes, `Some(false)` too few bytes to say, `None` no.
pub(crate) fn detect(buf: &[u8]) -> Option<bool> {
    for m in [&b"RPC_IN_DATA "[..], b"RPC_OUT_DATA "] {
        if buf.starts_with(m) {
            return Some(true);
        }
        if !buf.is_empty() && m.starts_with(buf) {
            return Some(false);
        }
    }
    None
}

/// A request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// `None` for another method (kept as text in `method_text`).
    pub method: Option<Method>,
    pub method_text: String,
    pub path: String,
    pub length: Option<u64>,
    pub chunked: bool,
}

/// A response head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub reason: String,
    pub length: Option<u64>,
    pub chunked: bool,
}

/// Length of the head at the start of `buf` (through the empty line), if complete.
pub(crate) fn head_len(buf: &[u8]) -> Option<usize> {
    memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i.saturating_add(4))
}

fn text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.chars().take(MAX_TEXT).collect()
}

/// Content-Length and chunked transfer coding from the header lines after the first.
fn framing<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Result<(Option<u64>, bool), String> {
    let (mut length, mut chunked) = (None, false);
    for line in lines {
        let Some(colon) = memchr::memchr(b':', line) else { continue };
        let (name, value) = line.split_at(colon);
        let value = String::from_utf8_lossy(value.get(1..).unwrap_or(&[])).trim().to_string();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = value.parse::<u64>().map_err(|_| {
                format!("Content-Length {:?} is not a number", text(value.as_bytes()))
            })?;
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    Ok((length, chunked))
}

fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

/// Parses a request head (the bytes from [`head_len`]).
pub(crate) fn parse_request(head: &[u8]) -> Result<Request, String> {
    let mut it = lines(head);
    let first = it.next().ok_or("empty HTTP request head")?;
    let mut parts = first.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let (Some(m), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("HTTP request line {:?} has not three parts", text(first)));
    };
    if !version.starts_with(b"HTTP/") {
        return Err(format!("HTTP request line {:?}: no HTTP version", text(first)));
    }
    let method = match m {
        b"RPC_IN_DATA" => Some(Method::In),
        b"RPC_OUT_DATA" => Some(Method::Out),
        _ => None,
    };
    let (length, chunked) = framing(it)?;
    Ok(Request { method, method_text: text(m), path: text(path), length, chunked })
}

/// Parses a response head.
pub(crate) fn parse_response(head: &[u8]) -> Result<Response, String> {
    let mut it = lines(head);
    let first = it.next().ok_or("empty HTTP response head")?;
    let mut parts = first.splitn(3, |&b| b == b' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(format!("HTTP status line {:?} has no status code", text(first)));
    };
    if !version.starts_with(b"HTTP/") {
        return Err(format!("HTTP status line {:?}: no HTTP version", text(first)));
    }
    let status = std::str::from_utf8(code)
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..1000).contains(c))
        .ok_or_else(|| format!("HTTP status line {:?}: bad status code", text(first)))?;
    let reason = text(parts.next().unwrap_or(&[])).trim().to_string();
    let (length, chunked) = framing(it)?;
    Ok(Response { status, reason, length, chunked })
}

/// The `server:port` the client asked the proxy for: the query of the path.
pub(crate) fn target(path: &str) -> Option<String> {
    path.split_once('?').map(|(_, q)| q.to_string()).filter(|q| !q.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The heads impacket's ncacn_http client sent and lab/rpch/rpch_proxy.py answered in
    // tests/fixtures/lab/rpch-http.pcap (frames 13 and 19; the Authorization line of frame
    // 13 left out).
    #[test]
    fn heads_from_the_lab_capture() {
        let req = b"RPC_OUT_DATA /rpc/rpcproxy.dll?10.101.1.20:593 HTTP/1.1\r\nHost: 10.101.1.20\r\nAccept-Encoding: identity\r\nUser-Agent: MSRPC\r\nCache-Control: no-cache\r\nConnection: Keep-Alive\r\nExpect: 100-continue\r\nAccept: application/rpc\r\nPragma: No-cache\r\nContent-Length: 76\r\n\r\n";
        let n = head_len(req).unwrap();
        assert_eq!(n, req.len());
        let r = parse_request(&req[..n]).unwrap();
        assert_eq!((r.method, r.length, r.chunked), (Some(Method::Out), Some(76), false));
        assert_eq!(target(&r.path).as_deref(), Some("10.101.1.20:593"));
        let resp = b"HTTP/1.1 200 Success\r\nContent-Type: application/rpc\r\nContent-Length: 1073741824\r\n\r\n";
        let r = parse_response(resp).unwrap();
        assert_eq!((r.status, r.reason.as_str(), r.length), (200, "Success", Some(1 << 30)));
        let r = parse_response(b"HTTP/1.1 503 RPC Error: 6ba\r\n\r\n").unwrap();
        assert_eq!((r.status, r.reason.as_str()), (503, "RPC Error: 6ba"));
    }

    #[test]
    fn detect_and_bad_heads() {
        assert_eq!(detect(b"RPC_IN"), Some(false));
        assert_eq!(detect(b"RPC_IN_DATA /rpc"), Some(true));
        assert_eq!(detect(b"GET / HTTP/1.1"), None);
        assert!(parse_request(b"RPC_IN_DATA\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").unwrap_err().contains("bad status code"));
        let e = parse_request(b"RPC_IN_DATA / HTTP/1.1\r\nContent-Length: x\r\n\r\n").unwrap_err();
        assert!(e.contains("Content-Length"), "{e}");
    }
}

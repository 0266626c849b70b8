//! HTTP/1.x (RFC 9112) message framing: request line / status line, the header fields that
//! decide the body length (Content-Length, Transfer-Encoding: chunked, no body for HEAD, 1xx,
//! 204, 304), and body skipping without buffering. Requests and responses are matched FIFO
//! (pipelining keeps order). A 101 or a 2xx to CONNECT ends parsing (the connection becomes
//! something else).

use crate::reader::{printable, ParseError};
use crate::stream::{At, Stream};

/// Longest header block accepted.
pub const MAX_HEADER: usize = 32 * 1024;
const METHODS: [&str; 9] =
    ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

pub fn looks_like_request(d: &[u8]) -> bool {
    METHODS
        .iter()
        .any(|m| d.len() > m.len() && d.starts_with(m.as_bytes()) && d.get(m.len()) == Some(&b' '))
        || [&b"PROPFIND "[..], b"RPC_IN_DATA ", b"RPC_OUT_DATA ", b"MKCOL "]
            .iter()
            .any(|m| d.starts_with(m))
}

pub fn looks_like_response(d: &[u8]) -> bool {
    d.starts_with(b"HTTP/1.")
}

/// A message head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgHead {
    /// `GET /path` for requests, the status code for responses.
    pub line: String,
    pub status: Option<u16>,
    pub method: Option<String>,
    pub content_length: Option<u64>,
    pub chunked: bool,
    /// Bytes of the head (start line + headers + empty line).
    pub len: usize,
    /// Who asked for what and how the server answered (for [`crate::httpauth`]).
    pub extra: Option<Box<Extra>>,
}

/// The header fields that say who asked for what and who answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extra {
    /// Requests: the target (path) and Host.
    pub target: Option<String>,
    pub host: Option<String>,
    /// Requests: `Authorization` / `Proxy-Authorization` scheme and what its token says.
    pub authz_scheme: Option<String>,
    pub authz: Option<crate::auth::TokenInfo>,
    /// Responses: the schemes `WWW-Authenticate` / `Proxy-Authenticate` offer.
    pub challenges: Vec<String>,
    pub server: Option<String>,
    pub via: Option<String>,
}

/// Header values kept (bytes).
const MAX_VALUE: usize = 120;

fn extra_header(x: &mut Extra, name: &[u8], value: &str) {
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    if is("host") {
        x.host = Some(printable(value.as_bytes(), MAX_VALUE));
    } else if is("authorization") || is("proxy-authorization") {
        let (scheme, tok) = value.split_once(' ').unwrap_or((value, ""));
        x.authz_scheme = Some(printable(scheme.as_bytes(), 20));
        if scheme.eq_ignore_ascii_case("ntlm") || scheme.eq_ignore_ascii_case("negotiate") {
            x.authz = tracehound_proto::base64::decode(tok.trim(), 64 * 1024)
                .map(|b| crate::auth::token(&b));
        }
    } else if is("www-authenticate") || is("proxy-authenticate") {
        let scheme = value.split([' ', ',']).next().unwrap_or("");
        if x.challenges.len() < 8 && !scheme.is_empty() {
            x.challenges.push(printable(scheme.as_bytes(), 20));
        }
    } else if is("server") {
        x.server = Some(printable(value.as_bytes(), MAX_VALUE));
    } else if is("via") {
        x.via = Some(printable(value.as_bytes(), MAX_VALUE));
    }
}

/// Parse a head at the start of `d`; Ok(None) when the empty line has not arrived yet.
pub fn head(d: &[u8]) -> Result<Option<MsgHead>, ParseError> {
    let end = match find(d, b"\r\n\r\n") {
        Some(i) => i + 4,
        None => match find(d, b"\n\n") {
            Some(i) => i + 2,
            None => {
                if d.len() > MAX_HEADER {
                    return Err(ParseError::invalid(
                        "HTTP header",
                        0,
                        format!("no end of header within {MAX_HEADER} bytes"),
                    ));
                }
                return Ok(None);
            }
        },
    };
    let block = d.get(..end).unwrap_or(&[]);
    let mut lines = block.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or(&[]);
    let mut h = MsgHead {
        line: String::new(),
        status: None,
        method: None,
        content_length: None,
        chunked: false,
        len: end,
        extra: None,
    };
    let mut x = Extra::default();
    if first.starts_with(b"HTTP/1.") {
        let code = first
            .get(9..12)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            return Err(ParseError::invalid("HTTP status line", 0, printable(first, 40)));
        };
        h.status = Some(code);
        h.line = code.to_string();
    } else {
        let mut parts = first.splitn(3, |&b| b == b' ');
        let m = parts.next().unwrap_or(&[]);
        let target = parts.next().unwrap_or(&[]);
        let ver = parts.next().unwrap_or(&[]);
        if m.is_empty()
            || !m.iter().all(|c| c.is_ascii_uppercase() || *c == b'_' || *c == b'-')
            || !ver.starts_with(b"HTTP/1.")
        {
            let what = if first.first().is_some_and(|c| c.is_ascii_uppercase()) {
                "HTTP request line"
            } else {
                "HTTP message start"
            };
            return Err(ParseError::invalid(what, 0, printable(first, 40)));
        }
        h.method = Some(printable(m, 20));
        x.target = Some(printable(target, MAX_VALUE));
        h.line = format!("{} {}", printable(m, 20), printable(target, 80));
    }
    for l in lines {
        let Some(colon) = l.iter().position(|&b| b == b':') else { continue };
        let name = l.get(..colon).unwrap_or(&[]);
        let value = l.get(colon + 1..).unwrap_or(&[]);
        let value = std::str::from_utf8(value).unwrap_or("").trim();
        if name.eq_ignore_ascii_case(b"content-length") {
            h.content_length = value.parse::<u64>().ok();
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            h.chunked = true;
        } else {
            extra_header(&mut x, name, value);
        }
    }
    if x != Extra::default() {
        h.extra = Some(Box::new(x));
    }
    Ok(Some(h))
}

fn find(d: &[u8], pat: &[u8]) -> Option<usize> {
    d.windows(pat.len()).position(|w| w == pat)
}

/// What the parser of one direction is doing.
#[derive(Debug)]
enum State {
    Head,
    /// Skipping a fixed-length body.
    Body,
    /// Expecting a chunk-size line.
    Chunk,
    /// Skipping chunk data + CRLF.
    ChunkData,
    /// Trailer fields after the last chunk.
    Trailer,
    /// Body runs to the end of the connection.
    UntilClose,
    /// Not HTTP any more (upgrade, CONNECT) or lost.
    Done,
}

/// A complete message, for the matcher.
#[derive(Debug)]
pub struct Msg {
    pub head: MsgHead,
    pub start: At,
    /// Last byte of the head (when the request is "sent", for bodiless requests also the end).
    pub head_end: At,
    pub end: At,
}

/// One direction of an HTTP connection.
#[derive(Debug)]
pub struct Parser {
    state: State,
    cur: Option<(MsgHead, At, At)>,
    pub request_side: bool,
}

impl Parser {
    pub fn new(request_side: bool) -> Parser {
        Parser { state: State::Head, cur: None, request_side }
    }
    pub fn stop(&mut self) {
        self.state = State::Done;
    }
    /// Parse what is buffered. `front_method` gives the method of the oldest unanswered
    /// request (responses to HEAD have no body). Returns complete messages.
    pub fn feed(
        &mut self,
        st: &mut Stream,
        front_method: &dyn Fn() -> Option<String>,
        out: &mut Vec<Msg>,
    ) -> Result<(), (u64, ParseError)> {
        loop {
            match self.state {
                State::Done | State::UntilClose => {
                    let n = st.data().len() as u64;
                    st.consume(n);
                    return Ok(());
                }
                State::Body | State::ChunkData => match st.skip_done.take() {
                    Some(end) => self.body_done(end, out),
                    None if st.skipping() => return Ok(()),
                    None => {
                        let end = st.last;
                        self.body_done(end, out)
                    }
                },
                State::Head => {
                    if !self.read_head(st, front_method, out)? {
                        return Ok(());
                    }
                }
                State::Chunk | State::Trailer => {
                    if !self.chunk_line(st, out)? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// A message head: reads it and decides how the body is framed. False: wait for more.
    fn read_head(
        &mut self,
        st: &mut Stream,
        front_method: &dyn Fn() -> Option<String>,
        out: &mut Vec<Msg>,
    ) -> Result<bool, (u64, ParseError)> {
        if st.data().is_empty() {
            return Ok(false);
        }
        let h = match head(st.data()) {
            Ok(Some(h)) => h,
            Ok(None) => return Ok(false),
            Err(e) => {
                self.state = State::Done;
                return Err((st.at(0).frame, e));
            }
        };
        let start = st.at(0);
        let head_end = st.at(h.len.saturating_sub(1));
        st.consume(h.len as u64);
        let bodiless = match h.status {
            Some(s) => {
                (100..200).contains(&s)
                    || s == 204
                    || s == 304
                    || front_method()
                        .is_some_and(|m| m == "HEAD" || (m == "CONNECT" && (200..300).contains(&s)))
            }
            None => !h.chunked && h.content_length.unwrap_or(0) == 0,
        };
        let upgrade = h.status == Some(101)
            || (h.status.is_some_and(|s| (200..300).contains(&s))
                && front_method().is_some_and(|m| m == "CONNECT"));
        let chunked = h.chunked;
        let cl = h.content_length;
        let is_resp = h.status.is_some();
        self.cur = Some((h, start, head_end));
        if bodiless {
            self.finish(head_end, out);
            if upgrade {
                self.state = State::Done;
            }
        } else if chunked {
            self.state = State::Chunk;
        } else if let Some(n) = cl {
            let have = st.data().len() as u64;
            if n <= have && n > 0 {
                let end = st.at((n - 1) as usize);
                st.consume(n);
                self.finish(end, out);
            } else if n == 0 {
                self.finish(head_end, out);
            } else {
                st.consume(n);
                self.state = State::Body;
            }
        } else if is_resp {
            self.state = State::UntilClose;
        } else {
            self.finish(head_end, out);
        }
        Ok(true)
    }

    /// A chunk-size line or a trailer line. False: wait for more.
    fn chunk_line(
        &mut self,
        st: &mut Stream,
        out: &mut Vec<Msg>,
    ) -> Result<bool, (u64, ParseError)> {
        let d = st.data();
        let Some(nl) = d.iter().position(|&b| b == b'\n') else {
            if d.len() > 1024 {
                self.state = State::Done;
                return Err((
                    st.at(0).frame,
                    ParseError::invalid("HTTP chunk size line", 0, "longer than 1024 bytes"),
                ));
            }
            return Ok(false);
        };
        let line = d.get(..nl).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line).to_vec();
        let line = &line[..];
        let last_at = st.at(nl);
        if matches!(self.state, State::Trailer) {
            st.consume(nl as u64 + 1);
            if line.is_empty() {
                self.finish(last_at, out);
            }
            return Ok(true);
        }
        let hex = line.split(|&b| b == b';').next().unwrap_or(&[]);
        let hex = std::str::from_utf8(hex).unwrap_or("").trim();
        let Ok(size) = u64::from_str_radix(hex, 16) else {
            self.state = State::Done;
            return Err((
                st.at(0).frame,
                ParseError::invalid("HTTP chunk size", 0, printable(line, 20)),
            ));
        };
        st.consume(nl as u64 + 1);
        if size == 0 {
            self.state = State::Trailer;
        } else {
            // data + CRLF
            st.consume(size.saturating_add(2));
            self.state = State::ChunkData;
        }
        Ok(true)
    }
    fn body_done(&mut self, end: At, out: &mut Vec<Msg>) {
        match self.state {
            State::ChunkData => self.state = State::Chunk,
            _ => self.finish(end, out),
        }
        let _ = end;
    }
    fn finish(&mut self, end: At, out: &mut Vec<Msg>) {
        if let Some((head, start, head_end)) = self.cur.take() {
            out.push(Msg { head, start, head_end, end });
        }
        if !matches!(self.state, State::Done) {
            self.state = State::Head;
        }
    }
    /// The connection ended: a body running to the close ends here.
    pub fn close(&mut self, last: At, out: &mut Vec<Msg>) {
        if matches!(
            self.state,
            State::UntilClose | State::Body | State::ChunkData | State::Chunk | State::Trailer
        ) {
            self.finish(last, out);
        }
    }
}

/// Hand complete messages to the transaction matcher.
pub(crate) fn emit(m: &mut crate::txn::Matcher, out: Vec<Msg>) {
    for msg in out {
        match msg.head.status {
            // RPC over HTTP channels and CONNECT tunnels stay open by design
            None => {
                let long = matches!(
                    msg.head.method.as_deref(),
                    Some("RPC_IN_DATA" | "RPC_OUT_DATA" | "CONNECT")
                );
                m.request(None, msg.head.line.clone(), msg.start, msg.end, long)
            }
            Some(s) if (100..200).contains(&s) && s != 101 => m.partial(None, msg.start),
            Some(s) => {
                m.response(None, msg.start, msg.end, s.to_string(), s >= 400);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn heads() {
        let h =
            head(b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc").unwrap().unwrap();
        assert_eq!(h.line, "GET /x");
        assert_eq!(h.content_length, Some(3));
        assert_eq!(h.len, 47);
        let h =
            head(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.status, Some(404));
        assert!(h.chunked);
        assert!(head(b"GET /x HTTP/1.1\r\nHost").unwrap().is_none());
        assert!(head(b"HTTP/1.1 XYZ\r\n\r\n").is_err());
    }
}

//! One direction of an RPC over HTTP channel: HTTP heads, then the body as a sequence of
//! RTS and DCE/RPC PDUs (each `frag_length` long), then possibly the next head.
//!
//! [`Side::push`] buffers the bytes of one direction (bounded by the caller's limit) and
//! reports, in order, every head, every complete PDU and every problem ([`Item`]). The
//! request side (client to proxy) reads request heads, the response side status lines.
//! A body is walked for its `Content-Length` (1 GiB on a live channel, 76 bytes for the
//! CONN/A1 of RPC_OUT_DATA, 0 for an authentication round); a non-200 answer's body is
//! skipped. Chunked bodies are not decoded (reported once, then the direction is left).

use crate::pdu::{self, rts, PType, HEADER_LEN};

use super::http::{self, Request, Response, MAX_HEAD};

/// What a direction is reading now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The direct leg (port 593): an optional `ncacn_http/1.0` legacy banner, then PDUs.
    Preamble,
    Head,
    /// Skip this many body bytes (an error page).
    Skip(u64),
    /// PDUs for this many body bytes.
    Pdus(u64),
    /// Given up on this direction (after a problem already reported).
    Lost,
}

/// What [`Side::push`] found.
#[derive(Debug)]
pub(crate) enum Item<'a> {
    Request(Request),
    Response(Response),
    /// A complete RTS PDU.
    Rts(&'a [u8]),
    /// A complete connection-oriented DCE/RPC PDU.
    Pdu(&'a [u8]),
    /// A problem at this stream offset; the direction is not read further.
    Bad {
        offset: u64,
        what: String,
    },
}

/// One direction. See the module docs.
#[derive(Debug)]
pub(crate) struct Side {
    phase: Phase,
    /// The side reads requests (client to proxy) rather than responses.
    requests: bool,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    offset: u64,
}

impl Side {
    pub fn new(requests: bool) -> Side {
        Side { phase: Phase::Head, requests, buf: Vec::new(), offset: 0 }
    }

    /// A direction of the direct leg (proxy to server, port 593): no HTTP, the banner
    /// `ncacn_http/1.0` (skipped when present), then PDUs to the end.
    pub fn direct() -> Side {
        Side { phase: Phase::Preamble, requests: false, buf: Vec::new(), offset: 0 }
    }

    /// The direction was given up on (a problem was reported).
    pub fn lost(&self) -> bool {
        self.phase == Phase::Lost
    }

    /// Bytes were lost in the capture: the rest of this direction cannot be framed.
    pub fn gap(&mut self) {
        self.phase = Phase::Lost;
        self.buf = Vec::new();
    }

    /// Appends `data` and reports what is complete, in order.
    pub fn push(&mut self, data: &[u8], max_buffer: usize, mut f: impl FnMut(Item<'_>)) {
        if self.phase == Phase::Lost {
            self.offset = self.offset.wrapping_add(data.len() as u64);
            return;
        }
        if self.buf.len().saturating_add(data.len()) > max_buffer {
            f(Item::Bad {
                offset: self.offset,
                what: format!("buffer limit ({max_buffer} bytes) hit"),
            });
            self.gap();
            return;
        }
        self.buf.extend_from_slice(data);
        let used = self.walk(&mut f);
        self.buf.drain(..used.min(self.buf.len()));
        self.offset = self.offset.wrapping_add(used as u64);
        if self.phase == Phase::Lost {
            self.buf = Vec::new();
        }
    }

    /// Reads what is complete in the buffer; returns the bytes done with.
    fn walk(&mut self, f: &mut impl FnMut(Item<'_>)) -> usize {
        let mut pos = 0usize;
        loop {
            let rest = self.buf.get(pos..).unwrap_or(&[]);
            let at = self.offset.wrapping_add(pos as u64);
            match self.phase {
                Phase::Lost => return self.buf.len(),
                Phase::Preamble => {
                    let p = crate::reassembly::NCACN_HTTP_PREAMBLE;
                    if rest.len() < p.len() && p.starts_with(rest) {
                        return pos;
                    }
                    if rest.starts_with(p) {
                        pos = pos.saturating_add(p.len());
                    }
                    self.phase = Phase::Pdus(u64::MAX);
                }
                Phase::Head => match head(self.requests, rest, at, f) {
                    Some((n, next)) => {
                        pos = pos.saturating_add(n);
                        self.phase = next;
                    }
                    None => return pos,
                },
                Phase::Skip(left) => {
                    let n = (rest.len() as u64).min(left);
                    pos = pos.saturating_add(n as usize);
                    self.phase = if n == left { Phase::Head } else { Phase::Skip(left - n) };
                    if n < left {
                        return pos;
                    }
                }
                Phase::Pdus(0) => self.phase = Phase::Head,
                Phase::Pdus(left) => match pdu_len(rest) {
                    Err(why) => {
                        f(Item::Bad { offset: at, what: why });
                        self.phase = Phase::Lost;
                    }
                    Ok(None) => return pos,
                    Ok(Some(n)) => {
                        let Some(p) = rest.get(..n) else { return pos };
                        if p.get(2) == Some(&PType::RTS.0) {
                            f(Item::Rts(p));
                        } else {
                            f(Item::Pdu(p));
                        }
                        pos = pos.saturating_add(n);
                        self.phase = Phase::Pdus(left.saturating_sub(n as u64));
                    }
                },
            }
        }
    }
}

/// A head at the start of `rest` (stream offset `at`): its length once complete, and the
/// phase after it.
fn head(
    requests: bool,
    rest: &[u8],
    at: u64,
    f: &mut impl FnMut(Item<'_>),
) -> Option<(usize, Phase)> {
    let Some(n) = http::head_len(rest) else {
        if rest.len() > MAX_HEAD {
            f(Item::Bad { offset: at, what: format!("no end of HTTP head in {MAX_HEAD} bytes") });
            return Some((0, Phase::Lost));
        }
        return None;
    };
    let head = rest.get(..n).unwrap_or(&[]);
    let parsed = if requests {
        http::parse_request(head).map(|r| {
            let next = if r.chunked { None } else { Some(Phase::Pdus(r.length.unwrap_or(0))) };
            (Item::Request(r), next)
        })
    } else {
        http::parse_response(head).map(|r| {
            let body = r.length.unwrap_or(if r.status < 200 { 0 } else { u64::MAX });
            let next = match r.status {
                _ if r.chunked => None,
                100..=199 => Some(Phase::Head),
                200 => Some(Phase::Pdus(body)),
                _ => Some(Phase::Skip(body)),
            };
            (Item::Response(r), next)
        })
    };
    let next = match parsed {
        Ok((item, next)) => {
            f(item);
            next.unwrap_or_else(|| {
                f(Item::Bad {
                    offset: at,
                    what: "chunked HTTP body: not decoded, channel not followed".into(),
                });
                Phase::Lost
            })
        }
        Err(why) => {
            f(Item::Bad { offset: at, what: why });
            Phase::Lost
        }
    };
    Some((n, next))
}

/// The length of the PDU at the start of `b`: `Ok(None)` when more bytes are needed,
/// `Err` when the bytes are no RTS or CO DCE/RPC PDU.
fn pdu_len(b: &[u8]) -> Result<Option<usize>, String> {
    if b.len() < HEADER_LEN {
        return Ok(None);
    }
    let checked = if b.get(2) == Some(&PType::RTS.0) {
        if b.len() < rts::RTS_HEADER_LEN {
            return Ok(None);
        }
        rts::check_header(b).map(|()| usize::from(rts::Packet::new_unchecked(b).frag_len()))
    } else {
        pdu::check_header(b).map(|()| usize::from(pdu::Packet::new_unchecked(b).frag_len()))
    };
    match checked {
        Ok(n) if n <= b.len() => Ok(Some(n)),
        Ok(_) => Ok(None),
        Err(e) => Err(format!("no RTS or DCE/RPC PDU in the HTTP body: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdu::rts::{Command, Cookie, Repr};

    fn collect(s: &mut Side, data: &[u8]) -> Vec<String> {
        let mut v = Vec::new();
        s.push(data, 1 << 20, |i| {
            v.push(match i {
                Item::Request(r) => format!("req {}", r.method_text),
                Item::Response(r) => format!("resp {}", r.status),
                Item::Rts(p) => format!("rts {}", p.len()),
                Item::Pdu(p) => format!("pdu {}", p.len()),
                Item::Bad { offset, what } => format!("bad@{offset} {what}"),
            })
        });
        v
    }

    #[test]
    fn auth_round_then_channel_split_anywhere() {
        let a1 = Repr::new(
            0,
            vec![
                Command::Version(1),
                Command::Cookie(Cookie([1; 16])),
                Command::Cookie(Cookie([2; 16])),
                Command::ReceiveWindowSize(65536),
            ],
        )
        .emit();
        let mut all =
            b"RPC_OUT_DATA /rpc/rpcproxy.dll HTTP/1.1\r\nContent-Length: 0\r\n\r\n".to_vec();
        all.extend_from_slice(
            b"RPC_OUT_DATA /rpc/rpcproxy.dll?s:593 HTTP/1.1\r\nContent-Length: 76\r\n\r\n",
        );
        all.extend_from_slice(&a1);
        let want = vec!["req RPC_OUT_DATA", "req RPC_OUT_DATA", "rts 76"];
        for cut in 0..all.len() {
            let mut s = Side::new(true);
            let mut got = collect(&mut s, &all[..cut]);
            got.extend(collect(&mut s, &all[cut..]));
            assert_eq!(got, want, "cut {cut}");
        }
    }

    #[test]
    fn error_page_skipped_and_garbage_reported() {
        let mut s = Side::new(false);
        let got = collect(
            &mut s,
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Success\r\nContent-Length: 99\r\n\r\nhello world, not a PDU",
        );
        assert_eq!(got[..3], ["resp 401", "resp 100", "resp 200"]);
        assert!(got[3].starts_with("bad@120 no RTS or DCE/RPC PDU"), "{got:?}");
        assert!(s.lost());
    }
}

//! DNS (RFC 1035, RFC 6891) over UDP and TCP: the 12-byte header, the question, and a walk
//! over the resource records (their count, and the extended RCODE of an OPT record).
//! Names are decompressed with a bound on pointer jumps and name length.
//!
//! The `Tracker` matches responses to queries by flow and transaction id, counts
//! retransmitted queries (same flow, id and question before an answer), and at the end
//! calls a query unanswered when no response came within the timeout of capture time.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use tracehound_flows::{Dir, FlowId, FlowInfo, Proto, Timestamp};

use crate::reader::{ParseError, Reader};

/// Longest presentation name kept (RFC 1035: 255 octets on the wire).
const MAX_NAME: usize = 255;
/// Compression pointers followed per name.
const MAX_JUMPS: usize = 32;
/// Frames of retransmissions kept per query.
const MAX_RETX_FRAMES: usize = 8;

/// A parsed DNS message (header, first question, record counts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub response: bool,
    pub opcode: u8,
    /// RCODE, with the upper bits from an OPT record when present.
    pub rcode: u16,
    pub truncated: bool,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
    pub question: Option<Question>,
    /// Every record parsed and no byte left over.
    pub complete: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// Parse a DNS message. The header and first question must be valid; the records after it
/// are walked and `complete` says whether they all parsed and filled the message exactly.
pub fn parse(data: &[u8]) -> Result<Message, ParseError> {
    let mut r = Reader::new(data);
    let id = r.u16("dns id")?;
    let flags = r.u16("dns flags")?;
    let qdcount = r.u16("dns qdcount")?;
    let ancount = r.u16("dns ancount")?;
    let nscount = r.u16("dns nscount")?;
    let arcount = r.u16("dns arcount")?;
    let mut m = Message {
        id,
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0xf) as u8,
        rcode: flags & 0xf,
        truncated: flags & 0x0200 != 0,
        qdcount,
        ancount,
        nscount,
        arcount,
        question: None,
        complete: false,
    };
    for i in 0..qdcount {
        let name = name(data, &mut r)?;
        let qtype = r.u16("dns qtype")?;
        let qclass = r.u16("dns qclass")?;
        if i == 0 {
            m.question = Some(Question { name, qtype, qclass });
        }
    }
    let total = ancount as u32 + nscount as u32 + arcount as u32;
    let mut ok = true;
    for i in 0..total {
        match rr(data, &mut r) {
            Ok((41, ttl)) if i >= ancount as u32 + nscount as u32 => {
                m.rcode |= ((ttl >> 24) as u16) << 4;
            }
            Ok(_) => {}
            Err(_) => {
                ok = false;
                break;
            }
        }
    }
    m.complete = ok && r.is_empty();
    Ok(m)
}

/// One resource record: (type, ttl).
fn rr<'a>(data: &'a [u8], r: &mut Reader<'a>) -> Result<(u16, u32), ParseError> {
    name(data, r)?;
    let t = r.u16("rr type")?;
    let _class = r.u16("rr class")?;
    let ttl = r.u32("rr ttl")?;
    r.vec(2, "rr rdata")?;
    Ok((t, ttl))
}

/// A (possibly compressed) name at the reader's position; the reader ends after it.
fn name<'a>(msg: &'a [u8], r: &mut Reader<'a>) -> Result<String, ParseError> {
    let mut out = String::new();
    let mut wire_len = 0usize;
    let mut jumps = 0usize;
    // `cur` follows pointers; `r` only advances over the name's first (in-place) part
    let mut cur: Option<Reader> = None;
    loop {
        let rd: &mut Reader<'a> = match cur.as_mut() {
            Some(c) => c,
            None => r,
        };
        let at = rd.offset();
        let len = rd.u8("dns label length")?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    break;
                }
                let label = rd.take(len as usize, "dns label")?;
                wire_len = wire_len.saturating_add(len as usize + 1);
                if wire_len > MAX_NAME {
                    return Err(ParseError::invalid("dns name", at, "longer than 255 octets"));
                }
                if !out.is_empty() {
                    out.push('.');
                }
                for &c in label {
                    if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                        out.push(c as char);
                    } else {
                        out.push_str(&format!("\\{c:03}"));
                    }
                }
            }
            0xc0 => {
                let lo = rd.u8("dns pointer")?;
                let target = (((len & 0x3f) as usize) << 8) | lo as usize;
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return Err(ParseError::invalid(
                        "dns name",
                        at,
                        "too many compression pointers",
                    ));
                }
                let mut n = Reader::new(msg);
                n.skip(target, "dns pointer target")?;
                cur = Some(n);
            }
            _ => {
                return Err(ParseError::invalid("dns name", at, format!("label type 0x{len:02x}")))
            }
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    Ok(out)
}

/// A plausible DNS message on a port that is not a DNS port: standard query or response,
/// one question, everything parsed, nothing left over.
pub fn looks_like(data: &[u8]) -> bool {
    match parse(data) {
        Ok(m) => m.opcode == 0 && m.qdcount == 1 && m.complete && data.len() >= 17,
        Err(_) => false,
    }
}

/// 255.255.255.255 or an address ending in .255 (a subnet broadcast on the usual /24s).
fn is_broadcast(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.octets()[3] == 255)
}

/// NetBIOS name service / datagram ports: DNS-like format, but not DNS.
pub fn is_netbios_port(p: u16) -> bool {
    matches!(p, 137 | 138)
}

pub fn is_dns_port(p: u16) -> bool {
    matches!(p, 53 | 5353 | 5355)
}

pub use tracehound_proto::dns::rcode_name;

pub fn qtype_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        52 => "TLSA",
        64 => "SVCB",
        65 => "HTTPS",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        n => return format!("TYPE{n}"),
    };
    s.to_string()
}

/// What became of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsOutcome {
    /// A response came within the timeout.
    Answered,
    /// A response came, but only after the timeout.
    Late,
    /// No response although the capture went on for at least the timeout.
    Unanswered,
    /// No response, but the capture ended too soon after the query to tell (see
    /// `Tracker::finish`).
    CaptureEnded,
    /// A response whose query was not captured.
    ResponseOnly,
}

/// One DNS query and what became of it.
#[derive(Clone, Debug, Serialize)]
pub struct DnsQuery {
    pub transport: Proto,
    pub flow_id: FlowId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Multicast DNS / LLMNR (port 5353/5355): silence is normal there.
    pub multicast: bool,
    pub id: u16,
    pub name: String,
    pub qtype: String,
    pub qtype_code: u16,
    pub query_frame: Option<u64>,
    pub query_ts: Option<Timestamp>,
    /// The same query (flow, id, question) sent again before an answer.
    pub retransmissions: u32,
    pub retransmit_frames: Vec<u64>,
    pub response_frame: Option<u64>,
    pub response_ts: Option<Timestamp>,
    pub rcode: Option<u16>,
    pub rcode_name: Option<String>,
    pub answers: Option<u16>,
    pub truncated: bool,
    /// Seconds from the (first) query to the response.
    pub response_time: Option<f64>,
    pub outcome: DnsOutcome,
}

/// Matches DNS responses to queries; bounded by `max` records.
pub(crate) struct Tracker {
    pub queries: Vec<DnsQuery>,
    pending: HashMap<(FlowId, u16), usize>,
    /// Latest unanswered query per (client address, server, question): a new query for the
    /// same question before an answer is a retry (resolvers often change port or id).
    by_question: HashMap<(IpAddr, SocketAddr, String, u16), usize>,
    pub max: usize,
    pub dropped: u64,
    pub unmatched: u64,
    /// Seconds after which an unanswered query counts as a new one, not a retry.
    pub timeout: f64,
}

impl Tracker {
    pub fn new(max: usize, timeout: f64) -> Tracker {
        Tracker {
            queries: Vec::new(),
            pending: HashMap::new(),
            by_question: HashMap::new(),
            max,
            dropped: 0,
            unmatched: 0,
            timeout,
        }
    }

    /// One message of `flow` sent in direction `dir`.
    pub fn message(&mut self, flow: &FlowInfo, dir: Dir, m: &Message, frame: u64, ts: Timestamp) {
        let (qname, qtype) = match &m.question {
            Some(q) => (q.name.clone(), q.qtype),
            None => (String::new(), 0),
        };
        let key = (flow.id, m.id);
        if !m.response {
            if let Some(&i) = self.pending.get(&key) {
                if let Some(q) = self.queries.get_mut(i) {
                    if q.response_frame.is_none() && q.name == qname && q.qtype_code == qtype {
                        q.retransmissions = q.retransmissions.saturating_add(1);
                        if q.retransmit_frames.len() < MAX_RETX_FRAMES {
                            q.retransmit_frames.push(frame);
                        }
                        return;
                    }
                }
            }
            let qkey = (flow.src(dir).ip(), flow.dst(dir), qname.clone(), qtype);
            if let Some(&i) = self.by_question.get(&qkey) {
                if let Some(q) = self.queries.get_mut(i) {
                    if q.response_frame.is_none()
                        && q.query_ts.is_some_and(|t| ts.secs_since(t) <= self.timeout)
                    {
                        q.retransmissions = q.retransmissions.saturating_add(1);
                        if q.retransmit_frames.len() < MAX_RETX_FRAMES {
                            q.retransmit_frames.push(frame);
                        }
                        self.pending.insert(key, i);
                        return;
                    }
                }
            }
            if let Some(i) = self.push(flow, dir, m, qname, qtype) {
                if let Some(q) = self.queries.get_mut(i) {
                    q.query_frame = Some(frame);
                    q.query_ts = Some(ts);
                }
                self.pending.insert(key, i);
                self.by_question.insert(qkey, i);
            }
            return;
        }
        let idx = match self.pending.get(&key) {
            Some(&i) if self.queries.get(i).is_some_and(|q| q.response_frame.is_none()) => Some(i),
            _ => None,
        };
        let idx = match idx {
            Some(i) => Some(i),
            None => {
                self.unmatched += 1;
                // a response without its query: keep it, it may carry the failure
                self.push(flow, dir.flip(), m, qname, qtype)
            }
        };
        let Some(q) = idx.and_then(|i| self.queries.get_mut(i)) else { return };
        q.response_frame = Some(frame);
        q.response_ts = Some(ts);
        q.rcode = Some(m.rcode);
        q.rcode_name = Some(rcode_name(m.rcode));
        q.answers = Some(m.ancount);
        q.truncated = m.truncated;
        q.response_time = q.query_ts.map(|t| ts.secs_since(t));
    }

    /// New record; `qdir` is the direction the query goes.
    fn push(
        &mut self,
        flow: &FlowInfo,
        qdir: Dir,
        m: &Message,
        name: String,
        qtype: u16,
    ) -> Option<usize> {
        if self.queries.len() >= self.max {
            self.dropped += 1;
            return None;
        }
        let client = flow.src(qdir);
        let server = flow.dst(qdir);
        self.queries.push(DnsQuery {
            transport: flow.proto,
            flow_id: flow.id,
            client,
            server,
            multicast: server.ip().is_multicast()
                || is_broadcast(server.ip())
                || matches!(server.port(), 5353 | 5355)
                || matches!(client.port(), 5353 | 5355),
            id: m.id,
            name,
            qtype: qtype_name(qtype),
            qtype_code: qtype,
            query_frame: None,
            query_ts: None,
            retransmissions: 0,
            retransmit_frames: Vec::new(),
            response_frame: None,
            response_ts: None,
            rcode: None,
            rcode_name: None,
            answers: None,
            truncated: false,
            response_time: None,
            outcome: DnsOutcome::ResponseOnly,
        });
        Some(self.queries.len() - 1)
    }

    /// Decide outcomes; `end` is the last capture time seen.
    ///
    /// Without a response a query is unanswered when the capture went on for the timeout,
    /// or the client retried, or the capture went on for `min_wait` seconds (a working
    /// server answers in milliseconds); else the capture simply ended too soon to tell.
    pub fn finish(mut self, end: Timestamp, min_wait: f64) -> Vec<DnsQuery> {
        let timeout = self.timeout;
        for q in &mut self.queries {
            q.outcome = match (q.query_ts, q.response_time) {
                (None, _) => DnsOutcome::ResponseOnly,
                (Some(_), Some(rt)) if rt <= timeout => DnsOutcome::Answered,
                (Some(_), Some(_)) => DnsOutcome::Late,
                (Some(t), None)
                    if end.secs_since(t) >= timeout.min(min_wait) || q.retransmissions > 0 =>
                {
                    DnsOutcome::Unanswered
                }
                (Some(_), None) => DnsOutcome::CaptureEnded,
            };
        }
        self.queries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A standard query for www.example.com A, built by hand from RFC 1035 4.1.
    const QUERY: &[u8] = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01";

    #[test]
    fn parses_query() {
        let m = parse(QUERY).unwrap();
        assert_eq!(m.id, 0x1234);
        assert!(!m.response);
        assert!(m.complete);
        assert_eq!(m.question.as_ref().unwrap().name, "www.example.com");
        assert!(looks_like(QUERY));
    }

    #[test]
    fn pointer_loops_and_truncation_are_errors() {
        // name at 12 is a pointer to itself
        let mut m = QUERY[..12].to_vec();
        m.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
        let e = parse(&m).unwrap_err();
        assert!(e.to_string().contains("compression pointers"), "{e}");
        for n in 0..QUERY.len() {
            let _ = parse(&QUERY[..n]);
            assert!(!looks_like(&QUERY[..n]));
        }
    }
}

//! DNS (RFC 1035): one query for the target's own name (A), the domain's SOA, or the
//! root SOA; a reply of any kind proves a DNS server. Over TCP the message has a 2-byte
//! length prefix (RFC 1035 4.2.2).

use super::common::{ask, rand_u16, Ctx, Exchange, Output, Port, Query, QueryError};
use super::ldap;
use super::rd::{Malformed, Rd};
use crate::Proto;

pub const TYPE_A: u16 = 1;
pub const TYPE_SOA: u16 = 6;
pub const MAX_ANSWERS: usize = 32;

/// Encodes a query (RD set). Labels longer than 63 bytes are cut (never sent malformed).
pub fn request(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(32 + qname.len());
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in qname.trim_end_matches('.').split('.').filter(|l| !l.is_empty()).take(127) {
        let l = label.as_bytes().get(..63).unwrap_or(label.as_bytes());
        m.push(l.len() as u8);
        m.extend_from_slice(l);
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

/// TCP framing: the query with its length prefix.
pub fn tcp_request(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    let q = request(id, qname, qtype);
    let mut m = (q.len() as u16).to_be_bytes().to_vec();
    m.extend(q);
    m
}

/// For [`crate::net::read_message`]: a whole length-prefixed message.
pub fn tcp_complete(b: &[u8]) -> Option<usize> {
    let n = u16::from_be_bytes([*b.first()?, *b.get(1)?]) as usize + 2;
    (b.len() >= n).then_some(n)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Answer {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: u16,
    pub ttl: u32,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reply {
    pub id: u16,
    pub rcode: u8,
    pub rcode_name: String,
    pub authoritative: bool,
    pub truncated: bool,
    pub recursion_available: bool,
    pub questions: u16,
    pub answer_count: u16,
    pub authority_count: u16,
    pub additional_count: u16,
    pub answers: Vec<Answer>,
}

/// Response code names are `tracehound_proto::dns`'s (shared with the capture side).
pub fn rcode_name(rc: u8) -> String {
    tracehound_proto::dns::rcode_name(u16::from(rc))
}

/// Reads a possibly compressed name (at most 16 pointer jumps, 255 bytes).
fn name<'a>(msg: &'a [u8], r: &mut Rd<'a>) -> Result<String, Malformed> {
    let mut out = String::new();
    let mut pos = r.pos();
    let mut jumped = false;
    for _ in 0..128 {
        let mut c = Rd::at(msg, pos);
        let len = c.u8("label length")?;
        match len {
            0 => {
                if !jumped {
                    *r = Rd::at(msg, c.pos());
                }
                return Ok(if out.is_empty() { ".".into() } else { out });
            }
            l if l & 0xc0 == 0xc0 => {
                let lo = c.u8("compression pointer")?;
                let target = (((l & 0x3f) as usize) << 8) | lo as usize;
                if !jumped {
                    *r = Rd::at(msg, c.pos());
                }
                if target >= pos {
                    return Err(c.err("compression pointer does not point backwards").into());
                }
                jumped = true;
                pos = target;
            }
            l if l & 0xc0 != 0 => {
                return Err(c.err(format!("unsupported label type 0x{l:02x}")).into())
            }
            l => {
                let label = c.take(l as usize, "label")?;
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&super::rd::printable(label, 63));
                if out.len() > 255 {
                    return Err(c.err("name longer than 255 bytes").into());
                }
                pos = c.pos();
            }
        }
    }
    Err(r.err("too many labels or pointers").into())
}

pub fn parse(msg: &[u8]) -> Result<Reply, Malformed> {
    let mut r = Rd::new(msg);
    let id = r.u16be("id")?;
    let flags = r.u16be("flags")?;
    if flags & 0x8000 == 0 {
        return Err(Malformed { offset: 2, what: "QR bit clear: not a response".into() });
    }
    let qd = r.u16be("qdcount")?;
    let an = r.u16be("ancount")?;
    let ns = r.u16be("nscount")?;
    let ar = r.u16be("arcount")?;
    let rcode = (flags & 0xf) as u8;
    for _ in 0..qd.min(16) {
        name(msg, &mut r)?;
        r.skip(4, "question type/class")?;
    }
    let mut answers = Vec::new();
    for _ in 0..an.min(MAX_ANSWERS as u16) {
        let n = name(msg, &mut r)?;
        let rtype = r.u16be("type")?;
        r.skip(2, "class")?;
        let ttl = r.u32be("ttl")?;
        let rdlen = r.u16be("rdlength")? as usize;
        let rstart = r.pos();
        let rdata = r.take(rdlen, "rdata")?;
        let data = match (rtype, rdata) {
            (1, &[a, b, c, d]) => std::net::Ipv4Addr::new(a, b, c, d).to_string(),
            (28, _) if rdlen == 16 => {
                let a: [u8; 16] = rdata.try_into().unwrap_or_default();
                std::net::Ipv6Addr::from(a).to_string()
            }
            (2 | 5 | 12, _) | (6, _) => {
                let mut rr = Rd::at(msg, rstart);
                let first = name(msg, &mut rr)?;
                if rtype == 6 {
                    let rname = name(msg, &mut rr)?;
                    let serial = rr.u32be("SOA serial")?;
                    format!("{first} {rname} serial {serial}")
                } else {
                    first
                }
            }
            _ => super::rd::hex(rdata),
        };
        answers.push(Answer { name: n, rtype, ttl, data });
    }
    Ok(Reply {
        id,
        rcode,
        rcode_name: rcode_name(rcode),
        authoritative: flags & 0x0400 != 0,
        truncated: flags & 0x0200 != 0,
        recursion_available: flags & 0x0080 != 0,
        questions: qd,
        answer_count: an,
        authority_count: ns,
        additional_count: ar,
        answers,
    })
}

impl Reply {
    pub fn lines(&self, qname: &str, qtype: u16) -> Vec<String> {
        let t = if qtype == TYPE_SOA { "SOA" } else { "A" };
        let mut v = vec![format!(
            "DNS query for {qname} ({t}): {} ({} answers, {} authority, {} additional){}",
            self.rcode_name,
            self.answer_count,
            self.authority_count,
            self.additional_count,
            if self.authoritative { ", authoritative" } else { "" }
        )];
        for a in &self.answers {
            v.push(format!("  {} type {} ttl {}: {}", a.name, a.rtype, a.ttl, a.data));
        }
        v
    }
}

/// The question asked: the realm's SOA when the realm is known, else the given name's A
/// record, else the root SOA.
pub(crate) fn question(ctx: &Ctx) -> (String, u16) {
    if let Some(r) = &ctx.realm {
        (r.to_ascii_lowercase(), TYPE_SOA)
    } else if let Some(n) = ctx.given_name() {
        (n.to_string(), TYPE_A)
    } else {
        (".".to_string(), TYPE_SOA)
    }
}

/// The DNS query (UDP or TCP 53).
pub struct Dns {
    id: u16,
    qname: String,
    qtype: u16,
}

impl Exchange for Dns {
    type Reply = Reply;
    const WHAT: &'static str = "DNS query";
    /// A 2-byte length and a message of at most 65535 bytes.
    const MAX_REPLY: usize = 65537;

    fn new(ctx: &Ctx) -> Self {
        let (qname, qtype) = question(ctx);
        Dns { id: rand_u16(), qname, qtype }
    }
    fn request(&self, proto: Proto) -> Vec<u8> {
        match proto {
            Proto::Udp => request(self.id, &self.qname, self.qtype),
            Proto::Tcp => tcp_request(self.id, &self.qname, self.qtype),
        }
    }
    fn complete(b: &[u8]) -> Option<usize> {
        tcp_complete(b)
    }
    fn unframe(b: Vec<u8>) -> Vec<u8> {
        b.get(2..).unwrap_or_default().to_vec()
    }
    fn parse(&self, b: &[u8]) -> Result<Reply, QueryError> {
        Ok(parse(b)?)
    }
    fn lines(&self, r: &Reply, _ctx: &Ctx) -> Vec<String> {
        r.lines(&self.qname, self.qtype)
    }
}

impl Query for Dns {
    /// The question depends on the realm: learn it, then ask anew (the state probe's kept
    /// reply answered the question asked before the realm was known).
    async fn run(ctx: &mut Ctx, at: Port, _kept: Option<Vec<u8>>) -> Output {
        if ctx.given_name().is_none() {
            ldap::learn_realm(ctx).await;
        }
        ask::<Self>(ctx, at, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encoding() {
        let q = request(0x1234, "dc1.example.com", TYPE_A);
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[12..17], &[3, b'd', b'c', b'1', 7]);
        assert_eq!(&q[q.len() - 5..], &[0, 0, 1, 0, 1]);
        let root = request(1, ".", TYPE_SOA);
        assert_eq!(&root[12..], &[0, 0, 6, 0, 1]);
        assert_eq!(tcp_complete(&tcp_request(1, ".", TYPE_SOA)), Some(2 + 17));
    }

    #[test]
    fn compression_loops_are_errors() {
        // header: response, 0 questions, 1 answer; answer name = pointer to itself
        let mut m = vec![0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
        let e = parse(&m).unwrap_err();
        assert!(e.what.contains("backwards"), "{e}");
        // truncated rdata
        let mut m = vec![0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1]);
        assert!(parse(&m).is_err());
        // query, not response
        assert!(parse(&request(1, "a", 1)).is_err());
    }
}

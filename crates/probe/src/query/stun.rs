//! STUN (RFC 8489) Binding request, and a TURN (RFC 8656) Allocate without credentials,
//! whose 401 error shows the server's REALM. Attributes are read with bounds checks.

use super::common::{
    ask, fail, ok, random_bytes, udp_exchange, Ctx, Exchange, Output, Port, Query, QueryError,
};
use super::rd::{Malformed, Rd};
use crate::Proto;

pub const MAGIC: u32 = 0x2112_a442;

pub fn binding(txid: [u8; 12]) -> Vec<u8> {
    let mut m = vec![0x00, 0x01, 0, 0];
    m.extend_from_slice(&MAGIC.to_be_bytes());
    m.extend_from_slice(&txid);
    m
}

pub fn allocate(txid: [u8; 12]) -> Vec<u8> {
    let mut m = vec![0x00, 0x03, 0, 8];
    m.extend_from_slice(&MAGIC.to_be_bytes());
    m.extend_from_slice(&txid);
    m.extend_from_slice(&[0x00, 0x19, 0, 4, 17, 0, 0, 0]); // REQUESTED-TRANSPORT UDP
    m
}

/// TCP framing: 20-byte header + length.
pub fn complete(b: &[u8]) -> Option<usize> {
    let n = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize + 20;
    (b.len() >= n).then_some(n)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    pub class: String,
    pub method: u16,
    pub mapped_address: Option<String>,
    pub software: Option<String>,
    pub error: Option<(u16, String)>,
    pub realm: Option<String>,
}

pub fn parse(b: &[u8], txid: [u8; 12]) -> Result<Message, Malformed> {
    let mut r = Rd::new(b);
    let ty = r.u16be("message type")?;
    let len = r.u16be("message length")? as usize;
    let magic = r.u32be("magic cookie")?;
    if magic != MAGIC {
        return Err(Malformed { offset: 4, what: format!("magic cookie 0x{magic:08x}") });
    }
    let t = r.take(12, "transaction id")?;
    if t != txid {
        return Err(Malformed { offset: 8, what: "transaction id does not match".into() });
    }
    let class = match ty & 0x0110 {
        0x0000 => "request",
        0x0010 => "indication",
        0x0100 => "success response",
        _ => "error response",
    };
    let method = (ty & 0x000f) | ((ty & 0x00e0) >> 1) | ((ty & 0x3e00) >> 2);
    let body = r.take(len, "attributes")?;
    let mut a = Rd::new(body);
    let mut m = Message {
        class: class.into(),
        method,
        mapped_address: None,
        software: None,
        error: None,
        realm: None,
    };
    for _ in 0..64 {
        if a.left() == 0 {
            break;
        }
        let at = a.u16be("attribute type")?;
        let al = a.u16be("attribute length")? as usize;
        let v = a.take(al, "attribute value")?;
        a.skip((4 - al % 4) % 4, "attribute padding").ok();
        match at {
            0x0020 | 0x0001 => {
                let mut x = Rd::new(v);
                x.skip(1, "reserved")?;
                let fam = x.u8("family")?;
                let mut port = x.u16be("port")?;
                let xor = at == 0x0020;
                if xor {
                    port ^= (MAGIC >> 16) as u16;
                }
                let addr = if fam == 1 {
                    let mut ip = x.u32be("address")?;
                    if xor {
                        ip ^= MAGIC;
                    }
                    std::net::Ipv4Addr::from(ip).to_string()
                } else {
                    let raw = x.take(16, "address")?;
                    let mut o = [0u8; 16];
                    o.copy_from_slice(raw);
                    if xor {
                        let mut key = MAGIC.to_be_bytes().to_vec();
                        key.extend_from_slice(&txid);
                        for (b, k) in o.iter_mut().zip(key) {
                            *b ^= k;
                        }
                    }
                    format!("[{}]", std::net::Ipv6Addr::from(o))
                };
                m.mapped_address = Some(format!("{addr}:{port}"));
            }
            0x8022 => m.software = Some(super::rd::printable(v, 128)),
            0x0009 => {
                let mut x = Rd::new(v);
                x.skip(2, "reserved")?;
                let class = x.u8("error class")? & 0x7;
                let num = x.u8("error number")?;
                let reason = super::rd::printable(x.take(x.left(), "reason")?, 128);
                m.error = Some((u16::from(class) * 100 + u16::from(num), reason));
            }
            0x0014 => m.realm = Some(super::rd::printable(v, 128)),
            _ => {}
        }
    }
    Ok(m)
}

impl Message {
    pub fn lines(&self, what: &str) -> Vec<String> {
        let mut v = vec![format!("STUN {what}: {}", self.class)];
        if let Some(a) = &self.mapped_address {
            v.push(format!("  mapped address: {a}"));
        }
        if let Some((c, r)) = &self.error {
            v.push(format!("  error: {c} {r}"));
        }
        if let Some(r) = &self.realm {
            v.push(format!("  realm: {r}"));
        }
        if let Some(s) = &self.software {
            v.push(format!("  software: {s}"));
        }
        v
    }
}

/// The STUN query (UDP or TCP 3478): a Binding request, over UDP also a TURN Allocate.
pub struct Stun {
    tx: [u8; 12],
}

impl Exchange for Stun {
    type Reply = Message;
    const WHAT: &'static str = "STUN binding request";
    const MAX_REPLY: usize = 4096;

    fn new(_ctx: &Ctx) -> Self {
        Stun { tx: random_bytes::<12>() }
    }
    fn request(&self, _proto: Proto) -> Vec<u8> {
        binding(self.tx)
    }
    fn complete(b: &[u8]) -> Option<usize> {
        complete(b)
    }
    fn parse(&self, b: &[u8]) -> Result<Message, QueryError> {
        Ok(parse(b, self.tx)?)
    }
    fn lines(&self, r: &Message, _ctx: &Ctx) -> Vec<String> {
        r.lines("binding")
    }
}

impl Query for Stun {
    /// Over UDP a fresh binding (transaction ids must match: the kept reply answered the
    /// state probe's), then a TURN allocate whose answer is attached as `turn_allocate`.
    async fn run(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
        if at.proto != Proto::Udp {
            return ask::<Self>(ctx, at, None).await;
        }
        let header = Self::header(at);
        let q = Stun::new(ctx);
        let b = match udp_exchange(ctx, at.port, &q.request(at.proto)).await {
            Ok(b) => b,
            Err(e) => return fail(at.kind, header, e, kept.is_some()),
        };
        let mut out = match q.parse(&b) {
            Ok(m) => ok(at.kind, header, q.lines(&m, ctx), &m),
            Err(e) => return fail(at.kind, header, e, true),
        };
        let tx2 = random_bytes::<12>();
        if let Ok(b) = udp_exchange(ctx, at.port, &allocate(tx2)).await {
            if let Ok(m) = parse(&b, tx2) {
                out.attach("turn_allocate", m.lines("TURN allocate"), &m);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_success() {
        let tx = [7u8; 12];
        let mut m = vec![0x01, 0x01, 0, 12];
        m.extend_from_slice(&MAGIC.to_be_bytes());
        m.extend_from_slice(&tx);
        // XOR-MAPPED-ADDRESS 10.0.0.1:5000
        let port = 5000u16 ^ 0x2112;
        let ip = u32::from(std::net::Ipv4Addr::new(10, 0, 0, 1)) ^ MAGIC;
        m.extend_from_slice(&[0x00, 0x20, 0, 8, 0, 1]);
        m.extend_from_slice(&port.to_be_bytes());
        m.extend_from_slice(&ip.to_be_bytes());
        let p = parse(&m, tx).unwrap();
        assert_eq!(p.class, "success response");
        assert_eq!(p.mapped_address.as_deref(), Some("10.0.0.1:5000"));
        assert!(parse(&m, [0; 12]).is_err());
        for n in 0..m.len() {
            let _ = parse(&m[..n], tx);
        }
        assert_eq!(complete(&binding(tx)), Some(20));
    }
}

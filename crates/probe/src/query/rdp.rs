//! RDP connection negotiation (MS-RDPBCGR 2.2.1.1 / 2.2.1.2): an X.224 Connection Request
//! in a TPKT (RFC 1006) carrying RDP_NEG_REQ (TLS | CredSSP | CredSSP-EX); the Connection
//! Confirm's RDP_NEG_RSP names the security protocol the server picked, RDP_NEG_FAILURE why
//! it refused. When the server picks TLS or CredSSP, a TLS ClientHello on the same
//! connection shows its certificate (see [`super::tls`]).

use super::common::{connect, fail, ok, random_bytes, reset, Ctx, Output, Port, Query};
use super::rd::{Malformed, Rd};
use super::tls;
use crate::net;

pub const MAX_REPLY: usize = 4096;

pub const PROTOCOL_SSL: u32 = 1;
pub const PROTOCOL_HYBRID: u32 = 2;
pub const PROTOCOL_HYBRID_EX: u32 = 8;

pub fn request() -> Vec<u8> {
    let cookie = b"Cookie: mstshash=tracehound\r\n";
    let mut x224 = vec![0u8, 0xe0, 0, 0, 0, 0, 0]; // LI patched below, CR, dst-ref, src-ref, class 0
    x224.extend_from_slice(cookie);
    x224.extend_from_slice(&[0x01, 0x00, 0x08, 0x00]);
    x224.extend_from_slice(&(PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX).to_le_bytes());
    let li = (x224.len() - 1) as u8;
    if let Some(b) = x224.first_mut() {
        *b = li;
    }
    let mut m = vec![3, 0];
    m.extend_from_slice(&((x224.len() + 4) as u16).to_be_bytes());
    m.extend(x224);
    m
}

/// TPKT framing.
pub fn complete(b: &[u8]) -> Option<usize> {
    let n = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize;
    Some(n.max(4))
}

pub fn protocol_name(p: u32) -> String {
    match p {
        0 => "standard RDP security (no TLS)".into(),
        1 => "TLS".into(),
        2 => "CredSSP (NLA)".into(),
        4 => "RDSTLS".into(),
        8 => "CredSSP with early user authorization".into(),
        n => format!("protocol 0x{n:x}"),
    }
}

/// RDP_NEG_FAILURE names: `tracehound_proto::rdp` (shared with the capture side).
pub fn failure_name(c: u32) -> String {
    tracehound_proto::rdp::failure_info(c).0
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "negotiation", rename_all = "snake_case")]
pub enum Negotiation {
    Selected {
        protocol: u32,
        protocol_name: String,
        flags: u8,
    },
    Failure {
        code: u32,
        code_name: String,
    },
    /// A Connection Confirm without negotiation data: an old server (standard RDP security).
    Legacy,
}

pub fn parse(b: &[u8]) -> Result<Negotiation, Malformed> {
    let mut r = Rd::new(b);
    let v = r.u8("TPKT version")?;
    if v != 3 {
        return Err(Malformed {
            offset: 0,
            what: format!("TPKT version {v}, expected 3: not RDP"),
        });
    }
    r.skip(1, "TPKT reserved")?;
    let len = r.u16be("TPKT length")? as usize;
    let li = r.u8("X.224 length indicator")? as usize;
    let code = r.u8("X.224 code")?;
    if code & 0xf0 != 0xd0 {
        return Err(r
            .err(format!("X.224 code 0x{code:02x}, expected Connection Confirm (0xd0)"))
            .into());
    }
    r.skip(5, "X.224 refs and class")?;
    let end = len.min(b.len()).min(4 + 1 + li);
    if r.pos() + 8 > end {
        return Ok(Negotiation::Legacy);
    }
    let ty = r.u8("negotiation type")?;
    let flags = r.u8("negotiation flags")?;
    let nlen = r.u16le("negotiation length")?;
    if nlen != 8 {
        return Err(r.err(format!("negotiation length {nlen}, expected 8")).into());
    }
    let v = r.u32le("negotiation value")?;
    match ty {
        2 => Ok(Negotiation::Selected { protocol: v, protocol_name: protocol_name(v), flags }),
        3 => Ok(Negotiation::Failure { code: v, code_name: failure_name(v) }),
        t => Err(r
            .err(format!("negotiation type {t}, expected RDP_NEG_RSP (2) or RDP_NEG_FAILURE (3)"))
            .into()),
    }
}

impl Negotiation {
    pub fn lines(&self) -> Vec<String> {
        match self {
            Negotiation::Selected { protocol_name, .. } => {
                vec![format!("RDP negotiation: server selected {protocol_name}")]
            }
            Negotiation::Failure { code_name, code } => {
                vec![format!("RDP negotiation refused: {code_name} ({code})")]
            }
            Negotiation::Legacy => {
                vec!["RDP negotiation: no negotiation response (old server, standard RDP security)"
                    .into()]
            }
        }
    }
}

/// The RDP query (TCP 3389): the negotiation, then, when the server picked TLS or
/// CredSSP, a TLS ClientHello on the same connection whose answer is attached as `tls`.
pub struct Rdp;

impl Query for Rdp {
    async fn run(ctx: &mut Ctx, at: Port, _kept: Option<Vec<u8>>) -> Output {
        let (kind, port) = (at.kind, at.port);
        let header = format!("Sending RDP connection request to TCP port {port}...");
        let mut s = match connect(ctx, port).await {
            Ok(s) => s,
            Err(e) => return fail(kind, header, e, false),
        };
        let wait = ctx.limits.timeout.saturating_mul(3);
        let neg = match net::tcp_request(&mut s, &request(), MAX_REPLY, wait, complete).await {
            Err(e) => return fail(kind, header, e, false),
            Ok(b) => match parse(&b) {
                Ok(n) => n,
                Err(e) => return fail(kind, header, e, true),
            },
        };
        let mut out = ok(kind, header, neg.lines(), &neg);
        // TLS (and CredSSP, which runs inside TLS) starts right here on the same connection.
        if let Negotiation::Selected { protocol, .. } = neg {
            if protocol != 0 {
                if let Some(rep) = tls_on(&mut s, ctx, wait).await {
                    out.attach("tls", rep.lines(), &rep);
                }
            }
        }
        reset(&s);
        out
    }
}

/// The certificate chain a ClientHello on the negotiated connection brings back.
async fn tls_on(
    s: &mut tokio::net::TcpStream,
    ctx: &Ctx,
    wait: std::time::Duration,
) -> Option<tls::Report> {
    let sni = ctx.given_name().map(str::to_string);
    let hello = tls::client_hello(sni.as_deref(), false, random_bytes::<32>());
    let b = net::tcp_request(s, &hello, tls::MAX_FLIGHT, wait, tls::complete).await.ok()?;
    let f = tls::parse_flight(&b).ok()?;
    let chain: Vec<tls::Cert> = f.certs.iter().filter_map(|d| tls::decode_cert(d).ok()).collect();
    let asked = ctx.asked_name();
    Some(tls::Report {
        version: f.version.map(tls::version_name),
        cipher: f.cipher.map(tls::cipher_name),
        chain_length: f.certs.len(),
        name_matches: chain.first().map(|l| tls::name_matches(l, &asked)),
        chain,
        name_asked: asked,
        notes: f.alert.map(|(_, d)| format!("alert {}", tls::alert_name(d))).into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let r = request();
        assert_eq!(complete(&r), Some(r.len()));
        assert_eq!(r[4] as usize, r.len() - 5);
        assert_eq!(r[5], 0xe0);
        assert_eq!(&r[r.len() - 8..r.len() - 4], &[1, 0, 8, 0]);
    }

    #[test]
    fn parse_confirm() {
        // TPKT + X.224 CC + RDP_NEG_RSP selecting CredSSP (layout of MS-RDPBCGR 4.1.2)
        let cc = [3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0x1f, 8, 0, 2, 0, 0, 0];
        assert_eq!(
            parse(&cc).unwrap(),
            Negotiation::Selected {
                protocol: 2,
                protocol_name: "CredSSP (NLA)".into(),
                flags: 0x1f
            }
        );
        let fail = [3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 3, 0, 8, 0, 5, 0, 0, 0];
        assert!(matches!(parse(&fail).unwrap(), Negotiation::Failure { code: 5, .. }));
        let legacy = [3, 0, 0, 11, 6, 0xd0, 0, 0, 0x12, 0x34, 0];
        assert_eq!(parse(&legacy).unwrap(), Negotiation::Legacy);
        assert!(parse(b"SSH-2.0-x").is_err());
        for n in 0..cc.len() {
            let _ = parse(&cc[..n]);
        }
    }
}

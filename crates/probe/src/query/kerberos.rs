//! Kerberos (RFC 4120): an AS-REQ for a principal that does not exist. A KDC answers with
//! a KRB-ERROR ([APPLICATION 30]) naming its realm and an error code such as
//! KDC_ERR_C_PRINCIPAL_UNKNOWN (6) or KDC_ERR_PREAUTH_REQUIRED (25); that proves a KDC and
//! shows which realm it serves. Over TCP each message has a 4-byte length prefix (7.2.2).

use crate::ber::{self, Reader};

use super::common::{ask, random_bytes, Ctx, Exchange, Output, Port, Query, QueryError};
use super::ldap;
use crate::Proto;

pub const MAX_REPLY: usize = 64 * 1024;

fn kstring(s: &str) -> Vec<u8> {
    ber::tlv(ber::GENERAL_STRING, s.as_bytes())
}

fn principal(name_type: i64, parts: &[&str]) -> Vec<u8> {
    let names: Vec<u8> = parts.iter().flat_map(|p| kstring(p)).collect();
    ber::cons(
        ber::SEQUENCE,
        &[
            &ber::tlv(ber::ctx(0), &ber::int(ber::INTEGER, name_type)),
            &ber::tlv(ber::ctx(1), &ber::tlv(ber::SEQUENCE, &names)),
        ],
    )
}

/// AS-REQ for `user@realm` (no pre-authentication data).
pub fn request(realm: &str, user: &str, nonce: u32) -> Vec<u8> {
    let etypes: Vec<u8> = [18i64, 17, 23].iter().flat_map(|e| ber::int(ber::INTEGER, *e)).collect();
    let body = ber::cons(
        ber::SEQUENCE,
        &[
            &ber::tlv(ber::ctx(0), &ber::tlv(ber::BIT_STRING, &[0, 0x40, 0x81, 0, 0x10])), // forwardable, renewable, canonicalize, renewable-ok
            &ber::tlv(ber::ctx(1), &principal(1, &[user])),
            &ber::tlv(ber::ctx(2), &kstring(realm)),
            &ber::tlv(ber::ctx(3), &principal(2, &["krbtgt", realm])),
            &ber::tlv(ber::ctx(5), &ber::tlv(ber::GENERALIZED_TIME, b"20370913024805Z")),
            &ber::tlv(ber::ctx(7), &ber::int(ber::INTEGER, i64::from(nonce & 0x7fff_ffff))),
            &ber::tlv(ber::ctx(8), &ber::tlv(ber::SEQUENCE, &etypes)),
        ],
    );
    let req = ber::cons(
        ber::SEQUENCE,
        &[
            &ber::tlv(ber::ctx(1), &ber::int(ber::INTEGER, 5)),
            &ber::tlv(ber::ctx(2), &ber::int(ber::INTEGER, 10)),
            &ber::tlv(ber::ctx(4), &body),
        ],
    );
    ber::tlv(ber::app(10), &req)
}

pub fn tcp_request(realm: &str, user: &str, nonce: u32) -> Vec<u8> {
    let r = request(realm, user, nonce);
    let mut m = (r.len() as u32).to_be_bytes().to_vec();
    m.extend(r);
    m
}

pub fn tcp_complete(b: &[u8]) -> Option<usize> {
    let n = u32::from_be_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]) as usize;
    let n = n.saturating_add(4);
    (b.len() >= n || n > MAX_REPLY).then_some(n)
}

/// KRB-ERROR code names: `tracehound_proto::krb` (shared with the capture side).
pub fn error_name(code: i64) -> String {
    tracehound_proto::krb::error_info(code).0
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "message")]
pub enum Reply {
    #[serde(rename = "KRB-ERROR")]
    Error {
        error_code: i64,
        error_name: String,
        realm: String,
        sname: Vec<String>,
        stime: String,
        e_text: Option<String>,
    },
    #[serde(rename = "AS-REP")]
    AsRep { realm: String },
}

fn principal_parts(t: &ber::Tlv<'_>) -> Result<Vec<String>, QueryError> {
    let mut r = t.reader();
    let seq = r.read_expected(ber::SEQUENCE, "PrincipalName")?;
    let mut p = seq.reader();
    let _nt = p.read_expected(ber::ctx(0), "name-type")?;
    let ns = p.read_expected(ber::ctx(1), "name-string")?;
    let mut s = ns.reader().read_expected(ber::SEQUENCE, "name-string")?.reader();
    let mut out = Vec::new();
    while !s.is_empty() && out.len() < 8 {
        out.push(super::rd::printable(s.read()?.value, 256));
    }
    Ok(out)
}

pub fn parse(b: &[u8]) -> Result<Reply, QueryError> {
    let mut r = Reader::new(b);
    let top = r.read()?;
    match top.tag {
        t if t == ber::app(30) => {
            let mut f = top.reader().read_expected(ber::SEQUENCE, "KRB-ERROR")?.reader();
            let (mut code, mut realm, mut sname, mut stime, mut etext) =
                (None, String::new(), vec![], String::new(), None);
            while !f.is_empty() {
                let field = f.read()?;
                let inner = || field.reader().read();
                match field.tag {
                    0xa4 => stime = inner()?.text(),
                    0xa6 => code = Some(inner()?.int()?),
                    0xa9 => realm = super::rd::printable(inner()?.value, 256),
                    0xaa => sname = principal_parts(&field)?,
                    0xab => etext = Some(super::rd::printable(inner()?.value, 512)),
                    _ => {}
                }
            }
            let code =
                code.ok_or_else(|| QueryError::Other("KRB-ERROR without error-code".into()))?;
            Ok(Reply::Error {
                error_code: code,
                error_name: error_name(code),
                realm,
                sname,
                stime,
                e_text: etext,
            })
        }
        t if t == ber::app(11) => {
            let mut f = top.reader().read_expected(ber::SEQUENCE, "AS-REP")?.reader();
            let mut realm = String::new();
            while !f.is_empty() {
                let field = f.read()?;
                if field.tag == 0xa3 {
                    realm = super::rd::printable(field.reader().read()?.value, 256);
                }
            }
            Ok(Reply::AsRep { realm })
        }
        t => Err(QueryError::Other(format!("not a Kerberos reply: tag 0x{t:02x}"))),
    }
}

impl Reply {
    pub fn lines(&self, asked_realm: &str, user: &str) -> Vec<String> {
        match self {
            Reply::Error { error_code, error_name, realm, sname, stime, e_text } => {
                let mut v = vec![
                    format!("AS-REQ for {user}@{asked_realm} answered with KRB-ERROR {error_name} ({error_code})"),
                    format!("  KDC realm: {realm}"),
                ];
                if !sname.is_empty() {
                    v.push(format!("  server: {}", sname.join("/")));
                }
                if !stime.is_empty() {
                    v.push(format!("  KDC time: {stime}"));
                }
                if let Some(t) = e_text {
                    v.push(format!("  e-text: {t}"));
                }
                v
            }
            Reply::AsRep { realm } => vec![format!(
                "AS-REQ for {user}@{asked_realm} answered with an AS-REP from realm {realm} (the principal needs no pre-authentication)"
            )],
        }
    }
}

/// The dummy principal used for the AS-REQ.
pub const KRB_USER: &str = "tracehound-portqry-probe";

/// The Kerberos query: an AS-REQ for [`KRB_USER`] in the learned or guessed realm.
pub struct Kerberos {
    realm: String,
    nonce: u32,
}

impl Exchange for Kerberos {
    type Reply = Reply;
    const WHAT: &'static str = "Kerberos AS-REQ";
    const MAX_REPLY: usize = MAX_REPLY;

    fn new(ctx: &Ctx) -> Self {
        Kerberos { realm: ctx.realm_guess(), nonce: u32::from_be_bytes(random_bytes::<4>()) }
    }
    fn request(&self, proto: Proto) -> Vec<u8> {
        match proto {
            Proto::Udp => request(&self.realm, KRB_USER, self.nonce),
            Proto::Tcp => tcp_request(&self.realm, KRB_USER, self.nonce),
        }
    }
    fn complete(b: &[u8]) -> Option<usize> {
        tcp_complete(b)
    }
    fn unframe(b: Vec<u8>) -> Vec<u8> {
        b.get(4..).unwrap_or_default().to_vec()
    }
    fn parse(&self, b: &[u8]) -> Result<Reply, QueryError> {
        parse(b)
    }
    fn lines(&self, r: &Reply, _ctx: &Ctx) -> Vec<String> {
        r.lines(&self.realm, KRB_USER)
    }
}

impl Query for Kerberos {
    /// The realm asked for matters: learn it first, then ask anew.
    async fn run(ctx: &mut Ctx, at: Port, _kept: Option<Vec<u8>>) -> Output {
        ldap::learn_realm(ctx).await;
        ask::<Self>(ctx, at, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_well_formed_der() {
        let r = request("SAMDOM.EXAMPLE.COM", "probe", 42);
        let top = Reader::new(&r).read().unwrap();
        assert_eq!(top.tag, 0x6a);
        assert_eq!(top.len, r.len());
        let t = tcp_request("X", "u", 1);
        assert_eq!(tcp_complete(&t), Some(t.len()));
    }

    #[test]
    fn parses_krb_error() {
        let sname = principal(2, &["krbtgt", "R"]);
        let err = ber::tlv(
            ber::app(30),
            &ber::cons(
                ber::SEQUENCE,
                &[
                    &ber::tlv(0xa0, &ber::int(2, 5)),
                    &ber::tlv(0xa1, &ber::int(2, 30)),
                    &ber::tlv(0xa4, &ber::tlv(ber::GENERALIZED_TIME, b"20261121111111Z")),
                    &ber::tlv(0xa5, &ber::int(2, 0)),
                    &ber::tlv(0xa6, &ber::int(2, 6)),
                    &ber::tlv(0xa9, &kstring("R")),
                    &ber::tlv(0xaa, &sname),
                ],
            ),
        );
        let p = parse(&err).unwrap();
        assert!(matches!(&p, Reply::Error { error_code: 6, realm, .. } if realm == "R"));
        for n in 0..err.len() {
            let _ = parse(&err[..n]);
        }
    }
}

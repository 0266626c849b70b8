//! LDAP rootDSE (RFC 4511): a SearchRequest with base "", scope base, filter
//! `(objectClass=*)`, over TCP (389, GC 3268) or UDP (CLDAP, 389 - the same LDAPMessage in
//! one datagram, as Active Directory accepts it). The reply is a SearchResultEntry
//! ([APPLICATION 4]) followed by a SearchResultDone ([APPLICATION 5]).

use std::collections::BTreeMap;

use crate::ber::{self, Reader};

use super::common::{ask, tcp_exchange, Ctx, Exchange, Output, Port, Query, QueryError};
use crate::net::{self, UdpOutcome};
use crate::Proto;

pub const ATTRS: &[&str] = &[
    "currentTime",
    "subschemaSubentry",
    "dsServiceName",
    "namingContexts",
    "defaultNamingContext",
    "schemaNamingContext",
    "configurationNamingContext",
    "rootDomainNamingContext",
    "supportedLDAPVersion",
    "supportedSASLMechanisms",
    "dnsHostName",
    "ldapServiceName",
    "serverName",
    "isGlobalCatalogReady",
    "domainFunctionality",
    "forestFunctionality",
    "domainControllerFunctionality",
    "vendorName",
    "vendorVersion",
];

/// Caps on what is kept from a reply.
pub const MAX_ATTRS: usize = 128;
pub const MAX_VALUES: usize = 64;
pub const MAX_REPLY: usize = 256 * 1024;

pub fn request(msgid: i64) -> Vec<u8> {
    let attrs: Vec<u8> =
        ATTRS.iter().flat_map(|a| ber::tlv(ber::OCTET_STRING, a.as_bytes())).collect();
    let search = ber::cons(
        ber::app(3),
        &[
            &ber::tlv(ber::OCTET_STRING, b""),
            &ber::int(ber::ENUMERATED, 0), // baseObject
            &ber::int(ber::ENUMERATED, 0), // neverDerefAliases
            &ber::int(ber::INTEGER, 0),
            &ber::int(ber::INTEGER, 30),
            &ber::tlv(ber::BOOLEAN, &[0]),
            &ber::tlv(0x87, b"objectClass"), // present filter [7]
            &ber::tlv(ber::SEQUENCE, &attrs),
        ],
    );
    ber::cons(ber::SEQUENCE, &[&ber::int(ber::INTEGER, msgid), &search])
}

/// Stream framing: the length of all messages up to and including SearchResultDone.
pub fn complete(b: &[u8]) -> Option<usize> {
    let mut r = Reader::new(b);
    let mut total = 0usize;
    for _ in 0..MAX_ATTRS {
        let n = r.peek_len().ok()??;
        if b.len() < total.checked_add(n)? {
            return None;
        }
        let msg = r.read().ok()?;
        total += n;
        let mut inner = msg.reader();
        let _id = inner.read().ok()?;
        let op = inner.read().ok()?;
        if op.tag == ber::app(5) {
            return Some(total);
        }
    }
    // Too many messages without a SearchResultDone: let the parser report it.
    Some(total)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RootDse {
    pub result_code: Option<i64>,
    pub result_name: Option<String>,
    pub diagnostic: Option<String>,
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Caps hit while reading.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
}

/// resultCode names: `tracehound_proto::ldap` (shared with the capture side).
pub fn result_name(c: i64) -> String {
    match u32::try_from(c) {
        Ok(c) => tracehound_proto::ldap::result_name(c),
        Err(_) => format!("resultCode {c}"),
    }
}

/// Parses all LDAPMessages in `b` (entry + done).
pub fn parse(b: &[u8], msgid: i64) -> Result<RootDse, QueryError> {
    let mut out = RootDse {
        result_code: None,
        result_name: None,
        diagnostic: None,
        attributes: BTreeMap::new(),
        truncated: vec![],
    };
    let mut r = Reader::new(b);
    let mut seen_entry = false;
    while !r.is_empty() {
        let msg = r.read_expected(ber::SEQUENCE, "LDAPMessage")?;
        let mut m = msg.reader();
        let id = m.read_expected(ber::INTEGER, "messageID")?.int()?;
        if id != msgid {
            return Err(QueryError::Other(format!("reply for message {id}, expected {msgid}")));
        }
        let op = m.read()?;
        match op.tag {
            t if t == ber::app(4) => {
                seen_entry = true;
                let mut e = op.reader();
                let _dn = e.read_expected(ber::OCTET_STRING, "objectName")?;
                let attrs = e.read_expected(ber::SEQUENCE, "attributes")?;
                let mut a = attrs.reader();
                while !a.is_empty() {
                    let pa = a.read_expected(ber::SEQUENCE, "PartialAttribute")?;
                    let mut p = pa.reader();
                    let ty = p.read_expected(ber::OCTET_STRING, "attribute type")?.text();
                    let vals = p.read_expected(ber::SET, "attribute values")?;
                    let mut vr = vals.reader();
                    let mut vs = Vec::new();
                    while !vr.is_empty() {
                        let v = vr.read_expected(ber::OCTET_STRING, "attribute value")?;
                        if vs.len() < MAX_VALUES {
                            vs.push(super::rd::printable(v.value, 1024));
                        } else {
                            out.truncated.push(format!("{ty}: more than {MAX_VALUES} values"));
                            break;
                        }
                    }
                    if out.attributes.len() < MAX_ATTRS {
                        out.attributes.insert(ty, vs);
                    } else {
                        out.truncated.push(format!("more than {MAX_ATTRS} attributes"));
                        break;
                    }
                }
            }
            t if t == ber::app(5) => {
                let mut d = op.reader();
                let code = d.read_expected(ber::ENUMERATED, "resultCode")?.int()?;
                let _matched = d.read_expected(ber::OCTET_STRING, "matchedDN")?;
                let diag = d.read_expected(ber::OCTET_STRING, "diagnosticMessage")?.text();
                out.result_code = Some(code);
                out.result_name = Some(result_name(code));
                if !diag.is_empty() {
                    out.diagnostic = Some(super::rd::printable(diag.as_bytes(), 512));
                }
                break;
            }
            t if t == ber::app(19) => {} // SearchResultReference: ignore
            t => {
                return Err(QueryError::Other(format!(
                    "unexpected LDAP operation tag 0x{t:02x} at offset {}",
                    op.offset
                )))
            }
        }
    }
    if !seen_entry && out.result_code.is_none() {
        return Err(QueryError::Other("no SearchResultEntry and no SearchResultDone".into()));
    }
    Ok(out)
}

fn functionality(v: &str) -> Option<&'static str> {
    Some(match v {
        "0" => "Windows 2000",
        "1" => "Windows Server 2003 interim",
        "2" => "Windows Server 2003",
        "3" => "Windows Server 2008",
        "4" => "Windows Server 2008 R2",
        "5" => "Windows Server 2012",
        "6" => "Windows Server 2012 R2",
        "7" => "Windows Server 2016",
        "10" => "Windows Server 2025",
        _ => return None,
    })
}

impl RootDse {
    pub fn first(&self, a: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(a))
            .and_then(|(_, v)| v.first().map(String::as_str))
    }

    /// The Kerberos realm implied by defaultNamingContext (DC=a,DC=b -> A.B).
    pub fn realm(&self) -> Option<String> {
        let dn = self.first("defaultNamingContext")?;
        let parts: Vec<&str> = dn
            .split(',')
            .filter_map(|p| p.trim().strip_prefix("DC=").or_else(|| p.trim().strip_prefix("dc=")))
            .collect();
        (!parts.is_empty()).then(|| parts.join(".").to_ascii_uppercase())
    }

    pub fn lines(&self) -> Vec<String> {
        let mut v = vec!["LDAP query response:".to_string(), String::new()];
        for (k, vals) in &self.attributes {
            for val in vals {
                let extra = if k.ends_with("Functionality") { functionality(val) } else { None };
                match extra {
                    Some(e) => v.push(format!("{k}: {val} ({e})")),
                    None => v.push(format!("{k}: {val}")),
                }
            }
        }
        if let (Some(c), Some(n)) = (self.result_code, &self.result_name) {
            if c != 0 {
                v.push(format!("result: {n} ({c}) {}", self.diagnostic.as_deref().unwrap_or("")));
            }
        }
        for t in &self.truncated {
            v.push(format!("(limit reached: {t})"));
        }
        v.push(String::new());
        v.push("======== End of LDAP query response ========".to_string());
        v
    }
}

/// The rootDSE query: LDAP over TCP (389, GC 3268), CLDAP over UDP 389. Its reply teaches
/// the realm to the Kerberos and DNS queries.
pub struct Ldap {
    msgid: i64,
}

impl Exchange for Ldap {
    type Reply = RootDse;
    const WHAT: &'static str = "LDAP query";
    const MAX_REPLY: usize = MAX_REPLY;

    fn new(_ctx: &Ctx) -> Self {
        Ldap { msgid: 1 }
    }
    fn request(&self, _proto: Proto) -> Vec<u8> {
        request(self.msgid)
    }
    fn complete(b: &[u8]) -> Option<usize> {
        complete(b)
    }
    fn parse(&self, b: &[u8]) -> Result<RootDse, QueryError> {
        parse(b, self.msgid)
    }
    fn lines(&self, r: &RootDse, _ctx: &Ctx) -> Vec<String> {
        r.lines()
    }
    fn learn(&self, r: &RootDse, ctx: &mut Ctx) {
        if ctx.realm.is_none() {
            ctx.realm = r.realm();
        }
    }
}

impl Query for Ldap {
    async fn run(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
        ask::<Self>(ctx, at, kept).await
    }
}

/// Learns the realm (AD domain) for the Kerberos and DNS questions when neither `--realm`
/// nor an earlier LDAP query gave it: one CLDAP rootDSE search (UDP 389, one try), then
/// LDAP over TCP 389. Bounded by 1 + 4 waits; silence leaves the realm unknown.
pub(crate) async fn learn_realm(ctx: &mut Ctx) {
    if ctx.realm.is_some() {
        return;
    }
    let req = request(1);
    let cldap = net::udp_exchange(
        ctx.sa(389),
        ctx.limits.source_port,
        &req,
        ctx.limits.timeout,
        1,
        crate::scan::MAX_UDP_REPLY,
    )
    .await;
    let reply = match cldap {
        UdpOutcome::Reply(r) => Some(r),
        _ => tcp_exchange(ctx, 389, &req, MAX_REPLY, complete).await.ok(),
    };
    if let Some(d) = reply.and_then(|b| parse(&b, 1).ok()) {
        ctx.realm = d.realm();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_and_done() -> Vec<u8> {
        let val = ber::tlv(ber::SET, &ber::tlv(ber::OCTET_STRING, b"DC=samdom,DC=example,DC=com"));
        let pa = ber::cons(
            ber::SEQUENCE,
            &[&ber::tlv(ber::OCTET_STRING, b"defaultNamingContext"), &val],
        );
        let entry = ber::cons(
            ber::app(4),
            &[&ber::tlv(ber::OCTET_STRING, b""), &ber::tlv(ber::SEQUENCE, &pa)],
        );
        let done = ber::cons(
            ber::app(5),
            &[&ber::int(ber::ENUMERATED, 0), &ber::tlv(4, b""), &ber::tlv(4, b"")],
        );
        let mut b = ber::cons(ber::SEQUENCE, &[&ber::int(ber::INTEGER, 7), &entry]);
        b.extend(ber::cons(ber::SEQUENCE, &[&ber::int(ber::INTEGER, 7), &done]));
        b
    }

    #[test]
    fn request_shape() {
        let r = request(7);
        let mut rd = Reader::new(&r);
        let m = rd.read_expected(ber::SEQUENCE, "msg").unwrap();
        assert!(rd.is_empty());
        let mut m = m.reader();
        assert_eq!(m.read().unwrap().int().unwrap(), 7);
        assert_eq!(m.read().unwrap().tag, 0x63);
    }

    #[test]
    fn framing_and_parse() {
        let b = entry_and_done();
        assert_eq!(complete(&b), Some(b.len()));
        assert_eq!(complete(&b[..b.len() - 1]), None);
        let d = parse(&b, 7).unwrap();
        assert_eq!(d.realm().as_deref(), Some("SAMDOM.EXAMPLE.COM"));
        assert_eq!(d.result_code, Some(0));
        assert!(parse(&b, 8).is_err());
        // every truncation is an error, never a panic
        for n in 0..b.len() {
            let _ = parse(&b[..n], 7);
        }
    }
}

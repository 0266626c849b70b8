//! LDAP binds and results in full (RFC 4511 §4.2, §4.1.9, §4.12, §4.5.1; MS-ADTS 5.1.1.1.3
//! for Sicily NTLM binds): who binds (DN, or the NTLM / Kerberos identity inside SASL and
//! Sicily), how (simple, SASL mechanism, Sicily), StartTLS, search bases, and each result's
//! code and diagnosticMessage with AD's `data XXX` sub-code — one [`AuthEvent`] per failed
//! operation and per bind.

use rustc_hash::FxHashMap as HashMap;
use tracehound_flows::FlowInfo;
use tracehound_proto::ber::{self, BerError, Reader};
use tracehound_proto::ldap as codes;

use crate::auth::{krb_event, token, AuthEvent, AuthProto, AuthReport, TokenInfo};
use crate::stream::At;

/// Messages of the operations below up to this size are waited for in full.
pub const MAX_DETAIL: u64 = 64 * 1024;
pub const OID_STARTTLS: &str = "1.3.6.1.4.1.1466.20037";
const MAX_PENDING: usize = 256;

/// What an LDAP message says beyond its head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    Bind { name: String, mech: String, token: Option<TokenInfo> },
    Search { base: String },
    Extended { oid: String },
    Result { diag: String, token: Option<TokenInfo> },
}

/// Operations read in full: bind, search and extended requests, and every final result.
pub fn wanted(op: u8) -> bool {
    matches!(op, 0 | 1 | 3 | 5 | 7 | 9 | 11 | 13 | 15 | 23 | 24)
}

/// Read the detail of one complete LDAPMessage; `None` if it does not decode.
pub fn detail(msg: &[u8]) -> Option<Detail> {
    parse(msg).ok().flatten()
}

fn text(b: &[u8]) -> String {
    crate::reader::printable(b, 256)
}

fn parse(msg: &[u8]) -> Result<Option<Detail>, BerError> {
    let seq = Reader::new(msg).read_expected(ber::SEQUENCE, "LDAPMessage")?;
    let mut r = seq.reader();
    r.read_expected(ber::INTEGER, "messageID")?;
    let op = r.read()?;
    let mut o = op.reader();
    Ok(Some(match op.tag & 0x1f {
        0 => {
            o.read_expected(ber::INTEGER, "version")?;
            let name = text(o.read_expected(ber::OCTET_STRING, "name")?.value);
            let auth = o.read()?;
            let (mech, tok) = match auth.tag {
                0x80 => ("simple".to_string(), None),
                0xa3 => {
                    let mut s = auth.reader();
                    let m = text(s.read_expected(ber::OCTET_STRING, "mechanism")?.value);
                    let c = s.optional(ber::OCTET_STRING)?.map(|c| token(c.value));
                    (format!("SASL {m}"), c)
                }
                0x89 => ("Sicily discovery".to_string(), None),
                0x8a | 0x8b => ("Sicily NTLM".to_string(), Some(token(auth.value))),
                t => (format!("authentication [{}]", t & 0x1f), None),
            };
            Detail::Bind { name, mech, token: tok }
        }
        3 => Detail::Search { base: text(o.read_expected(ber::OCTET_STRING, "baseObject")?.value) },
        23 => {
            let n = o.read()?;
            Detail::Extended { oid: text(n.value) }
        }
        1 | 5 | 7 | 9 | 11 | 13 | 15 | 24 => {
            o.read_expected(ber::ENUMERATED, "resultCode")?;
            let matched = o.read_expected(ber::OCTET_STRING, "matchedDN")?;
            let diag = text(o.read_expected(ber::OCTET_STRING, "diagnosticMessage")?.value);
            let mut tok = None;
            while !o.is_empty() {
                let t = o.read()?;
                if t.tag == 0x87 {
                    tok = Some(token(t.value));
                }
            }
            // Sicily: the NTLM CHALLENGE travels in matchedDN
            if tok.is_none() && tracehound_proto::ntlm::is_ntlm(matched.value) {
                tok = Some(token(matched.value));
            }
            Detail::Result { diag, token: tok }
        }
        _ => return Ok(None),
    }))
}

/// One LDAP message as the framer read it: message id, operation, result code (results) and
/// what else was read of it.
pub struct Message {
    pub id: u64,
    pub op: u8,
    pub result: Option<u32>,
    pub detail: Option<Box<Detail>>,
}

/// Who bound on a connection, and the requests waiting for their result.
#[derive(Debug, Default)]
pub struct LdapAuth {
    pending: HashMap<u64, (u8, u64, Option<Box<Detail>>)>,
    /// The identity of the bind in progress / the last good bind.
    who: Option<(String, String)>,
    /// NTLM identity of the bind in progress.
    ntlm: Option<tracehound_proto::ntlm::Authenticate>,
}

impl LdapAuth {
    /// One request (`op` even/request numbers) or result, read at `at` (the message's first
    /// segment).
    pub fn message(&mut self, m: Message, f: &FlowInfo, at: At, out: &mut AuthReport) {
        let Message { id, op, result, detail } = m;
        let (frame, ts) = (at.frame, at.ts);
        if crate::ldap::ops::is_request(op) {
            if let Some(Detail::Bind { name, mech, token }) = detail.as_deref() {
                self.who = Some((name.clone(), mech.clone()));
                if let Some(a) = token.as_ref().and_then(|t| t.ntlm.clone()) {
                    self.ntlm = Some(a);
                }
            }
            if self.pending.len() >= MAX_PENDING {
                self.pending.clear();
            }
            self.pending.insert(id, (op, frame, detail));
            return;
        }
        if !crate::ldap::ops::is_response(op) {
            return;
        }
        let Some((req_op, req_frame, req)) = self.pending.remove(&id) else { return };
        let rc = result.unwrap_or(0);
        let (diag, tok) = match detail.as_deref() {
            Some(Detail::Result { diag, token }) => (diag.clone(), token.clone()),
            _ => (String::new(), None),
        };
        if let Some(k) =
            tok.as_ref().and_then(|t| t.krb.as_ref()).filter(|k| k.error_code.is_some())
        {
            let mut e = krb_event(k, "AP-REQ", f, frame, ts);
            e.carried_in = Some(AuthProto::Ldap);
            out.push(e);
        }
        let (opname, service) = match (req_op, req.as_deref()) {
            (0, _) => ("bind".to_string(), None),
            (3, Some(Detail::Search { base })) => ("search".to_string(), Some(base.clone())),
            (23, Some(Detail::Extended { oid })) if oid == OID_STARTTLS => {
                ("StartTLS".to_string(), None)
            }
            (23, Some(Detail::Extended { oid })) => ("extended".to_string(), Some(oid.clone())),
            (o, _) => (crate::ldap::ops::op_name(o).to_string(), None),
        };
        if req_op == 0 && rc == 14 {
            return; // SASL bind in progress: the next leg decides
        }
        if req_op != 0 && codes::result_ok(rc) {
            return;
        }
        let mut e = AuthEvent::new(AuthProto::Ldap, opname, f, frame, ts);
        e.request_frame = Some(req_frame);
        e.ok = rc == 0;
        e.code = Some(i64::from(rc));
        e.code_name = codes::result_name(rc).into();
        e.meaning = codes::result_meaning(rc).into();
        e.service = service;
        e.detail = Some(diag.clone()).filter(|d| !d.is_empty());
        if let Some((name, mech)) = &self.who {
            e.account = Some(name.clone()).filter(|n| !n.is_empty());
            e.mech = Some(mech.clone());
            if mech == "simple" && name.is_empty() {
                e.mech = Some("anonymous".into());
            }
        }
        if req_op == 0 {
            if let Some(a) = self.ntlm.take() {
                e = e.with_ntlm(&a);
            }
        }
        if let Some(c) = codes::ad_data_code(&diag) {
            let (n, m) = codes::ad_data_info(c);
            e.sub_code = Some(c);
            e.sub_name = Some(n);
            e.meaning = m.into();
        }
        out.push(e);
    }
}

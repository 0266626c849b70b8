//! Kerberos KDC exchanges (RFC 4120) on port 88: over TCP each message has a 4-byte
//! big-endian length (RFC 4120 §7.2.2), over UDP a datagram is one message. Requests (AS-REQ,
//! TGS-REQ) are paired in order with their answer (AS-REP / TGS-REP or KRB-ERROR) on the same
//! flow; each answer becomes an [`AuthEvent`] naming the client, realm and service, with the
//! error code, its name and meaning.

use std::collections::VecDeque;

use tracehound_flows::{FlowInfo, Timestamp};
use tracehound_proto::krb::{self, KrbMsg};

use crate::auth::{krb_event, AuthReport};
use crate::reader::{ParseError, Reader};
use crate::stream::Head;
use crate::stream::{Framer, Stream};

/// Largest Kerberos message waited for in full (a ticket with a big PAC is a few KiB).
pub const MAX_MESSAGE: u64 = 64 * 1024;
/// Requests remembered per flow while waiting for their answer.
const MAX_PENDING: usize = 16;

/// Is this the Kerberos port?
pub fn is_port(f: &FlowInfo) -> bool {
    f.orig.port() == 88 || f.resp.port() == 88
}

/// Frame one TCP message: the parsed message, or what was wrong with it.
pub fn head(d: &[u8]) -> Result<Head<Result<KrbMsg, String>>, ParseError> {
    if d.len() < 4 {
        return Ok(Head::Need);
    }
    let len = Reader::new(d).u32("Kerberos record mark")?;
    if len & 0x8000_0000 != 0 {
        return Err(ParseError::invalid(
            "Kerberos record mark",
            0,
            "reserved high bit set (not Kerberos over TCP)",
        ));
    }
    let total = 4 + u64::from(len);
    if (d.len() as u64) < total && total <= MAX_MESSAGE {
        return Ok(Head::Need);
    }
    let info = match d.get(4..total as usize) {
        Some(m) => krb::parse(m).map_err(|e| e.to_string()),
        None => Err(format!("message of {len} bytes not followed in full")),
    };
    Ok(Head::Frame { total, info })
}

/// Pairs requests and answers on one flow.
#[derive(Debug, Default)]
pub struct Pairing {
    pending: VecDeque<(u64, KrbMsg)>,
}

impl Pairing {
    /// One message in direction `d` (0 = from the client).
    pub fn message(
        &mut self,
        m: KrbMsg,
        f: &FlowInfo,
        frame: u64,
        ts: Timestamp,
        out: &mut AuthReport,
    ) {
        match m.msg_type {
            10 | 12 => {
                if self.pending.len() >= MAX_PENDING {
                    self.pending.pop_front();
                }
                self.pending.push_back((frame, m));
            }
            11 | 13 | 30 => {
                let req = self.pending.pop_front();
                let op = match (&req, m.msg_type) {
                    (Some((_, r)), _) => krb::msg_name(r.msg_type),
                    (None, 11) => "AS-REQ",
                    (None, 13) => "TGS-REQ",
                    (None, _) => "KDC request",
                };
                let mut m = m;
                if let Some((_, r)) = &req {
                    if m.cname.is_none() {
                        m.cname = r.cname.clone();
                    }
                    if m.sname.is_none() || m.msg_type == 30 && r.sname.is_some() {
                        m.sname = r.sname.clone().or(m.sname);
                    }
                    if m.realm.is_none() {
                        m.realm = r.realm.clone();
                    }
                }
                let mut e = krb_event(&m, op, f, frame, ts);
                e.request_frame = req.map(|(fr, _)| fr);
                out.push(e);
            }
            _ => {}
        }
    }
}

/// Frame and pair what one direction of a TCP Kerberos connection has buffered; parse
/// problems become issues with their frame.
pub fn feed(
    fr: &mut Framer<Result<KrbMsg, String>>,
    p: &mut Pairing,
    st: &mut Stream,
    info: &FlowInfo,
    auth: &mut AuthReport,
    issues: &mut crate::Issues,
) {
    let r = fr.feed(st, head, |msg, start, _end| match msg {
        Ok(k) => p.message(k, info, start.frame, start.ts, auth),
        Err(e) => issues.add(start.frame, format!("Kerberos: {e}")),
    });
    if let Err((frame, e)) = r {
        issues.add(frame, format!("Kerberos: {e}"));
    }
}

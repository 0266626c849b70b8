//! Connectionless DCE/RPC (ncadg_ip_udp; C706 §12.5).
//!
//! Every datagram carries an 80-byte header (byte order from the 3-byte drep at 4):
//!
//! ```text
//!  0 rpc_vers (4)  1 ptype  2 flags1  3 flags2  4 drep[3]  7 serial_hi
//!  8 object uuid   24 interface uuid   40 activity uuid
//! 56 server_boot u32  60 if_vers u32  64 seqnum u32  68 opnum u16  70 ihint u16
//! 72 ahint u16  74 len u16 (body)  76 fragnum u16  78 auth_proto u8  79 serial_lo u8
//! ```
//!
//! A call is identified by (activity, seqnum); its fragments by `fragnum` with flags1
//! FRAG / LASTFRAG. A response, fault or reject (status u32 in the body) answers it.
//! DCE/RPC over UDP is detected on any port by this header.

use std::collections::HashMap;
use std::net::SocketAddr;

use tracehound_flows::Timestamp;

use crate::answers::{decode_answer, Answer};
use crate::calls::{
    is_dcom_interface, status_text, Call, InterfaceSource, Name, Out, Outcome, EPM_UUID,
};
use crate::ctx::Seg;
use crate::names;
use crate::ndr::Drep;
use crate::pdu::{u16_at, u32_at, uuid_at, PType};
use crate::uuid::Uuid;

pub const CL_HEADER_LEN: usize = 80;

/// flags1 bits.
pub mod flags1 {
    pub const LAST_FRAG: u8 = 0x02;
    pub const FRAG: u8 = 0x04;
    pub const NO_FACK: u8 = 0x08;
    pub const MAYBE: u8 = 0x10;
    pub const IDEMPOTENT: u8 = 0x20;
    pub const BROADCAST: u8 = 0x40;
}

const MAX_PENDING: usize = 4096;
const MAX_STUB: usize = 1 << 20;

/// Parsed connectionless header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClHeader {
    pub ptype: PType,
    pub flags1: u8,
    pub flags2: u8,
    pub drep: Drep,
    pub object: Uuid,
    pub interface: Uuid,
    pub activity: Uuid,
    pub server_boot: u32,
    pub if_vers: u32,
    pub seqnum: u32,
    pub opnum: u16,
    pub body_len: u16,
    pub fragnum: u16,
    pub auth_proto: u8,
}

/// Why a datagram is not connectionless DCE/RPC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClError {
    #[error("datagram of {0} bytes is shorter than the 80-byte header")]
    Short(usize),
    #[error("rpc_vers {0} is not 4")]
    Version(u8),
    #[error("unknown connectionless packet type {0}")]
    PType(u8),
    #[error("implausible data representation {0:02x?}")]
    Drep([u8; 3]),
    #[error("body length {len} exceeds the {have} bytes after the header")]
    BodyLen { len: u16, have: usize },
}

impl ClHeader {
    /// Parses and checks the header; returns it and the body.
    pub fn parse(b: &[u8]) -> Result<(ClHeader, &[u8]), ClError> {
        if b.len() < CL_HEADER_LEN {
            return Err(ClError::Short(b.len()));
        }
        let &[version, ptype, flags1, flags2, d0, d1, d2, ..] = b else {
            return Err(ClError::Short(b.len()));
        };
        if version != 4 {
            return Err(ClError::Version(version));
        }
        if ptype > 10 {
            return Err(ClError::PType(ptype));
        }
        if d0 & 0xee != 0 || d1 > 3 || d2 != 0 {
            return Err(ClError::Drep([d0, d1, d2]));
        }
        let drep = Drep { little_endian: d0 & 0x10 != 0, char_ebcdic: d0 & 1 != 0, float: d1 };
        let le = drep.little_endian;
        let z = Uuid::NIL;
        let h = ClHeader {
            ptype: PType(ptype),
            flags1,
            flags2,
            drep,
            object: uuid_at(b, 8, drep).unwrap_or(z),
            interface: uuid_at(b, 24, drep).unwrap_or(z),
            activity: uuid_at(b, 40, drep).unwrap_or(z),
            server_boot: u32_at(b, 56, le).unwrap_or(0),
            if_vers: u32_at(b, 60, le).unwrap_or(0),
            seqnum: u32_at(b, 64, le).unwrap_or(0),
            opnum: u16_at(b, 68, le).unwrap_or(0),
            body_len: u16_at(b, 74, le).unwrap_or(0),
            fragnum: u16_at(b, 76, le).unwrap_or(0),
            auth_proto: b.get(78).copied().unwrap_or(0),
        };
        let body = b
            .get(CL_HEADER_LEN..CL_HEADER_LEN + h.body_len as usize)
            .ok_or(ClError::BodyLen { len: h.body_len, have: b.len() - CL_HEADER_LEN })?;
        Ok((h, body))
    }
}

#[derive(Debug)]
struct Pending {
    /// The flow (UDP conversation) of the request.
    flow: u64,
    frame: u64,
    ts: Timestamp,
    client: SocketAddr,
    server: SocketAddr,
    interface: Uuid,
    if_vers: u32,
    opnum: u16,
    req_bytes: u64,
    resp_bytes: u64,
    resp_frame: u64,
    resp_ts: Timestamp,
    stub: Vec<u8>,
    drep: Drep,
}

/// Connectionless calls in flight.
#[derive(Debug, Default)]
pub(crate) struct ClState {
    pending: HashMap<(Uuid, u32), Pending>,
    order: u64,
    cap_noted: bool,
}

impl ClState {
    /// One UDP datagram, read in `seg`.
    pub(crate) fn datagram(&mut self, out: &mut Out, seg: &Seg<'_>, data: &[u8]) {
        let (frame, ts) = (seg.frame, seg.ts);
        // Only datagrams that look like CL DCE/RPC are ours; others are silently not RPC.
        let (h, body) = match ClHeader::parse(data) {
            Ok(x) => x,
            Err(ClError::BodyLen { len, have }) if data.first() == Some(&4) => {
                out.stats.cl_malformed += 1;
                out.issue_at(
                    seg,
                    format!("ncadg: body length {len} exceeds the {have} bytes present"),
                );
                return;
            }
            Err(_) => return,
        };
        out.stats.cl_pdus += 1;
        let (src, dst) = (seg.src(), seg.dst());
        let key = (h.activity, h.seqnum);
        self.order += 1;
        match h.ptype {
            PType::REQUEST => {
                if !self.pending.contains_key(&key) {
                    if self.pending.len() >= MAX_PENDING {
                        out.stats.pending_dropped += 1;
                        if !self.cap_noted {
                            self.cap_noted = true;
                            out.issue(
                                frame,
                                src,
                                dst,
                                "ncadg: limit of calls in flight reached".into(),
                            );
                        }
                        return;
                    }
                    self.pending.insert(
                        key,
                        Pending {
                            flow: seg.flow.id,
                            frame,
                            ts,
                            client: src,
                            server: dst,
                            interface: h.interface,
                            if_vers: h.if_vers,
                            opnum: h.opnum,
                            req_bytes: 0,
                            resp_bytes: 0,
                            resp_frame: 0,
                            resp_ts: ts,
                            stub: Vec::new(),
                            drep: h.drep,
                        },
                    );
                }
                if let Some(p) = self.pending.get_mut(&key) {
                    p.req_bytes += data.len() as u64;
                }
            }
            PType::RESPONSE | PType::FAULT | PType::REJECT => {
                let Some(p) = self.pending.get_mut(&key) else {
                    out.stats.responses_without_request += 1;
                    return;
                };
                p.resp_bytes += data.len() as u64;
                p.resp_frame = frame;
                p.resp_ts = ts;
                p.drep = h.drep;
                let status = if h.ptype == PType::RESPONSE {
                    None
                } else {
                    u32_at(body, 0, h.drep.little_endian)
                };
                if h.ptype == PType::RESPONSE
                    && (p.interface == EPM_UUID || is_dcom_interface(&p.interface))
                {
                    let room = MAX_STUB.saturating_sub(p.stub.len());
                    p.stub.extend_from_slice(body.get(..body.len().min(room)).unwrap_or(body));
                }
                let last = h.flags1 & flags1::FRAG == 0 || h.flags1 & flags1::LAST_FRAG != 0;
                if last || status.is_some() {
                    if let Some(p) = self.pending.remove(&key) {
                        let outcome = match h.ptype {
                            PType::FAULT => Outcome::Fault,
                            PType::REJECT => Outcome::Rejected,
                            _ => Outcome::Ok,
                        };
                        Self::emit(out, p, outcome, status, true);
                    }
                }
            }
            _ => {} // ping, working, nocall, ack, fack, cancel: no effect on the outcome
        }
    }

    fn emit(out: &mut Out, p: Pending, outcome: Outcome, status: Option<u32>, answered: bool) {
        let major = (p.if_vers & 0xffff) as u16;
        let minor = (p.if_vers >> 16) as u16;
        // Datagrams: no connection whose handshake times the network (`flow` stays None).
        let mut call = Call {
            uuid: Some(p.interface.to_string()),
            version: Some(format!("{major}.{minor}")),
            interface: names::interface_name(&p.interface, major).map(Name::Borrowed),
            interface_source: Some(InterfaceSource::Header),
            opnum: Some(p.opnum),
            operation: names::opnum_name(&p.interface, p.opnum).map(Name::Borrowed),
            status: status.map(status_text),
            status_code: status,
            rtt: answered.then(|| p.resp_ts.secs_since(p.ts)),
            request_bytes: p.req_bytes,
            response_bytes: p.resp_bytes,
            response_frame: answered.then_some(p.resp_frame),
            flow: Some(p.flow),
            ..Call::new(
                p.ts,
                p.frame,
                p.client,
                p.server,
                if answered { outcome } else { Outcome::NoResponse },
            )
        };
        if outcome == Outcome::Fault {
            out.stats.faults += 1;
        }
        if answered && outcome == Outcome::Ok && !p.stub.is_empty() {
            let answer = Answer {
                iface: &p.interface,
                opnum: p.opnum,
                drep: p.drep,
                stub: &p.stub,
                client: p.client,
                server: p.server,
                ts: p.resp_ts,
            };
            decode_answer(out, &answer, &mut call);
        }
        out.push_call(call);
    }

    pub fn finish(&mut self, out: &mut Out) {
        let mut rest: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        rest.sort_by_key(|p| p.frame);
        for p in rest {
            Self::emit(out, p, Outcome::NoResponse, None, false);
        }
    }
}

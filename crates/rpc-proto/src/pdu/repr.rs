//! The owned PDU ([`Repr`]): request, response and fault bodies; parse and emit.

use super::*;

/// request body.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Request {
    pub alloc_hint: u32,
    pub context_id: u16,
    pub opnum: u16,
    pub object: Option<Uuid>,
    pub stub: Vec<u8>,
}

/// response body.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Response {
    pub alloc_hint: u32,
    pub context_id: u16,
    pub cancel_count: u8,
    pub stub: Vec<u8>,
}

/// fault body.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Fault {
    pub alloc_hint: u32,
    pub context_id: u16,
    pub cancel_count: u8,
    pub status: u32,
    /// Extended error information, if any.
    pub stub: Vec<u8>,
}

/// The body of a PDU, by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Request(Request),
    Response(Response),
    Fault(Fault),
    Bind(Bind),
    BindAck(BindAck),
    BindNak(BindNak),
    AlterContext(Bind),
    AlterContextResp(BindAck),
    Auth3,
    Shutdown,
    CoCancel,
    Orphaned,
}

impl Body {
    pub fn ptype(&self) -> PType {
        match self {
            Body::Request(_) => PType::REQUEST,
            Body::Response(_) => PType::RESPONSE,
            Body::Fault(_) => PType::FAULT,
            Body::Bind(_) => PType::BIND,
            Body::BindAck(_) => PType::BIND_ACK,
            Body::BindNak(_) => PType::BIND_NAK,
            Body::AlterContext(_) => PType::ALTER_CONTEXT,
            Body::AlterContextResp(_) => PType::ALTER_CONTEXT_RESP,
            Body::Auth3 => PType::AUTH3,
            Body::Shutdown => PType::SHUTDOWN,
            Body::CoCancel => PType::CO_CANCEL,
            Body::Orphaned => PType::ORPHANED,
        }
    }
}

/// An owned connection-oriented PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr {
    pub version_minor: u8,
    pub flags: u8,
    pub drep: Drep,
    pub call_id: u32,
    pub body: Body,
    pub auth: Option<AuthVerifier>,
}

impl Repr {
    /// A single-fragment PDU (FIRST|LAST) with no auth.
    pub fn new(call_id: u32, drep: Drep, body: Body) -> Repr {
        Repr {
            version_minor: 0,
            flags: flags::FIRST_FRAG | flags::LAST_FRAG,
            drep,
            call_id,
            body,
            auth: None,
        }
    }

    pub fn ptype(&self) -> PType {
        self.body.ptype()
    }

    /// Parses one PDU from the start of `buf`; returns it and the bytes used (`frag_length`).
    pub fn parse(buf: &[u8]) -> Result<(Repr, usize), Error> {
        let pkt = Packet::new_checked(buf)?;
        Ok((Repr::from_packet(&pkt)?, pkt.frag_len() as usize))
    }

    /// Builds the owned form of a checked view.
    pub fn from_packet<T: AsRef<[u8]>>(pkt: &Packet<T>) -> Result<Repr, Error> {
        let p = pkt.pdu();
        let drep = pkt.drep();
        let le = drep.little_endian;
        let body_end = pkt.body_end()?;
        let body_p = p.get(..body_end).unwrap_or(p);
        let rr = |what: &'static str| Error::Short { what, need: 24, have: body_p.len() };
        let body = match pkt.ptype() {
            PType::REQUEST => Body::Request(Request {
                alloc_hint: u32_at(body_p, 16, le).ok_or_else(|| rr("request header"))?,
                context_id: u16_at(body_p, 20, le).ok_or_else(|| rr("request header"))?,
                opnum: u16_at(body_p, 22, le).ok_or_else(|| rr("request header"))?,
                object: if pkt.flags() & flags::OBJECT_UUID != 0 {
                    Some(uuid_at(body_p, 24, drep).ok_or(Error::Short {
                        what: "object UUID",
                        need: 40,
                        have: body_p.len(),
                    })?)
                } else {
                    None
                },
                stub: pkt.stub()?.to_vec(),
            }),
            PType::RESPONSE => Body::Response(Response {
                alloc_hint: u32_at(body_p, 16, le).ok_or_else(|| rr("response header"))?,
                context_id: u16_at(body_p, 20, le).ok_or_else(|| rr("response header"))?,
                cancel_count: u8_at(body_p, 22).ok_or_else(|| rr("response header"))?,
                stub: pkt.stub()?.to_vec(),
            }),
            PType::FAULT => Body::Fault(Fault {
                alloc_hint: u32_at(body_p, 16, le).ok_or_else(|| rr("fault header"))?,
                context_id: u16_at(body_p, 20, le).ok_or_else(|| rr("fault header"))?,
                cancel_count: u8_at(body_p, 22).ok_or_else(|| rr("fault header"))?,
                status: u32_at(body_p, 24, le).ok_or(Error::Short {
                    what: "fault status",
                    need: 28,
                    have: body_p.len(),
                })?,
                stub: body_p.get(32..).unwrap_or(&[]).to_vec(),
            }),
            PType::BIND => Body::Bind(parse_bind(body_p, drep)?),
            PType::ALTER_CONTEXT => Body::AlterContext(parse_bind(body_p, drep)?),
            PType::BIND_ACK => Body::BindAck(parse_bind_ack(body_p, drep)?),
            PType::ALTER_CONTEXT_RESP => Body::AlterContextResp(parse_bind_ack(body_p, drep)?),
            PType::BIND_NAK => {
                let reason = u16_at(body_p, 16, le).ok_or(Error::Short {
                    what: "bind_nak reason",
                    need: 18,
                    have: body_p.len(),
                })?;
                let n = u8_at(body_p, 18).unwrap_or(0);
                let mut versions = Vec::new();
                for i in 0..n as usize {
                    match (u8_at(body_p, 19 + 2 * i), u8_at(body_p, 20 + 2 * i)) {
                        (Some(a), Some(b)) => versions.push((a, b)),
                        _ => break,
                    }
                }
                Body::BindNak(BindNak { reason, versions })
            }
            PType::AUTH3 => Body::Auth3,
            PType::SHUTDOWN => Body::Shutdown,
            PType::CO_CANCEL => Body::CoCancel,
            PType::ORPHANED => Body::Orphaned,
            other => return Err(Error::UnknownPType(other.0)),
        };
        Ok(Repr {
            version_minor: pkt.version_minor(),
            flags: pkt.flags(),
            drep,
            call_id: pkt.call_id(),
            body,
            auth: match pkt.sec_trailer_offset() {
                Some(at) => Some(AuthVerifier::parse(p, at, le)?),
                None => None,
            },
        })
    }

    /// Encodes the PDU; `frag_length`, `auth_length`, `alloc_hint` (when 0) and the auth pad
    /// are computed. The auth verifier's `pad_len` is replaced by the pad actually needed to
    /// align the `sec_trailer` to 4 bytes (C706 / MS-RPCE 2.2.2.11: 16 bytes is also allowed).
    pub fn emit(&self) -> Vec<u8> {
        let drep = self.drep;
        let le = drep.little_endian;
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&[5, self.version_minor, self.ptype().0, self.flags]);
        v.extend_from_slice(&drep_to_bytes(drep));
        v.extend_from_slice(&[0, 0, 0, 0]); // frag_length, auth_length: patched below
        put32(&mut v, self.call_id, le);
        match &self.body {
            Body::Request(r) => {
                let hint = if r.alloc_hint == 0 { r.stub.len() as u32 } else { r.alloc_hint };
                put32(&mut v, hint, le);
                put16(&mut v, r.context_id, le);
                put16(&mut v, r.opnum, le);
                if let Some(o) = r.object {
                    v.extend_from_slice(&o.to_ndr(drep));
                }
                v.extend_from_slice(&r.stub);
            }
            Body::Response(r) => {
                let hint = if r.alloc_hint == 0 { r.stub.len() as u32 } else { r.alloc_hint };
                put32(&mut v, hint, le);
                put16(&mut v, r.context_id, le);
                v.extend_from_slice(&[r.cancel_count, 0]);
                v.extend_from_slice(&r.stub);
            }
            Body::Fault(r) => {
                put32(&mut v, r.alloc_hint, le);
                put16(&mut v, r.context_id, le);
                v.extend_from_slice(&[r.cancel_count, 0]);
                put32(&mut v, r.status, le);
                put32(&mut v, 0, le);
                v.extend_from_slice(&r.stub);
            }
            Body::Bind(b) | Body::AlterContext(b) => emit_bind(&mut v, b, le, drep),
            Body::BindAck(a) | Body::AlterContextResp(a) => emit_bind_ack(&mut v, a, le, drep),
            Body::BindNak(n) => {
                put16(&mut v, n.reason, le);
                v.push(n.versions.len().min(255) as u8);
                for (a, b) in n.versions.iter().take(255) {
                    v.extend_from_slice(&[*a, *b]);
                }
            }
            Body::Auth3 => v.extend_from_slice(&[0, 0, 0, 0]),
            Body::Shutdown | Body::CoCancel | Body::Orphaned => {}
        }
        let mut auth_len = 0u16;
        if let Some(a) = &self.auth {
            let pad = (4 - v.len() % 4) % 4;
            v.extend(std::iter::repeat_n(0u8, pad));
            v.extend_from_slice(&[a.auth_type, a.auth_level, pad as u8, 0]);
            put32(&mut v, a.context_id, le);
            let val = a.value.get(..a.value.len().min(u16::MAX as usize / 2)).unwrap_or(&[]);
            v.extend_from_slice(val);
            auth_len = val.len() as u16;
        }
        let fl = v.len().min(u16::MAX as usize) as u16;
        let (f, a) = if le {
            (fl.to_le_bytes(), auth_len.to_le_bytes())
        } else {
            (fl.to_be_bytes(), auth_len.to_be_bytes())
        };
        if let Some(len_fields) = v.get_mut(8..12) {
            len_fields.copy_from_slice(&[f[0], f[1], a[0], a[1]]);
        }
        v
    }
}

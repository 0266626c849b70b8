//! Connection-oriented DCE/RPC PDUs (C706 §12.6, MS-RPCE §2.2.2).
//!
//! Every PDU starts with a 16-byte common header:
//!
//! ```text
//!  0 rpc_vers (5)   1 rpc_vers_minor (0|1)  2 PTYPE   3 pfc_flags
//!  4 packed_drep[4]: integer/char representation, float representation, 0, 0
//!  8 frag_length u16   10 auth_length u16   12 call_id u32
//! ```
//!
//! Multi-byte fields follow the byte order in `packed_drep` (high nibble of byte 0: bit
//! 0x10 set = little-endian), which is read once per PDU ([`Packet::drep`]) and passed down.
//! When `auth_length` is non-zero the PDU ends with an auth verifier: an 8-byte `sec_trailer`
//! (`auth_type`, `auth_level`, `auth_pad_length`, reserved, `auth_context_id`) at
//! `frag_length - auth_length - 8`, then `auth_length` bytes of credentials.
//!
//! [`Packet`] is a checked zero-copy view (after [`Packet::new_checked`] no getter panics);
//! [`Repr`] is the owned form with [`Repr::parse`] and [`Repr::emit`] that round-trip:
//!
//! ```
//! use tracehound_rpc_proto::pdu::{Body, Repr, Request};
//! use tracehound_rpc_proto::ndr::Drep;
//! // alloc_hint 0 would be emitted as the stub length; give it explicitly to round-trip.
//! let req = Repr::new(7, Drep::BE, Body::Request(Request { opnum: 3, alloc_hint: 4, stub: vec![1, 2, 3, 4], ..Default::default() }));
//! let bytes = req.emit();
//! let (back, used) = Repr::parse(&bytes).unwrap();
//! assert_eq!(used, bytes.len());
//! assert_eq!(back, req);
//! ```

use crate::ndr::Drep;
use crate::uuid::Uuid;

/// Length of the common header.
pub const HEADER_LEN: usize = 16;
/// Length of the `sec_trailer` in front of the auth value.
pub const SEC_TRAILER_LEN: usize = 8;

/// The NDR / NDR64 transfer syntaxes and the bind time feature negotiation prefix
/// (defined in [`crate::known`]).
pub use crate::known::{BTFN_PREFIX, NDR as NDR_SYNTAX, NDR64 as NDR64_SYNTAX};

/// Packet types. Open: unknown values keep their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PType(pub u8);

impl PType {
    pub const REQUEST: PType = PType(0);
    pub const PING: PType = PType(1);
    pub const RESPONSE: PType = PType(2);
    pub const FAULT: PType = PType(3);
    pub const WORKING: PType = PType(4);
    pub const NOCALL: PType = PType(5);
    pub const REJECT: PType = PType(6);
    pub const ACK: PType = PType(7);
    pub const CL_CANCEL: PType = PType(8);
    pub const FACK: PType = PType(9);
    pub const CANCEL_ACK: PType = PType(10);
    pub const BIND: PType = PType(11);
    pub const BIND_ACK: PType = PType(12);
    pub const BIND_NAK: PType = PType(13);
    pub const ALTER_CONTEXT: PType = PType(14);
    pub const ALTER_CONTEXT_RESP: PType = PType(15);
    pub const AUTH3: PType = PType(16);
    pub const SHUTDOWN: PType = PType(17);
    pub const CO_CANCEL: PType = PType(18);
    pub const ORPHANED: PType = PType(19);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "request",
            1 => "ping",
            2 => "response",
            3 => "fault",
            4 => "working",
            5 => "nocall",
            6 => "reject",
            7 => "ack",
            8 => "cl_cancel",
            9 => "fack",
            10 => "cancel_ack",
            11 => "bind",
            12 => "bind_ack",
            13 => "bind_nak",
            14 => "alter_context",
            15 => "alter_context_resp",
            16 => "auth3",
            17 => "shutdown",
            18 => "co_cancel",
            19 => "orphaned",
            20 => "rts",
            _ => return None,
        })
    }

    /// Is this a PDU type of the connection-oriented protocol?
    pub fn is_co(self) -> bool {
        matches!(self.0, 0 | 2 | 3 | 11..=19)
    }
}

impl std::fmt::Display for PType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "ptype({})", self.0),
        }
    }
}

/// `pfc_flags` bits.
pub mod flags {
    pub const FIRST_FRAG: u8 = 0x01;
    pub const LAST_FRAG: u8 = 0x02;
    /// PFC_PENDING_CANCEL; in bind/alter_context MS-RPCE reuses it as PFC_SUPPORT_HEADER_SIGN.
    pub const PENDING_CANCEL: u8 = 0x04;
    pub const CONC_MPX: u8 = 0x10;
    pub const DID_NOT_EXECUTE: u8 = 0x20;
    pub const MAYBE: u8 = 0x40;
    pub const OBJECT_UUID: u8 = 0x80;
}

/// Why a PDU could not be parsed. Offsets are relative to the PDU start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("short PDU: {what} needs {need} bytes, have {have}")]
    Short { what: &'static str, need: usize, have: usize },
    #[error("not DCE/RPC connection-oriented: version {major}.{minor}")]
    Version { major: u8, minor: u8 },
    #[error("unknown PDU type {0}")]
    UnknownPType(u8),
    #[error("frag_length {frag_len} is less than the 16-byte header")]
    FragTooSmall { frag_len: u16 },
    #[error("frag_length {frag_len} but only {have} bytes present")]
    FragBeyondData { frag_len: u16, have: usize },
    #[error("auth_length {auth_len} + 8-byte sec_trailer does not fit in frag_length {frag_len}")]
    AuthTooLong { auth_len: u16, frag_len: u16 },
    #[error("auth_pad_length {pad} reaches before the body (at offset {at})")]
    AuthPad { pad: u8, at: usize },
    #[error("{what} at offset {at}: {why}")]
    Field { what: &'static str, at: usize, why: &'static str },
}

/// Reads the data representation label (4 bytes).
pub fn drep_from_bytes(b: [u8; 4]) -> Drep {
    Drep { little_endian: b[0] & 0x10 != 0, char_ebcdic: b[0] & 0x0f == 1, float: b[1] }
}

/// Writes the data representation label.
pub fn drep_to_bytes(d: Drep) -> [u8; 4] {
    [(if d.little_endian { 0x10 } else { 0 }) | u8::from(d.char_ebcdic), d.float, 0, 0]
}

/// Is `b` a data representation label a real stack would send? (integer rep 0/1, char rep
/// ASCII/EBCDIC, float IEEE/VAX/Cray/IBM, and the two reserved bytes zero.)
pub fn drep_plausible(b: &[u8]) -> bool {
    matches!(b, [d0, d1, 0, 0] if d0 & 0xee == 0 && *d1 <= 3)
}

// ---- checked byte access in a given byte order --------------------------------------------

pub fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}
pub fn u16_at(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if le { u16::from_le_bytes(s) } else { u16::from_be_bytes(s) })
}
pub fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if le { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
}
pub fn uuid_at(b: &[u8], at: usize, drep: Drep) -> Option<Uuid> {
    let s: [u8; 16] = b.get(at..at.checked_add(16)?)?.try_into().ok()?;
    Some(Uuid::from_ndr(&s, drep))
}
fn put16(v: &mut Vec<u8>, x: u16, le: bool) {
    v.extend_from_slice(&if le { x.to_le_bytes() } else { x.to_be_bytes() });
}
fn put32(v: &mut Vec<u8>, x: u32, le: bool) {
    v.extend_from_slice(&if le { x.to_le_bytes() } else { x.to_be_bytes() });
}

fn field(what: &'static str, at: usize) -> impl Fn(&'static str) -> Error {
    move |why| Error::Field { what, at, why }
}

// ---- zero-copy view ------------------------------------------------------------------------

/// A checked view of one PDU (exactly `frag_length` bytes once [`Packet::new_checked`] passed).
#[derive(Clone, Copy, Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buf: T,
}

/// Checks only the fixed header of `b` (no frag_length/data check): version, type, drep,
/// frag_length >= 16, auth_length fits. Used to detect DCE/RPC in a byte stream.
pub fn check_header(b: &[u8]) -> Result<(), Error> {
    let short = || Error::Short { what: "common header", need: HEADER_LEN, have: b.len() };
    if b.len() < HEADER_LEN {
        return Err(short());
    }
    let &[major, minor, ptype, _, d0, d1, d2, d3, ..] = b else { return Err(short()) };
    if major != 5 || minor > 1 {
        return Err(Error::Version { major, minor });
    }
    if !PType(ptype).is_co() {
        return Err(Error::UnknownPType(ptype));
    }
    if !drep_plausible(&[d0, d1, d2, d3]) {
        return Err(Error::Field {
            what: "packed_drep",
            at: 4,
            why: "implausible data representation",
        });
    }
    let le = d0 & 0x10 != 0;
    let frag_len = u16_at(b, 8, le).unwrap_or(0);
    let auth_len = u16_at(b, 10, le).unwrap_or(0);
    if (frag_len as usize) < HEADER_LEN {
        return Err(Error::FragTooSmall { frag_len });
    }
    if auth_len != 0 && (auth_len as usize) + SEC_TRAILER_LEN + HEADER_LEN > frag_len as usize {
        return Err(Error::AuthTooLong { auth_len, frag_len });
    }
    Ok(())
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buf` without checks; getters return `None`/defaults on short data.
    pub fn new_unchecked(buf: T) -> Self {
        Packet { buf }
    }

    /// Checks the header and that `buf` holds at least `frag_length` bytes.
    pub fn new_checked(buf: T) -> Result<Self, Error> {
        let b = buf.as_ref();
        check_header(b)?;
        let p = Packet { buf };
        let fl = p.frag_len();
        if (fl as usize) > p.buf.as_ref().len() {
            return Err(Error::FragBeyondData { frag_len: fl, have: p.buf.as_ref().len() });
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }
    pub fn version(&self) -> u8 {
        u8_at(self.b(), 0).unwrap_or(0)
    }
    pub fn version_minor(&self) -> u8 {
        u8_at(self.b(), 1).unwrap_or(0)
    }
    pub fn ptype(&self) -> PType {
        PType(u8_at(self.b(), 2).unwrap_or(0xff))
    }
    pub fn flags(&self) -> u8 {
        u8_at(self.b(), 3).unwrap_or(0)
    }
    pub fn drep_bytes(&self) -> [u8; 4] {
        self.b().get(4..8).and_then(|s| s.try_into().ok()).unwrap_or([0x10, 0, 0, 0])
    }
    pub fn drep(&self) -> Drep {
        drep_from_bytes(self.drep_bytes())
    }
    fn le(&self) -> bool {
        self.drep().little_endian
    }
    pub fn frag_len(&self) -> u16 {
        u16_at(self.b(), 8, self.le()).unwrap_or(0)
    }
    pub fn auth_len(&self) -> u16 {
        u16_at(self.b(), 10, self.le()).unwrap_or(0)
    }
    pub fn call_id(&self) -> u32 {
        u32_at(self.b(), 12, self.le()).unwrap_or(0)
    }
    pub fn first_frag(&self) -> bool {
        self.flags() & flags::FIRST_FRAG != 0
    }
    pub fn last_frag(&self) -> bool {
        self.flags() & flags::LAST_FRAG != 0
    }
    /// The PDU bytes (`frag_length` of them, or fewer when the buffer is short).
    pub fn pdu(&self) -> &[u8] {
        let b = self.b();
        b.get(..self.frag_len() as usize).unwrap_or(b)
    }
    /// Offset of the `sec_trailer`, when there is an auth verifier.
    pub fn sec_trailer_offset(&self) -> Option<usize> {
        if self.auth_len() == 0 {
            return None;
        }
        (self.frag_len() as usize)
            .checked_sub(self.auth_len() as usize)?
            .checked_sub(SEC_TRAILER_LEN)
    }
    /// The auth verifier, if any.
    pub fn auth(&self) -> Option<AuthVerifier> {
        let at = self.sec_trailer_offset()?;
        AuthVerifier::parse(self.pdu(), at, self.le()).ok()
    }
    /// End of the body (stub) area: before the auth pad and verifier.
    fn body_end(&self) -> Result<usize, Error> {
        match self.sec_trailer_offset() {
            None => Ok(self.pdu().len()),
            Some(at) => {
                let pad = u8_at(self.pdu(), at + 2).unwrap_or(0);
                at.checked_sub(pad as usize).ok_or(Error::AuthPad { pad, at })
            }
        }
    }
    /// Header length of a request (24, or 40 with the object UUID).
    fn stub_start(&self) -> usize {
        match self.ptype() {
            PType::REQUEST if self.flags() & flags::OBJECT_UUID != 0 => 40,
            PType::REQUEST | PType::RESPONSE => 24,
            PType::FAULT => 32,
            _ => HEADER_LEN,
        }
    }
    /// The stub data of a request, response or fault (auth pad and verifier removed).
    pub fn stub(&self) -> Result<&[u8], Error> {
        let start = self.stub_start();
        let end = self.body_end()?;
        let have = self.pdu().len();
        if start > have {
            return Err(Error::Short { what: "request/response header", need: start, have });
        }
        if end < start {
            // The pad points into the header: tolerate as empty stub (seen from some stacks
            // with auth_pad_length > stub length); report via Err so callers can note it.
            return Err(Error::AuthPad { pad: u8_at(self.pdu(), end).unwrap_or(0), at: end });
        }
        Ok(self.pdu().get(start..end).unwrap_or(&[]))
    }
    /// `alloc_hint` of a request/response/fault.
    pub fn alloc_hint(&self) -> Option<u32> {
        match self.ptype() {
            PType::REQUEST | PType::RESPONSE | PType::FAULT => u32_at(self.pdu(), 16, self.le()),
            _ => None,
        }
    }
    /// `p_cont_id` of a request/response/fault.
    pub fn context_id(&self) -> Option<u16> {
        match self.ptype() {
            PType::REQUEST | PType::RESPONSE | PType::FAULT => u16_at(self.pdu(), 20, self.le()),
            _ => None,
        }
    }
    /// `opnum` of a request.
    pub fn opnum(&self) -> Option<u16> {
        (self.ptype() == PType::REQUEST).then(|| u16_at(self.pdu(), 22, self.le())).flatten()
    }
    /// Object UUID of a request with PFC_OBJECT_UUID.
    pub fn object(&self) -> Option<Uuid> {
        if self.ptype() == PType::REQUEST && self.flags() & flags::OBJECT_UUID != 0 {
            uuid_at(self.pdu(), 24, self.drep())
        } else {
            None
        }
    }
    /// Fault status.
    pub fn status(&self) -> Option<u32> {
        (self.ptype() == PType::FAULT).then(|| u32_at(self.pdu(), 24, self.le())).flatten()
    }
}

// ---- auth verifier -------------------------------------------------------------------------

/// Authentication service codes (`auth_type`, MS-RPCE 2.2.1.1.7).
pub mod auth_type {
    pub const NONE: u8 = 0;
    pub const KRB5_DCE: u8 = 1;
    pub const SPNEGO: u8 = 9;
    pub const NTLMSSP: u8 = 10;
    pub const KERBEROS: u8 = 16;
    pub const NETLOGON: u8 = 68;
    pub const DEFAULT: u8 = 0xff;

    pub fn name(t: u8) -> Option<&'static str> {
        Some(match t {
            0 => "none",
            1 => "krb5_dce",
            9 => "spnego",
            10 => "ntlmssp",
            14 => "schannel",
            16 => "kerberos",
            68 => "netlogon",
            0xff => "default",
            _ => return None,
        })
    }
}

/// Authentication levels (`auth_level`).
pub mod auth_level {
    pub fn name(l: u8) -> Option<&'static str> {
        Some(match l {
            0 => "default",
            1 => "none",
            2 => "connect",
            3 => "call",
            4 => "pkt",
            5 => "integrity",
            6 => "privacy",
            _ => return None,
        })
    }
    pub const PRIVACY: u8 = 6;
}

/// The auth verifier: `sec_trailer` plus credentials.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AuthVerifier {
    pub auth_type: u8,
    pub auth_level: u8,
    pub pad_len: u8,
    pub context_id: u32,
    pub value: Vec<u8>,
}

impl AuthVerifier {
    /// Parses the verifier whose `sec_trailer` starts at `at` in `pdu` (running to its end).
    pub fn parse(pdu: &[u8], at: usize, le: bool) -> Result<AuthVerifier, Error> {
        let short = || Error::Short {
            what: "sec_trailer",
            need: at.saturating_add(SEC_TRAILER_LEN),
            have: pdu.len(),
        };
        let t =
            pdu.get(at..at.checked_add(SEC_TRAILER_LEN).ok_or_else(short)?).ok_or_else(short)?;
        let &[auth_type, auth_level, pad_len, ..] = t else { return Err(short()) };
        Ok(AuthVerifier {
            auth_type,
            auth_level,
            pad_len,
            context_id: u32_at(t, 4, le).unwrap_or(0),
            value: pdu.get(at + SEC_TRAILER_LEN..).unwrap_or(&[]).to_vec(),
        })
    }
}

mod bind;
mod repr;
pub mod rts;
#[cfg(test)]
mod tests;

pub use bind::*;
pub use repr::*;

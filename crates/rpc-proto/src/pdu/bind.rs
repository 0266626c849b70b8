//! The bind family (bind, bind_ack, bind_nak, alter_context and its response): syntaxes,
//! presentation contexts and their results (C706 12.6.4.3–6).

use super::*;

// ---- owned representation ------------------------------------------------------------------

/// A syntax identifier: interface or transfer syntax UUID plus version (major.minor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Syntax {
    pub uuid: Uuid,
    pub ver_major: u16,
    pub ver_minor: u16,
}

impl Syntax {
    pub const NDR: Syntax = Syntax { uuid: NDR_SYNTAX, ver_major: 2, ver_minor: 0 };
    pub const NDR64: Syntax = Syntax { uuid: NDR64_SYNTAX, ver_major: 1, ver_minor: 0 };

    fn parse(b: &[u8], at: usize, drep: Drep) -> Option<Syntax> {
        Some(Syntax {
            uuid: uuid_at(b, at, drep)?,
            ver_major: u16_at(b, at + 16, drep.little_endian)?,
            ver_minor: u16_at(b, at + 18, drep.little_endian)?,
        })
    }
    fn emit(&self, v: &mut Vec<u8>, drep: Drep) {
        v.extend_from_slice(&self.uuid.to_ndr(drep));
        put16(v, self.ver_major, drep.little_endian);
        put16(v, self.ver_minor, drep.little_endian);
    }
    /// Is this the bind-time feature negotiation pseudo transfer syntax?
    pub fn is_btfn(&self) -> bool {
        self.uuid.0[..8] == BTFN_PREFIX
    }
    /// The feature bitmask of a bind-time feature negotiation syntax (MS-RPCE 2.2.2.14).
    pub fn btfn_bits(&self) -> Option<u64> {
        self.is_btfn().then(|| u64::from_le_bytes(self.uuid.0[8..16].try_into().unwrap_or([0; 8])))
    }
    /// A short name for transfer syntaxes: "ndr", "ndr64", "btfn", else the UUID.
    pub fn transfer_name(&self) -> std::borrow::Cow<'static, str> {
        if self.uuid == NDR_SYNTAX {
            "ndr".into()
        } else if self.uuid == NDR64_SYNTAX {
            "ndr64".into()
        } else if self.is_btfn() {
            "bind_time_feature_negotiation".into()
        } else {
            self.uuid.to_string().into()
        }
    }
}

/// One presentation context proposed in a bind / alter_context.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Context {
    pub id: u16,
    pub abstract_syntax: Syntax,
    pub transfer_syntaxes: Vec<Syntax>,
}

/// bind and alter_context body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group: u32,
    pub contexts: Vec<Context>,
}

impl Default for Bind {
    fn default() -> Self {
        Bind { max_xmit_frag: 5840, max_recv_frag: 5840, assoc_group: 0, contexts: Vec::new() }
    }
}

/// Result codes of a bind_ack's result list.
pub mod result {
    pub const ACCEPTANCE: u16 = 0;
    pub const USER_REJECTION: u16 = 1;
    pub const PROVIDER_REJECTION: u16 = 2;
    /// MS-RPCE: answer to bind-time feature negotiation; `reason` carries the feature bits.
    pub const NEGOTIATE_ACK: u16 = 3;
    pub fn name(r: u16) -> Option<&'static str> {
        Some(match r {
            0 => "acceptance",
            1 => "user_rejection",
            2 => "provider_rejection",
            3 => "negotiate_ack",
            _ => return None,
        })
    }
}

/// One entry of a bind_ack result list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CtxResult {
    pub result: u16,
    pub reason: u16,
    pub transfer_syntax: Syntax,
}

/// bind_ack and alter_context_resp body.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BindAck {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group: u32,
    /// Secondary address: the port (ncacn_ip_tcp) or pipe name (ncacn_np), without the NUL.
    /// Raw bytes (servers send ASCII; anything else stays visible lossily in [`Self::sec_addr_str`]).
    pub sec_addr: Vec<u8>,
    pub results: Vec<CtxResult>,
}

impl BindAck {
    pub fn sec_addr_str(&self) -> String {
        String::from_utf8_lossy(&self.sec_addr).into_owned()
    }
}

/// bind_nak body.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BindNak {
    pub reason: u16,
    /// Supported protocol versions (major, minor).
    pub versions: Vec<(u8, u8)>,
}
/// max_xmit_frag, max_recv_frag and assoc_group, which bind, alter_context and their answers
/// all carry after the common header (C706 12.6.4.3–4); `need` is the PDU's minimum length.
pub(super) fn assoc_header(
    p: &[u8],
    le: bool,
    what: &'static str,
    need: usize,
) -> Result<(u16, u16, u32), Error> {
    let short = || Error::Short { what, need, have: p.len() };
    Ok((
        u16_at(p, 16, le).ok_or_else(short)?,
        u16_at(p, 18, le).ok_or_else(short)?,
        u32_at(p, 20, le).ok_or_else(short)?,
    ))
}

pub(super) fn parse_bind(p: &[u8], drep: Drep) -> Result<Bind, Error> {
    let le = drep.little_endian;
    let s = |what| Error::Short { what, need: 28, have: p.len() };
    let (max_xmit_frag, max_recv_frag, assoc_group) = assoc_header(p, le, "bind header", 28)?;
    let mut b = Bind { max_xmit_frag, max_recv_frag, assoc_group, contexts: Vec::new() };
    let n = u8_at(p, 24).ok_or_else(|| s("p_context_elem"))?;
    let mut at = 28usize;
    for _ in 0..n {
        let f = field("p_cont_elem", at);
        let id = u16_at(p, at, le).ok_or_else(|| f("truncated context element"))?;
        let ntx = u8_at(p, at + 2).ok_or_else(|| f("truncated context element"))?;
        let abstract_syntax =
            Syntax::parse(p, at + 4, drep).ok_or_else(|| f("truncated abstract syntax"))?;
        at += 24;
        let mut transfer_syntaxes = Vec::with_capacity(ntx as usize);
        for _ in 0..ntx {
            transfer_syntaxes.push(
                Syntax::parse(p, at, drep)
                    .ok_or_else(|| field("transfer syntax", at)("truncated"))?,
            );
            at += 20;
        }
        b.contexts.push(Context { id, abstract_syntax, transfer_syntaxes });
    }
    Ok(b)
}

pub(super) fn emit_bind(v: &mut Vec<u8>, b: &Bind, le: bool, drep: Drep) {
    put16(v, b.max_xmit_frag, le);
    put16(v, b.max_recv_frag, le);
    put32(v, b.assoc_group, le);
    v.push(b.contexts.len().min(255) as u8);
    v.extend_from_slice(&[0, 0, 0]);
    for c in b.contexts.iter().take(255) {
        put16(v, c.id, le);
        v.push(c.transfer_syntaxes.len().min(255) as u8);
        v.push(0);
        c.abstract_syntax.emit(v, drep);
        for t in c.transfer_syntaxes.iter().take(255) {
            t.emit(v, drep);
        }
    }
}

pub(super) fn parse_bind_ack(p: &[u8], drep: Drep) -> Result<BindAck, Error> {
    let le = drep.little_endian;
    let s = |what| Error::Short { what, need: 26, have: p.len() };
    let (max_xmit_frag, max_recv_frag, assoc_group) = assoc_header(p, le, "bind_ack header", 26)?;
    let mut a = BindAck { max_xmit_frag, max_recv_frag, assoc_group, ..Default::default() };
    let alen = u16_at(p, 24, le).ok_or_else(|| s("sec_addr length"))? as usize;
    let addr = p.get(26..26 + alen).ok_or_else(|| field("sec_addr", 26)("length beyond PDU"))?;
    // The port_spec is NUL-terminated; some stacks omit the NUL (zeek trace
    // bind-ack-no-inband-null): take up to the first NUL.
    let end = addr.iter().position(|&c| c == 0).unwrap_or(addr.len());
    a.sec_addr = addr.get(..end).unwrap_or(addr).to_vec();
    // Result list is 4-byte aligned from the PDU start.
    let at = (26 + alen + 3) & !3;
    let n = u8_at(p, at).ok_or_else(|| field("p_result_list", at)("missing"))?;
    let mut at = at + 4;
    for _ in 0..n {
        let f = field("p_result", at);
        let result = u16_at(p, at, le).ok_or_else(|| f("truncated"))?;
        let reason = u16_at(p, at + 2, le).ok_or_else(|| f("truncated"))?;
        let transfer_syntax =
            Syntax::parse(p, at + 4, drep).ok_or_else(|| f("truncated transfer syntax"))?;
        a.results.push(CtxResult { result, reason, transfer_syntax });
        at += 24;
    }
    Ok(a)
}

pub(super) fn emit_bind_ack(v: &mut Vec<u8>, a: &BindAck, le: bool, drep: Drep) {
    put16(v, a.max_xmit_frag, le);
    put16(v, a.max_recv_frag, le);
    put32(v, a.assoc_group, le);
    let addr: &[u8] = a.sec_addr.get(..a.sec_addr.len().min(1024)).unwrap_or(&[]);
    if addr.is_empty() {
        put16(v, 0, le);
    } else {
        put16(v, addr.len() as u16 + 1, le);
        v.extend_from_slice(addr);
        v.push(0);
    }
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.push(a.results.len().min(255) as u8);
    v.extend_from_slice(&[0, 0, 0]);
    for r in a.results.iter().take(255) {
        put16(v, r.result, le);
        put16(v, r.reason, le);
        r.transfer_syntax.emit(v, drep);
    }
}

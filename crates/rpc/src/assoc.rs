//! One association (a TCP connection, or one named pipe FileId inside an SMB session): its
//! presentation contexts and auth, calls in flight matched by `call_id`, and each finished
//! call made into a [`Call`] record (see [`crate::calls`] for the format and the record).
//! Bind handling lives in [`bind`].

use rustc_hash::FxHashMap as HashMap;
use std::net::SocketAddr;

use tracehound_flows::Timestamp;

use crate::answers::{decode_answer, Answer};
use crate::auth;
use crate::calls::{
    auth_level_text, auth_type_text, fault_text, is_dcom_interface, status_text, Association, Call,
    InterfaceSource, Name, Out, Outcome, EPM_UUID,
};
use crate::ctx::Seg;
use crate::names::StatusClass;
use crate::ndr::Drep;
use crate::pdu::{self, auth_level, auth_type, flags, PType, Packet, Syntax};
use crate::status;
use crate::{epm, names, netlogon};

mod bind;

/// Request stub bytes kept for a Netlogon NetrServerAuthenticate* call (decoded for the
/// account and credential; the real ones are 100-300 bytes).
const MAX_NETLOGON_STUB: usize = 4096;

#[derive(Clone, Debug)]
struct Ctx {
    abstract_syntax: Syntax,
    /// The interface UUID as text, made once per context rather than once per call.
    uuid_text: String,
    /// "major.minor", likewise.
    version_text: String,
    transfer: Option<Syntax>,
    /// None until answered.
    accepted: Option<bool>,
}

#[derive(Debug, Clone)]
struct PendingBind {
    frame: u64,
    ts: Timestamp,
    src: SocketAddr,
    dst: SocketAddr,
    alter: bool,
    bytes: u64,
    contexts: Vec<pdu::Context>,
}

#[derive(Debug, Default)]
struct Half {
    frame: u64,
    last_frame: u64,
    ts: Timestamp,
    last_ts: Timestamp,
    bytes: u64,
    stub: Vec<u8>,
    truncated: bool,
    drep: Option<Drep>,
    encrypted: bool,
    complete: bool,
    /// The last (up to) 4 stub bytes seen, oldest first: `tail[4 - tail_len..]`.
    tail: [u8; 4],
    tail_len: u8,
}

impl Half {
    fn add(
        &mut self,
        stub: &[u8],
        frame: u64,
        ts: Timestamp,
        pdu_len: u64,
        keep: bool,
        max: usize,
    ) {
        if self.bytes == 0 {
            self.frame = frame;
            self.ts = ts;
        }
        self.last_frame = frame;
        self.last_ts = ts;
        self.bytes = self.bytes.saturating_add(pdu_len);
        for &b in stub.iter().rev().take(4).rev() {
            self.tail.rotate_left(1);
            self.tail[3] = b;
            self.tail_len = self.tail_len.saturating_add(1).min(4);
        }
        if keep {
            let room = max.saturating_sub(self.stub.len());
            if stub.len() > room {
                self.truncated = true;
            }
            self.stub.extend_from_slice(stub.get(..stub.len().min(room)).unwrap_or(stub));
        }
    }
}

#[derive(Debug)]
struct Pending {
    src: SocketAddr,
    dst: SocketAddr,
    ctx_id: u16,
    opnum: u16,
    req: Half,
    resp: Half,
    fault: Option<u32>,
    keep_stub: bool,
    /// Keep the request stub (Netlogon authentication: decoded for `netlogon`).
    keep_req: bool,
    /// The request carried an object UUID (an ORPC call on a DCOM object).
    object: bool,
    /// No bind seen: the interface the endpoint mapper handed this port out for.
    mapped: Option<Syntax>,
}

/// One association: binding state, auth and calls in flight.
#[derive(Debug, Default)]
pub(crate) struct Assoc {
    pub pipe: Option<String>,
    /// The conversation carrying the association.
    flow: Option<u64>,
    contexts: HashMap<u16, Ctx>,
    binds: HashMap<u32, PendingBind>,
    pending: HashMap<u32, Pending>,
    auth_type: Option<u8>,
    auth_level: Option<u8>,
    user: Option<String>,
    pub max_xmit_frag: Option<u16>,
    pub max_recv_frag: Option<u16>,
    pub assoc_group: Option<u32>,
    pub sec_addr: Option<String>,
    cap_noted: bool,
}

impl Assoc {
    pub fn new(pipe: Option<String>, flow: Option<u64>) -> Assoc {
        Assoc { pipe, flow, ..Default::default() }
    }

    fn note_cap(&mut self, out: &mut Out, seg: &Seg<'_>, what: &str) {
        if !self.cap_noted {
            self.cap_noted = true;
            out.issue_at(
                seg,
                format!("limit reached: {what} (further hits on this association only counted)"),
            );
        }
    }

    /// Takes one complete PDU (exactly `frag_length` bytes, header already checked), read
    /// in `seg`.
    pub fn pdu(&mut self, out: &mut Out, bytes: &[u8], seg: &Seg<'_>) {
        out.stats.pdus += 1;
        out.stats.pdu_bytes += bytes.len() as u64;
        let pkt = match Packet::new_checked(bytes) {
            Ok(p) => p,
            Err(e) => {
                out.stats.malformed_pdus += 1;
                out.issue_at(seg, format!("malformed DCE/RPC PDU: {e}"));
                return;
            }
        };
        if let Some(av) = pkt.auth() {
            self.auth_type = Some(av.auth_type);
            self.auth_level = Some(av.auth_level);
            if av.auth_type == auth_type::NTLMSSP || av.auth_type == auth_type::SPNEGO {
                match auth::user_from_auth_value(&av.value) {
                    Some(Ok(a)) => self.user = Some(a.display()),
                    Some(Err(e)) => {
                        out.issue_at(seg, format!("NTLMSSP AUTHENTICATE in {}: {e}", pkt.ptype()))
                    }
                    None => {}
                }
            }
        }
        let len = bytes.len() as u64;
        match pkt.ptype() {
            PType::REQUEST => self.request(out, &pkt, seg, len),
            PType::RESPONSE | PType::FAULT => self.response(out, &pkt, seg, len),
            PType::BIND
            | PType::ALTER_CONTEXT
            | PType::BIND_ACK
            | PType::ALTER_CONTEXT_RESP
            | PType::BIND_NAK => match pdu::Repr::from_packet(&pkt) {
                Ok(r) => self.binding(out, r, seg, len),
                Err(e) => {
                    out.stats.malformed_pdus += 1;
                    out.issue_at(seg, format!("malformed {}: {e}", pkt.ptype()));
                }
            },
            _ => {}
        }
    }
}

impl Assoc {
    fn keep_stub(&self, ctx_id: u16) -> bool {
        self.contexts.get(&ctx_id).is_some_and(|c| {
            c.abstract_syntax.uuid == EPM_UUID || is_dcom_interface(&c.abstract_syntax.uuid)
        })
    }

    /// A request PDU of `len` bytes.
    fn request(&mut self, out: &mut Out, pkt: &Packet<&[u8]>, seg: &Seg<'_>, len: u64) {
        let (src, dst, frame, ts) = (seg.src(), seg.dst(), seg.frame, seg.ts);
        let call_id = pkt.call_id();
        let stub = match pkt.stub() {
            Ok(s) => s,
            Err(e) => {
                out.stats.malformed_pdus += 1;
                out.issue_at(seg, format!("request call_id {call_id}: {e}"));
                &[]
            }
        };
        let encrypted = pkt.auth().is_some_and(|a| a.auth_level == auth_level::PRIVACY);
        let first = pkt.first_frag() || !self.pending.contains_key(&call_id);
        if first {
            if let Some(old) = self.pending.remove(&call_id) {
                // A new call reusing the id: the old one was never answered.
                self.finish_call(out, old);
            }
            if self.pending.len() >= out.limits.max_pending {
                out.stats.pending_dropped += 1;
                self.note_cap(out, seg, "calls in flight");
                return;
            }
            let ctx_id = pkt.context_id().unwrap_or(0);
            let opnum = pkt.opnum().unwrap_or(0);
            let mapped = if self.contexts.contains_key(&ctx_id) || self.pipe.is_some() {
                None
            } else {
                out.port_ifaces.get(&(dst.ip(), dst.port())).copied().flatten()
            };
            let syn = self.contexts.get(&ctx_id).map(|c| c.abstract_syntax).or(mapped);
            let p = Pending {
                src,
                dst,
                ctx_id,
                opnum,
                req: Half { drep: Some(pkt.drep()), ..Default::default() },
                resp: Half::default(),
                fault: None,
                keep_stub: self.keep_stub(ctx_id),
                keep_req: syn.is_some_and(|s| {
                    s.uuid == netlogon::NETLOGON_UUID && netlogon::is_authenticate(opnum)
                }),
                object: pkt.flags() & flags::OBJECT_UUID != 0,
                mapped,
            };
            self.pending.insert(call_id, p);
        }
        if let Some(p) = self.pending.get_mut(&call_id) {
            // A Netlogon authentication request is a few hundred bytes: keep at most
            // MAX_NETLOGON_STUB of it (a longer one is marked truncated and not decoded).
            let max = if p.keep_stub { out.limits.max_stub } else { MAX_NETLOGON_STUB };
            p.req.add(stub, frame, ts, len, (p.keep_stub || p.keep_req) && !encrypted, max);
            p.req.encrypted |= encrypted;
            if pkt.last_frag() {
                p.req.complete = true;
            }
            if pkt.flags() & flags::MAYBE != 0 && pkt.last_frag() {
                // "maybe" calls get no response.
                if let Some(p) = self.pending.remove(&call_id) {
                    self.finish_call(out, p);
                }
            }
        }
    }

    /// A response or fault PDU of `len` bytes.
    fn response(&mut self, out: &mut Out, pkt: &Packet<&[u8]>, seg: &Seg<'_>, len: u64) {
        let (frame, ts) = (seg.frame, seg.ts);
        let call_id = pkt.call_id();
        let Some(p) = self.pending.get_mut(&call_id) else {
            out.stats.responses_without_request += 1;
            if pkt.ptype() == PType::FAULT {
                // A fault without its request (capture started mid-call, or a fault to a bind
                // or auth3): keep it visible.
                out.stats.faults += 1;
                out.issue_at(
                    seg,
                    format!(
                        "fault {} (call_id {call_id}) without a request seen",
                        status_text(pkt.status().unwrap_or(0))
                    ),
                );
            }
            return;
        };
        let encrypted = pkt.auth().is_some_and(|a| a.auth_level == auth_level::PRIVACY);
        let max = out.limits.max_stub;
        if p.resp.bytes == 0 {
            p.resp.drep = Some(pkt.drep());
        }
        if pkt.ptype() == PType::FAULT {
            p.fault = Some(pkt.status().unwrap_or(0));
            p.resp.add(&[], frame, ts, len, false, max);
            p.resp.complete = true;
        } else {
            let stub = match pkt.stub() {
                Ok(s) => s,
                Err(e) => {
                    out.stats.malformed_pdus += 1;
                    out.issue_at(seg, format!("response call_id {call_id}: {e}"));
                    &[]
                }
            };
            p.resp.add(stub, frame, ts, len, p.keep_stub && !encrypted, max);
            p.resp.encrypted |= encrypted;
            if pkt.last_frag() {
                p.resp.complete = true;
            }
        }
        if p.resp.complete {
            if let Some(p) = self.pending.remove(&call_id) {
                self.finish_call(out, p);
            }
        }
    }

    /// The negotiated association parameters, when a bind or bind_ack was seen.
    fn association(&self) -> Option<Association> {
        (self.max_xmit_frag.is_some() || self.assoc_group.is_some()).then_some(Association {
            max_xmit_frag: self.max_xmit_frag,
            max_recv_frag: self.max_recv_frag,
            assoc_group: self.assoc_group,
        })
    }

    fn finish_call(&self, out: &mut Out, p: Pending) {
        let ctx = self.contexts.get(&p.ctx_id);
        let (syn, source) = match (ctx, p.mapped) {
            (Some(c), _) => (Some(c.abstract_syntax), Some(InterfaceSource::Bind)),
            (None, Some(m)) => (Some(m), Some(InterfaceSource::EndpointMap)),
            (None, None) => (None, None),
        };
        let answered = p.resp.bytes > 0;
        let outcome = match (answered, p.fault) {
            (false, _) => Outcome::NoResponse,
            (true, Some(_)) => Outcome::Fault,
            (true, None) => Outcome::Ok,
        };
        let mut call = Call {
            flow: self.flow,
            pipe: self.pipe.clone(),
            uuid: match ctx {
                Some(c) => Some(c.uuid_text.clone()),
                None => syn.map(|s| s.uuid.to_string()),
            },
            version: match ctx {
                Some(c) => Some(c.version_text.clone()),
                None => syn.map(|s| format!("{}.{}", s.ver_major, s.ver_minor)),
            },
            interface: syn
                .and_then(|s| names::interface_name(&s.uuid, s.ver_major))
                .map(Name::Borrowed),
            interface_source: source,
            opnum: Some(p.opnum),
            operation: syn.and_then(|s| names::opnum_name(&s.uuid, p.opnum)).map(Name::Borrowed),
            status: p.fault.map(fault_text),
            status_code: p.fault,
            rtt: answered.then(|| p.resp.last_ts.secs_since(p.req.ts)),
            request_bytes: p.req.bytes,
            response_bytes: p.resp.bytes,
            response_frame: answered.then_some(p.resp.last_frame),
            auth_type: self.auth_type.map(auth_type_text),
            auth_level: self.auth_level.map(auth_level_text),
            user: self.user.clone(),
            truncated: p.req.truncated || p.resp.truncated,
            encrypted: p.req.encrypted || p.resp.encrypted,
            transfer_syntax: ctx.and_then(|c| c.transfer).map(|t| t.transfer_name()),
            association: self.association(),
            ..Call::new(p.req.ts, p.req.frame, p.src, p.dst, outcome)
        };
        if p.fault.is_some() {
            out.stats.faults += 1;
        }
        if call.truncated {
            out.stats.truncated_stubs += 1;
        }
        if call.encrypted {
            out.stats.encrypted_stubs += 1;
        }
        match source {
            None => out.stats.interfaces_unknown += 1,
            Some(InterfaceSource::EndpointMap) => out.stats.interfaces_from_endpoint_map += 1,
            _ => {}
        }
        if let (true, false, None, 4) = (p.resp.complete, call.encrypted, p.fault, p.resp.tail_len)
        {
            let le = p.resp.drep.unwrap_or_default().little_endian;
            let rc =
                if le { u32::from_le_bytes(p.resp.tail) } else { u32::from_be_bytes(p.resp.tail) };
            judge_return(&mut call, syn.as_ref(), p.opnum, p.object, rc);
        }
        if let (Some(s), true, false) = (syn, p.req.complete, p.req.encrypted) {
            let ndr64 = ctx.and_then(|c| c.transfer).is_some_and(|t| t.uuid == pdu::NDR64_SYNTAX);
            decode_request(out, &p, s, ndr64, &mut call);
        }
        if let (Some(s), true, false, None) = (syn, p.resp.complete, call.encrypted, p.fault) {
            self.decode_stubs(out, &p, s, &mut call);
        }
        if call.outcome == Outcome::Error {
            out.stats.errors += 1;
        }
        out.push_call(call);
    }

    fn decode_stubs(&self, out: &mut Out, p: &Pending, syn: Syntax, call: &mut Call) {
        let drep = p.resp.drep.unwrap_or_default();
        let answer = Answer {
            iface: &syn.uuid,
            opnum: p.opnum,
            drep,
            stub: &p.resp.stub,
            client: p.src,
            server: p.dst,
            ts: p.resp.last_ts,
        };
        decode_answer(out, &answer, call);
    }

    /// Ends the association: unanswered calls become `no_response`, unanswered binds too.
    pub fn finish(&mut self, out: &mut Out) {
        let mut pend: Vec<(u32, Pending)> = self.pending.drain().collect();
        pend.sort_by_key(|(_, p)| p.req.frame);
        for (_, p) in pend {
            self.finish_call(out, p);
        }
        let mut binds: Vec<(u32, PendingBind)> = self.binds.drain().collect();
        binds.sort_by_key(|(_, b)| b.frame);
        for (_, b) in binds {
            self.bind_failed(out, b, Outcome::NoResponse, None, 0, None);
        }
    }
}

/// Sets `return_code`, and judges it in the operation's status space: a failing status makes
/// the outcome `error`; a non-zero status that is not a failure is named in `status` only.
fn judge_return(call: &mut Call, syn: Option<&Syntax>, opnum: u16, object: bool, rc: u32) {
    call.return_code = Some(rc);
    let Some(j) = status::judge(syn, opnum, object, rc) else {
        return;
    };
    call.status_space = Some(j.space);
    if j.class == StatusClass::Success {
        return;
    }
    call.status = Some(j.name.map(str::to_string).unwrap_or_else(|| format!("0x{rc:08x}")));
    call.status_code = Some(rc);
    if j.class == StatusClass::Error {
        call.outcome = Outcome::Error;
    }
}

/// Decodes the request stubs kept: what an `ept_map` asked for, Netlogon authentication.
fn decode_request(out: &mut Out, p: &Pending, s: Syntax, ndr64: bool, call: &mut Call) {
    let drep = p.req.drep.unwrap_or_default();
    if s.uuid == EPM_UUID && p.opnum == 3 {
        if let Ok(epm::EpmRequest::Map { tower: Some(t), .. }) =
            epm::decode_request(3, drep, &p.req.stub)
        {
            if let Some((u, major, minor)) = t.interface() {
                call.epm_asked = Some(format!("{u} v{major}.{minor}"));
                call.epm_asked_interface = names::interface_name(&u, major).map(str::to_string);
            }
        }
    } else if p.keep_req && !p.req.truncated {
        match netlogon::decode_authenticate(p.opnum, drep, ndr64, &p.req.stub) {
            Ok(a) => call.netlogon = Some(Box::new(a)),
            Err(e) => {
                out.stats.stub_decode_errors += 1;
                out.issue(
                    call.frame,
                    p.src,
                    p.dst,
                    format!("netlogon request stub (opnum {}): {e}", p.opnum),
                );
            }
        }
    }
}

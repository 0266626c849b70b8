//! Association state and call matching (C706 §12.4, MS-RPCE §3.3).
//!
//! One [`Assoc`] per connection-oriented association (a TCP connection, or one named pipe
//! FileId inside an SMB session) takes whole PDUs in arrival order:
//! - bind / alter_context propose presentation contexts (id -> abstract syntax + transfer
//!   syntaxes); bind_ack / alter_context_resp answer each with a result (acceptance, user or
//!   provider rejection with a reason, or negotiate_ack for bind-time feature negotiation);
//!   bind_nak refuses the whole bind with a reason.
//! - request fragments (PFC_FIRST_FRAG .. PFC_LAST_FRAG) of one call share its `call_id`;
//!   the response or fault with the same `call_id` answers it.
//! - the auth verifier (bind, alter_context, auth3, requests) gives the auth type and level;
//!   an NTLMSSP AUTHENTICATE names the user.
//!
//! Each request yields one [`Call`] (the stable JSON record) when answered, or at the end
//! with outcome `no_response`. Failed binds (bind_nak, every context for an interface
//! rejected, no answer) are logged as calls too, with `opnum: null`.

use rustc_hash::FxHashMap as HashMap;
use std::net::SocketAddr;

use serde::Serialize;
use tracehound_flows::Timestamp;

use crate::auth;
use crate::ndr::Drep;
use crate::pdu::{self, auth_level, auth_type, flags, Body, PType, Packet, Syntax};
use crate::uuid::Uuid;
use crate::{dcom, epm, names};

/// The endpoint mapper interface.
pub const EPM_UUID: Uuid = Uuid::from_str_const("e1af8308-5d1f-11c9-91a4-08002b14a0fa");

/// Limits for one analyzer run. Hitting one is counted in [`RpcStats`] and reported as an
/// [`Issue`] (once per connection).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Stub bytes kept per call and direction (for EPM/DCOM decoding).
    pub max_stub: usize,
    /// Calls in flight per association.
    pub max_pending: usize,
    /// Presentation contexts per association.
    pub max_contexts: usize,
    /// Completed calls held until [`crate::RpcAnalyzer::take_calls`].
    pub max_queued_calls: usize,
    /// Issues kept.
    pub max_issues: usize,
    /// Handed-out endpoints kept.
    pub max_endpoints: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stub: 4 << 20,
            max_pending: 1024,
            max_contexts: 256,
            max_queued_calls: 100_000,
            max_issues: 1000,
            max_endpoints: 100_000,
        }
    }
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Fault,
    BindNak,
    Rejected,
    NoResponse,
}

/// An endpoint handed out in an answer, as listed in [`Call::endpoints`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Endpoint {
    pub binding: String,
    pub protocol: Option<String>,
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipe: Option<String>,
    pub uuid: Option<String>,
}

/// A 32-bit code as "0x" and 8 hex digits.
fn hex32<S: serde::Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(&format_args!("0x{v:08x}")),
        None => s.serialize_none(),
    }
}

/// A name from the data tables (borrowed, no copy per call), or a number made into text.
pub use tracehound_flows::Text as Name;

/// One DCE/RPC call (or failed bind). Field names are the stable JSON.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    /// Time of the request (seconds since the epoch).
    pub ts: f64,
    /// Frame in which the (first fragment of the) request completed.
    pub frame: u64,
    /// The conversation (flows engine id) that carried the call; not in JSON.
    #[serde(skip)]
    pub flow: Option<u64>,
    /// Client address (a string in JSON).
    pub src: std::net::IpAddr,
    pub sport: u16,
    /// Server address (a string in JSON).
    pub dst: std::net::IpAddr,
    pub dport: u16,
    /// Named pipe, when the call went over SMB.
    pub pipe: Option<String>,
    /// Interface UUID (null when the bind was not seen).
    pub uuid: Option<String>,
    /// Interface version "major.minor".
    pub version: Option<String>,
    pub interface: Option<Name>,
    /// Operation number (null for a failed bind).
    pub opnum: Option<u16>,
    pub operation: Option<Name>,
    pub outcome: Outcome,
    /// Fault status, bind_nak / provider reason, or EPM status: name, else "0x...".
    pub status: Option<String>,
    /// The numeric status behind `status` (fault status, HRESULT, EPM status, reason code).
    pub status_code: Option<u32>,
    /// The last 4 bytes of a complete, unencrypted response stub, as hex: where nearly every
    /// MS-RPC method returns its NTSTATUS / WERROR / HRESULT. A non-zero value with a known
    /// status name also fills `status` (the outcome stays "ok": the call was answered).
    /// In JSON: "0x" and 8 hex digits.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex32")]
    pub return_code: Option<u32>,
    /// Request to (last fragment of the) response, seconds.
    pub rtt: Option<f64>,
    /// PDU bytes of all request fragments.
    pub request_bytes: u64,
    /// PDU bytes of all response (or fault) fragments.
    pub response_bytes: u64,
    pub response_frame: Option<u64>,
    pub auth_type: Option<Name>,
    pub auth_level: Option<Name>,
    /// NTLM `domain\user` when an AUTHENTICATE was seen on the association.
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epm_status: Option<String>,
    /// ept_map: the interface the client asked for ("uuid vMAJOR.MINOR"), and its name. Known
    /// even when the answer has no towers (EPT_S_NOT_REGISTERED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epm_asked: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epm_asked_interface: Option<String>,
    /// A stub was longer than the cap: decoding used only its start.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Privacy auth level: the stub is encrypted and was not decoded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// The transfer syntax negotiated for the context ("ndr", "ndr64", ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_syntax: Option<Name>,
    /// What the bind / bind_ack of the association negotiated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub association: Option<Association>,
}

/// Association parameters from the bind and bind_ack (C706 12.6.4.3/4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Association {
    pub max_xmit_frag: Option<u16>,
    pub max_recv_frag: Option<u16>,
    pub assoc_group: Option<u32>,
}

/// An endpoint handed out by a server (EPM tower, DCOM string binding, bind_ack secondary
/// address), with who asked whom. Input to [`crate::endpoints::follow_up`].
#[derive(Clone, Debug, Serialize)]
pub struct HandedOut {
    pub binding: String,
    pub protocol: Option<String>,
    /// Address in the answer ("0.0.0.0" means the host that was asked).
    pub address: Option<String>,
    pub port: Option<u16>,
    pub pipe: Option<String>,
    pub uuid: Option<String>,
    /// "epm", "dcom" or "bind_ack".
    pub source: &'static str,
    /// The request frame of the call that handed it out.
    pub frame: u64,
    pub response_frame: u64,
    #[serde(skip)]
    pub ts: Timestamp,
    pub interface: Option<String>,
    pub operation: Option<String>,
    /// The client that asked, and the server it asked.
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// Something in the traffic that could not be decoded as expected.
#[derive(Clone, Debug, Serialize)]
pub struct Issue {
    pub frame: u64,
    pub src: String,
    pub dst: String,
    pub what: String,
}

/// Counters for one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RpcStats {
    pub tcp_connections_rpc: u64,
    pub pdus: u64,
    pub pdu_bytes: u64,
    pub malformed_pdus: u64,
    pub calls: u64,
    pub faults: u64,
    pub binds: u64,
    pub bind_naks: u64,
    pub resyncs: u64,
    pub gaps: u64,
    pub buffer_overflows: u64,
    pub responses_without_request: u64,
    pub truncated_stubs: u64,
    pub encrypted_stubs: u64,
    pub pending_dropped: u64,
    pub calls_dropped: u64,
    pub endpoints_dropped: u64,
    pub stub_decode_errors: u64,
    pub smb_connections: u64,
    pub smb_messages: u64,
    pub smb_pipes: u64,
    /// Pipes whose first bytes were not DCE/RPC (not followed).
    pub smb_non_rpc_pipes: u64,
    pub smb1_messages: u64,
    pub smb_encrypted: u64,
    pub smb_errors: u64,
    pub cl_pdus: u64,
    pub cl_malformed: u64,
}

/// The result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct RpcReport {
    pub calls: Vec<Call>,
    pub endpoints: Vec<HandedOut>,
    pub issues: Vec<Issue>,
    pub issues_dropped: u64,
    pub stats: RpcStats,
}

/// Shared output of all associations.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub limits: Limits,
    pub calls: Vec<Call>,
    pub endpoints: Vec<HandedOut>,
    /// (address, port) of every TCP/UDP endpoint handed out, the address of the server asked
    /// when the answer said 0.0.0.0 or named a host (bounded like `endpoints`).
    /// Addresses come from the capture (hostile input): the standard, keyed hasher.
    pub targets: std::collections::HashSet<(std::net::IpAddr, u16)>,
    pub issues: Vec<Issue>,
    pub issues_dropped: u64,
    pub stats: RpcStats,
}

impl Out {
    pub fn new(limits: Limits) -> Out {
        Out { limits, ..Default::default() }
    }
    pub fn issue(&mut self, frame: u64, src: SocketAddr, dst: SocketAddr, what: String) {
        if self.issues.len() >= self.limits.max_issues {
            self.issues_dropped += 1;
        } else {
            self.issues.push(Issue { frame, src: src.to_string(), dst: dst.to_string(), what });
        }
    }
    pub(crate) fn push_call(&mut self, c: Call) {
        self.stats.calls += 1;
        if self.calls.len() >= self.limits.max_queued_calls {
            self.stats.calls_dropped += 1;
        } else {
            self.calls.push(c);
        }
    }
    fn push_endpoint(&mut self, h: HandedOut) {
        if self.endpoints.len() >= self.limits.max_endpoints {
            self.stats.endpoints_dropped += 1;
        } else {
            if let Some(port) = h.port {
                let named = h.address.as_deref().and_then(|a| a.parse::<std::net::IpAddr>().ok());
                let addr = named.filter(|a| !a.is_unspecified()).unwrap_or(h.server.ip());
                self.targets.insert((addr, port));
            }
            self.endpoints.push(h);
        }
    }
}

/// Status code as text: its name, else hex.
pub fn status_text(code: u32) -> String {
    names::status_name(code).map(str::to_string).unwrap_or_else(|| format!("0x{code:08x}"))
}

pub(crate) fn auth_type_text(t: u8) -> Name {
    auth_type::name(t).map(Name::Borrowed).unwrap_or_else(|| Name::Owned(t.to_string()))
}
fn auth_level_text(l: u8) -> Name {
    auth_level::name(l).map(Name::Borrowed).unwrap_or_else(|| Name::Owned(l.to_string()))
}

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

#[derive(Debug)]
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
    /// The last (up to) 4 stub bytes seen, oldest first.
    tail: Vec<u8>,
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
        self.tail.extend_from_slice(&stub[stub.len().saturating_sub(4)..]);
        let extra = self.tail.len().saturating_sub(4);
        self.tail.drain(..extra);
        if keep {
            let room = max.saturating_sub(self.stub.len());
            if stub.len() > room {
                self.truncated = true;
            }
            self.stub.extend_from_slice(&stub[..stub.len().min(room)]);
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

    fn note_cap(
        &mut self,
        out: &mut Out,
        frame: u64,
        src: SocketAddr,
        dst: SocketAddr,
        what: &str,
    ) {
        if !self.cap_noted {
            self.cap_noted = true;
            out.issue(
                frame,
                src,
                dst,
                format!("limit reached: {what} (further hits on this association only counted)"),
            );
        }
    }

    /// Takes one complete PDU (exactly `frag_length` bytes, header already checked).
    pub fn pdu(
        &mut self,
        out: &mut Out,
        bytes: &[u8],
        src: SocketAddr,
        dst: SocketAddr,
        frame: u64,
        ts: Timestamp,
    ) {
        out.stats.pdus += 1;
        out.stats.pdu_bytes += bytes.len() as u64;
        let pkt = match Packet::new_checked(bytes) {
            Ok(p) => p,
            Err(e) => {
                out.stats.malformed_pdus += 1;
                out.issue(frame, src, dst, format!("malformed DCE/RPC PDU: {e}"));
                return;
            }
        };
        if let Some(av) = pkt.auth() {
            self.auth_type = Some(av.auth_type);
            self.auth_level = Some(av.auth_level);
            if av.auth_type == auth_type::NTLMSSP || av.auth_type == auth_type::SPNEGO {
                match auth::user_from_auth_value(&av.value) {
                    Some(Ok(a)) => self.user = Some(a.display()),
                    Some(Err(e)) => out.issue(
                        frame,
                        src,
                        dst,
                        format!("NTLMSSP AUTHENTICATE in {}: {e}", pkt.ptype()),
                    ),
                    None => {}
                }
            }
        }
        let len = bytes.len() as u64;
        match pkt.ptype() {
            PType::REQUEST => self.request(out, &pkt, src, dst, frame, ts, len),
            PType::RESPONSE | PType::FAULT => self.response(out, &pkt, src, dst, frame, ts, len),
            PType::BIND
            | PType::ALTER_CONTEXT
            | PType::BIND_ACK
            | PType::ALTER_CONTEXT_RESP
            | PType::BIND_NAK => match pdu::Repr::from_packet(&pkt) {
                Ok(r) => self.binding(out, r, src, dst, frame, ts, len),
                Err(e) => {
                    out.stats.malformed_pdus += 1;
                    out.issue(frame, src, dst, format!("malformed {}: {e}", pkt.ptype()));
                }
            },
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn binding(
        &mut self,
        out: &mut Out,
        r: pdu::Repr,
        src: SocketAddr,
        dst: SocketAddr,
        frame: u64,
        ts: Timestamp,
        len: u64,
    ) {
        let ptype = r.ptype();
        let call_id = r.call_id;
        match r.body {
            Body::Bind(b) | Body::AlterContext(b) => {
                out.stats.binds += 1;
                let alter = ptype == PType::ALTER_CONTEXT;
                if !alter {
                    self.max_xmit_frag = Some(b.max_xmit_frag);
                    self.max_recv_frag = Some(b.max_recv_frag);
                }
                for c in &b.contexts {
                    if self.contexts.len() >= out.limits.max_contexts
                        && !self.contexts.contains_key(&c.id)
                    {
                        self.note_cap(out, frame, src, dst, "presentation contexts");
                        break;
                    }
                    self.contexts.insert(
                        c.id,
                        Ctx {
                            abstract_syntax: c.abstract_syntax,
                            uuid_text: c.abstract_syntax.uuid.to_string(),
                            version_text: format!(
                                "{}.{}",
                                c.abstract_syntax.ver_major, c.abstract_syntax.ver_minor
                            ),
                            transfer: c.transfer_syntaxes.first().copied(),
                            accepted: None,
                        },
                    );
                }
                if self.binds.len() >= 64 {
                    self.note_cap(out, frame, src, dst, "binds in flight");
                    return;
                }
                if let Some(old) = self.binds.insert(
                    call_id,
                    PendingBind { frame, ts, src, dst, alter, bytes: len, contexts: b.contexts },
                ) {
                    self.bind_failed(out, old, Outcome::NoResponse, None, 0, None);
                }
            }
            Body::BindAck(a) | Body::AlterContextResp(a) => {
                // Match by call_id; a lone pending bind also takes an answer with another id.
                let key = if self.binds.contains_key(&call_id) || self.binds.len() != 1 {
                    call_id
                } else {
                    self.binds.keys().next().copied().unwrap_or(call_id)
                };
                let pb = self.binds.remove(&key);
                if ptype == PType::BIND_ACK {
                    self.max_xmit_frag = Some(a.max_xmit_frag);
                    self.max_recv_frag = Some(a.max_recv_frag);
                    self.assoc_group = Some(a.assoc_group);
                }
                let Some(pb) = pb else { return };
                if !a.sec_addr.is_empty() {
                    let sec = a.sec_addr_str();
                    self.sec_addr = Some(sec.clone());
                    let (port, pipe) = match sec.parse::<u16>() {
                        Ok(p) => (Some(p), None),
                        Err(_) => (None, Some(sec.clone())),
                    };
                    let (protocol, binding) = match (port, &pipe) {
                        (Some(p), _) => {
                            ("ncacn_ip_tcp", format!("ncacn_ip_tcp:{}[{p}]", pb.dst.ip()))
                        }
                        (None, Some(n)) => ("ncacn_np", format!("ncacn_np:{}[{n}]", pb.dst.ip())),
                        _ => ("", String::new()),
                    };
                    let first = pb.contexts.first().map(|c| c.abstract_syntax);
                    out.push_endpoint(HandedOut {
                        binding,
                        protocol: Some(protocol.into()),
                        address: Some(pb.dst.ip().to_string()),
                        port,
                        pipe,
                        uuid: first.map(|s| s.uuid.to_string()),
                        source: "bind_ack",
                        frame: pb.frame,
                        response_frame: frame,
                        ts,
                        interface: first
                            .and_then(|s| names::interface_name(&s.uuid, s.ver_major))
                            .map(str::to_string),
                        operation: Some(if pb.alter { "alter_context" } else { "bind" }.into()),
                        client: pb.src,
                        server: pb.dst,
                    });
                }
                // Per interface: rejected only when every one of its contexts got a
                // non-acceptance result (a missing result is not a rejection).
                let mut by_iface: Vec<(Syntax, bool, Option<u16>)> = Vec::new();
                for (i, c) in pb.contexts.iter().enumerate() {
                    let res = a.results.get(i);
                    let is_btfn = c.transfer_syntaxes.iter().any(|t| t.is_btfn());
                    let accepted = res.map(|x| x.result == pdu::result::ACCEPTANCE);
                    if let Some(ctx) = self.contexts.get_mut(&c.id) {
                        ctx.accepted = accepted;
                        if let Some(x) = res.filter(|x| x.result == pdu::result::ACCEPTANCE) {
                            ctx.transfer = Some(x.transfer_syntax);
                        }
                    }
                    if is_btfn {
                        continue;
                    }
                    let reason =
                        res.filter(|x| x.result != pdu::result::ACCEPTANCE).map(|x| x.reason);
                    match by_iface.iter_mut().find(|(s, _, _)| *s == c.abstract_syntax) {
                        Some(e) => {
                            e.1 |= accepted != Some(false);
                            if e.2.is_none() {
                                e.2 = reason;
                            }
                        }
                        None => by_iface.push((c.abstract_syntax, accepted != Some(false), reason)),
                    }
                }
                for (syn, ok, reason) in by_iface {
                    if !ok {
                        let status = reason.map(|r| {
                            (
                                names::provider_reason(r)
                                    .map(str::to_string)
                                    .unwrap_or_else(|| format!("0x{r:04x}")),
                                u32::from(r),
                            )
                        });
                        self.bind_failed(
                            out,
                            pb_clone(&pb),
                            Outcome::Rejected,
                            status,
                            len,
                            Some((frame, ts, syn)),
                        );
                    }
                }
            }
            Body::BindNak(n) => {
                out.stats.bind_naks += 1;
                let key = if self.binds.contains_key(&call_id) {
                    Some(call_id)
                } else {
                    self.binds.keys().next().copied()
                };
                if let Some(pb) = key.and_then(|k| self.binds.remove(&k)) {
                    let status = (
                        names::bind_nak_reason(n.reason)
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("0x{:04x}", n.reason)),
                        u32::from(n.reason),
                    );
                    let syn = pb
                        .contexts
                        .iter()
                        .find(|c| !c.transfer_syntaxes.iter().any(|t| t.is_btfn()))
                        .map(|c| c.abstract_syntax);
                    match syn {
                        Some(s) => self.bind_failed(
                            out,
                            pb,
                            Outcome::BindNak,
                            Some(status),
                            len,
                            Some((frame, ts, s)),
                        ),
                        None => {
                            self.bind_failed(out, pb, Outcome::BindNak, Some(status), len, None)
                        }
                    }
                } else {
                    out.issue(
                        frame,
                        src,
                        dst,
                        format!("bind_nak (reason {}) without a bind", n.reason),
                    );
                }
            }
            _ => {}
        }
    }

    /// Logs a failed bind as a call with `opnum: null`.
    fn bind_failed(
        &self,
        out: &mut Out,
        pb: PendingBind,
        outcome: Outcome,
        status: Option<(String, u32)>,
        resp_len: u64,
        resp: Option<(u64, Timestamp, Syntax)>,
    ) {
        let syn = resp.map(|r| r.2).or_else(|| pb.contexts.first().map(|c| c.abstract_syntax));
        let call = Call {
            ts: pb.ts.as_secs_f64(),
            frame: pb.frame,
            flow: self.flow,
            src: pb.src.ip(),
            sport: pb.src.port(),
            dst: pb.dst.ip(),
            dport: pb.dst.port(),
            pipe: self.pipe.clone(),
            uuid: syn.map(|s| s.uuid.to_string()),
            version: syn.map(|s| format!("{}.{}", s.ver_major, s.ver_minor)),
            interface: syn
                .and_then(|s| names::interface_name(&s.uuid, s.ver_major))
                .map(Name::Borrowed),
            opnum: None,
            operation: Some(if pb.alter { "alter_context" } else { "bind" }.into()),
            outcome,
            status_code: status.as_ref().map(|s| s.1),
            return_code: None,
            status: status.map(|s| s.0),
            rtt: resp.map(|r| r.1.secs_since(pb.ts)),
            request_bytes: pb.bytes,
            response_bytes: resp_len,
            response_frame: resp.map(|r| r.0),
            auth_type: self.auth_type.map(auth_type_text),
            auth_level: self.auth_level.map(auth_level_text),
            user: self.user.clone(),
            endpoints: Vec::new(),
            epm_status: None,
            epm_asked: None,
            epm_asked_interface: None,
            truncated: false,
            encrypted: false,
            transfer_syntax: None,
            association: self.association(),
        };
        out.push_call(call);
    }

    fn keep_stub(&self, ctx_id: u16) -> bool {
        self.contexts.get(&ctx_id).is_some_and(|c| {
            c.abstract_syntax.uuid == EPM_UUID || is_dcom_interface(&c.abstract_syntax.uuid)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        out: &mut Out,
        pkt: &Packet<&[u8]>,
        src: SocketAddr,
        dst: SocketAddr,
        frame: u64,
        ts: Timestamp,
        len: u64,
    ) {
        let call_id = pkt.call_id();
        let stub = match pkt.stub() {
            Ok(s) => s,
            Err(e) => {
                out.stats.malformed_pdus += 1;
                out.issue(frame, src, dst, format!("request call_id {call_id}: {e}"));
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
                self.note_cap(out, frame, src, dst, "calls in flight");
                return;
            }
            let ctx_id = pkt.context_id().unwrap_or(0);
            let p = Pending {
                src,
                dst,
                ctx_id,
                opnum: pkt.opnum().unwrap_or(0),
                req: Half { drep: Some(pkt.drep()), ..Default::default() },
                resp: Half::default(),
                fault: None,
                keep_stub: self.keep_stub(ctx_id),
            };
            self.pending.insert(call_id, p);
        }
        let max = out.limits.max_stub;
        if let Some(p) = self.pending.get_mut(&call_id) {
            p.req.add(stub, frame, ts, len, p.keep_stub && !encrypted, max);
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

    #[allow(clippy::too_many_arguments)]
    fn response(
        &mut self,
        out: &mut Out,
        pkt: &Packet<&[u8]>,
        src: SocketAddr,
        dst: SocketAddr,
        frame: u64,
        ts: Timestamp,
        len: u64,
    ) {
        let call_id = pkt.call_id();
        let Some(p) = self.pending.get_mut(&call_id) else {
            out.stats.responses_without_request += 1;
            if pkt.ptype() == PType::FAULT {
                // A fault without its request (capture started mid-call, or a fault to a bind
                // or auth3): keep it visible.
                out.stats.faults += 1;
                out.issue(
                    frame,
                    src,
                    dst,
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
                    out.issue(frame, src, dst, format!("response call_id {call_id}: {e}"));
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
        let syn = ctx.map(|c| c.abstract_syntax);
        let answered = p.resp.bytes > 0;
        let mut call = Call {
            ts: p.req.ts.as_secs_f64(),
            frame: p.req.frame,
            flow: self.flow,
            src: p.src.ip(),
            sport: p.src.port(),
            dst: p.dst.ip(),
            dport: p.dst.port(),
            pipe: self.pipe.clone(),
            uuid: ctx.map(|c| c.uuid_text.clone()),
            version: ctx.map(|c| c.version_text.clone()),
            interface: syn
                .and_then(|s| names::interface_name(&s.uuid, s.ver_major))
                .map(Name::Borrowed),
            opnum: Some(p.opnum),
            operation: syn.and_then(|s| names::opnum_name(&s.uuid, p.opnum)).map(Name::Borrowed),
            outcome: match (answered, p.fault) {
                (false, _) => Outcome::NoResponse,
                (true, Some(_)) => Outcome::Fault,
                (true, None) => Outcome::Ok,
            },
            status: p.fault.map(status_text),
            status_code: p.fault,
            return_code: None,
            rtt: answered.then(|| p.resp.last_ts.secs_since(p.req.ts)),
            request_bytes: p.req.bytes,
            response_bytes: p.resp.bytes,
            response_frame: answered.then_some(p.resp.last_frame),
            auth_type: self.auth_type.map(auth_type_text),
            auth_level: self.auth_level.map(auth_level_text),
            user: self.user.clone(),
            endpoints: Vec::new(),
            epm_status: None,
            epm_asked: None,
            epm_asked_interface: None,
            truncated: p.req.truncated || p.resp.truncated,
            encrypted: p.req.encrypted || p.resp.encrypted,
            transfer_syntax: ctx.and_then(|c| c.transfer).map(|t| t.transfer_name()),
            association: self.association(),
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
        if let (true, false, None, 4) =
            (p.resp.complete, call.encrypted, p.fault, p.resp.tail.len())
        {
            let le = p.resp.drep.unwrap_or_default().little_endian;
            let b: [u8; 4] = p.resp.tail[..4].try_into().unwrap_or([0; 4]);
            let rc = if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) };
            call.return_code = Some(rc);
            if let (true, Some(name)) = (rc != 0, names::status_name(rc)) {
                call.status = Some(name.to_string());
                call.status_code = Some(rc);
            }
        }
        if let (Some(s), true, false) = (syn, p.req.complete, p.req.encrypted) {
            if s.uuid == EPM_UUID && p.opnum == 3 {
                let drep = p.req.drep.unwrap_or_default();
                if let Ok(epm::EpmRequest::Map { tower: Some(t), .. }) =
                    epm::decode_request(3, drep, &p.req.stub)
                {
                    if let Some((u, major, minor)) = t.interface() {
                        call.epm_asked = Some(format!("{u} v{major}.{minor}"));
                        call.epm_asked_interface =
                            names::interface_name(&u, major).map(str::to_string);
                    }
                }
            }
        }
        if let (Some(s), true, false, None) = (syn, p.resp.complete, call.encrypted, p.fault) {
            self.decode_stubs(out, &p, s, &mut call);
        }
        out.push_call(call);
    }

    fn decode_stubs(&self, out: &mut Out, p: &Pending, syn: Syntax, call: &mut Call) {
        let drep = p.resp.drep.unwrap_or_default();
        decode_answer(
            out,
            &syn.uuid,
            p.opnum,
            drep,
            &p.resp.stub,
            call,
            p.src,
            p.dst,
            p.resp.last_ts,
        );
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

/// Decodes an EPM or DCOM response stub into `call` (status, endpoints) and records the
/// endpoints handed out.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_answer(
    out: &mut Out,
    iface: &Uuid,
    opnum: u16,
    drep: Drep,
    stub: &[u8],
    call: &mut Call,
    client: SocketAddr,
    server: SocketAddr,
    ts: Timestamp,
) {
    let mut eps: Vec<Endpoint> = Vec::new();
    let mut err = None;
    if *iface == EPM_UUID {
        match epm::decode_response(opnum, drep, stub) {
            Ok(r) => {
                let st = status_text(r.status);
                if r.status != 0 {
                    call.status = Some(st.clone());
                    call.status_code = Some(r.status);
                }
                call.epm_status = Some(st);
                let towers =
                    r.towers.iter().chain(r.entries.iter().filter_map(|e| e.tower.as_ref()));
                for t in towers {
                    let Some(binding) = t.binding_string() else {
                        continue;
                    };
                    eps.push(Endpoint {
                        binding,
                        protocol: t.protocol().map(str::to_string),
                        address: t.address(),
                        port: t.port(),
                        pipe: t.pipe(),
                        uuid: t.interface().map(|i| i.0.to_string()),
                    });
                }
            }
            Err(e) => err = Some(("ept", e.to_string())),
        }
    } else if let Some(res) = dcom_decode(iface, opnum, drep, stub) {
        match res {
            Ok((hr, bindings)) => {
                if let Some(hr) = hr.filter(|&h| h != 0) {
                    call.status = Some(status_text(hr));
                    call.status_code = Some(hr);
                }
                eps.extend(bindings);
            }
            Err(e) => err = Some(("dcom", e)),
        }
    }
    if let Some((what, e)) = err {
        out.stats.stub_decode_errors += 1;
        out.issue(
            call.response_frame.unwrap_or(call.frame),
            server,
            client,
            format!("{what} response stub (call frame {}): {e}", call.frame),
        );
    }
    let source = if *iface == EPM_UUID { "epm" } else { "dcom" };
    for e in &eps {
        out.push_endpoint(HandedOut {
            binding: e.binding.clone(),
            protocol: e.protocol.clone(),
            address: e.address.clone(),
            port: e.port,
            pipe: e.pipe.clone(),
            uuid: e.uuid.clone(),
            source,
            frame: call.frame,
            response_frame: call.response_frame.unwrap_or(call.frame),
            ts,
            interface: call.interface.as_deref().map(str::to_string),
            operation: call.operation.as_deref().map(str::to_string),
            client,
            server,
        });
    }
    call.endpoints = eps;
}

fn pb_clone(pb: &PendingBind) -> PendingBind {
    PendingBind {
        frame: pb.frame,
        ts: pb.ts,
        src: pb.src,
        dst: pb.dst,
        alter: pb.alter,
        bytes: pb.bytes,
        contexts: pb.contexts.clone(),
    }
}

/// DCOM interfaces whose answers hand out endpoints: IRemoteSCMActivator / ISystemActivator,
/// IObjectExporter, IActivation.
pub const DCOM_IFACES: [Uuid; 3] = [
    Uuid::from_str_const("000001a0-0000-0000-c000-000000000046"),
    Uuid::from_str_const("99fcfec4-5260-101b-bbcb-00aa0021347a"),
    Uuid::from_str_const("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57"),
];

pub(crate) fn is_dcom_interface(u: &Uuid) -> bool {
    DCOM_IFACES.contains(u)
}

/// (HRESULT, endpoints) from a DCOM response stub, via [`crate::dcom`].
type DcomAnswer = Result<(Option<u32>, Vec<Endpoint>), String>;

fn dcom_decode(iface: &Uuid, opnum: u16, drep: Drep, stub: &[u8]) -> Option<DcomAnswer> {
    let res = dcom::decode_response(iface, opnum, drep, stub)?;
    Some(match res {
        Ok(d) => {
            let eps = d
                .bindings
                .iter()
                .map(|b| {
                    let protocol = b.protseq().map(str::to_string);
                    let host = b.host().to_string();
                    let port = b.port();
                    let binding = match (&protocol, port) {
                        (Some(p), Some(n)) => format!("{p}:{host}[{n}]"),
                        (Some(p), None) => format!("{p}:{host}"),
                        (None, _) => format!("tower_0x{:04x}:{}", b.tower_id, b.network_addr),
                    };
                    Endpoint {
                        binding,
                        protocol,
                        address: Some(host),
                        port,
                        pipe: None,
                        uuid: None,
                    }
                })
                .collect();
            Ok((Some(d.hresult), eps))
        }
        Err(e) => Err(e.to_string()),
    })
}

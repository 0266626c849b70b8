//! The call record and what a run produces (C706 §12.4, MS-RPCE §3.3).
//!
//! [`Call`] is the stable JSON record of one DCE/RPC call (or failed bind), made by the
//! per-association state machine in `assoc` (bind / alter_context contexts, call matching by
//! `call_id`, auth) and by [`crate::cl`] for connectionless calls:
//! - each request yields one call when answered, or at the end with outcome `no_response`;
//!   failed binds (bind_nak, every context for an interface rejected, no answer) are logged
//!   as calls too, with `opnum: null`;
//! - an answered call whose return status (the last 4 response stub bytes, judged in the
//!   interface's status space by [`crate::status`]) is an error has outcome `error`;
//! - the interface comes from the bind, or — bind not captured — from the endpoint mapper
//!   answer that handed out the server's port ([`InterfaceSource`]).
//!
//! `Out` collects the calls, the endpoints handed out, issues and counters ([`RpcStats`])
//! of a run, all bounded by [`Limits`].

use std::net::SocketAddr;

use serde::Serialize;
use tracehound_flows::Timestamp;

use crate::ctx::Seg;
use crate::names::{self, StatusSpace};
use crate::netlogon;
use crate::pdu::{auth_level, auth_type, Syntax};
use crate::uuid::Uuid;

/// The endpoint mapper interface.
pub use crate::known::EPM as EPM_UUID;

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
    /// Answered, but the operation's return status is an error (see [`crate::status`]).
    Error,
    BindNak,
    Rejected,
    NoResponse,
}

/// An endpoint handed out in an answer, as listed in [`Call::endpoints`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Endpoint {
    pub binding: String,
    pub protocol: Option<Name>,
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

fn space_str<S: serde::Serializer>(v: &Option<StatusSpace>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(v.as_str()),
        None => s.serialize_none(),
    }
}

/// A name from the data tables (borrowed, no copy per call), or a number made into text.
pub use tracehound_flows::Text as Name;

/// Where a call's interface came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InterfaceSource {
    /// The bind / alter_context of the association (or a failed bind itself).
    Bind,
    /// No bind captured: the only interface an endpoint mapper answer earlier in the capture
    /// handed out for this server address and port.
    EndpointMap,
    /// Connectionless DCE/RPC: every packet header names the interface.
    Header,
}

/// One DCE/RPC call (or failed bind). Field names are the stable JSON.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    /// Time of the request (seconds since the epoch; exact to the capture's precision).
    pub ts: Timestamp,
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
    /// Where `uuid` / `interface` come from; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_source: Option<InterfaceSource>,
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
    /// The code space `return_code` was judged in (ntstatus, win32, hresult, mapi, dce), when
    /// the operation is known to return its status there.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "space_str")]
    pub status_space: Option<StatusSpace>,
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
    /// Netlogon NetrServerAuthenticate* request inputs (account, credential, flags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netlogon: Option<Box<netlogon::ServerAuthenticate>>,
    /// RPC over HTTP v2 (ncacn_http): the tunnel that carried the call (see `crate::rpch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Box<crate::tunnel::Tunnel>>,
}

impl Call {
    /// A call from `client` to `server` whose request was seen in `frame` at `ts`, ended with
    /// `outcome`; everything else unknown or empty until the caller fills it in.
    pub fn new(
        ts: Timestamp,
        frame: u64,
        client: SocketAddr,
        server: SocketAddr,
        outcome: Outcome,
    ) -> Call {
        Call {
            ts,
            frame,
            flow: None,
            src: client.ip(),
            sport: client.port(),
            dst: server.ip(),
            dport: server.port(),
            pipe: None,
            uuid: None,
            version: None,
            interface: None,
            interface_source: None,
            opnum: None,
            operation: None,
            outcome,
            status: None,
            status_code: None,
            return_code: None,
            status_space: None,
            rtt: None,
            request_bytes: 0,
            response_bytes: 0,
            response_frame: None,
            auth_type: None,
            auth_level: None,
            user: None,
            endpoints: Vec::new(),
            epm_status: None,
            epm_asked: None,
            epm_asked_interface: None,
            truncated: false,
            encrypted: false,
            transfer_syntax: None,
            association: None,
            netlogon: None,
            tunnel: None,
        }
    }

    /// The memory this record holds, in bytes: the record, its strings and the endpoints it
    /// lists (allocated capacity; names borrowed from the data tables cost nothing, the rare
    /// boxed parts count by their size). What memory budgets of kept calls count.
    pub fn footprint(&self) -> usize {
        fn text(s: &Option<String>) -> usize {
            s.as_ref().map_or(0, String::capacity)
        }
        fn name(n: &Option<Name>) -> usize {
            match n {
                Some(std::borrow::Cow::Owned(s)) => s.capacity(),
                _ => 0,
            }
        }
        let endpoints: usize = self
            .endpoints
            .iter()
            .map(|e| {
                e.binding.capacity()
                    + name(&e.protocol)
                    + text(&e.address)
                    + text(&e.pipe)
                    + text(&e.uuid)
            })
            .sum();
        std::mem::size_of::<Call>()
            + text(&self.pipe)
            + text(&self.uuid)
            + text(&self.version)
            + text(&self.status)
            + text(&self.user)
            + text(&self.epm_status)
            + text(&self.epm_asked)
            + text(&self.epm_asked_interface)
            + name(&self.interface)
            + name(&self.operation)
            + name(&self.auth_type)
            + name(&self.auth_level)
            + name(&self.transfer_syntax)
            + self.endpoints.capacity() * std::mem::size_of::<Endpoint>()
            + endpoints
            + self
                .netlogon
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<netlogon::ServerAuthenticate>())
            + self.tunnel.as_ref().map_or(0, |_| std::mem::size_of::<crate::tunnel::Tunnel>())
    }
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
    pub protocol: Option<Name>,
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
    pub interface: Option<Name>,
    pub operation: Option<Name>,
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
    /// Answered calls whose return status is an error (outcome `error`).
    pub errors: u64,
    /// Calls (not failed binds) whose interface stayed unknown (no bind, no endpoint map).
    pub interfaces_unknown: u64,
    /// Calls named from an endpoint mapper answer (no bind captured).
    pub interfaces_from_endpoint_map: u64,
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
    /// RPC over HTTP (ncacn_http) channels that failed, from [`crate::rpch`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tunnel_failures: Vec<crate::tunnel::ChannelFailure>,
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
    /// Interface handed out by endpoint mapper towers per (address, port); `None` when
    /// several different interfaces were handed out for the same port (ambiguous).
    pub port_ifaces: std::collections::HashMap<(std::net::IpAddr, u16), Option<Syntax>>,
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
    /// An issue about the bytes read in `seg` (its frame, sender and receiver).
    pub(crate) fn issue_at(&mut self, seg: &Seg<'_>, what: String) {
        self.issue(seg.frame, seg.src(), seg.dst(), what);
    }
    pub(crate) fn push_call(&mut self, c: Call) {
        self.stats.calls += 1;
        if self.calls.len() >= self.limits.max_queued_calls {
            self.stats.calls_dropped += 1;
        } else {
            self.calls.push(c);
        }
    }
    /// Records that an endpoint mapper answer handed out `addr:port` for `syn`.
    pub(crate) fn map_port(&mut self, addr: std::net::IpAddr, port: u16, syn: Syntax) {
        if self.port_ifaces.len() >= self.limits.max_endpoints {
            return; // counted with the endpoints themselves
        }
        let e = self.port_ifaces.entry((addr, port)).or_insert(Some(syn));
        if e.is_some_and(|s| s.uuid != syn.uuid || s.ver_major != syn.ver_major) {
            *e = None;
        }
    }
    pub(crate) fn push_endpoint(&mut self, h: HandedOut) {
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

/// A fault PDU's status as text: its name (DCE first, then the Win32, HRESULT and NTSTATUS
/// codes Windows also sends in faults), else hex.
pub fn fault_text(code: u32) -> String {
    names::fault_status_name(code).map(str::to_string).unwrap_or_else(|| format!("0x{code:08x}"))
}

/// Status code as text: its name, else hex.
pub fn status_text(code: u32) -> String {
    names::status_name(code).map(str::to_string).unwrap_or_else(|| format!("0x{code:08x}"))
}

pub(crate) fn auth_type_text(t: u8) -> Name {
    auth_type::name(t).map(Name::Borrowed).unwrap_or_else(|| Name::Owned(t.to_string()))
}
pub(crate) fn auth_level_text(l: u8) -> Name {
    auth_level::name(l).map(Name::Borrowed).unwrap_or_else(|| Name::Owned(l.to_string()))
}

/// DCOM interfaces whose answers hand out endpoints: IRemoteSCMActivator / ISystemActivator,
/// IObjectExporter, IActivation.
pub use crate::known::DCOM_IFACES;

pub(crate) fn is_dcom_interface(u: &Uuid) -> bool {
    DCOM_IFACES.contains(u)
}

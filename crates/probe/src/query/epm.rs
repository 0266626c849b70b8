//! The RPC endpoint mapper query on TCP 135, built on `tracehound_rpc_proto` (the same PDU and
//! NDR code the capture side uses): bind to EPM v3.0, enumerate the map with `ept_lookup`
//! (paging through the entry handle), or `ept_map` one interface (`--map UUID`), then
//! follow every returned TCP endpoint up: probe its state and bind to the interface on it.
//!
//! Bounds against a hostile or broken server: at most [`MAX_PAGES`] lookup calls and
//! [`MAX_ENTRIES`] entries; a page that brings only entries already seen ends the walk with
//! an error (Windows keeps the same entry handle while paging, so an unchanged handle alone
//! is normal); every PDU is at most [`MAX_PDU`] bytes, a response at most [`MAX_FRAGS`]
//! fragments, every read waits at most 3 x timeout. The follow-up probes at most
//! [`MAX_FOLLOW_UP`] endpoints, `concurrency` at a time.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use tracehound_rpc_proto::epm::{self as repm, Entry, EpmResponse, Tower};
use tracehound_rpc_proto::ndr::Drep;
use tracehound_rpc_proto::pdu::{self, Bind, Body, Context, Repr, Request, Syntax};
use tracehound_rpc_proto::uuid::Uuid;

use super::common::{Ctx, Kind, Output, Port, Query, QueryError};
use crate::net::{self, Framed};
use crate::scan::{self, PortState};

pub const MAX_PAGES: u32 = 64;
pub const MAX_ENTRIES: usize = 4096;
pub const MAX_PDU: usize = 65536;
pub const MAX_FRAGS: usize = 256;
pub const MAX_STUB: usize = 4 * 1024 * 1024;
pub const MAX_FOLLOW_UP: usize = 512;
/// Entries asked per ept_lookup call.
pub const PAGE_SIZE: u32 = 500;
pub const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;

/// Parses `UUID` or `UUID:MAJOR.MINOR` (for `--map`).
pub fn parse_uuid(s: &str) -> Result<(Uuid, u16, u16), String> {
    let (u, v) = match s.rsplit_once(':') {
        Some((u, v)) => (u, Some(v)),
        None => (s, None),
    };
    let uuid: Uuid =
        u.parse().map_err(|e: tracehound_rpc_proto::uuid::ParseUuidError| e.to_string())?;
    let (maj, min) = match v {
        None => (1, 0),
        Some(v) => {
            let (a, b) = v.split_once('.').unwrap_or((v, "0"));
            (
                a.parse().map_err(|_| format!("bad major version {a:?}"))?,
                b.parse().map_err(|_| format!("bad minor version {b:?}"))?,
            )
        }
    };
    Ok((uuid, maj, min))
}

/// Framing: one connection-oriented PDU (frag_length from the header, in its byte order).
pub fn pdu_complete(b: &[u8]) -> Option<usize> {
    if b.len() < pdu::HEADER_LEN {
        return None;
    }
    let le = b.get(4)? & 0x10 != 0;
    let raw = [*b.get(8)?, *b.get(9)?];
    let n = if le { u16::from_le_bytes(raw) } else { u16::from_be_bytes(raw) } as usize;
    // A frag_length below the header is reported by the parser, not waited for.
    Some(n.max(pdu::HEADER_LEN))
}

/// A DCE/RPC client association over one TCP connection.
pub struct Assoc {
    stream: TcpStream,
    framed: Framed,
    call_id: u32,
    wait: std::time::Duration,
}

/// How a bind ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum BindOutcome {
    Accepted { max_xmit: u16, max_recv: u16, sec_addr: String },
    ContextRejected { reason: u16, reason_name: String },
    BindNak { reason: u16, reason_name: String },
    Failed { error: String },
}

impl BindOutcome {
    pub fn short(&self) -> String {
        match self {
            BindOutcome::Accepted { .. } => "bind_ack accepted".into(),
            BindOutcome::ContextRejected { reason_name, .. } => {
                format!("context rejected ({reason_name})")
            }
            BindOutcome::BindNak { reason_name, .. } => format!("bind_nak ({reason_name})"),
            BindOutcome::Failed { error } => format!("bind failed: {error}"),
        }
    }
}

impl Assoc {
    pub async fn connect(addr: SocketAddr, ctx: &Ctx) -> Result<Assoc, QueryError> {
        let stream =
            net::tcp_connect(addr, ctx.limits.source_port, ctx.limits.timeout).await.map_err(
                |f| QueryError::Other(format!("connect to {addr} failed: {}", f.describe())),
            )?;
        Ok(Assoc {
            stream,
            framed: Framed::new(),
            call_id: 0,
            wait: ctx.limits.timeout.saturating_mul(3),
        })
    }

    async fn send(&mut self, body: Body) -> Result<u32, QueryError> {
        self.call_id = self.call_id.wrapping_add(1);
        let bytes = Repr::new(self.call_id, Drep::LE, body).emit();
        tokio::time::timeout(self.wait, self.stream.write_all(&bytes))
            .await
            .map_err(|_| QueryError::Other("timed out sending".into()))?
            .map_err(|e| QueryError::Other(format!("send failed: {e}")))?;
        Ok(self.call_id)
    }

    async fn recv(&mut self) -> Result<Repr, QueryError> {
        let b = self.framed.next(&mut self.stream, MAX_PDU, self.wait, pdu_complete).await?;
        let (r, _) =
            Repr::parse(&b).map_err(|e| QueryError::Other(format!("bad PDU from server: {e}")))?;
        Ok(r)
    }

    /// Binds to `iface` with NDR.
    pub async fn bind(&mut self, iface: Syntax) -> Result<BindOutcome, QueryError> {
        let bind = Bind {
            contexts: vec![Context {
                id: 0,
                abstract_syntax: iface,
                transfer_syntaxes: vec![Syntax::NDR],
            }],
            ..Bind::default()
        };
        let id = self.send(Body::Bind(bind)).await?;
        let r = self.recv().await?;
        if r.call_id != id {
            return Err(QueryError::Other(format!(
                "reply for call {} to bind call {id}",
                r.call_id
            )));
        }
        Ok(bind_outcome(r.body))
    }

    /// One request; reassembles the response fragments into the stub.
    pub async fn call(&mut self, opnum: u16, stub: Vec<u8>) -> Result<(Drep, Vec<u8>), QueryError> {
        let req =
            Request { alloc_hint: stub.len() as u32, context_id: 0, opnum, object: None, stub };
        let id = self.send(Body::Request(req)).await?;
        let mut out = Vec::new();
        for _ in 0..MAX_FRAGS {
            let r = self.recv().await?;
            if r.call_id != id {
                return Err(QueryError::Other(format!(
                    "fragment for call {} while waiting for call {id}",
                    r.call_id
                )));
            }
            if let Some(drep) = add_fragment(&mut out, r)? {
                return Ok((drep, out));
            }
        }
        Err(QueryError::Other(format!("response of more than {MAX_FRAGS} fragments")))
    }
}

/// What a bind's reply body says (bind_ack with its first result, bind_nak, or other).
pub fn bind_outcome(body: Body) -> BindOutcome {
    match body {
        Body::BindAck(ack) => match ack.results.first() {
            Some(res) if res.result == pdu::result::ACCEPTANCE => BindOutcome::Accepted {
                max_xmit: ack.max_xmit_frag,
                max_recv: ack.max_recv_frag,
                sec_addr: ack.sec_addr_str(),
            },
            Some(res) => BindOutcome::ContextRejected {
                reason: res.reason,
                reason_name: format!(
                    "{}: {}",
                    pdu::result::name(res.result).unwrap_or("rejection"),
                    tracehound_rpc_proto::names::provider_reason(res.reason)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("reason {}", res.reason))
                ),
            },
            None => BindOutcome::Failed { error: "bind_ack without results".into() },
        },
        Body::BindNak(nak) => BindOutcome::BindNak {
            reason: nak.reason,
            reason_name: tracehound_rpc_proto::names::bind_nak_reason(nak.reason)
                .map(str::to_string)
                .unwrap_or_else(|| format!("reason {}", nak.reason)),
        },
        other => BindOutcome::Failed { error: format!("unexpected {} PDU", other.ptype()) },
    }
}
/// Adds one response fragment's stub to `out` (at most [`MAX_STUB`] bytes in all); the
/// data representation once the last fragment is in, an error for a fault or another PDU.
pub fn add_fragment(out: &mut Vec<u8>, r: Repr) -> Result<Option<Drep>, QueryError> {
    match r.body {
        Body::Response(resp) => {
            if out.len().saturating_add(resp.stub.len()) > MAX_STUB {
                return Err(QueryError::Other(format!("response larger than {MAX_STUB} bytes")));
            }
            out.extend_from_slice(&resp.stub);
            Ok((r.flags & pdu::flags::LAST_FRAG != 0).then_some(r.drep))
        }
        Body::Fault(f) => Err(QueryError::Other(format!(
            "fault 0x{:08x} ({})",
            f.status,
            tracehound_rpc_proto::names::status_name(f.status).unwrap_or("unknown status")
        ))),
        other => Err(QueryError::Other(format!("unexpected {} PDU", other.ptype()))),
    }
}

/// One map entry as a display row (interface, version, annotation, binding, TCP endpoint).
pub fn entry_row(e: &Entry) -> Option<Row> {
    let t = e.tower.as_ref()?;
    let (u, maj, min) = t.interface().unwrap_or((Uuid::NIL, 0, 0));
    Some((
        u,
        maj,
        min,
        e.annotation.clone(),
        t.binding_string().unwrap_or_else(|| "(unknown protocol)".into()),
        tower_tcp(t),
    ))
}

/// The result of walking the map.
#[derive(Debug, Default)]
pub struct Walk {
    pub entries: Vec<Entry>,
    pub pages: u32,
    pub error: Option<String>,
}

/// ept_lookup over every page.
pub async fn lookup_all(a: &mut Assoc) -> Walk {
    let mut w = Walk::default();
    let mut handle = [0u8; 20];
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        if w.pages >= MAX_PAGES {
            w.error = Some(format!("stopped after {MAX_PAGES} ept_lookup pages (endless paging?)"));
            break;
        }
        w.pages += 1;
        let stub = repm::ept_lookup_request(
            Drep::LE,
            repm::inquiry::ALL_ELTS,
            None,
            None,
            repm::vers::ALL,
            handle,
            PAGE_SIZE,
        );
        let resp: EpmResponse = match a.call(2, stub).await {
            Ok((drep, s)) => match repm::decode_response(2, drep, &s) {
                Ok(r) => r,
                Err(e) => {
                    w.error = Some(format!("ept_lookup response page {}: {e}", w.pages));
                    break;
                }
            },
            Err(e) => {
                w.error = Some(format!("ept_lookup page {}: {e}", w.pages));
                break;
            }
        };
        let mut new = 0usize;
        for e in resp.entries {
            let key =
                format!("{}|{}|{:?}", e.object, e.annotation, e.tower.as_ref().map(|t| t.emit()));
            if seen.insert(key) {
                new += 1;
                if w.entries.len() >= MAX_ENTRIES {
                    w.error =
                        Some(format!("more than {MAX_ENTRIES} entries; the rest is not shown"));
                    break;
                }
                w.entries.push(e);
            }
        }
        if w.error.is_some() {
            break;
        }
        if resp.status == EPT_S_NOT_REGISTERED {
            break; // the normal end of the list
        }
        if resp.status != 0 {
            w.error = Some(format!(
                "ept_lookup status 0x{:08x} ({})",
                resp.status,
                tracehound_rpc_proto::names::status_name(resp.status).unwrap_or("unknown")
            ));
            break;
        }
        if resp.entry_handle == [0u8; 20] {
            break;
        }
        if new == 0 {
            w.error = Some(format!(
                "page {} repeated entries already seen{} - endless paging, stopped",
                w.pages,
                if resp.entry_handle == handle { " with the same entry handle" } else { "" }
            ));
            break;
        }
        handle = resp.entry_handle;
    }
    if handle != [0u8; 20] {
        let _ = a.call(4, repm::ept_lookup_handle_free_request(Drep::LE, handle)).await;
    }
    w
}

/// One endpoint's follow-up.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FollowUp {
    pub state: PortState,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOutcome>,
}

fn tower_tcp(t: &Tower) -> Option<(Option<IpAddr>, u16)> {
    (t.protocol() == Some("ncacn_ip_tcp"))
        .then(|| (t.ipv4().map(IpAddr::V4), t.port().unwrap_or(0)))
}

fn iface_name(u: &Uuid, major: u16) -> Option<&'static str> {
    tracehound_rpc_proto::names::interface_name(u, major)
}

/// The follow-up of each TCP endpoint, by (port, interface, major, minor).
type FollowUps = BTreeMap<(u16, Uuid, u16, u16), FollowUp>;

/// Probes every TCP endpoint (state once per port, a bind per interface).
async fn follow_up(ctx: &Ctx, towers: &[(Uuid, u16, u16, u16)]) -> FollowUps {
    let mut ports: Vec<u16> = towers.iter().map(|t| t.3).filter(|p| *p != 0).collect();
    ports.sort_unstable();
    ports.dedup();
    ports.truncate(MAX_FOLLOW_UP);
    let ports_arg: Vec<(crate::Proto, u16)> =
        ports.iter().map(|p| (crate::Proto::Tcp, *p)).collect();
    let states = scan::probe_all(ctx.addr, &ports_arg, &ctx.limits, &|_| Vec::new()).await;
    let state_of: BTreeMap<u16, (PortState, String)> =
        states.into_iter().map(|p| (p.port, (p.state, p.reason))).collect();

    let sem = Arc::new(Semaphore::new(ctx.limits.concurrency.max(1)));
    let mut set = JoinSet::new();
    let mut out = BTreeMap::new();
    let shared = Arc::new(ctx.clone());
    for &(u, maj, min, port) in towers.iter().take(MAX_FOLLOW_UP) {
        let Some((state, reason)) = state_of.get(&port).cloned() else { continue };
        if state != PortState::Listening {
            out.insert((port, u, maj, min), FollowUp { state, reason, bind: None });
            continue;
        }
        let Ok(permit) = sem.clone().acquire_owned().await else { break };
        let c = shared.clone();
        set.spawn(async move {
            let sa = SocketAddr::new(c.addr, port);
            let bind = match Assoc::connect(sa, &c).await {
                Ok(mut a) => match a.bind(Syntax { uuid: u, ver_major: maj, ver_minor: min }).await
                {
                    Ok(b) => b,
                    Err(e) => BindOutcome::Failed { error: e.to_string() },
                },
                Err(e) => BindOutcome::Failed { error: e.to_string() },
            };
            drop(permit);
            ((port, u, maj, min), FollowUp { state, reason, bind: Some(bind) })
        });
    }
    while let Some(r) = set.join_next().await {
        if let Ok((k, f)) = r {
            out.insert(k, f);
        }
    }
    out
}

/// One map entry as shown: interface uuid, major, minor, annotation, binding string, and
/// for ncacn_ip_tcp the tower's address and port.
pub type Row = (Uuid, u16, u16, String, String, Option<(Option<IpAddr>, u16)>);

/// The whole EPM query (dump or --map, then follow-up).
pub async fn run(ctx: &mut Ctx, port: u16) -> Output {
    let mut lines = vec!["Querying Endpoint Mapper Database...".to_string()];
    let fail = |mut lines: Vec<String>, e: String, answered: bool| {
        lines.push(format!("  query failed: {e}"));
        Output { kind: Kind::Epm, lines, result: json!({ "error": e }), endpoints: None, answered }
    };
    let sa = SocketAddr::new(ctx.addr, port);
    let mut a = match Assoc::connect(sa, ctx).await {
        Ok(a) => a,
        Err(e) => return fail(lines, e.to_string(), false),
    };
    match a.bind(Syntax { uuid: repm::EPM_UUID, ver_major: 3, ver_minor: 0 }).await {
        Ok(BindOutcome::Accepted { .. }) => {}
        Ok(other) => {
            return fail(lines, format!("bind to the endpoint mapper: {}", other.short()), true)
        }
        Err(e) => return fail(lines, format!("bind to the endpoint mapper: {e}"), true),
    }

    let mut rows: Vec<Row> = Vec::new();
    let error;
    let pages;
    if let Some(m) = ctx.map.clone() {
        let Ok((u, maj, min)) = parse_uuid(&m) else {
            return fail(lines, format!("bad UUID {m}"), true);
        };
        lines.push(format!("ept_map for {u} v{maj}.{min}:"));
        pages = 1;
        error = ept_map(&mut a, (u, maj, min), &mut rows).await;
    } else {
        let w = lookup_all(&mut a).await;
        pages = w.pages;
        error = w.error;
        rows.extend(w.entries.iter().filter_map(entry_row));
    }
    drop(a);

    lines.push("Server's response:".into());
    lines.push(String::new());

    // Follow-up on TCP endpoints.
    let tcp: Vec<(Uuid, u16, u16, u16)> = {
        let mut v: Vec<(Uuid, u16, u16, u16)> =
            rows.iter().filter_map(|r| r.5.map(|(_, p)| (r.0, r.1, r.2, p))).collect();
        v.sort();
        v.dedup();
        v
    };
    let fu =
        if ctx.follow_up && !tcp.is_empty() { follow_up(ctx, &tcp).await } else { BTreeMap::new() };

    let (endpoints, warnings) = render_rows(ctx, &rows, &fu, &mut lines);
    lines.push(format!("Total endpoints found: {}", rows.len()));
    lines.push(String::new());
    if let Some(e) = &error {
        lines.push(format!("  query error: {e}"));
    }

    // Verdict over unique TCP ports.
    let mut verdict = None;
    if ctx.follow_up && !fu.is_empty() {
        let v = verdict_of(&fu);
        lines.push(v.clone());
        verdict = Some(v);
    }
    for w in &warnings {
        lines.push(format!("WARNING: {w}"));
    }
    lines.push(String::new());
    lines.push("==== End of RPC Endpoint Mapper query response ====".into());

    Output {
        kind: Kind::Epm,
        lines,
        result: json!({
            "operation": if ctx.map.is_some() { "ept_map" } else { "ept_lookup" },
            "total": rows.len(),
            "pages": pages,
            "error": error,
            "verdict": verdict,
            "warnings": warnings,
        }),
        endpoints: Some(Value::Array(endpoints)),
        answered: true,
    }
}

/// `ept_map` for one interface (`--map`): its towers into `rows`; the error, if any.
async fn ept_map(
    a: &mut Assoc,
    (u, maj, min): (Uuid, u16, u16),
    rows: &mut Vec<Row>,
) -> Option<String> {
    let stub = repm::ept_map_request(Drep::LE, &u, maj, min, [0; 20], 16);
    match a.call(3, stub).await.and_then(|(d, s)| {
        repm::decode_response(3, d, &s).map_err(|e| QueryError::Other(e.to_string()))
    }) {
        Ok(r) => {
            if r.status != 0 && r.towers.is_empty() {
                return Some(format!(
                    "ept_map status 0x{:08x} ({})",
                    r.status,
                    tracehound_rpc_proto::names::status_name(r.status).unwrap_or("unknown")
                ));
            }
            for t in r.towers.iter().take(MAX_ENTRIES) {
                let (iu, imaj, imin) = t.interface().unwrap_or((u, maj, min));
                rows.push((
                    iu,
                    imaj,
                    imin,
                    String::new(),
                    t.binding_string().unwrap_or_else(|| "(unknown protocol)".into()),
                    tower_tcp(t),
                ));
            }
        }
        Err(e) => return Some(format!("ept_map: {e}")),
    }
    None
}

/// The text and JSON of each map entry, with its follow-up; the warnings about endpoints
/// that name another address.
fn render_rows(
    ctx: &Ctx,
    rows: &[Row],
    fu: &FollowUps,
    lines: &mut Vec<String>,
) -> (Vec<Value>, Vec<String>) {
    let mut endpoints = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    for (u, maj, min, ann, binding, tcp) in rows {
        let name = iface_name(u, *maj);
        lines.push(match name {
            Some(n) => format!("UUID: {u} {ann} ({n} v{maj}.{min})").replace("  (", " ("),
            None => format!("UUID: {u} {ann}").trim_end().to_string(),
        });
        lines.push(binding.clone());
        let mut f = None;
        if let Some((ip, port)) = tcp {
            if let Some(ip) = ip {
                if !ip.is_unspecified() && *ip != ctx.addr {
                    let w = format!("endpoint {binding} names {ip}, not the address asked ({}); clients use the address they asked", ctx.addr);
                    if !warnings.contains(&w) {
                        warnings.push(w);
                    }
                }
            }
            f = fu.get(&(*port, *u, *maj, *min)).cloned();
            if let Some(fu) = &f {
                let b = fu.bind.as_ref().map(|b| format!(", {}", b.short())).unwrap_or_default();
                lines.push(format!("  follow-up: TCP port {port} {}{b}", fu.state));
            }
        }
        lines.push(String::new());
        endpoints.push(json!({
            "uuid": u.to_string(),
            "version": format!("{maj}.{min}"),
            "annotation": ann,
            "interface": name,
            "binding": binding,
            "follow_up": f.as_ref().map(|f| json!({ "state": f.state, "reason": f.reason, "bind": f.bind })),
        }));
    }
    (endpoints, warnings)
}

/// The verdict over the unique TCP ports of the follow-up.
fn verdict_of(fu: &FollowUps) -> String {
    let mut per_port: BTreeMap<u16, (PortState, String)> = BTreeMap::new();
    for ((p, ..), f) in fu {
        per_port.entry(*p).or_insert((f.state, f.reason.clone()));
    }
    let bad: Vec<String> = per_port
        .iter()
        .filter(|(_, (s, _))| *s != PortState::Listening)
        .map(|(p, (s, r))| format!("{p} {s} ({r})"))
        .collect();
    let rejected = fu
        .values()
        .filter(|f| matches!(f.bind, Some(ref b) if !matches!(b, BindOutcome::Accepted { .. })))
        .count();
    let entries_bad = fu.values().filter(|f| f.state != PortState::Listening).count();
    let v = if bad.is_empty() {
        format!("All {} TCP endpoints reachable", per_port.len())
    } else {
        format!(
            "{} of {} TCP endpoints unreachable ({entries_bad} of {} interface registrations): {}",
            bad.len(),
            per_port.len(),
            fu.len(),
            bad.join("; ")
        )
    };
    let v =
        if rejected > 0 { format!("{v}; {rejected} interface bind(s) not accepted") } else { v };
    v
}

/// The endpoint-mapper query (TCP 135): see [`run`].
pub struct Epm;

impl Query for Epm {
    async fn run(ctx: &mut Ctx, at: Port, _kept: Option<Vec<u8>>) -> Output {
        run(ctx, at.port).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_arg() {
        let (u, a, b) = parse_uuid("12345778-1234-abcd-ef00-0123456789ac:1.0").unwrap();
        assert_eq!(u.to_string(), "12345778-1234-abcd-ef00-0123456789ac");
        assert_eq!((a, b), (1, 0));
        assert_eq!(parse_uuid("e1af8308-5d1f-11c9-91a4-08002b14a0fa").unwrap().1, 1);
        assert!(parse_uuid("nope").is_err());
        assert!(parse_uuid("e1af8308-5d1f-11c9-91a4-08002b14a0fa:x").is_err());
    }

    #[test]
    fn framing() {
        let bind = Repr::new(1, Drep::LE, Body::Bind(Bind::default())).emit();
        assert_eq!(pdu_complete(&bind), Some(bind.len()));
        assert_eq!(pdu_complete(&bind[..10]), None);
    }
}

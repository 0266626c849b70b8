//! DCE/RPC over HTTP v2 (ncacn_http, MS-RPCH) as Outlook Anywhere and RD Gateway use it.
//!
//! The client opens two HTTP connections to the RPC proxy (port 443, or 80):
//! - the **IN channel**, `RPC_IN_DATA /rpc/rpcproxy.dll?server:port`, whose request body
//!   carries CONN/B1 and then the client's DCE/RPC PDUs (binds, requests);
//! - the **OUT channel**, `RPC_OUT_DATA ...`, whose request body is CONN/A1 and whose
//!   `200` response body carries CONN/A3, CONN/C2 and then the server's PDUs (bind_acks,
//!   responses, faults).
//!
//! Both name the same *virtual connection cookie* (the first Cookie command of CONN/A1 and
//! CONN/B1): [`Rpch`] pairs the channels by it and feeds the PDUs of both to one
//! association, so requests meet their responses and get their timing just as on
//! ncacn_ip_tcp. Each call is tagged with the [`Tunnel`] (`transport: "ncacn_http"`, the
//! `server:port` of the URL). Channel failures are reported in plain words as issues:
//! an HTTP error to RPC_IN_DATA / RPC_OUT_DATA, CONN/A1 without CONN/A3, CONN/A3 without
//! CONN/C2, an IN channel whose OUT channel never came, a recycled channel.
//!
//! Inside TLS the same bytes arrive decrypted (the TLS adapter of `tracehound-decrypt`
//! feeds plaintext to the analyzer), so nothing here knows about TLS.
//!
//! Bounded: [`MAX_VCS`] virtual connections at once; each direction's buffer by
//! [`crate::RpcConfig::max_buffer`]; HTTP heads by [`http::MAX_HEAD`].

use rustc_hash::FxHashMap as HashMap;

use tracehound_flows::{FlowId, FlowInfo};

use crate::assoc::Assoc;
use crate::calls::Out;
use crate::ctx::{PerDir, Seg};
use crate::pdu::rts::{self, Command, Cookie, Sequence};

mod channel;
mod http;

use channel::{Item, Side};
pub(crate) use http::detect;
use http::Method;

/// Virtual connections followed at once.
pub const MAX_VCS: usize = 10_000;
/// Channel failures kept ([`crate::RpcReport::tunnel_failures`]).
pub const MAX_FAILURES: usize = 1000;

use crate::tunnel::{ChannelFailure, FailureKind, Tunnel};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum VcKey {
    Cookie(Cookie),
    /// No CONN/A1 or CONN/B1 seen: the channel on its own.
    Flow(FlowId),
}

#[derive(Debug)]
struct Vc {
    assoc: Assoc,
    tunnel: Tunnel,
    /// Channels attached and not yet ended.
    open: u32,
    has_out: bool,
    /// The IN channel's connection: the calls' `flow` (their requests went on it).
    in_flow: Option<FlowId>,
    /// The frame that made it (to end the left-over ones in order).
    frame: u64,
}

/// What one channel showed (both directions).
#[derive(Debug)]
struct ChanState {
    flow: FlowInfo,
    method: Option<Method>,
    method_text: String,
    target: Option<String>,
    vc: Option<VcKey>,
    /// The last final HTTP answer (status >= 200) since the last request: status, reason,
    /// frame.
    answer: Option<(u16, String, u64)>,
    a1: Option<u64>,
    b1: Option<u64>,
    a3: Option<u64>,
    c2: Option<u64>,
    recycled: Option<u64>,
}

#[derive(Debug)]
struct Chan {
    sides: PerDir<Side>,
    st: ChanState,
}

impl Chan {
    fn new(flow: &FlowInfo, direct: bool) -> Chan {
        let sides = if direct {
            PerDir::new(Side::direct(), Side::direct())
        } else {
            PerDir::new(Side::new(true), Side::new(false))
        };
        Chan {
            sides,
            st: ChanState {
                flow: *flow,
                method: None,
                method_text: String::new(),
                // The direct leg's target is its own server.
                target: direct.then(|| flow.resp.to_string()),
                vc: None,
                answer: None,
                a1: None,
                b1: None,
                a3: None,
                c2: None,
                recycled: None,
            },
        }
    }
}

/// The RPC over HTTP channels and virtual connections of a run.
#[derive(Debug, Default)]
pub(crate) struct Rpch {
    chans: HashMap<FlowId, Chan>,
    vcs: HashMap<VcKey, Vc>,
    vcs_dropped: u64,
    /// Channel failures so far (at most [`MAX_FAILURES`]).
    pub failures: Vec<ChannelFailure>,
}

impl Rpch {
    /// A new channel: an HTTP one (its client began with `RPC_IN_DATA` / `RPC_OUT_DATA`),
    /// or with `direct` the proxy-to-server leg that begins with the `ncacn_http/1.0`
    /// banner (port 593; also RPC over HTTP v1 straight to the server).
    pub fn open(&mut self, flow: &FlowInfo, direct: bool) {
        self.chans.entry(flow.id).or_insert_with(|| Chan::new(flow, direct));
    }

    /// Bytes of a channel, read in `seg`.
    pub fn data(&mut self, out: &mut Out, max_buffer: usize, seg: &Seg<'_>, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let chan = self.chans.entry(seg.flow.id).or_insert_with(|| Chan::new(seg.flow, false));
        let st = &mut chan.st;
        let vcs = &mut self.vcs;
        let dropped = &mut self.vcs_dropped;
        chan.sides.get_mut(seg.dir).push(data, max_buffer, |item| {
            let mut cx = Cx { st, vcs, dropped, out, seg };
            cx.item(item);
        });
    }

    /// `len` bytes of direction `seg.dir` were not captured at stream `offset`.
    pub fn gap(&mut self, out: &mut Out, seg: &Seg<'_>, offset: u64, len: u64) {
        let Some(chan) = self.chans.get_mut(&seg.flow.id) else { return };
        let side = chan.sides.get_mut(seg.dir);
        if !side.lost() {
            side.gap();
            out.stats.gaps += 1;
            out.issue_at(
                seg,
                format!("ncacn_http: {len} bytes missing at stream offset {offset}; the rest of this channel direction is not read"),
            );
        }
    }

    /// The connection ended: judge the channel, and its virtual connection when that was
    /// its last channel.
    pub fn end(&mut self, out: &mut Out, flow: &FlowInfo) {
        let Some(chan) = self.chans.remove(&flow.id) else { return };
        self.judge_channel(out, &chan.st);
        if let Some(key) = chan.st.vc {
            let last = self.vcs.get_mut(&key).is_some_and(|vc| {
                vc.open = vc.open.saturating_sub(1);
                vc.open == 0
            });
            if last {
                if let Some(vc) = self.vcs.remove(&key) {
                    finish_vc(out, vc);
                }
            }
        }
    }

    /// Ends every channel still open (in flow order) and every virtual connection.
    pub fn finish(&mut self, out: &mut Out) {
        let mut ids: Vec<FlowId> = self.chans.values().map(|c| c.st.flow.id).collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(flow) = self.chans.get(&id).map(|c| c.st.flow) {
                self.end(out, &flow);
            }
        }
        let mut rest: Vec<Vc> = self.vcs.drain().map(|(_, v)| v).collect();
        rest.sort_by_key(|v| v.frame);
        for vc in rest {
            finish_vc(out, vc);
        }
        if self.vcs_dropped > 0 {
            let n = self.vcs_dropped;
            out.issues.push(crate::calls::Issue {
                frame: 0,
                src: String::new(),
                dst: String::new(),
                what: format!("ncacn_http: {n} channels not analysed: {MAX_VCS} virtual connections open at once"),
            });
        }
    }

    /// Channel failures in plain words: an issue each, and a [`ChannelFailure`].
    fn judge_channel(&mut self, out: &mut Out, st: &ChanState) {
        let paired = st.vc.and_then(|k| self.vcs.get(&k)).is_some_and(|v| v.has_out);
        for (kind, frame, status, what) in verdicts(st, paired) {
            let method = st.method.map(Method::as_str).unwrap_or(st.method_text.as_str());
            let target = st.target.as_deref().unwrap_or("(no target in the URL)");
            let (client, proxy) = (st.flow.orig, st.flow.resp);
            out.issue(frame, proxy, client, format!("ncacn_http: {method} {target}: {what}"));
            if self.failures.len() < MAX_FAILURES {
                self.failures.push(ChannelFailure {
                    kind,
                    frame,
                    client,
                    proxy,
                    method: method.to_string(),
                    target: st.target.clone(),
                    status: status.map(|s| s.0),
                    reason: status.map(|s| s.1.to_string()),
                    what,
                });
            }
        }
    }
}

type Verdict<'a> = (FailureKind, u64, Option<(u16, &'a str)>, String);

/// What went wrong on a channel (`paired`: its virtual connection has an OUT channel).
fn verdicts(st: &ChanState, paired: bool) -> Vec<Verdict<'_>> {
    let mut v = Vec::new();
    if let Some((code, reason, frame)) = &st.answer {
        if *code >= 300 {
            let to = match (st.a1, st.b1) {
                (Some(_), _) => " to CONN/A1, no CONN/A3",
                (_, Some(_)) => " to CONN/B1",
                _ => "",
            };
            let what =
                format!("the RPC proxy answered HTTP {code} {reason}{to}: {}", meaning(*code));
            v.push((FailureKind::HttpError, *frame, Some((*code, reason.as_str())), what));
            return v;
        }
    }
    match st.method {
        Some(Method::Out) => match (st.a1, st.a3, st.c2) {
            (Some(f), None, _) => v.push((FailureKind::NoConnA3, f, None, format!("CONN/A1 sent (frame {f}), no CONN/A3 back: the RPC proxy did not accept the OUT channel"))),
            (_, Some(f), None) => v.push((FailureKind::NoConnC2, f, None, format!("CONN/A3 received (frame {f}) but no CONN/C2: the virtual connection was not completed (the RPC server behind the proxy was not reached or did not answer)"))),
            _ => {}
        },
        Some(Method::In) => {
            if let (Some(f), false) = (st.b1, paired) {
                v.push((FailureKind::NoOutChannel, f, None, format!("CONN/B1 sent (frame {f}) but no OUT channel (RPC_OUT_DATA) of this virtual connection in the capture: no response can be matched")));
            }
        }
        None => {}
    }
    if let Some(f) = st.recycled {
        v.push((FailureKind::Recycled, f, None, format!("channel recycled (frame {f}): the client or proxy replaced a channel of the virtual connection")));
    }
    v
}

/// What an HTTP error status means to an RPC over HTTP client.
fn meaning(code: u16) -> &'static str {
    match code {
        401 => "the proxy did not accept the credentials (authentication failed)",
        403 => "access to the RPC proxy denied",
        404 => "no RPC proxy at this URL",
        407 => "a web proxy in between asks for authentication",
        500 => "the RPC proxy failed",
        502 | 504 => "a gateway in between could not reach the RPC proxy",
        503 => "the RPC proxy refused the target or could not reach it (ValidPorts, server down)",
        _ => "the channel was refused",
    }
}

/// The end of a virtual connection: its calls still waiting end as no_response.
fn finish_vc(out: &mut Out, mut vc: Vc) {
    let n = out.calls.len();
    vc.assoc.finish(out);
    tag(out, n, &vc);
}

/// Marks the calls from index `from` as carried by the tunnel of `vc` (and by its IN
/// channel's connection).
fn tag(out: &mut Out, from: usize, vc: &Vc) {
    for c in out.calls.iter_mut().skip(from) {
        c.tunnel = Some(Box::new(vc.tunnel.clone()));
        if vc.in_flow.is_some() {
            c.flow = vc.in_flow;
        }
    }
}

/// The state one item of a channel is read with.
struct Cx<'a, 'b> {
    st: &'a mut ChanState,
    vcs: &'a mut HashMap<VcKey, Vc>,
    dropped: &'a mut u64,
    out: &'a mut Out,
    seg: &'a Seg<'b>,
}

impl Cx<'_, '_> {
    fn item(&mut self, item: Item<'_>) {
        match item {
            Item::Request(r) => {
                if self.st.method.is_none() || r.method.is_some() {
                    self.st.method = r.method;
                    self.st.method_text = r.method_text;
                }
                if let Some(t) = http::target(&r.path) {
                    self.st.target = Some(t);
                }
                self.st.answer = None;
            }
            Item::Response(r) => {
                if r.status >= 200 {
                    self.st.answer = Some((r.status, r.reason, self.seg.frame));
                }
            }
            Item::Rts(p) => self.rts(p),
            Item::Pdu(p) => self.pdu(p),
            Item::Bad { offset, what } => {
                self.out.issue_at(self.seg, format!("ncacn_http: stream offset {offset}: {what}"));
            }
        }
    }

    fn rts(&mut self, p: &[u8]) {
        let r = match rts::Repr::parse(p) {
            Ok((r, _)) => r,
            Err(e) => {
                self.out.issue_at(self.seg, format!("ncacn_http: malformed RTS PDU: {e}"));
                return;
            }
        };
        let seq = r.sequence();
        let f = self.seg.frame;
        let st = &mut *self.st;
        match seq {
            Sequence::ConnA1 => _ = st.a1.get_or_insert(f),
            Sequence::ConnB1 => _ = st.b1.get_or_insert(f),
            Sequence::ConnA3 => _ = st.a3.get_or_insert(f),
            Sequence::ConnC => _ = st.c2.get_or_insert(f),
            Sequence::Recycle => _ = st.recycled.get_or_insert(f),
            // The direct leg: the proxy opens the server's OUT (CONN/A2) or IN (CONN/B2) side.
            Sequence::ConnA2 => _ = st.method.get_or_insert(Method::Out),
            Sequence::ConnB2 => _ = st.method.get_or_insert(Method::In),
            _ => {}
        }
        let opens = matches!(
            seq,
            Sequence::ConnA1
                | Sequence::ConnB1
                | Sequence::ConnA2
                | Sequence::ConnB2
                | Sequence::Recycle
        );
        if opens && st.vc.is_none() {
            let cookie = r.commands.iter().find_map(|c| match c {
                Command::Cookie(c) => Some(*c),
                _ => None,
            });
            if let Some(c) = cookie {
                self.attach(VcKey::Cookie(c));
            }
        }
    }

    fn pdu(&mut self, p: &[u8]) {
        let key = match self.st.vc {
            Some(k) => k,
            None => {
                self.attach(VcKey::Flow(self.st.flow.id));
                match self.st.vc {
                    Some(k) => k,
                    None => return,
                }
            }
        };
        let Some(vc) = self.vcs.get_mut(&key) else { return };
        let n = self.out.calls.len();
        vc.assoc.pdu(self.out, p, self.seg);
        tag(self.out, n, vc);
    }

    /// Joins this channel to the virtual connection `key` (made when new).
    fn attach(&mut self, key: VcKey) {
        let st = &mut *self.st;
        if !self.vcs.contains_key(&key) {
            if self.vcs.len() >= MAX_VCS {
                *self.dropped += 1;
                return;
            }
            self.out.stats.tcp_connections_rpc += 1;
            let cookie = match key {
                VcKey::Cookie(c) => Some(c.to_string()),
                VcKey::Flow(_) => None,
            };
            self.vcs.insert(
                key,
                Vc {
                    assoc: Assoc::new(None, Some(st.flow.id)),
                    tunnel: Tunnel {
                        transport: "ncacn_http",
                        target: None,
                        cookie,
                        out_sport: None,
                    },
                    open: 0,
                    has_out: false,
                    in_flow: None,
                    frame: self.seg.frame,
                },
            );
        }
        let Some(vc) = self.vcs.get_mut(&key) else { return };
        st.vc = Some(key);
        vc.open = vc.open.saturating_add(1);
        if vc.tunnel.target.is_none() {
            vc.tunnel.target.clone_from(&st.target);
        }
        match st.method {
            Some(Method::Out) => {
                vc.has_out = true;
                vc.tunnel.out_sport = Some(st.flow.orig.port());
            }
            Some(Method::In) => vc.in_flow = Some(st.flow.id),
            None => {}
        }
    }
}

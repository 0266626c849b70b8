//! Bind, alter_context, bind_ack, alter_context_resp and bind_nak on an [`Assoc`]: contexts
//! proposed and answered, failed binds logged as calls, bind_ack secondary addresses handed
//! out as endpoints.

use tracehound_flows::Timestamp;

use super::{Assoc, Ctx, PendingBind};
use crate::calls::{
    auth_level_text, auth_type_text, Call, HandedOut, InterfaceSource, Name, Out, Outcome,
};
use crate::ctx::Seg;
use crate::names;
use crate::pdu::{self, Body, PType, Syntax};

impl Assoc {
    /// A bind family PDU of `len` bytes, read in `seg`.
    pub(super) fn binding(&mut self, out: &mut Out, r: pdu::Repr, seg: &Seg<'_>, len: u64) {
        let (src, dst, frame, ts) = (seg.src(), seg.dst(), seg.frame, seg.ts);
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
                        self.note_cap(out, seg, "presentation contexts");
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
                    self.note_cap(out, seg, "binds in flight");
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
                self.bind_ack(out, a, ptype, call_id, seg, len)
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
                    out.issue_at(seg, format!("bind_nak (reason {}) without a bind", n.reason));
                }
            }
            _ => {}
        }
    }

    /// bind_ack / alter_context_resp: answers the pending bind (by call_id), records the
    /// secondary address as an endpoint handed out, logs every interface whose contexts were
    /// all refused as a `rejected` call.
    fn bind_ack(
        &mut self,
        out: &mut Out,
        a: pdu::BindAck,
        ptype: PType,
        call_id: u32,
        seg: &Seg<'_>,
        len: u64,
    ) {
        let (frame, ts) = (seg.frame, seg.ts);
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
                (Some(p), _) => ("ncacn_ip_tcp", format!("ncacn_ip_tcp:{}[{p}]", pb.dst.ip())),
                (None, Some(n)) => ("ncacn_np", format!("ncacn_np:{}[{n}]", pb.dst.ip())),
                _ => ("", String::new()),
            };
            let first = pb.contexts.first().map(|c| c.abstract_syntax);
            out.push_endpoint(HandedOut {
                binding,
                protocol: Some(Name::Borrowed(protocol)),
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
                    .map(Name::Borrowed),
                operation: Some(Name::Borrowed(if pb.alter { "alter_context" } else { "bind" })),
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
            let reason = res.filter(|x| x.result != pdu::result::ACCEPTANCE).map(|x| x.reason);
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
                    pb.clone(),
                    Outcome::Rejected,
                    status,
                    len,
                    Some((frame, ts, syn)),
                );
            }
        }
    }

    /// Logs a failed bind as a call with `opnum: null`.
    pub(super) fn bind_failed(
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
            flow: self.flow,
            pipe: self.pipe.clone(),
            uuid: syn.map(|s| s.uuid.to_string()),
            version: syn.map(|s| format!("{}.{}", s.ver_major, s.ver_minor)),
            interface: syn
                .and_then(|s| names::interface_name(&s.uuid, s.ver_major))
                .map(Name::Borrowed),
            interface_source: syn.map(|_| InterfaceSource::Bind),
            operation: Some(if pb.alter { "alter_context" } else { "bind" }.into()),
            status_code: status.as_ref().map(|s| s.1),
            status: status.map(|s| s.0),
            rtt: resp.map(|r| r.1.secs_since(pb.ts)),
            request_bytes: pb.bytes,
            response_bytes: resp_len,
            response_frame: resp.map(|r| r.0),
            auth_type: self.auth_type.map(auth_type_text),
            auth_level: self.auth_level.map(auth_level_text),
            user: self.user.clone(),
            association: self.association(),
            ..Call::new(pb.ts, pb.frame, pb.src, pb.dst, outcome)
        };
        out.push_call(call);
    }
}

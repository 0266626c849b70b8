//! SMB2 logons and access decisions on one connection: NEGOTIATE failures, SESSION_SETUP
//! outcomes with who logged on (NTLM AUTHENTICATE names, Kerberos AP-REQ service, anonymous
//! null sessions) and any Kerberos error the server returned inside SPNEGO, TREE_CONNECT
//! failures with the share, CREATE failures with the file or named pipe — each an
//! [`AuthEvent`].

use rustc_hash::FxHashMap as HashMap;
use tracehound_flows::{FlowInfo, Timestamp};
use tracehound_proto::ntstatus;

use crate::auth::{krb_event, AuthEvent, AuthProto, AuthReport, TokenInfo};
use crate::smb2::{Detail, Header};

/// Entries kept per connection in each table.
const MAX_ENTRIES: usize = 256;

/// Who a session is.
#[derive(Clone, Debug, Default)]
struct Who {
    account: Option<String>,
    domain: Option<String>,
    workstation: Option<String>,
    mech: Option<String>,
    service: Option<String>,
    /// The AUTHENTICATE carried an NTLMv1 response.
    v1: bool,
}

impl Who {
    fn of(t: &TokenInfo) -> Who {
        let mut w = Who { mech: t.mech.map(str::to_string), ..Who::default() };
        if let Some(a) = &t.ntlm {
            let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
            w.account = some(&a.user);
            w.domain = some(&a.domain);
            w.workstation = some(&a.workstation);
            w.mech = Some(if a.anonymous { "anonymous" } else { "NTLM" }.into());
            w.v1 = !a.v2 && !a.anonymous;
        }
        if let Some(k) = &t.krb {
            w.service = k.sname.clone().map(|s| match &k.realm {
                Some(r) => format!("{s}@{r}"),
                None => s,
            });
        }
        w
    }
    fn merge(&mut self, o: Who) {
        self.account = o.account.or(self.account.take());
        self.domain = o.domain.or(self.domain.take());
        self.workstation = o.workstation.or(self.workstation.take());
        self.service = o.service.or(self.service.take());
        self.v1 |= o.v1;
        if o.mech.as_deref() == Some("anonymous") || self.mech.is_none() {
            self.mech = o.mech.or(self.mech.take());
        }
    }
    fn apply(&self, e: &mut AuthEvent) {
        e.account = self.account.clone();
        e.domain = self.domain.clone();
        e.workstation = self.workstation.clone();
        e.mech = self.mech.clone();
        if e.service.is_none() {
            e.service = self.service.clone();
        }
        if self.v1 {
            e.note(crate::auth::NTLMV1);
        }
    }
}

/// The per-connection state.
#[derive(Debug, Default)]
pub struct SmbAuth {
    /// message id → (command, request frame, detail)
    requests: HashMap<u64, (u16, u64, Option<Box<Detail>>)>,
    /// session id → who is logging on / logged on
    sessions: HashMap<u64, Who>,
    /// session setup in progress, by session id (the id is 0 on the first leg)
    setup: HashMap<u64, Who>,
    trees: HashMap<u32, String>,
}

fn insert<K: std::hash::Hash + Eq, V>(m: &mut HashMap<K, V>, k: K, v: V) {
    if m.len() >= MAX_ENTRIES {
        m.clear();
    }
    m.insert(k, v);
}

impl SmbAuth {
    /// One SMB2 header (request or response) seen at `frame`.
    pub fn header(
        &mut self,
        h: &Header,
        f: &FlowInfo,
        frame: u64,
        ts: Timestamp,
        out: &mut AuthReport,
    ) {
        if !h.response {
            if matches!(h.command, 0 | 1 | 3 | 5) {
                if h.command == 1 {
                    if let Some(Detail::SessionSetup(t)) = h.detail.as_deref() {
                        let w = Who::of(t);
                        self.setup.entry(h.session_id).or_default().merge(w);
                    }
                }
                insert(&mut self.requests, h.message_id, (h.command, frame, h.detail.clone()));
            }
            return;
        }
        if h.status == crate::smb2::STATUS_PENDING && h.is_async {
            return;
        }
        let Some((cmd, req_frame, req)) = self.requests.remove(&h.message_id) else { return };
        match cmd {
            0 => self.negotiate(h, f, frame, ts, req_frame, out),
            1 => self.session_setup(h, f, frame, ts, req_frame, out),
            3 => {
                let r = Reply { h, f, frame, ts, request_frame: req_frame };
                self.tree_connect(&r, req.as_deref(), out)
            }
            5 => {
                let r = Reply { h, f, frame, ts, request_frame: req_frame };
                self.create(&r, req.as_deref(), out)
            }
            _ => {}
        }
    }

    fn event(
        &self,
        h: &Header,
        op: &'static str,
        f: &FlowInfo,
        frame: u64,
        ts: Timestamp,
    ) -> AuthEvent {
        let mut e = AuthEvent::new(AuthProto::Smb, op, f, frame, ts);
        let (n, m) = ntstatus::info(h.status);
        e.ok = h.status == 0;
        e.code = Some(i64::from(h.status));
        e.code_name = n.into();
        e.meaning = m.into();
        e
    }

    fn negotiate(
        &self,
        h: &Header,
        f: &FlowInfo,
        frame: u64,
        ts: Timestamp,
        rq: u64,
        out: &mut AuthReport,
    ) {
        if h.status != 0 {
            let mut e = self.event(h, "negotiate", f, frame, ts);
            e.request_frame = Some(rq);
            out.push(e);
        }
    }

    fn session_setup(
        &mut self,
        h: &Header,
        f: &FlowInfo,
        frame: u64,
        ts: Timestamp,
        rq: u64,
        out: &mut AuthReport,
    ) {
        let resp_tok = match h.detail.as_deref() {
            Some(Detail::SessionSetup(t)) => Some(t.as_ref().clone()),
            _ => None,
        };
        // a Kerberos error inside the SPNEGO answer (e.g. KRB_AP_ERR_SKEW, MODIFIED)
        if let Some(k) = resp_tok.as_ref().and_then(|t| t.krb.as_ref()) {
            if k.error_code.is_some() {
                let mut e = krb_event(k, "AP-REQ", f, frame, ts);
                e.carried_in = Some(AuthProto::Smb);
                e.request_frame = Some(rq);
                out.push(e);
            }
        }
        if h.status == 0xc000_0016 {
            // more legs follow; the session id is now known
            if let Some(w) = self.setup.remove(&0) {
                self.setup.entry(h.session_id).or_default().merge(w);
            }
            return;
        }
        let who =
            self.setup.remove(&h.session_id).or_else(|| self.setup.remove(&0)).unwrap_or_default();
        let mut e = self.event(h, "session setup", f, frame, ts);
        e.request_frame = Some(rq);
        who.apply(&mut e);
        if let Some(t) = &resp_tok {
            if let Some(s) = t.neg_state.filter(|s| *s == 2) {
                e.detail = Some(format!(
                    "SPNEGO negState {}",
                    tracehound_proto::spnego::neg_state_name(s)
                ));
            }
        }
        out.push(e);
        if h.status == 0 {
            insert(&mut self.sessions, h.session_id, who);
        }
    }

    fn tree_connect(&mut self, r: &Reply<'_>, req: Option<&Detail>, out: &mut AuthReport) {
        let Reply { h, f, frame, ts, request_frame: rq } = *r;
        let path = match req {
            Some(Detail::TreeConnect { path }) => path.clone(),
            _ => String::new(),
        };
        if h.status == 0 {
            insert(&mut self.trees, h.tree_id, path);
            return;
        }
        let mut e = self.event(h, "tree connect", f, frame, ts);
        e.request_frame = Some(rq);
        if let Some(w) = self.sessions.get(&h.session_id) {
            w.apply(&mut e);
        }
        e.service = Some(path).filter(|p| !p.is_empty());
        out.push(e);
    }

    fn create(&mut self, r: &Reply<'_>, req: Option<&Detail>, out: &mut AuthReport) {
        let Reply { h, f, frame, ts, request_frame: rq } = *r;
        if h.status == 0 {
            return;
        }
        let name = match req {
            Some(Detail::Create { name }) => name.clone(),
            _ => String::new(),
        };
        let share = self.trees.get(&h.tree_id).cloned().unwrap_or_default();
        let mut e = self.event(h, "create", f, frame, ts);
        e.request_frame = Some(rq);
        if let Some(w) = self.sessions.get(&h.session_id) {
            w.apply(&mut e);
        }
        let ipc = share.to_ascii_uppercase().ends_with("\\IPC$") && !name.is_empty();
        e.service =
            Some(if ipc { format!("{share} pipe \\{name}") } else { format!("{share}\\{name}") });
        if ipc {
            e.op = "open pipe".into();
        }
        out.push(e);
    }
}

/// A response and where it was read, with the frame of its request.
#[derive(Clone, Copy)]
struct Reply<'a> {
    h: &'a Header,
    f: &'a FlowInfo,
    frame: u64,
    ts: Timestamp,
    request_frame: u64,
}

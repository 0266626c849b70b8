//! Logon and request outcomes across protocols, as one list of [`AuthEvent`]s: Kerberos
//! (KDC exchanges on 88 and tokens inside SMB / LDAP / HTTP), NTLM (wherever an
//! AUTHENTICATE message is seen, with the status that answered it), LDAP results, SMB2
//! negotiate / session setup / tree connect / create results and HTTP errors. Successes are
//! recorded too, so that the rules can say what followed a failure (a retry that worked, a
//! fallback to NTLM). Plus the first bytes of each direction, for "wrong protocol on a
//! port" and RDP negotiation ([`crate::mismatch`]).
//!
//! Bounded: at most [`MAX_EVENTS`] events; the rest are counted in `dropped`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use tracehound_flows::{FlowInfo, Proto, Timestamp};
use tracehound_proto::{krb, ntlm, spnego};

/// The note an NTLMv1 AUTHENTICATE gets (24-byte NT response).
pub const NTLMV1: &str = "the client sent an NTLMv1 response";

/// Events kept per capture.
pub const MAX_EVENTS: usize = 50_000;

/// Which protocol an event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthProto {
    Kerberos,
    Ldap,
    Smb,
    Http,
    Rdp,
}

impl AuthProto {
    pub fn name(self) -> &'static str {
        match self {
            AuthProto::Kerberos => "Kerberos",
            AuthProto::Ldap => "LDAP",
            AuthProto::Smb => "SMB",
            AuthProto::Http => "HTTP",
            AuthProto::Rdp => "RDP",
        }
    }
}

/// One answered request that authenticates or is authorised.
#[derive(Clone, Debug, Serialize)]
pub struct AuthEvent {
    pub proto: AuthProto,
    /// The operation: `AS-REQ`, `TGS-REQ`, `AP-REQ`, `bind`, `StartTLS`, `search`,
    /// `negotiate`, `session setup`, `tree connect`, `create`, an HTTP method …
    pub op: crate::Text,
    pub flow_id: u64,
    pub transport: Proto,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The request's frame, when seen.
    pub request_frame: Option<u64>,
    /// The answer's frame and time.
    pub frame: u64,
    pub ts: Timestamp,
    /// The answer was a success (for Kerberos: a ticket; for SMB: STATUS_SUCCESS …).
    pub ok: bool,
    /// The code as the protocol carries it (KRB error code, LDAP resultCode, NTSTATUS,
    /// HTTP status) and its name and meaning.
    pub code: Option<i64>,
    pub code_name: crate::Text,
    pub meaning: crate::Text,
    /// Who: the account (Kerberos cname, NTLM user, LDAP bind DN), its domain or realm, and
    /// the workstation NTLM names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    /// What was asked for: the SPN, share, pipe or file, LDAP base, HTTP host + path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// How: `Kerberos`, `NTLM`, `simple`, `anonymous`, a SASL mechanism, an HTTP scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mech: Option<String>,
    /// More words from the wire: Kerberos e-text, LDAP diagnosticMessage, HTTP Server / Via.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// AD's `data XXX` sub-code of a failed LDAP bind, with its name and meaning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_name: Option<String>,
    /// KRB_AP_ERR_SKEW: the client's and the server's clock (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_time: Option<i64>,
    /// The event came from a token inside another protocol (Kerberos in SMB, NTLM in HTTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried_in: Option<AuthProto>,
    /// A normal intermediate step, not an outcome: an HTTP 401 that answers a request
    /// without credentials or an NTLM NEGOTIATE (the challenge leg).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub leg: bool,
}

impl AuthEvent {
    /// An event with the flow's endpoints (client = originator).
    pub fn new(
        proto: AuthProto,
        op: impl Into<crate::Text>,
        f: &FlowInfo,
        frame: u64,
        ts: Timestamp,
    ) -> Self {
        AuthEvent {
            proto,
            op: op.into(),
            flow_id: f.id,
            transport: f.proto,
            client: f.orig,
            server: f.resp,
            request_frame: None,
            frame,
            ts,
            ok: false,
            code: None,
            code_name: crate::Text::Borrowed(""),
            meaning: crate::Text::Borrowed(""),
            account: None,
            domain: None,
            workstation: None,
            service: None,
            mech: None,
            detail: None,
            sub_code: None,
            sub_name: None,
            client_time: None,
            server_time: None,
            carried_in: None,
            leg: false,
        }
    }
    /// Fill the NTLM identity.
    pub fn with_ntlm(mut self, a: &ntlm::Authenticate) -> Self {
        self.mech = Some("NTLM".into());
        if a.anonymous {
            self.mech = Some("anonymous".into());
        }
        self.account = nonempty(&a.user).or(self.account);
        self.domain = nonempty(&a.domain).or(self.domain);
        self.workstation = nonempty(&a.workstation).or(self.workstation);
        if !a.v2 && !a.anonymous {
            self.note(NTLMV1);
        }
        self
    }
    /// Append a note to `detail`.
    pub fn note(&mut self, n: &str) {
        self.detail = Some(match self.detail.take() {
            Some(d) => format!("{d}; {n}"),
            None => n.to_string(),
        });
    }
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// A protocol spoken on the wrong port, or a port that answered in another protocol.
#[derive(Clone, Debug, Serialize)]
pub struct Mismatch {
    pub flow_id: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub frame: u64,
    pub ts: Timestamp,
    /// What the client spoke and what the server answered (`TLS`, `HTTP`, `SSH banner`, …).
    pub client_spoke: String,
    pub server_spoke: String,
    /// One line: what happened.
    pub what: String,
}

/// Everything [`crate::AppAnalyzer`] learned about logons and failed requests.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuthReport {
    pub events: Vec<AuthEvent>,
    pub mismatches: Vec<Mismatch>,
    /// Events not kept (over [`MAX_EVENTS`]).
    pub dropped: u64,
    /// HTTP requests that carried credentials, answered or not, per client address and URL
    /// (host and path, without the query): the frame of the last one. A challenge (401 / 407) the client went on
    /// from is normal even when the credentialed request never gets an answer of its own (an
    /// RPC over HTTP `RPC_IN_DATA` channel is a request whose body runs for the whole
    /// session). At most [`MAX_EVENTS`] URLs; requests to further URLs are counted in
    /// `credentials_dropped`.
    #[serde(skip)]
    pub http_credentials: HashMap<(IpAddr, String), u64>,
    #[serde(skip)]
    pub credentials_dropped: u64,
}

impl AuthReport {
    pub fn push(&mut self, e: AuthEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(e);
        } else {
            self.dropped += 1;
        }
    }

    /// Note an HTTP request with credentials from `client` to `url` in `frame`. URLs are
    /// compared without their query: a client that was challenged for a path answers on
    /// that path, whatever the query (an RPC over HTTP client probes `/rpc/rpcproxy.dll` and
    /// then authenticates on `/rpc/rpcproxy.dll?server:593`).
    pub fn credentials_sent(&mut self, client: IpAddr, mut url: String, frame: u64) {
        let path_len = without_query(&url).len();
        url.truncate(path_len);
        let full = self.http_credentials.len() >= MAX_EVENTS;
        let key = (client, url);
        if let Some(last) = self.http_credentials.get_mut(&key) {
            *last = (*last).max(frame);
        } else if full {
            self.credentials_dropped += 1;
        } else {
            self.http_credentials.insert(key, frame);
        }
    }

    /// Did `client` send credentials to `url` after `frame`?
    pub fn credentials_after(&self, client: IpAddr, url: &str, frame: u64) -> bool {
        let key = (client, without_query(url).to_string());
        self.http_credentials.get(&key).is_some_and(|&f| f > frame)
    }
}

fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

/// What a security token (SPNEGO / GSS-API / raw NTLMSSP / Kerberos) says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenInfo {
    pub mech: Option<&'static str>,
    pub ntlm: Option<ntlm::Authenticate>,
    /// The NTLM message type seen (NEGOTIATE / CHALLENGE / AUTHENTICATE).
    pub ntlm_type: Option<&'static str>,
    pub krb: Option<krb::KrbMsg>,
    pub neg_state: Option<i64>,
}

/// Summarise a security buffer; garbage gives an empty summary (never an error).
pub fn token(b: &[u8]) -> TokenInfo {
    let mut out = TokenInfo::default();
    let Ok(t) = spnego::unwrap(b) else { return out };
    out.neg_state = t.neg_state;
    out.mech = t.mechs.first().copied();
    if let Some(n) = t.ntlm {
        out.mech = Some("NTLM");
        if let Ok(m) = ntlm::parse(n) {
            out.ntlm_type = Some(m.name());
            if let ntlm::NtlmMsg::Authenticate(a) = m {
                out.ntlm = Some(a);
            }
        }
    }
    if let Some(k) = t.krb {
        out.mech = Some("Kerberos");
        out.krb = krb::parse(k).ok();
    }
    out
}

/// A Kerberos event from a parsed KRB-ERROR or KDC reply.
pub fn krb_event(
    m: &krb::KrbMsg,
    op: &'static str,
    f: &FlowInfo,
    frame: u64,
    ts: Timestamp,
) -> AuthEvent {
    let mut e = AuthEvent::new(AuthProto::Kerberos, op, f, frame, ts);
    e.mech = Some("Kerberos".into());
    e.account = m.cname.clone();
    e.domain = m.crealm.clone().or_else(|| m.realm.clone());
    e.service = m.sname.clone().map(|s| match &m.realm {
        Some(r) => format!("{s}@{r}"),
        None => s,
    });
    match m.error_code {
        Some(c) => {
            let (n, meaning) = krb::error_info(c);
            e.code = Some(c);
            e.code_name = n.into();
            e.meaning = meaning.into();
            e.detail = m.e_text.clone().filter(|t| !t.is_empty());
            if c == 37 {
                e.client_time = m.ctime;
                e.server_time = m.stime;
            }
        }
        None => {
            e.ok = true;
            e.code_name = krb::msg_name(m.msg_type).into();
            e.meaning = "ticket issued".into();
        }
    }
    e
}

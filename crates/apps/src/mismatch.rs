//! The wrong protocol on a port, judged from the first bytes each side sent: TLS spoken to
//! a plain-text service (the server answers with an HTTP error page or a banner), HTTP spoken
//! to a TLS or SSH port, LDAP in clear to the LDAPS port — and RDP's connection negotiation
//! (X.224 Connection Request / Confirm with RDP_NEG_RSP or RDP_NEG_FAILURE), which is read
//! from the same first bytes.

use tracehound_flows::{FlowInfo, Timestamp};
use tracehound_proto::rdp;

use crate::auth::{AuthEvent, AuthProto, AuthReport, Mismatch};

/// Bytes kept from the start of each direction.
pub const FIRST_BYTES: usize = 64;

/// The first bytes of one direction and where they came from.
#[derive(Clone, Debug, Default)]
pub struct First {
    pub bytes: Vec<u8>,
    pub frame: u64,
    pub ts: Timestamp,
}

impl First {
    pub fn push(&mut self, d: &[u8], frame: u64, ts: Timestamp) {
        if self.bytes.is_empty() {
            self.frame = frame;
            self.ts = ts;
        }
        let room = FIRST_BYTES.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(d.get(..room.min(d.len())).unwrap_or(&[]));
    }
}

/// What a direction's first bytes look like.
pub fn kind(b: &[u8]) -> &'static str {
    match b {
        [] => "nothing",
        [0x16, 3, ..] => "TLS handshake",
        [0x15, 3, ..] => "TLS alert",
        [0x14 | 0x17, 3, ..] => "TLS",
        [3, 0, ..] => "TPKT (RDP)",
        _ if b.starts_with(b"SSH-") => "SSH banner",
        _ if b.starts_with(b"HTTP/1.") => "HTTP response",
        _ if crate::http::looks_like_request(b) => "HTTP request",
        _ if crate::smb2::looks_like(b) => "SMB",
        _ if crate::ldap::looks_like(b) => "LDAP",
        _ if b
            .iter()
            .take(32)
            .all(|&c| c == b'\r' || c == b'\n' || c == b'\t' || (0x20..0x7f).contains(&c)) =>
        {
            "plain text"
        }
        _ => "binary",
    }
}

const TLS_PORTS: [u16; 7] = [443, 636, 993, 995, 3269, 5986, 8443];

/// Classify one finished TCP connection.
pub fn classify(f: &FlowInfo, first: &[First; 2], out: &mut AuthReport) {
    let [c, s] = first;
    if c.bytes.is_empty() && s.bytes.is_empty() {
        return;
    }
    let (ck, sk) = (kind(&c.bytes), kind(&s.bytes));
    if ck == "TPKT (RDP)" {
        rdp_negotiation(f, c, s, out);
        return;
    }
    let port = f.resp.port();
    let what = match (ck, sk) {
        ("TLS handshake", "HTTP response" | "plain text") => {
            "the client started TLS, the server answered in plain text (an HTTP error page): TLS spoken to a plain-HTTP service".to_string()
        }
        ("TLS handshake", "SSH banner") => {
            "the client started TLS on an SSH port".to_string()
        }
        ("HTTP request", "TLS alert" | "TLS handshake" | "TLS") => {
            "the client spoke plain HTTP, the server answered with TLS: HTTP spoken to a TLS port".to_string()
        }
        ("HTTP request", "SSH banner") => {
            "the server sent an SSH banner, the client spoke HTTP: HTTP spoken to an SSH port".to_string()
        }
        ("HTTP request", "nothing" | "binary") if TLS_PORTS.contains(&port) => {
            format!("the client spoke plain HTTP to port {port}, which normally speaks TLS; the server did not answer in HTTP")
        }
        ("LDAP", k) if matches!(port, 636 | 3269) && k != "LDAP" => {
            format!("the client spoke LDAP in clear to port {port} (LDAPS, TLS from the first byte); the server did not answer in LDAP")
        }
        ("TLS handshake", "LDAP") => {
            "the client started TLS, the server answered in clear LDAP: LDAPS spoken to a plain LDAP port".to_string()
        }
        _ => return,
    };
    let frame = if s.bytes.is_empty() { c.frame } else { s.frame };
    let ts = if s.bytes.is_empty() { c.ts } else { s.ts };
    out.mismatches.push(Mismatch {
        flow_id: f.id,
        client: f.orig,
        server: f.resp,
        frame,
        ts,
        client_spoke: ck.into(),
        server_spoke: sk.into(),
        what,
    });
}

fn rdp_negotiation(f: &FlowInfo, c: &First, s: &First, out: &mut AuthReport) {
    let Ok(rdp::Neg::Request { protocols, cookie }) = rdp::parse(&c.bytes) else { return };
    let Ok(answer) = rdp::parse(&s.bytes) else { return };
    let mut e = AuthEvent::new(AuthProto::Rdp, "negotiation", f, s.frame, s.ts);
    e.request_frame = Some(c.frame);
    e.account = cookie.and_then(|k| k.strip_prefix("Cookie: mstshash=").map(str::to_string));
    e.mech = Some(format!("offered {}", rdp::protocol_name(protocols)));
    match answer {
        rdp::Neg::Failure { code } => {
            let (n, m) = rdp::failure_info(code);
            e.code = Some(i64::from(code));
            e.code_name = n.into();
            e.meaning = m.into();
        }
        rdp::Neg::Response { protocol } => {
            e.ok = true;
            e.code_name = "RDP_NEG_RSP".into();
            e.meaning = format!("the server selected {}", rdp::protocol_name(protocol)).into();
        }
        rdp::Neg::Request { .. } => return,
    }
    out.push(e);
}

//! TLS (RFC 5246, RFC 8446) handshakes as seen on the wire, on any TCP port.
//!
//! Records (`type(1) version(2) length(2) fragment`) are read from each direction's byte
//! stream; handshake messages (`type(1) length(3) body`) are reassembled across records.
//! Cleartext parts are decoded: ClientHello (SNI, supported_versions, cipher suites, ALPN),
//! ServerHello (also HelloRetryRequest, recognised by its fixed random), the TLS ≤ 1.2
//! Certificate chain (via [`crate::cert`]) and Alert records. After a ChangeCipherSpec in
//! TLS ≤ 1.2 a direction is encrypted: its alerts are "encrypted alert". In TLS 1.3
//! everything after the ServerHello is an opaque `application_data` record.
//! Application data is skipped without buffering.

use serde::Serialize;
use tracehound_flows::{Conversation, FlowInfo, Timestamp};

use crate::cert::{self, CertInfo};
use crate::reader::{printable, ParseError, Reader};
use crate::stream::{At, Stream};
use crate::Issues;

/// Largest record fragment allowed (2^14 + 2048, RFC 5246 6.2.3).
pub const MAX_RECORD: usize = 16384 + 2048;
/// Largest handshake message reassembled (a long certificate chain fits).
pub const MAX_HANDSHAKE: usize = 256 * 1024;
const MAX_CIPHERS: usize = 256;
const MAX_ALERTS: usize = 16;
const MAX_EVENTS: usize = 64;
const MAX_CERTS: usize = 10;

/// SHA-256("HelloRetryRequest"), the ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Does this look like the start of a TLS record?
pub fn looks_like(d: &[u8]) -> bool {
    match (d.first(), d.get(1), d.get(2), d.get(3), d.get(4)) {
        (Some(&t), Some(&3), Some(&minor), Some(&hi), Some(&lo)) => {
            let len = ((hi as usize) << 8) | lo as usize;
            (20..=24).contains(&t) && minor <= 4 && len <= MAX_RECORD && len > 0
        }
        _ => false,
    }
}

pub use tracehound_proto::tls::{alert_name, version_name};

/// Side of a TLS connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClientHello {
    pub frame: u64,
    pub ts: Timestamp,
    /// legacy_version of the hello body.
    pub version: u16,
    /// supported_versions extension (RFC 8446 4.2.1), in order, GREASE included.
    pub supported_versions: Vec<u16>,
    /// Server name indication (host_name).
    pub sni: Option<String>,
    pub cipher_count: usize,
    /// Offered cipher suites (first 256).
    pub ciphers: Vec<u16>,
    pub alpn: Vec<String>,
}

impl ClientHello {
    /// The highest version offered (supported_versions when present, GREASE ignored).
    pub fn max_version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|v| v & 0x0f0f != 0x0a0a)
            .max()
            .unwrap_or(self.version)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ServerHello {
    pub frame: u64,
    pub ts: Timestamp,
    pub version: u16,
    /// supported_versions extension: the version selected (TLS 1.3).
    pub selected_version: Option<u16>,
    pub cipher: u16,
    pub alpn: Option<String>,
    /// This is a HelloRetryRequest.
    pub retry: bool,
}

impl ServerHello {
    /// Negotiated version.
    pub fn negotiated(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    pub frame: u64,
    pub ts: Timestamp,
    pub from: Side,
    /// 1 warning, 2 fatal; None when encrypted.
    pub level: Option<u8>,
    pub description: Option<u8>,
    /// e.g. `handshake_failure`, or `encrypted alert`.
    pub name: String,
    pub encrypted: bool,
}

impl Alert {
    pub fn fatal(&self) -> bool {
        self.level == Some(2)
            || (self.level.is_some() && !matches!(self.description, Some(0 | 90 | 112)))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct TlsEvent {
    pub frame: u64,
    pub from: Side,
    pub what: crate::Text,
}

/// How the handshake went (from the TLS bytes alone; see [`TlsSession::ending`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsOutcome {
    /// Both ChangeCipherSpecs (TLS ≤ 1.2), or encrypted traffic both ways after the
    /// handshake (TLS 1.3).
    Completed,
    /// A cleartext fatal alert (or an encrypted alert) ended the handshake.
    Alert,
    /// ClientHello seen, nothing from the server.
    NoServerHello,
    /// The server answered but the handshake did not finish in the capture.
    Incomplete,
    /// The handshake was not captured (capture started later, or a gap).
    NotSeen,
    /// The server answered with something that is not TLS (see `server_not_tls`).
    ServerNotTls,
}

/// One TLS connection.
#[derive(Clone, Debug, Serialize)]
pub struct TlsSession {
    #[serde(serialize_with = "crate::ser_flow")]
    pub flow: FlowInfo,
    pub client_hello: Option<ClientHello>,
    /// ClientHellos seen (2 after a HelloRetryRequest).
    pub client_hellos: u32,
    pub server_hello: Option<ServerHello>,
    pub hello_retry: Option<ServerHello>,
    /// Frame of the Certificate message (TLS ≤ 1.2), leaf first.
    pub certificate_frame: Option<u64>,
    /// Shared with every other session that presented the same certificate.
    pub certificates: Vec<std::sync::Arc<CertInfo>>,
    pub certificate_errors: Vec<String>,
    pub alerts: Vec<Alert>,
    pub ccs_frames: [Option<u64>; 2],
    /// First application_data record per side (client, server).
    pub app_data_frames: [Option<u64>; 2],
    pub app_data_records: [u64; 2],
    /// The last application_data record per side: (frame, record length). In TLS 1.3 every
    /// record after the ServerHello is application_data; an encrypted alert is the one of
    /// 19 bytes (2 alert bytes, the inner content type, a 16-byte AEAD tag; 11 with CCM_8).
    pub last_app_data: [Option<(u64, u16)>; 2],
    /// Cleartext bytes of TLS per side.
    pub bytes: [u64; 2],
    /// Frame of the first byte from the server (any record).
    pub first_server_frame: Option<u64>,
    /// Part of a direction was not captured or could not be parsed.
    pub lost_sync: bool,
    /// The server answered with something that is not TLS (its first bytes, printable),
    /// e.g. an HTTP response from a plain-text server.
    pub server_not_tls: Option<String>,
    pub outcome: TlsOutcome,
    pub events: Vec<TlsEvent>,
    #[serde(skip)]
    server_data_after_client: bool,
}

/// How an unfinished handshake ended, told from the TCP conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoHelloEnd {
    /// A RST (`frame`, from the server when `by_server`) after the ClientHello.
    Reset { frame: u64, by_server: bool },
    /// FIN after the ClientHello, no ServerHello (`by_server`: who sent the first FIN).
    Closed { by_server: bool },
    /// Nothing came back.
    NoAnswer,
}

impl TlsSession {
    fn new(flow: FlowInfo) -> TlsSession {
        TlsSession {
            flow,
            client_hello: None,
            client_hellos: 0,
            server_hello: None,
            hello_retry: None,
            certificate_frame: None,
            certificates: Vec::new(),
            certificate_errors: Vec::new(),
            alerts: Vec::new(),
            ccs_frames: [None; 2],
            app_data_frames: [None; 2],
            app_data_records: [0; 2],
            last_app_data: [None; 2],
            bytes: [0; 2],
            first_server_frame: None,
            lost_sync: false,
            server_not_tls: None,
            outcome: TlsOutcome::NotSeen,
            events: Vec::new(),
            server_data_after_client: false,
        }
    }
    /// Server name the client asked for.
    pub fn sni(&self) -> Option<&str> {
        self.client_hello.as_ref().and_then(|c| c.sni.as_deref())
    }
    pub fn negotiated_version(&self) -> Option<u16> {
        self.server_hello.as_ref().map(|s| s.negotiated())
    }
    /// The alert that ended the handshake, if that is how it ended.
    pub fn failing_alert(&self) -> Option<&Alert> {
        if self.outcome != TlsOutcome::Alert {
            return None;
        }
        self.alerts.iter().find(|a| a.fatal() || a.encrypted)
    }
    /// For [`TlsOutcome::NoServerHello`] and [`TlsOutcome::Incomplete`] (without lost
    /// sync): was the connection reset or closed after the last handshake message, or left
    /// hanging? None for other outcomes.
    pub fn ending(&self, conv: Option<&Conversation>) -> Option<NoHelloEnd> {
        let last = match self.outcome {
            TlsOutcome::NoServerHello => self.client_hello.as_ref().map(|c| c.frame).unwrap_or(0),
            TlsOutcome::Incomplete if !self.lost_sync => {
                self.events.iter().map(|e| e.frame).max().unwrap_or(0)
            }
            _ => return None,
        };
        let Some(c) = conv else { return Some(NoHelloEnd::NoAnswer) };
        if let Some(&(frame, dir)) = c.rst_frames.iter().find(|(f, _)| *f >= last) {
            return Some(NoHelloEnd::Reset {
                frame,
                by_server: dir == tracehound_flows::Dir::Resp,
            });
        }
        match c.history.chars().find(|&h| h == 'F' || h == 'f') {
            Some(h) => Some(NoHelloEnd::Closed { by_server: h == 'f' }),
            None => Some(NoHelloEnd::NoAnswer),
        }
    }
    fn event(&mut self, frame: u64, from: Side, what: impl Into<crate::Text>) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(TlsEvent { frame, from, what: what.into() });
        }
    }
    /// TLS 1.3 (or a draft of it) was negotiated.
    pub fn is_tls13(&self) -> bool {
        self.tls13()
    }
    fn tls13(&self) -> bool {
        self.negotiated_version()
            .or(self.hello_retry.as_ref().map(|h| h.negotiated()))
            .is_some_and(|v| v == 0x0304 || v >> 8 == 0x7f)
    }
    fn decide(&mut self) {
        let completed = if self.tls13() {
            self.app_data_records[0] >= 2
                || (self.app_data_records[0] >= 1 && self.server_data_after_client)
        } else {
            (self.ccs_frames[0].is_some() && self.ccs_frames[1].is_some())
                || (self.app_data_records[0] > 0 && self.app_data_records[1] > 0)
        };
        // a fatal cleartext alert, or an encrypted alert before the handshake completed
        // (encrypted alerts afterwards are the normal close_notify)
        let alert_first = self.alerts.iter().any(|a| {
            (a.level.is_some() && a.fatal())
                || (a.encrypted && !(completed && self.finished_before(a.frame)))
        });
        self.outcome = if alert_first {
            TlsOutcome::Alert
        } else if completed {
            TlsOutcome::Completed
        } else if self.server_not_tls.is_some() {
            TlsOutcome::ServerNotTls
        } else if self.server_hello.is_some() || self.hello_retry.is_some() {
            TlsOutcome::Incomplete
        } else if self.client_hello.is_some() {
            if self.bytes[1] == 0 && self.first_server_frame.is_none() {
                TlsOutcome::NoServerHello
            } else {
                TlsOutcome::Incomplete
            }
        } else {
            TlsOutcome::NotSeen
        };
    }
    /// Did the handshake complete before `frame`?
    fn finished_before(&self, frame: u64) -> bool {
        match (self.ccs_frames[0], self.ccs_frames[1]) {
            (Some(a), Some(b)) => a.max(b) < frame,
            _ => self.app_data_frames.iter().all(|f| f.is_some_and(|f| f < frame)),
        }
    }
}

/// TLS state of one TCP connection.
pub(crate) struct Conn {
    pub s: TlsSession,
    hs: [Vec<u8>; 2],
    dead: [bool; 2],
}

fn side(i: usize) -> Side {
    if i == 0 {
        Side::Client
    } else {
        Side::Server
    }
}

impl Conn {
    pub fn new(flow: FlowInfo) -> Conn {
        Conn { s: TlsSession::new(flow), hs: [Vec::new(), Vec::new()], dead: [false; 2] }
    }

    /// Bytes held in handshake reassembly buffers.
    pub fn buffered(&self) -> usize {
        self.hs.iter().map(Vec::len).sum()
    }

    pub fn lose_sync(&mut self, d: usize) {
        if let Some(x) = self.dead.get_mut(d) {
            *x = true;
        }
        if let Some(b) = self.hs.get_mut(d) {
            *b = Vec::new();
        }
        self.s.lost_sync = true;
    }

    /// Parse every complete record in `st` (direction index `d`: 0 client, 1 server).
    pub fn feed(
        &mut self,
        d: usize,
        st: &mut Stream,
        issues: &mut Issues,
        certs: &mut cert::Cache,
    ) {
        if self.dead.get(d).copied().unwrap_or(true) {
            let n = st.data().len() as u64;
            st.consume(n);
            return;
        }
        if d == 1 && self.s.first_server_frame.is_none() && !st.data().is_empty() {
            self.s.first_server_frame = Some(st.at(0).frame);
        }
        loop {
            let data = st.data();
            if data.len() < 5 {
                return;
            }
            if d == 0 && self.s.bytes[0] == 0 && sslv2_hello_len(data).is_some() {
                let Some(total) = sslv2_hello_len(data) else { return };
                if data.len() < total {
                    return;
                }
                let at = st.at(total - 1);
                let body = data.get(2..total).unwrap_or(&[]).to_vec();
                st.consume(total as u64);
                self.s.bytes[0] = total as u64;
                self.s.event(at.frame, Side::Client, "SSLv2 ClientHello");
                match sslv2_client_hello(&body, at) {
                    Ok(ch) => {
                        self.s.client_hellos = 1;
                        self.s.client_hello = Some(ch);
                    }
                    Err(e) => issues.add(at.frame, format!("TLS SSLv2 ClientHello: {e}")),
                }
                continue;
            }
            if !looks_like(data) {
                if d == 1 && self.s.bytes[1] == 0 {
                    self.s.server_not_tls =
                        Some(printable(data.get(..data.len().min(32)).unwrap_or(&[]), 32));
                }
                issues.add(
                    st.at(0).frame,
                    format!(
                        "TLS: not a record header ({}), stopped following the {:?} side",
                        printable(data.get(..5).unwrap_or(&[]), 5),
                        side(d)
                    ),
                );
                self.lose_sync(d);
                let n = data.len() as u64;
                st.consume(n);
                return;
            }
            let ctype = data.first().copied().unwrap_or(0);
            let len = u16::from_be_bytes([
                data.get(3).copied().unwrap_or(0),
                data.get(4).copied().unwrap_or(0),
            ]) as usize;
            let total = 5 + len;
            if ctype == 23 {
                // application data: note it and skip without buffering
                let at = st.at(0);
                self.app_data(d, at, len);
                self.s.bytes[d] = self.s.bytes[d].saturating_add(total as u64);
                st.consume(total as u64);
                continue;
            }
            if data.len() < total {
                return;
            }
            let at = st.at(total - 1);
            let frag = data.get(5..total).unwrap_or(&[]).to_vec();
            st.consume(total as u64);
            self.s.bytes[d] = self.s.bytes[d].saturating_add(total as u64);
            self.record(d, ctype, &frag, at, issues, certs);
        }
    }

    fn app_data(&mut self, d: usize, at: At, len: usize) {
        if let Some(last) = self.s.last_app_data.get_mut(d) {
            *last = Some((at.frame, u16::try_from(len).unwrap_or(u16::MAX)));
        }
        if self.s.app_data_frames[d].is_none() {
            self.s.app_data_frames[d] = Some(at.frame);
            self.s.event(at.frame, side(d), "application data");
        }
        self.s.app_data_records[d] = self.s.app_data_records[d].saturating_add(1);
        if d == 1 && self.s.app_data_records[0] > 0 {
            self.s.server_data_after_client = true;
        }
    }

    fn encrypted(&self, d: usize) -> bool {
        self.s.ccs_frames[d].is_some() && !self.s.tls13()
    }

    fn record(
        &mut self,
        d: usize,
        ctype: u8,
        frag: &[u8],
        at: At,
        issues: &mut Issues,
        certs: &mut cert::Cache,
    ) {
        match ctype {
            20 => {
                if self.s.ccs_frames[d].is_none() {
                    self.s.ccs_frames[d] = Some(at.frame);
                    self.s.event(at.frame, side(d), "ChangeCipherSpec");
                }
            }
            21 => {
                let enc = self.encrypted(d) || frag.len() != 2;
                let a = if enc {
                    Alert {
                        frame: at.frame,
                        ts: at.ts,
                        from: side(d),
                        level: None,
                        description: None,
                        name: "encrypted alert".into(),
                        encrypted: true,
                    }
                } else {
                    let level = frag.first().copied().unwrap_or(0);
                    let desc = frag.get(1).copied().unwrap_or(0);
                    Alert {
                        frame: at.frame,
                        ts: at.ts,
                        from: side(d),
                        level: Some(level),
                        description: Some(desc),
                        name: alert_name(desc),
                        encrypted: false,
                    }
                };
                self.s.event(at.frame, side(d), format!("alert {}", a.name));
                if self.s.alerts.len() < MAX_ALERTS {
                    self.s.alerts.push(a);
                }
            }
            22 => {
                if self.encrypted(d) {
                    self.s.event(at.frame, side(d), "encrypted handshake message");
                    return;
                }
                let Some(buf) = self.hs.get_mut(d) else { return };
                if buf.len().saturating_add(frag.len()) > MAX_HANDSHAKE {
                    issues.add(at.frame, format!("TLS: handshake message over {MAX_HANDSHAKE} bytes, stopped following the {:?} side", side(d)));
                    self.lose_sync(d);
                    return;
                }
                buf.extend_from_slice(frag);
                loop {
                    let buf = match self.hs.get(d) {
                        Some(b) => b,
                        None => return,
                    };
                    if buf.len() < 4 {
                        break;
                    }
                    let mtype = buf.first().copied().unwrap_or(0);
                    let mlen = buf
                        .get(1..4)
                        .map(|b| b.iter().fold(0usize, |a, &x| (a << 8) | x as usize))
                        .unwrap_or(0);
                    if mlen > MAX_HANDSHAKE {
                        issues.add(
                            at.frame,
                            format!("TLS: handshake message type {mtype} claims {mlen} bytes"),
                        );
                        self.lose_sync(d);
                        return;
                    }
                    if buf.len() < 4 + mlen {
                        break;
                    }
                    let body = buf.get(4..4 + mlen).unwrap_or(&[]).to_vec();
                    if let Some(b) = self.hs.get_mut(d) {
                        b.drain(..4 + mlen);
                    }
                    if let Err(e) = self.handshake(d, mtype, &body, at, certs) {
                        issues.add(at.frame, format!("TLS {}: {e}", hs_name(mtype)));
                    }
                }
            }
            _ => {
                // 24 heartbeat
                self.s.event(at.frame, side(d), format!("record type {ctype}"));
            }
        }
    }

    fn handshake(
        &mut self,
        d: usize,
        mtype: u8,
        body: &[u8],
        at: At,
        certs: &mut cert::Cache,
    ) -> Result<(), ParseError> {
        self.s.event(at.frame, side(d), hs_name(mtype));
        match (d, mtype) {
            (0, 1) => {
                let ch = client_hello(body, at)?;
                self.s.client_hellos = self.s.client_hellos.saturating_add(1);
                if self.s.client_hello.is_none() {
                    self.s.client_hello = Some(ch);
                }
            }
            (1, 2) => {
                let sh = server_hello(body, at)?;
                if sh.retry {
                    self.s.hello_retry = Some(sh);
                } else if self.s.server_hello.is_none() {
                    self.s.server_hello = Some(sh);
                }
            }
            (1, 11) => {
                if self.s.tls13() {
                    return Ok(());
                }
                self.s.certificate_frame = Some(at.frame);
                let mut r = Reader::new(body);
                let mut list = r.vec(3, "certificate_list")?;
                while !list.is_empty() {
                    let der = list.vec(3, "certificate")?;
                    if self.s.certificates.len() >= MAX_CERTS {
                        continue;
                    }
                    match certs.parse(der.rest()) {
                        Ok(c) => self.s.certificates.push(c),
                        Err(e) => {
                            if self.s.certificate_errors.len() < MAX_CERTS {
                                self.s.certificate_errors.push(e.clone());
                            }
                            return Err(ParseError::invalid("certificate", der.offset(), e));
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// End of the connection: decide the outcome.
    pub fn finish(mut self) -> TlsSession {
        self.s.decide();
        self.s
    }
}

fn hs_name(t: u8) -> crate::Text {
    let s = match t {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        22 => "CertificateStatus",
        n => return format!("handshake type {n}").into(),
    };
    s.into()
}

/// Length of an SSLv2-format ClientHello (RFC 6101 E.1, 2-byte header) at the start of `d`.
pub fn sslv2_hello_len(d: &[u8]) -> Option<usize> {
    let (b0, b1, t, v) = (*d.first()?, *d.get(1)?, *d.get(2)?, *d.get(3)?);
    if b0 & 0x80 == 0 || t != 1 || !(v == 0 || v == 3) {
        return None;
    }
    let len = (((b0 & 0x7f) as usize) << 8) | b1 as usize;
    (len >= 9).then_some(len + 2)
}

/// An SSLv2-format ClientHello body (after the 2-byte header).
pub fn sslv2_client_hello(body: &[u8], at: At) -> Result<ClientHello, ParseError> {
    let mut r = Reader::new(body);
    r.u8("msg_type")?;
    let version = r.u16("version")?;
    let cs_len = r.u16("cipher_spec_length")? as usize;
    let sid_len = r.u16("session_id_length")? as usize;
    let ch_len = r.u16("challenge_length")? as usize;
    let mut cs = r.sub(cs_len, "cipher_specs")?;
    r.skip(sid_len, "session_id")?;
    r.skip(ch_len, "challenge")?;
    let mut ciphers = Vec::new();
    while cs.left() >= 3 {
        let s = cs.u24("cipher_spec")?;
        if ciphers.len() < MAX_CIPHERS && s <= 0xffff {
            ciphers.push(s as u16);
        }
    }
    Ok(ClientHello {
        frame: at.frame,
        ts: at.ts,
        version,
        supported_versions: Vec::new(),
        sni: None,
        cipher_count: cs_len / 3,
        ciphers,
        alpn: Vec::new(),
    })
}

/// Parse a ClientHello body (RFC 8446 4.1.2).
pub fn client_hello(body: &[u8], at: At) -> Result<ClientHello, ParseError> {
    let mut r = Reader::new(body);
    let version = r.u16("client_version")?;
    r.skip(32, "random")?;
    r.vec(1, "session_id")?;
    let mut cs = r.vec(2, "cipher_suites")?;
    let cipher_count = cs.left() / 2;
    let mut ciphers = Vec::new();
    while cs.left() >= 2 {
        let c = cs.u16("cipher_suite")?;
        if ciphers.len() < MAX_CIPHERS {
            ciphers.push(c);
        }
    }
    r.vec(1, "compression_methods")?;
    let mut ch = ClientHello {
        frame: at.frame,
        ts: at.ts,
        version,
        supported_versions: Vec::new(),
        sni: None,
        cipher_count,
        ciphers,
        alpn: Vec::new(),
    };
    if r.is_empty() {
        return Ok(ch);
    }
    let mut exts = r.vec(2, "extensions")?;
    while !exts.is_empty() {
        let t = exts.u16("extension_type")?;
        let mut e = exts.vec(2, "extension_data")?;
        match t {
            0 if !e.is_empty() => {
                let mut list = e.vec(2, "server_name_list")?;
                while !list.is_empty() {
                    let nt = list.u8("name_type")?;
                    let n = list.vec(2, "host_name")?;
                    if nt == 0 && ch.sni.is_none() {
                        ch.sni = Some(printable(n.rest(), 255));
                    }
                }
            }
            16 => {
                let mut list = e.vec(2, "protocol_name_list")?;
                while !list.is_empty() {
                    let p = list.vec(1, "protocol_name")?;
                    if ch.alpn.len() < 16 {
                        ch.alpn.push(printable(p.rest(), 64));
                    }
                }
            }
            43 => {
                let mut list = e.vec(1, "supported_versions")?;
                while list.left() >= 2 {
                    let v = list.u16("version")?;
                    if ch.supported_versions.len() < 32 {
                        ch.supported_versions.push(v);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(ch)
}

/// Parse a ServerHello body (RFC 8446 4.1.3); HelloRetryRequest sets `retry`.
pub fn server_hello(body: &[u8], at: At) -> Result<ServerHello, ParseError> {
    let mut r = Reader::new(body);
    let version = r.u16("server_version")?;
    let random = r.take(32, "random")?;
    r.vec(1, "session_id")?;
    let cipher = r.u16("cipher_suite")?;
    r.u8("compression_method")?;
    let mut sh = ServerHello {
        frame: at.frame,
        ts: at.ts,
        version,
        selected_version: None,
        cipher,
        alpn: None,
        retry: random == HRR_RANDOM,
    };
    if r.is_empty() {
        return Ok(sh);
    }
    let mut exts = r.vec(2, "extensions")?;
    while !exts.is_empty() {
        let t = exts.u16("extension_type")?;
        let mut e = exts.vec(2, "extension_data")?;
        match t {
            43 => sh.selected_version = Some(e.u16("selected_version")?),
            16 => {
                let mut list = e.vec(2, "protocol_name_list")?;
                let p = list.vec(1, "protocol_name")?;
                sh.alpn = Some(printable(p.rest(), 64));
            }
            _ => {}
        }
    }
    Ok(sh)
}

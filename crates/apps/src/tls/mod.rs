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

use crate::cert::CertInfo;

mod conn;
mod hello;

pub(crate) use conn::Conn;
pub use hello::{client_hello, server_hello, sslv2_client_hello, sslv2_hello_len};

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

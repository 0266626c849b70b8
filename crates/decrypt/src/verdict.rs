//! The per-session verdict: decrypted, or exactly why not, in words an engineer can act on.

use serde::Serialize;

/// Why a session was not (fully) decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// (EC)DHE key exchange and no key log entry: the RSA key cannot open it.
    ForwardSecrecy { kx: &'static str, have_rsa_key: bool },
    /// TLS 1.3 and no key log secrets for its client random.
    Tls13NoSecrets,
    /// The key log has some TLS 1.3 secrets of this session but not the one needed.
    Tls13MissingSecret(&'static str),
    /// RSA key exchange, keys given, none with the certificate's modulus.
    KeyMismatch { cert_bits: usize },
    /// RSA key exchange and neither a key nor a key log entry.
    NoKey,
    /// The matching key did not open the premaster secret.
    RsaDecryptFailed(String),
    /// The capture starts after the handshake.
    NoHandshake,
    /// Abbreviated handshake whose master secret is not in the capture or a key log.
    ResumedUnknown { by_ticket: bool, original: Option<u64> },
    /// A suite (or protocol version) we cannot decrypt.
    Unsupported(String),
    /// A record failed its MAC / AEAD tag check.
    AuthFailed { dir: &'static str, record: u64, frame: u64 },
    /// Bytes of the stream were not captured.
    Gap { dir: &'static str, len: u64, frame: u64 },
    /// The handshake started but never reached the point where keys are used.
    Incomplete,
    /// The TLS framing broke (what, where).
    Malformed { dir: &'static str, what: String, frame: u64 },
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::ForwardSecrecy { kx, have_rsa_key } => write!(
                f,
                "{kx} key exchange (forward secrecy): {}a key log is needed — set SSLKEYLOGFILE=FILE for \
                 browsers/curl (or openssl s_client -keylogfile), or disable the {kx} suites on a test server \
                 so RSA key exchange is used",
                if *have_rsa_key { "the server's RSA private key cannot decrypt it; " } else { "" }
            ),
            Why::Tls13NoSecrets => write!(
                f,
                "TLS 1.3 without secrets: the private key cannot decrypt TLS 1.3 (always forward secret); \
                 give a key log (--keylog, from SSLKEYLOGFILE) or a pcapng with decryption secrets"
            ),
            Why::Tls13MissingSecret(s) => write!(f, "TLS 1.3: the key log lacks {s} for this session"),
            Why::KeyMismatch { cert_bits } => write!(
                f,
                "the key(s) given do not match the server's certificate ({cert_bits}-bit RSA public key): \
                 wrong key file for this server"
            ),
            Why::NoKey => write!(f, "RSA key exchange: no private key (--key) or key log entry for this session"),
            Why::RsaDecryptFailed(k) => write!(f, "the premaster secret could not be decrypted with {k}"),
            Why::NoHandshake => write!(f, "handshake not captured (the capture starts mid-session): keys cannot be derived"),
            Why::ResumedUnknown { by_ticket, original } => {
                let how = if *by_ticket { "ticket" } else { "session id" };
                match original {
                    Some(fr) => write!(
                        f,
                        "resumed session (by {how}) of the session at frame {fr}, which could not be decrypted \
                         either: its master secret is unknown"
                    ),
                    None => write!(
                        f,
                        "resumed session (by {how}) whose master secret is unknown: the original handshake is \
                         not in the capture and no key log entry matches"
                    ),
                }
            }
            Why::Unsupported(s) => write!(f, "unsupported: {s}"),
            Why::AuthFailed { dir, record, frame } => write!(
                f,
                "{dir} record {record} (frame {frame}) failed authentication: wrong key log entry or corrupted capture"
            ),
            Why::Gap { dir, len, frame } => write!(
                f,
                "{len} bytes of the {dir} stream were not captured (before frame {frame}): decryption of that \
                 direction stopped there"
            ),
            Why::Incomplete => write!(f, "the handshake did not complete (no encrypted records)"),
            Why::Malformed { dir, what, frame } => write!(f, "{dir} TLS stream broken at frame {frame}: {what}"),
        }
    }
}

/// One TLS session in the report (JSON fields as documented in the README).
#[derive(Clone, Debug, Serialize)]
pub struct SessionReport {
    pub src: String,
    pub sport: u16,
    pub dst: String,
    pub dport: u16,
    pub sni: Option<String>,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub key_exchange: Option<String>,
    pub decrypted: bool,
    pub reason: Option<String>,
    pub records: u64,
    /// Application data bytes client → server (plaintext when decrypted, else encrypted).
    pub client_bytes: u64,
    pub server_bytes: u64,
    pub first_frame: u64,
    /// Resumed by "session_id" or "ticket".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<&'static str>,
    /// Where the secret came from ("key log", "key file NAME", "earlier session in the capture").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_from: Option<String>,
    /// TLS 1.3 0-RTT: what happened to the client's early data (accepted and decrypted,
    /// rejected by the server and skipped, …); absent when none was offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_data: Option<String>,
}

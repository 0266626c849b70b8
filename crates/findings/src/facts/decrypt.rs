//! What the decrypting pass found, for `tls.not_decryptable` (`rules::tls_decrypt`, which
//! re-exports these types).

use serde::Serialize;

/// Sessions named at most in [`DecryptFacts::not_opened`].
pub const MAX_NOT_OPENED: usize = 1000;

/// A TLS session that could not be opened.
#[derive(Clone, Debug, Serialize)]
pub struct NotOpened {
    pub client: std::net::SocketAddr,
    pub server: std::net::SocketAddr,
    pub sni: Option<String>,
    /// Frame of the session's first TLS byte.
    pub first_frame: u64,
    /// Why, in words.
    pub reason: String,
}

/// What the decrypting pass found (present only when keys or key logs were given).
#[derive(Clone, Debug, Default, Serialize)]
pub struct DecryptFacts {
    /// TLS sessions seen.
    pub sessions: u64,
    /// Sessions whose records were decrypted (their plaintext went to the analyzers).
    pub decrypted: u64,
    /// Sessions not opened, first [`MAX_NOT_OPENED`].
    pub not_opened: Vec<NotOpened>,
    /// All sessions not opened (beyond the list too).
    pub not_opened_total: u64,
    /// Keys given (`--key`) that matched no server certificate in the capture, as
    /// "SOURCE (N-bit RSA)".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched_keys: Vec<String>,
}

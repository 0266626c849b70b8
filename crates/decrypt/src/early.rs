//! TLS 1.3 0-RTT early data (RFC 8446 §2.3, §4.2.10): a client resuming a session may send
//! application data right after its ClientHello, protected with keys from the
//! CLIENT_EARLY_TRAFFIC_SECRET (key log), before any handshake key exists.
//!
//! * The early records use the cipher suite of the resumed session, which the ClientHello
//!   does not name; every TLS 1.3 suite it offers whose hash fits the secret's length is a
//!   candidate, and the first early record picks the one whose AEAD tag verifies.
//! * Early records usually arrive before the ServerHello; the client's handshake keys then
//!   wait until the client's EndOfEarlyData (the last record under the early keys).
//! * The server decides in its EncryptedExtensions: `early_data` present = accepted. Until
//!   then the early plaintext is held (at most [`MAX_HELD`] bytes). Accepted: it becomes the
//!   start of the client's plaintext stream. Rejected: the server skipped those records (it
//!   tries its handshake key on them and drops what fails to decrypt), so they are skipped
//!   here too and reported as rejected 0-RTT — not as a failure.

use crate::conn::Conn;
pub use crate::conn::Early;
use crate::kex::{self, Shared};
use crate::suites::{self, Kx};
use crate::verdict::Why;

/// Early plaintext held while the server's decision is unknown (servers accept at most their
/// max_early_data, typically 16 KiB).
pub const MAX_HELD: usize = 1 << 18;

impl Early {
    /// A words summary for the report, when 0-RTT was offered.
    pub fn summary(&self) -> Option<String> {
        if !self.offered {
            return None;
        }
        let recs = |n: u64| format!("{n} record{}", if n == 1 { "" } else { "s" });
        let what = if self.records > 0 {
            format!("{} bytes of 0-RTT early data ({})", self.bytes, recs(self.records))
        } else if self.skipped > 0 {
            format!("0-RTT early data ({} under the early traffic key)", recs(self.skipped))
        } else {
            "0-RTT early data offered".to_string()
        };
        Some(match self.accepted {
            Some(true) if self.skipped > 0 && self.records == 0 => {
                format!("{what} accepted by the server, not decrypted")
            }
            Some(true) => format!("{what} accepted by the server: decrypted, start of the client's plaintext"),
            Some(false) => format!(
                "{what} rejected by the server (no early_data in its EncryptedExtensions): skipped, as the \
                 server did — not part of the plaintext"
            ),
            None => format!("{what}; the server's decision (EncryptedExtensions) was not seen"),
        })
    }
}

/// At the ClientHello: candidate early ciphers from the key log.
pub(crate) fn offer(c: &mut Conn, sh: &Shared) {
    let Some(ch) = &c.ch else { return };
    if !ch.early_data || c.early.offered {
        return;
    }
    c.early.offered = true;
    let Some(secret) = sh.keylog.by_random.get(&ch.random).and_then(|s| s.client_early.as_ref())
    else {
        return;
    };
    c.early.have_secret = true;
    c.early.candidates = ch
        .tls13_suites
        .iter()
        .filter_map(|id| suites::lookup(*id))
        .filter(|s| s.kx == Kx::Tls13 && s.prf.size() == secret.len())
        .filter_map(|s| kex::tls13_cipher(s, secret))
        .collect();
}

/// A client record while the early keys are in use: trial decryption with the candidates.
/// Returns the inner content type and plaintext, or `None` (counted as skipped).
pub(crate) fn decrypt(c: &mut Conn, ver: [u8; 2], frag: &[u8]) -> Option<(u8, Vec<u8>)> {
    let mut hit = None;
    for (i, k) in c.early.candidates.iter_mut().enumerate() {
        if let Ok(r) = k.decrypt(23, ver, frag) {
            hit = Some((i, r));
            break;
        }
    }
    let Some((i, r)) = hit else {
        c.early.skipped += 1;
        return None;
    };
    if c.early.candidates.len() > 1 {
        let k = c.early.candidates.swap_remove(i);
        c.early.candidates = vec![k];
    }
    Some(r)
}

/// Early application data: held until the server decides, then emitted or dropped.
pub(crate) fn data(c: &mut Conn, plain: Vec<u8>, end: u64) {
    c.early.records += 1;
    c.early.bytes += plain.len() as u64;
    match c.early.accepted {
        Some(true) => c.push_plain(0, plain, end),
        Some(false) => {}
        None if c.early.held_bytes + plain.len() > MAX_HELD => {
            c.early.overflow += plain.len() as u64;
        }
        None => {
            c.early.held_bytes += plain.len();
            c.early.held.push((plain, end));
        }
    }
}

/// The server's EncryptedExtensions: whether it accepted the early data.
pub(crate) fn decision(c: &mut Conn, accepted: bool) {
    if !c.early.offered || c.early.accepted.is_some() {
        return;
    }
    c.early.accepted = Some(accepted);
    let held = std::mem::take(&mut c.early.held);
    c.early.held_bytes = 0;
    if accepted {
        for (data, end) in held {
            c.push_plain(0, data, end);
        }
        if c.early.overflow > 0 {
            c.set_why(Why::Malformed {
                dir: "client→server",
                what: format!(
                    "0-RTT early data over {MAX_HELD} bytes ({} not kept)",
                    c.early.overflow
                ),
                frame: c.first_frame,
            });
        }
        if !c.early.have_secret {
            c.set_why(Why::Tls13MissingSecret(
                "CLIENT_EARLY_TRAFFIC_SECRET (0-RTT data accepted by the server)",
            ));
        }
    } else {
        // The server reads the client's next records with its handshake key.
        c.early.candidates.clear();
        c.install_pending(0);
    }
}

/// The client's EndOfEarlyData: its handshake keys from now on.
pub(crate) fn end(c: &mut Conn) {
    c.early.candidates.clear();
    c.install_pending(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_words() {
        let mut e = Early { offered: true, records: 1, bytes: 28, ..Default::default() };
        assert!(e.summary().unwrap().contains("decision (EncryptedExtensions) was not seen"));
        e.accepted = Some(false);
        let s = e.summary().unwrap();
        assert!(s.starts_with("28 bytes of 0-RTT early data (1 record) rejected"), "{s}");
        assert!(Early::default().summary().is_none());
    }
}

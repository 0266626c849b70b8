//! The state of one TLS connection: both directions (record and handshake buffers, ciphers,
//! counters), the handshake seen so far, the key material found for it, the 0-RTT state
//! ([`Early`]) and the verdict, with the small accessors the processing uses. The processing
//! itself is in [`crate::session`] (records, handshake messages), [`crate::kex`] (keys) and
//! [`crate::early`] (0-RTT); this module imports none of them.

use crate::cipher::RecordCipher;
use crate::handshake::{ClientHello, ServerHello};
use crate::suites::{Kx, Suite};
use crate::verdict::Why;

/// Name of direction 0 (client → server) or 1 (server → client).
pub fn dir_name(dir: usize) -> &'static str {
    if dir == 0 {
        "client→server"
    } else {
        "server→client"
    }
}

/// One of a pair, by direction index (0 or 1; anything else is 1).
pub(crate) fn pick<T>(pair: &mut [T; 2], dir: usize) -> &mut T {
    let [a, b] = pair;
    if dir == 0 {
        a
    } else {
        b
    }
}

/// Something a connection hands to the writer / printer.
#[derive(Debug)]
pub enum Out {
    /// Plaintext application data of a direction (0 client, 1 server); `cipher_end` is the
    /// stream offset just past the record, `plain_end` the plaintext offset just past `data`.
    Plain { dir: usize, data: Vec<u8>, cipher_end: u64, plain_end: u64 },
    /// Whether this session's records will be replaced by plaintext.
    Decided(bool),
}

#[derive(Default)]
pub(crate) struct DirState {
    pub(crate) rx: Vec<u8>,
    /// Stream offset of `rx[0]`.
    pub(crate) rx_base: u64,
    pub(crate) hsbuf: Vec<u8>,
    pub(crate) cipher: Option<RecordCipher>,
    pub(crate) pending: Option<RecordCipher>,
    /// TLS 1.3 application traffic secret (for KeyUpdate).
    pub(crate) app_secret: Option<Vec<u8>>,
    /// Encrypted records after CCS without keys.
    pub(crate) encrypted_unknown: bool,
    pub(crate) dead: bool,
    pub(crate) records: u64,
    pub(crate) app_bytes: u64,
    pub(crate) plain_total: u64,
    pub(crate) decrypted_records: u64,
    pub(crate) finished_seen: bool,
}

/// State of one TLS connection.
#[derive(Default)]
pub struct Conn {
    pub not_tls: bool,
    pub first_frame: u64,
    pub ch: Option<ClientHello>,
    pub sh: Option<ServerHello>,
    pub suite: Option<&'static Suite>,
    pub cert_modulus: Option<Vec<u8>>,
    pub saw_ske: bool,
    pub resumed: Option<&'static str>,
    pub master: Option<Vec<u8>>,
    pub secret_from: Option<String>,
    pub(crate) transcript: Vec<u8>,
    pub(crate) epms: Option<Vec<u8>>,
    pub why: Option<Why>,
    pub(crate) decided: Option<bool>,
    pub(crate) d: [DirState; 2],
    pub out: Vec<Out>,
    pub(crate) frame: u64,
    /// TLS 1.3 0-RTT early data ([`crate::early`]).
    pub early: Early,
}

impl Conn {
    pub fn new(first_frame: u64) -> Conn {
        Conn { first_frame, ..Default::default() }
    }
    pub fn tls13(&self) -> bool {
        self.sh.as_ref().is_some_and(|s| s.version == 0x0304)
    }
    pub fn version(&self) -> Option<u16> {
        self.sh.as_ref().map(|s| s.version).or(self.ch.as_ref().map(|c| c.version))
    }
    pub fn records(&self) -> u64 {
        self.d[0].records + self.d[1].records
    }
    pub fn app_bytes(&self, dir: usize) -> u64 {
        if dir == 0 {
            self.d[0].app_bytes
        } else {
            self.d[1].app_bytes
        }
    }
    pub fn decrypted_records(&self) -> u64 {
        self.d[0].decrypted_records + self.d[1].decrypted_records
    }
    pub fn decided(&self) -> Option<bool> {
        self.decided
    }
    pub(crate) fn set_why(&mut self, w: Why) {
        if self.why.is_none() {
            self.why = Some(w);
        }
    }
    pub(crate) fn decide(&mut self, v: bool) {
        if self.decided.is_none() {
            self.decided = Some(v);
            self.out.push(Out::Decided(v));
        }
    }

    /// Application plaintext of `dir` from the record ending at stream offset `end`.
    pub(crate) fn push_plain(&mut self, dir: usize, plain: Vec<u8>, end: u64) {
        let st = &mut pick(&mut self.d, dir);
        st.app_bytes += plain.len() as u64;
        st.plain_total += plain.len() as u64;
        if !plain.is_empty() {
            self.out.push(Out::Plain {
                dir,
                data: plain,
                cipher_end: end,
                plain_end: pick(&mut self.d, dir).plain_total,
            });
        }
    }

    /// Put the staged cipher of `dir` in use (TLS 1.3 client after its early data).
    pub(crate) fn install_pending(&mut self, dir: usize) {
        if let Some(c) = pick(&mut self.d, dir).pending.take() {
            pick(&mut self.d, dir).cipher = Some(c);
        }
    }

    /// Install (or, for TLS ≤ 1.2, stage) one direction's cipher.
    pub(crate) fn set_pending(&mut self, dir: usize, c: RecordCipher) {
        pick(&mut self.d, dir).pending = Some(c);
    }
    pub(crate) fn set_cipher(&mut self, dir: usize, c: RecordCipher, app_secret: Option<Vec<u8>>) {
        pick(&mut self.d, dir).cipher = Some(c);
        if app_secret.is_some() {
            pick(&mut self.d, dir).app_secret = app_secret;
        }
    }
    pub(crate) fn app_secret(&self, dir: usize) -> Option<&[u8]> {
        if dir == 0 {
            self.d[0].app_secret.as_deref()
        } else {
            self.d[1].app_secret.as_deref()
        }
    }
    pub(crate) fn transcript(&self) -> &[u8] {
        &self.transcript
    }
    pub(crate) fn epms(&self) -> Option<&[u8]> {
        self.epms.as_deref()
    }
    pub fn kx(&self) -> Option<Kx> {
        if self.tls13() {
            return Some(Kx::Tls13);
        }
        self.suite.map(|s| s.kx)
    }
}

/// The 0-RTT state of one connection.
#[derive(Default)]
pub struct Early {
    /// The ClientHello offered early data.
    pub offered: bool,
    /// The key log has CLIENT_EARLY_TRAFFIC_SECRET for this session.
    pub have_secret: bool,
    /// Early ciphers still in use (several until the first early record picks one).
    pub(crate) candidates: Vec<RecordCipher>,
    /// Early plaintext (data, stream offset past its record) until the server decides.
    pub(crate) held: Vec<(Vec<u8>, u64)>,
    pub(crate) held_bytes: usize,
    /// The server's decision (EncryptedExtensions), when seen.
    pub accepted: Option<bool>,
    /// Early records decrypted, and their plaintext bytes.
    pub records: u64,
    pub bytes: u64,
    /// Early records not decrypted (rejected by the server, or no usable secret).
    pub skipped: u64,
    /// Early plaintext bytes over [`crate::early::MAX_HELD`] (not kept).
    pub overflow: u64,
}

impl Early {
    /// The client direction still reads early records.
    pub fn active(&self) -> bool {
        !self.candidates.is_empty()
    }
}

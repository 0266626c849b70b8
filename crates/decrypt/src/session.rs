//! One TLS connection: record framing per direction, handshake tracking, key installation
//! and record decryption. Fed in-order stream bytes by the flows layer; emits plaintext
//! application data ([`Out`]) as each record completes.
//!
//! Records (type, version, 2-byte length) may be split over segments and many may share one
//! segment: each direction keeps a small buffer of one partial record. Handshake messages
//! may span records (a buffer per direction too). After a gap a direction stops: record
//! boundaries after lost bytes would have to be guessed. The client's TLS 1.3 0-RTT records
//! go through [`crate::early`] (trial decryption, held until the server accepts or rejects).
//! The connection's state ([`Conn`]) is defined in [`crate::conn`], which the key and 0-RTT
//! modules share without importing this one.

use crate::cipher::RecordError;
use crate::conn::pick;
pub use crate::conn::{dir_name, Conn, Out};
use crate::early;
use crate::handshake::{self as hs, ServerHello};
use crate::kex::{self, Shared};
use crate::suites;
use crate::verdict::Why;

/// Largest record payload: 2^14 plus the TLS 1.2 expansion allowance.
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Handshake message buffer cap (a certificate chain can be long).
const MAX_HS: usize = 1 << 18;
/// Transcript kept for the extended master secret.
const MAX_TRANSCRIPT: usize = 1 << 18;

/// Bytes of the record starting `rx` (its header first: 5 until the header is complete).
fn record_need(rx: &[u8]) -> usize {
    match rx.get(3..5) {
        Some(&[a, b]) => 5 + usize::from(u16::from_be_bytes([a, b])),
        _ => 5,
    }
}

impl Conn {
    /// In-order bytes of direction `dir` at stream `offset`.
    pub fn data(&mut self, sh: &mut Shared, dir: usize, offset: u64, data: &[u8], frame: u64) {
        self.frame = frame;
        if self.not_tls || pick(&mut self.d, dir).dead {
            return;
        }
        let st = &mut pick(&mut self.d, dir);
        if st.rx.is_empty() {
            st.rx_base = offset;
        }
        if self.ch.is_none() && dir == 0 && st.records == 0 && st.rx.is_empty() {
            // The first client bytes decide whether this is TLS at all.
            let first = match data {
                [t @ 20..=24, 3, minor, ..] if *minor <= 4 => Some(*t),
                _ => None,
            };
            let Some(first) = first else {
                self.not_tls = true;
                self.decide(false);
                return;
            };
            if first != 22 {
                self.set_why(Why::NoHandshake);
                self.decide(false);
            }
        }
        // Complete a record left partial by earlier segments, then read records straight
        // from `data`; only a trailing partial record is kept.
        let mut input = data;
        let mut base = offset;
        if !pick(&mut self.d, dir).rx.is_empty() {
            let st = pick(&mut self.d, dir);
            for _ in 0..2 {
                let take = record_need(&st.rx).saturating_sub(st.rx.len()).min(input.len());
                let (head, rest) = input.split_at(take);
                st.rx.extend_from_slice(head);
                input = rest;
                base = base.saturating_add(take as u64);
            }
            if st.rx.len() < record_need(&st.rx) {
                return;
            }
            let mut buf = std::mem::take(&mut st.rx);
            let rx_base = st.rx_base;
            if self.records_from(sh, dir, &buf, rx_base, frame).is_none() {
                return;
            }
            buf.clear();
            pick(&mut self.d, dir).rx = buf;
        }
        let Some(used) = self.records_from(sh, dir, input, base, frame) else { return };
        let st = pick(&mut self.d, dir);
        st.rx.extend_from_slice(input.get(used..).unwrap_or_default());
        st.rx_base = base.saturating_add(used as u64);
    }

    /// Process the complete records at the start of `buf` (stream offset `base`); returns
    /// the bytes consumed, or `None` when the direction stopped.
    fn records_from(
        &mut self,
        sh: &mut Shared,
        dir: usize,
        buf: &[u8],
        base: u64,
        frame: u64,
    ) -> Option<usize> {
        let mut pos = 0usize;
        while let Some(&[ctype, v0, v1, l0, l1]) = buf.get(pos..pos + 5) {
            let (ver, len) = ([v0, v1], usize::from(u16::from_be_bytes([l0, l1])));
            if !(20..=24).contains(&ctype) || v0 != 3 || len > MAX_RECORD {
                let what =
                    format!("not a TLS record header (type {ctype}, version {v0:02x}{v1:02x}, length {len})");
                if self.d[0].records + self.d[1].records == 0 && dir == 1 {
                    self.not_tls = true;
                    self.decide(false);
                } else {
                    self.set_why(Why::Malformed { dir: dir_name(dir), what, frame });
                }
                pick(&mut self.d, dir).dead = true;
                pick(&mut self.d, dir).rx = Vec::new();
                return None;
            }
            let Some(frag) = buf.get(pos + 5..pos + 5 + len) else { break };
            let end = base.saturating_add((pos + 5 + len) as u64);
            pos += 5 + len;
            pick(&mut self.d, dir).records += 1;
            self.record(sh, dir, ctype, ver, frag, end);
            if pick(&mut self.d, dir).dead {
                pick(&mut self.d, dir).rx = Vec::new();
                return None;
            }
        }
        Some(pos)
    }

    /// `len` bytes missing in `dir`.
    pub fn gap(&mut self, dir: usize, len: u64, frame: u64) {
        if self.not_tls || pick(&mut self.d, dir).dead {
            return;
        }
        self.set_why(Why::Gap { dir: dir_name(dir), len, frame });
        pick(&mut self.d, dir).dead = true;
        pick(&mut self.d, dir).rx = Vec::new();
    }

    fn record(
        &mut self,
        sh: &mut Shared,
        dir: usize,
        ctype: u8,
        ver: [u8; 2],
        frag: &[u8],
        end: u64,
    ) {
        let tls13 = self.tls13();
        let (ctype, plain) =
            if dir == 0 && ctype == 23 && self.d[0].cipher.is_none() && self.early.active() {
                match early::decrypt(self, ver, frag) {
                    Some(r) => {
                        self.d[0].decrypted_records += 1;
                        r
                    }
                    None => return,
                }
            } else if let Some(c) = pick(&mut self.d, dir).cipher.as_mut() {
                // TLS 1.3 sends its compatibility CCS in the clear even after keys are installed.
                if tls13 && ctype == 20 {
                    return;
                }
                match c.decrypt(ctype, ver, frag) {
                    Ok((t, p)) => {
                        pick(&mut self.d, dir).decrypted_records += 1;
                        (t, p)
                    }
                    Err(e) => {
                        let early = tls13
                            && dir == 0
                            && !self.d[0].finished_seen
                            && self.ch.as_ref().is_some_and(|c| c.early_data);
                        if early {
                            // 0-RTT data the server rejected (or we have no key for): skipped,
                            // as the server skips what its handshake key does not decrypt.
                            self.early.skipped += 1;
                            return;
                        }
                        let record = pick(&mut self.d, dir).records;
                        match e {
                            RecordError::Auth => self.set_why(Why::AuthFailed {
                                dir: dir_name(dir),
                                record,
                                frame: self.frame,
                            }),
                            RecordError::Malformed(w) => self.set_why(Why::Malformed {
                                dir: dir_name(dir),
                                what: format!("record {record}: {w}"),
                                frame: self.frame,
                            }),
                        }
                        pick(&mut self.d, dir).dead = true;
                        return;
                    }
                }
            } else {
                if ctype == 23 || (pick(&mut self.d, dir).encrypted_unknown && ctype == 22) {
                    if ctype == 23 && dir == 0 && self.sh.is_none() && self.early.offered {
                        self.early.skipped += 1;
                    } else if ctype == 23 {
                        pick(&mut self.d, dir).app_bytes += frag.len() as u64;
                    }
                    return;
                }
                (ctype, frag.to_vec())
            };
        // A 0-RTT client sends its compatibility ChangeCipherSpec before the ServerHello.
        let early_ccs = self.sh.is_none() && self.early.offered;
        match ctype {
            20 if !tls13 && !early_ccs => self.change_cipher_spec(sh, dir),
            22 => self.handshake_bytes(sh, dir, &plain),
            23 if dir == 0 && self.early.active() => early::data(self, plain, end),
            23 => self.push_plain(dir, plain, end),
            _ => {}
        }
    }

    fn change_cipher_spec(&mut self, sh: &mut Shared, dir: usize) {
        if pick(&mut self.d, dir).pending.is_none() {
            kex::install_tls12(self, sh);
        }
        match pick(&mut self.d, dir).pending.take() {
            Some(c) => {
                pick(&mut self.d, dir).cipher = Some(c);
                self.decide(true);
            }
            None => {
                pick(&mut self.d, dir).encrypted_unknown = true;
                self.decide(false);
            }
        }
    }

    fn handshake_bytes(&mut self, sh: &mut Shared, dir: usize, data: &[u8]) {
        let st = &mut pick(&mut self.d, dir);
        if st.hsbuf.len() + data.len() > MAX_HS {
            self.set_why(Why::Malformed {
                dir: dir_name(dir),
                what: "handshake message over 256 KiB".into(),
                frame: self.frame,
            });
            pick(&mut self.d, dir).dead = true;
            return;
        }
        st.hsbuf.extend_from_slice(data);
        let mut pos = 0;
        loop {
            let buf = &pick(&mut self.d, dir).hsbuf;
            let Some(&[t, l0, l1, l2]) = buf.get(pos..pos + 4) else { break };
            let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
            let Some(msg) = buf.get(pos..pos + 4 + len) else { break };
            let msg = msg.to_vec();
            pos += 4 + len;
            self.message(sh, dir, t, &msg);
        }
        pick(&mut self.d, dir).hsbuf.drain(..pos);
    }

    fn message(&mut self, sh: &mut Shared, dir: usize, t: u8, msg: &[u8]) {
        let body = msg.get(4..).unwrap_or_default();
        if !self.tls13()
            && self.master.is_none()
            && self.transcript.len() + msg.len() <= MAX_TRANSCRIPT
        {
            self.transcript.extend_from_slice(msg);
        }
        let bad = |what: &str| Why::Malformed {
            dir: dir_name(dir),
            what: format!("malformed {what}"),
            frame: self.frame,
        };
        match (dir, t) {
            (0, hs::CLIENT_HELLO) => match hs::client_hello(body) {
                Some(ch) => {
                    if self.ch.is_some() && !self.tls13() {
                        // Renegotiation: a new handshake, new keys on the next CCS.
                        self.master = None;
                        self.sh = None;
                        self.epms = None;
                        self.transcript = msg.to_vec();
                    }
                    if self.sh.as_ref().is_none_or(|s| !s.hrr) {
                        self.ch = Some(ch);
                        early::offer(self, sh);
                    }
                }
                None => self.set_why(bad("ClientHello")),
            },
            (1, hs::SERVER_HELLO) => match hs::server_hello(body) {
                Some(s) => self.server_hello(sh, s),
                None => self.set_why(bad("ServerHello")),
            },
            (1, hs::CERTIFICATE) if !self.tls13() => {
                self.cert_modulus = hs::first_certificate(body).and_then(hs::rsa_modulus);
            }
            (1, hs::SERVER_KEY_EXCHANGE) => self.saw_ske = true,
            (0, hs::CLIENT_KEY_EXCHANGE) => {
                let ssl3 = self.version() == Some(0x0300);
                self.epms = hs::rsa_encrypted_premaster(body, ssl3).map(|v| v.to_vec());
                kex::derive_master(self, sh);
            }
            (1, hs::NEW_SESSION_TICKET) if !self.tls13() => {
                if let Some(t) = hs::session_ticket(body) {
                    sh.cache.issued(t, self.first_frame);
                    if let Some(m) = self.master.clone() {
                        sh.cache.put_ticket(t, m);
                    }
                }
            }
            (_, hs::FINISHED) => {
                pick(&mut self.d, dir).finished_seen = true;
                if self.tls13() {
                    kex::tls13_application(self, sh, dir);
                }
            }
            (_, hs::KEY_UPDATE) if self.tls13() => kex::tls13_key_update(self, dir),
            (1, hs::ENCRYPTED_EXTENSIONS) if self.tls13() => {
                match hs::encrypted_extensions_early_data(body) {
                    Some(accepted) => early::decision(self, accepted),
                    None => self.set_why(bad("EncryptedExtensions")),
                }
            }
            (0, hs::END_OF_EARLY_DATA) if self.tls13() => early::end(self),
            _ => {}
        }
    }

    fn server_hello(&mut self, sh: &mut Shared, s: ServerHello) {
        self.suite = suites::lookup(s.suite);
        let hrr = s.hrr;
        let ch_sid = self.ch.as_ref().map(|c| c.session_id.clone()).unwrap_or_default();
        let resumed_sid = !s.session_id.is_empty() && s.session_id == ch_sid && s.version != 0x0304;
        self.sh = Some(s);
        if hrr {
            return;
        }
        if self.tls13() {
            kex::tls13_handshake(self, sh);
            return;
        }
        if resumed_sid {
            let by_ticket = self.ch.as_ref().is_some_and(|c| c.ticket.is_some());
            self.resumed = Some(if by_ticket { "ticket" } else { "session_id" });
        } else {
            self.resumed = None;
            if let Some(s) = &self.sh {
                sh.cache.issued(&s.session_id, self.first_frame);
            }
        }
    }

    /// The final reason, when nothing more specific was found.
    pub fn finish(&mut self) {
        if self.not_tls {
            return;
        }
        if self.decrypted_records() == 0 && self.why.is_none() {
            if self.ch.is_none() {
                self.set_why(Why::NoHandshake);
            } else if self.sh.is_none()
                || (self.d[0].cipher.is_none()
                    && self.d[1].cipher.is_none()
                    && !self.d[0].encrypted_unknown
                    && !self.d[1].encrypted_unknown)
            {
                self.set_why(Why::Incomplete);
            }
        }
        self.decide(false);
    }
}

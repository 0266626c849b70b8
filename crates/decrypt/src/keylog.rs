//! NSS key log files (the `SSLKEYLOGFILE` format written by browsers, curl, OpenSSL's
//! `-keylogfile`, GnuTLS): one secret per line, `LABEL <client_random hex> <secret hex>`.
//!
//! * `CLIENT_RANDOM`: the TLS ≤ 1.2 master secret (48 bytes) of the session whose
//!   ClientHello random is given.
//! * `RSA <first 8 bytes of the encrypted premaster, hex> <premaster, hex>`.
//! * TLS 1.3: `CLIENT_EARLY_TRAFFIC_SECRET`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
//!   `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`,
//!   `EARLY_EXPORTER_SECRET`, `EXPORTER_SECRET` (the last three are accepted and not needed).
//!
//! `#` comments and blank lines are skipped. A line that does not parse is a warning with its
//! line number (its content is never echoed: it may hold a secret), and reading goes on.

use std::collections::HashMap;

use crate::hex;

/// Entries kept at most (a key log of a busy browser has a few thousand).
pub const MAX_ENTRIES: usize = 1 << 20;
/// Warnings kept with their line numbers (the rest are counted).
pub const MAX_WARNINGS: usize = 20;

/// Secrets for one client random.
#[derive(Clone, Default)]
pub struct Secrets {
    pub master: Option<Vec<u8>>,
    pub client_early: Option<Vec<u8>>,
    pub client_hs: Option<Vec<u8>>,
    pub server_hs: Option<Vec<u8>>,
    pub client_app: Option<Vec<u8>>,
    pub server_app: Option<Vec<u8>>,
}

/// All secrets from all key logs (and decryption secrets blocks).
#[derive(Clone, Default)]
pub struct KeyLog {
    pub by_random: HashMap<[u8; 32], Secrets>,
    /// RSA premaster secrets by the first 8 bytes of their encryption.
    pub rsa: HashMap<[u8; 8], Vec<u8>>,
    /// Lines read with a secret.
    pub entries: u64,
    /// Problems, each with its source and line number.
    pub warnings: Vec<String>,
    pub warnings_dropped: u64,
}

impl std::fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyLog({} entries)", self.entries)
    }
}

impl KeyLog {
    pub fn is_empty(&self) -> bool {
        self.by_random.is_empty() && self.rsa.is_empty()
    }

    fn warn(&mut self, w: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        } else {
            self.warnings_dropped += 1;
        }
    }

    /// Add the lines of one key log; `source` names it in warnings.
    pub fn add_text(&mut self, source: &str, text: &[u8]) {
        for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
            let line = match std::str::from_utf8(raw) {
                Ok(l) => l.trim(),
                Err(_) => {
                    self.warn(format!("{source}: line {}: not text, skipped", i + 1));
                    continue;
                }
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Err(why) = self.add_line(line) {
                self.warn(format!("{source}: line {}: {why}, skipped", i + 1));
            }
        }
    }

    fn add_line(&mut self, line: &str) -> Result<(), &'static str> {
        let mut f = line.split_ascii_whitespace();
        let (Some(label), Some(a), Some(b), None) = (f.next(), f.next(), f.next(), f.next()) else {
            return Err("expected three fields: LABEL CLIENT_RANDOM SECRET");
        };
        if self.by_random.len() + self.rsa.len() >= MAX_ENTRIES {
            return Err("too many key log entries (limit reached)");
        }
        if label == "RSA" {
            let id = hex::decode_array::<8>(a)
                .ok_or("RSA: expected 16 hex digits of encrypted premaster")?;
            let pms = hex::decode(b)
                .filter(|p| p.len() == 48)
                .ok_or("RSA: expected a 48-byte premaster secret in hex")?;
            self.rsa.insert(id, pms);
            self.entries += 1;
            return Ok(());
        }
        let random = hex::decode_array::<32>(a).ok_or("expected a 32-byte client random in hex")?;
        let secret = hex::decode(b)
            .filter(|s| !s.is_empty() && s.len() <= 64)
            .ok_or("expected a secret in hex (at most 64 bytes)")?;
        let e = self.by_random.entry(random).or_default();
        let slot = match label {
            "CLIENT_RANDOM" => {
                if secret.len() != 48 {
                    return Err("CLIENT_RANDOM: master secret must be 48 bytes");
                }
                &mut e.master
            }
            "CLIENT_EARLY_TRAFFIC_SECRET" => &mut e.client_early,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut e.client_hs,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut e.server_hs,
            "CLIENT_TRAFFIC_SECRET_0" => &mut e.client_app,
            "SERVER_TRAFFIC_SECRET_0" => &mut e.server_app,
            // Later traffic secrets (OpenSSL logs CLIENT_TRAFFIC_SECRET_N after a KeyUpdate)
            // follow from _0; exporter secrets are not needed.
            l if l == "EARLY_EXPORTER_SECRET"
                || l == "EXPORTER_SECRET"
                || l.starts_with("CLIENT_TRAFFIC_SECRET_")
                || l.starts_with("SERVER_TRAFFIC_SECRET_") =>
            {
                self.entries += 1;
                return Ok(());
            }
            _ => return Err("unknown label"),
        };
        *slot = Some(secret);
        self.entries += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_and_warns_on_garbage() {
        let r = "11".repeat(32);
        let text = format!(
            "# comment\n\nCLIENT_RANDOM {r} {}\nSERVER_TRAFFIC_SECRET_0 {r} {}\nRSA 0102030405060708 {}\n\
             garbage line here too\nCLIENT_RANDOM {r} abc\nFOO {r} 00\n",
            "22".repeat(48),
            "33".repeat(32),
            "44".repeat(48)
        );
        let mut k = KeyLog::default();
        k.add_text("kl.txt", text.as_bytes());
        assert_eq!(k.entries, 3);
        let s = &k.by_random[&[0x11; 32]];
        assert_eq!(s.master.as_deref(), Some(&[0x22; 48][..]));
        assert_eq!(s.server_app.as_deref(), Some(&[0x33; 32][..]));
        assert_eq!(k.rsa[&[1, 2, 3, 4, 5, 6, 7, 8]].len(), 48);
        assert_eq!(k.warnings.len(), 3, "{:?}", k.warnings);
        assert!(k.warnings[0].starts_with("kl.txt: line 6: expected three fields"));
        assert!(k.warnings[1].contains("line 7"));
        assert!(k.warnings[2].contains("line 8: unknown label"));
        // No secret is echoed in a warning.
        assert!(k.warnings.iter().all(|w| !w.contains(&r)));
    }
}

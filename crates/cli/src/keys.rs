//! TLS secrets from the command line, shared by `decrypt`, `analyze`, `rpc` and
//! `conversations`: `--key FILE` (RSA private keys in any format `tracehound_decrypt::keys`
//! reads), `--keylog FILE` (NSS key logs) and `--key-password-file FILE`. The key password
//! comes from `TRACEHOUND_KEY_PASSWORD`, the password file, or a prompt on a terminal —
//! never from the command line. Secrets are never printed.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tracehound_decrypt::{keys, KeyError, KeyLog, PrivateKey};
use tracehound_pipeline::Secrets;

/// Largest key log file read.
const MAX_KEYLOG: u64 = 1 << 30;

const PASSWORD_ENV: &str = "TRACEHOUND_KEY_PASSWORD";

/// The TLS secret options (flattened into each command's arguments).
#[derive(clap::Args, Clone, Default)]
pub struct KeyArgs {
    /// RSA private key: PEM (PKCS#1, PKCS#8, encrypted), DER, or PKCS#12 / .pfx. Repeatable.
    #[arg(long = "key", value_name = "FILE")]
    pub keys: Vec<PathBuf>,
    /// NSS key log (SSLKEYLOGFILE format). Repeatable.
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylogs: Vec<PathBuf>,
    /// File whose first line is the key password.
    #[arg(long, value_name = "FILE")]
    pub key_password_file: Option<PathBuf>,
}

impl KeyArgs {
    /// No key and no key log given: nothing to decrypt.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.keylogs.is_empty()
    }

    /// Load the keys (asking for the password only when a key needs one) and key logs.
    /// Key log warnings are printed on standard error (with line numbers, never the line).
    pub fn load(&self) -> anyhow::Result<Secrets> {
        let keys = self.load_keys()?;
        let mut keylog = self.load_keylogs()?;
        for w in keylog.warnings.drain(..) {
            eprintln!("tracehound: warning: {w}");
        }
        if keylog.warnings_dropped > 0 {
            eprintln!(
                "tracehound: warning: {} more key log warnings not shown",
                keylog.warnings_dropped
            );
            keylog.warnings_dropped = 0;
        }
        Ok(Secrets { keys, keylog })
    }

    /// The private keys of every `--key` file.
    pub fn load_keys(&self) -> anyhow::Result<Vec<PrivateKey>> {
        let mut pw =
            Password { value: None, file: self.key_password_file.clone(), prompted: false };
        let mut out = Vec::new();
        for k in &self.keys {
            let first = pw.initial()?;
            let r = match keys::load(k, first.as_deref()) {
                Err(KeyError::PasswordNeeded { .. }) if first.is_none() => match pw.prompt(k)? {
                    Some(p) => keys::load(k, Some(&p)),
                    None => keys::load(k, None),
                },
                r => r,
            };
            out.extend(r?);
        }
        Ok(out)
    }

    /// Every `--keylog` file in one key log (warnings kept in it, with their line numbers).
    pub fn load_keylogs(&self) -> anyhow::Result<KeyLog> {
        let mut kl = KeyLog::default();
        for f in &self.keylogs {
            let meta = std::fs::metadata(f)
                .with_context(|| format!("{}: cannot read key log", f.display()))?;
            if meta.len() > MAX_KEYLOG {
                anyhow::bail!("{}: key log of {} bytes is too large", f.display(), meta.len());
            }
            let text = std::fs::read(f)
                .with_context(|| format!("{}: cannot read key log", f.display()))?;
            let before = kl.entries;
            kl.add_text(&f.display().to_string(), &text);
            if kl.entries == before {
                kl.warnings.push(format!("{}: no key log entries in the file", f.display()));
            }
        }
        Ok(kl)
    }
}

/// The password, asked for only when a key needs one.
struct Password {
    value: Option<String>,
    file: Option<PathBuf>,
    prompted: bool,
}

impl Password {
    fn initial(&mut self) -> anyhow::Result<Option<String>> {
        if self.value.is_none() {
            if let Ok(p) = std::env::var(PASSWORD_ENV) {
                self.value = Some(p);
            } else if let Some(f) = &self.file {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("{}: cannot read the password file", f.display()))?;
                self.value = Some(text.lines().next().unwrap_or("").to_string());
            }
        }
        Ok(self.value.clone())
    }

    fn prompt(&mut self, key: &Path) -> anyhow::Result<Option<String>> {
        if self.prompted || !io::stdin().is_terminal() {
            return Ok(None);
        }
        self.prompted = true;
        let p = tracehound_decrypt::prompt_password(&format!("Password for {}: ", key.display()))
            .context("cannot read the password from the terminal")?;
        self.value = Some(p.clone());
        Ok(Some(p))
    }
}

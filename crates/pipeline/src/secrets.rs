//! The TLS secrets one pass decrypts with: RSA private keys and key logs loaded by the caller,
//! plus the decryption secrets blocks of a pcapng. Secrets are never printed.

use std::path::Path;

use tracehound_decrypt::kex::Shared;
use tracehound_decrypt::{KeyLog, PrivateKey};

/// Keys and key logs, loaded once per command (cloned into each decrypting handler).
#[derive(Clone)]
pub struct Secrets {
    pub keys: Vec<PrivateKey>,
    pub keylog: KeyLog,
}

impl Secrets {
    /// A fresh key set for one decrypting handler (each handler keeps its own resumption
    /// cache, so each decrypts independently of the others).
    pub fn shared(&self) -> Shared {
        Shared::new(self.keys.clone(), self.keylog.clone())
    }

    /// These secrets plus the decryption secrets blocks of `path` (a pcapng written by
    /// `editcap --inject-secrets`); problems met are returned as warnings.
    pub fn with_dsb(&self, path: &Path) -> (Secrets, Vec<String>) {
        let mut s = self.clone();
        let mut warnings = Vec::new();
        if path == Path::new("-") {
            return (s, warnings);
        }
        let name = path.display().to_string();
        match tracehound_decrypt::dsb::scan(path) {
            Ok(found) => {
                for (i, k) in found.keylogs.iter().enumerate() {
                    s.keylog.add_text(&format!("{name} (decryption secrets block {})", i + 1), k);
                }
                warnings.extend(found.problems.into_iter().map(|p| format!("{name}: {p}")));
            }
            Err(e) => warnings.push(format!("{name}: reading decryption secrets: {e}")),
        }
        warnings.append(&mut s.keylog.warnings);
        (s, warnings)
    }
}

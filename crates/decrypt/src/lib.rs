//! TLS decryption for captures (`tracehound decrypt`, issue 9): private keys and key logs
//! in, a verdict per TLS session in words out — decrypted, or exactly why not — plus the
//! plaintext, as a capture every tool reads or as streams for other analyzers.
//!
//! The pipeline, one streaming pass:
//!
//! * secrets: [`keys`] (PEM / DER / PKCS#8 / PKCS#12 RSA keys, matched to sessions by the
//!   certificate's modulus), [`keylog`] (NSS key logs), [`dsb`] (pcapng decryption secrets
//!   blocks, found by a block walk of the file);
//! * per connection ([`session::Conn`], fed in-order bytes by the flows layer): TLS record
//!   framing, the handshake ([`handshake`]), key derivation ([`kex`], [`prf`]: TLS 1.0–1.2
//!   PRF, SSL 3.0's MD5/SHA-1 derivation, extended master secret, TLS 1.3 HKDF, KeyUpdate,
//!   resumption, renegotiation), TLS 1.3 0-RTT early data ([`early`]) and record decryption
//!   ([`cipher`], RustCrypto primitives; SSL 3.0 to TLS 1.3; suites in [`suites`]);
//! * the verdict ([`verdict`]) and the outputs: [`run::run`] for `tracehound decrypt`
//!   (table / JSON / `--follow`), [`rewrite`] + [`pcapw`] for the plaintext capture, and
//!   [`TlsPlaintext`], a `StreamHandler` adapter that puts the plaintext in front of any other
//!   analyzer (for `analyze` / `rpc` / `conversations --key`).
//!
//! Contract: no input (capture, key file, key log) makes it panic or grow without bound;
//! every error names the file and what is wrong; secrets are never printed or logged.

pub mod adapter;
mod asn1;
pub mod cipher;
mod conn;
pub mod dsb;
pub mod early;
pub mod handshake;
pub mod hex;
pub mod kex;
pub mod keylog;
pub mod keys;
mod pbe;
pub mod pcapw;
mod pfx;
pub mod prf;
pub mod rewrite;
mod rsakey;
pub mod run;
pub mod session;
pub mod suites;
pub mod verdict;

pub use adapter::TlsPlaintext;
pub use keylog::KeyLog;
pub use keys::{KeyError, PrivateKey};
pub use run::{run, Options, Outcome, PlainSink, RunError};
pub use tracehound_flows::FlowInfo;
pub use verdict::SessionReport;

/// Read a password from the terminal without echo (for encrypted keys).
pub fn prompt_password(msg: &str) -> std::io::Result<String> {
    rpassword::prompt_password(msg)
}

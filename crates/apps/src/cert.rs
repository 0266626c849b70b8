//! X.509 certificates (RFC 5280) as carried in cleartext TLS ≤ 1.2 Certificate messages.
//! Parsing and RFC 6125 name matching are `tracehound_proto::x509` (shared with the live
//! probe); this module adds a bounded cache, since every handshake repeats the same chain.

pub use tracehound_proto::time::iso;
pub use tracehound_proto::x509::{name_matches, parse, CertInfo};

/// Parsed certificates by their DER bytes: the same server certificate comes back in every
/// handshake, and parsing it is the costliest part of following TLS. Bounded: when full it
/// starts over.
#[derive(Default)]
pub struct Cache {
    map: std::collections::HashMap<Vec<u8>, Result<std::sync::Arc<CertInfo>, String>>,
    bytes: usize,
}

impl Cache {
    /// Entries kept at most.
    pub const MAX_ENTRIES: usize = 1024;
    /// DER bytes kept at most.
    pub const MAX_BYTES: usize = 4 << 20;

    /// [`parse`], remembered.
    pub fn parse(&mut self, der: &[u8]) -> Result<std::sync::Arc<CertInfo>, String> {
        if let Some(r) = self.map.get(der) {
            return r.clone();
        }
        let r = parse(der).map(std::sync::Arc::new);
        if self.map.len() >= Self::MAX_ENTRIES
            || self.bytes.saturating_add(der.len()) > Self::MAX_BYTES
        {
            self.map.clear();
            self.bytes = 0;
        }
        if der.len() <= Self::MAX_BYTES {
            self.bytes += der.len();
            self.map.insert(der.to_vec(), r.clone());
        }
        r
    }
}

/// Does the certificate cover `host`? RFC 6125, see `tracehound_proto::x509`.
pub fn covers(c: &CertInfo, host: &str) -> bool {
    c.covers(host)
}

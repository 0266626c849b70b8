//! A checked byte reader for the binary protocols (DNS, SMB2, NetBIOS, STUN, TLS): every
//! read is bounds-checked and a failure names the field and the offset.

/// Malformed reply: what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed reply at offset {offset}: {what}")]
pub struct Malformed {
    pub offset: usize,
    pub what: String,
}

/// The checked byte reader is `tracehound_proto::reader::Reader` (shared with the capture
/// side); its errors become [`Malformed`].
pub use tracehound_proto::reader::Reader as Rd;

impl From<tracehound_proto::ParseError> for Malformed {
    fn from(e: tracehound_proto::ParseError) -> Self {
        use tracehound_proto::ParseError as E;
        let what = match &e {
            E::Short { what, need, have, .. } => format!("{what}: need {need} bytes, {have} left"),
            E::Invalid { what: "malformed data", why, .. } => why.clone(),
            E::Invalid { what, why, .. } => format!("{what}: {why}"),
            _ => e.to_string(),
        };
        Malformed { offset: e.offset(), what }
    }
}

/// Hex for short byte strings (at most 64 bytes shown).
pub fn hex(b: &[u8]) -> String {
    let mut s: String = b.iter().take(64).map(|x| format!("{x:02x}")).collect();
    if b.len() > 64 {
        s.push('…');
    }
    s
}

/// Printable text of untrusted bytes (control characters escaped, length capped).
pub fn printable(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(b.get(..b.len().min(max)).unwrap_or_default());
    let mut out: String = s.chars().map(|c| if c.is_control() { '.' } else { c }).collect();
    if b.len() > max {
        out.push('…');
    }
    out
}

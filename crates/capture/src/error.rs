//! Reader errors: which input, where in its (uncompressed) byte stream, after how many
//! frames, and what was wrong.

use std::fmt;

/// A fatal reading error. Displays as `<file>: at byte <offset> (after frame <n>): <what>`.
#[derive(Debug, thiserror::Error)]
#[error("{file}: at byte {offset} (after frame {frame}): {kind}")]
pub struct CaptureError {
    /// The input's name as given to the reader (`<stdin>` for standard input).
    pub file: String,
    /// Offset in the uncompressed stream where the offending header, block or record starts.
    pub offset: u64,
    /// Number of the last frame before the error (the error concerns frame `frame + 1` or
    /// later); Wireshark's numbering, see [`Frame::number`](crate::Frame::number).
    pub frame: u64,
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading the input failed (including a corrupt gzip stream).
    Io(std::io::Error),
    /// The input does not start with a pcap or pcapng magic. Holds up to 16 first bytes.
    NotACapture { first_bytes: Vec<u8>, hint: Option<&'static str> },
    /// The input ends inside its file header or first section header: nothing can be read.
    /// (An input that ends inside a later record is not an error: see
    /// [`CaptureStats::truncated`](crate::CaptureStats::truncated).)
    Truncated(String),
    /// Framing that cannot be followed: a bad block length, an impossible captured length.
    Corrupt(String),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io(e) => write!(f, "read error: {e}"),
            ErrorKind::NotACapture { first_bytes, hint } => {
                if first_bytes.is_empty() {
                    f.write_str("not a pcap or pcapng capture: the input is empty")?;
                } else {
                    let text: String = first_bytes
                        .iter()
                        .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' })
                        .collect();
                    write!(
                        f,
                        "not a pcap or pcapng capture: it starts with {} (\"{text}\")",
                        crate::source::hex(first_bytes)
                    )?;
                }
                if let Some(h) = hint {
                    write!(f, "; {h}")?;
                }
                Ok(())
            }
            ErrorKind::Truncated(s) | ErrorKind::Corrupt(s) => f.write_str(s),
        }
    }
}

impl CaptureError {
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

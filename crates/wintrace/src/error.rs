//! The one error type of this crate: what went wrong, and where.

/// What kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinErrorKind {
    /// Reading the input failed.
    Io,
    /// The structure cannot be followed (bad length, offset outside the file, ...).
    Corrupt,
    /// The input ends inside its file header: nothing can be read.
    Truncated,
    /// A version or variant this reader does not handle.
    Unsupported,
}

/// A reading error. Displays as `at byte <offset> (after frame <n>): <what>`; the offset is
/// in the file (NetMon) or in the stream of ETL buffers (ETL, at the start of the buffer or
/// record concerned).
#[derive(Debug, thiserror::Error)]
#[error("at byte {offset} (after frame {frame}): {what}")]
pub struct WinError {
    pub kind: WinErrorKind,
    pub offset: u64,
    pub frame: u64,
    pub what: String,
}

impl WinError {
    pub(crate) fn new(kind: WinErrorKind, offset: u64, frame: u64, what: String) -> WinError {
        WinError { kind, offset, frame, what }
    }
    pub(crate) fn io(offset: u64, frame: u64, e: &std::io::Error) -> WinError {
        WinError::new(WinErrorKind::Io, offset, frame, format!("read error: {e}"))
    }
}

//! What the pass reads frames from: one capture reader, or several files read as one
//! ([`crate::fileset::SetReader`]).

use tracehound_capture::{CaptureError, CaptureReader, CaptureStats, Frame};

use crate::fileset::map::FrameMap;

/// What the pass reads frames from: one capture reader, or a [`SetReader`] over several files.
pub trait FrameSource {
    fn name(&self) -> &str;
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError>;
    fn source_len(&self) -> Option<u64>;
    fn source_bytes_read(&self) -> u64;
    fn stats(&self) -> &CaptureStats;
    fn windows(&self) -> Option<&tracehound_wintrace::WinReader>;
    /// The files read and where their frames are in the pass's numbering.
    fn frame_map(&self) -> FrameMap;
    /// The memory map every frame's data borrows from, if there is one for the whole pass
    /// (a single mapped pcap or pcapng file).
    fn shared_map(&self) -> Option<tracehound_capture::SharedMap> {
        None
    }
}

impl FrameSource for CaptureReader {
    fn name(&self) -> &str {
        CaptureReader::name(self)
    }
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        CaptureReader::next_frame(self)
    }
    fn source_len(&self) -> Option<u64> {
        CaptureReader::source_len(self)
    }
    fn source_bytes_read(&self) -> u64 {
        CaptureReader::source_bytes_read(self)
    }
    fn stats(&self) -> &CaptureStats {
        CaptureReader::stats(self)
    }
    fn windows(&self) -> Option<&tracehound_wintrace::WinReader> {
        CaptureReader::windows(self)
    }
    fn shared_map(&self) -> Option<tracehound_capture::SharedMap> {
        CaptureReader::shared_map(self)
    }
    fn frame_map(&self) -> FrameMap {
        FrameMap::default()
    }
}

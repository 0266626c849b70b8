//! The analyzer's limits and switches ([`RpcConfig`]), shared by the stream and SMB layers.

use crate::calls::Limits;

/// Limits and switches of the analyzer.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    pub limits: Limits,
    /// Bytes buffered per direction while waiting for the rest of a PDU (64 KiB + max frag).
    pub max_buffer: usize,
    /// Bytes of each direction searched for a DCE/RPC or SMB header before giving up.
    pub detect_window: usize,
    /// Connections tracked at once.
    pub max_conns: usize,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            limits: Limits::default(),
            max_buffer: 64 * 1024 + 65_535,
            detect_window: 64 * 1024,
            max_conns: 200_000,
        }
    }
}

//! The facts rules read: everything the analyzers produced for one capture.

use serde::Serialize;
use tracehound_flows::Conversation;

/// Facts about the capture file itself.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaptureFacts {
    pub frames: u64,
    /// Where and why reading stopped early, if it did.
    pub damage: Option<String>,
    pub decode_errors: u64,
    /// (frame, what) of the first decode problems.
    pub decode_issues: Vec<(u64, String)>,
    pub frames_cut_by_snaplen: u64,
    /// Frames of link types we do not decode, by LINKTYPE value.
    pub unsupported_link_types: Vec<(u32, u64)>,
    /// Conversations not kept for the rules (the analyze command keeps a bounded number).
    pub conversations_not_kept: u64,
    /// First and last frame time.
    pub first_ts: f64,
    pub last_ts: f64,
}

/// Inputs to the rules. Filled by the binary after one pass over a capture.
pub struct Facts<'a> {
    /// Name of the capture file these facts come from.
    pub file: &'a str,
    pub capture: &'a CaptureFacts,
    pub conversations: &'a [Conversation],
    pub rpc: &'a tracehound_rpc::RpcReport,
    pub endpoints: &'a [tracehound_rpc::endpoints::EndpointReport],
    pub apps: &'a tracehound_apps::AppReport,
}

impl Facts<'_> {
    /// The conversation with this flow id, if kept.
    pub fn conversation(&self, id: u64) -> Option<&Conversation> {
        self.conversations
            .binary_search_by_key(&id, |c| c.info.id)
            .ok()
            .map(|i| &self.conversations[i])
    }
}

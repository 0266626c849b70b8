//! The facts rules read: everything the analyzers produced for one capture.

use serde::Serialize;
use tracehound_flows::Conversation;

mod decrypt;
mod windows;

pub use decrypt::{DecryptFacts, NotOpened, MAX_NOT_OPENED};
pub use windows::{flow_of, WindowsDrop, WindowsFacts, MAX_DROPS};

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
    /// Packet records skipped by the reader although the file framing was intact (a pcapng
    /// packet naming an interface the section never defined, a captured length beyond its
    /// block), and the first descriptions of why.
    pub skipped_records: u64,
    pub skipped_reasons: Vec<String>,
    /// IPv4/IPv6 fragments seen, datagrams reassembled from them, and datagrams whose
    /// fragments never all arrived (timed out, still open at the end, or refused by a limit).
    pub fragments: u64,
    pub datagrams_reassembled: u64,
    pub datagrams_incomplete: u64,
    /// Every limit reached during the pass, in words (e.g. "flow table: 12 flows closed
    /// early"): what was left out of the analysis because of it.
    pub limits_reached: Vec<String>,
    /// Every attempt-only TCP flow of the pass (SYNs; nothing, a RST or an ICMP error back),
    /// counted by source and by service: exact totals beyond the conversations kept (the
    /// scan / flood and connection rules read it). None where no pass ran.
    #[serde(skip)]
    pub attempts: Option<tracehound_flows::AttemptSummary>,
    /// First and last frame time.
    pub first_ts: f64,
    pub last_ts: f64,
    /// TLS decryption verdicts, when keys or key logs were given (`tls.not_decryptable`).
    pub tls_decrypt: Option<DecryptFacts>,
    /// What a Windows trace (ETL / NetMon) carried beyond packets: PktMon drops
    /// (`windows.packet_dropped`). None for pcap / pcapng.
    pub windows: Option<WindowsFacts>,
}

impl CaptureFacts {
    /// Part of the capture was not analysed (cut short, records skipped, frames not decoded,
    /// unsupported link types, fragments never completed, a limit reached) or the capture held
    /// no packet at all: `analyze` exits with code 4, and a `capture.damaged` or
    /// `capture.not_analysed` finding says what and why.
    pub fn incomplete(&self) -> bool {
        self.damage.is_some()
            || self.frames == 0
            || self.decode_errors > 0
            || self.skipped_records > 0
            || !self.unsupported_link_types.is_empty()
            || self.datagrams_incomplete > 0
            || !self.limits_reached.is_empty()
    }
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

//! The facts rules read: everything the analyzers produced for one capture (or several).

use tracehound_flows::Conversation;

/// Inputs to the rules. Fields are filled by the binary after one pass over the capture(s).
pub struct Facts<'a> {
    /// Name of the capture file these facts come from.
    pub file: &'a str,
    pub conversations: &'a [Conversation],
    pub rpc: &'a tracehound_rpc::RpcReport,
    pub endpoints: &'a [tracehound_rpc::endpoints::EndpointReport],
    pub apps: &'a tracehound_apps::AppReport,
}

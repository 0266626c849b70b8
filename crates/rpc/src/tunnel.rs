//! What the RPC over HTTP analysis ([`crate::rpch`]) records on calls and in the report: the
//! tunnel that carried a call, and the failures of a virtual connection's channels. A leaf
//! module, so that the call records do not depend on the tunnel analysis.

use serde::Serialize;

/// How a channel of a virtual connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The proxy's last answer to the channel's request was an HTTP error (>= 300).
    HttpError,
    /// OUT channel: CONN/A1 sent, no CONN/A3 back.
    NoConnA3,
    /// OUT channel: CONN/A3 but no CONN/C2 (the virtual connection was not completed).
    NoConnC2,
    /// IN channel: CONN/B1 sent, but no OUT channel of its virtual connection was seen.
    NoOutChannel,
    /// A channel was replaced (a RECYCLE_CHANNEL RTS PDU): information, not a failure.
    Recycled,
}

/// One channel failure of an RPC over HTTP virtual connection, for the rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelFailure {
    pub kind: FailureKind,
    /// The frame that shows it (the error answer, the CONN/A1, ...).
    pub frame: u64,
    pub client: std::net::SocketAddr,
    /// The RPC proxy (the HTTP server).
    pub proxy: std::net::SocketAddr,
    /// `RPC_IN_DATA` or `RPC_OUT_DATA` (or the method seen).
    pub method: String,
    /// The `server:port` of the URL.
    pub target: Option<String>,
    /// The HTTP status and reason phrase of an [`FailureKind::HttpError`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The failure in plain words.
    pub what: String,
}

/// The RPC over HTTP tunnel that carried a call (`Call::tunnel` in JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tunnel {
    /// Always `"ncacn_http"`.
    pub transport: &'static str,
    /// The RPC server and port the client asked the proxy for (`rpcproxy.dll?server:port`).
    pub target: Option<String>,
    /// The virtual connection cookie (from CONN/A1 and CONN/B1), as a GUID.
    pub cookie: Option<String>,
    /// The client port of the OUT channel, on which the responses came back (the call's
    /// `sport` is the IN channel's).
    pub out_sport: Option<u16>,
}

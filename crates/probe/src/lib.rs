//! tracehound probe: everything behind `tracehound portqry`, a PortQry-compatible port
//! and service query tool.
//!
//! - [`args`]: PortQry's command line (`-n`, `-e`, `-nr`, `-sl`, `-wport`, ... parsed by
//!   hand, since PortQry's switches are multi-letter words after one dash) and the extras.
//! - [`scan`]: port states. TCP: `connect()` - handshake = LISTENING, reset = NOT
//!   LISTENING, silence after every try = FILTERED, ICMP unreachable / prohibited =
//!   FILTERED naming the ICMP message ([`net`] reads it from the socket error queue).
//!   UDP: a protocol-appropriate datagram - reply = LISTENING, ICMP port unreachable = NOT
//!   LISTENING, silence = LISTENING or FILTERED (then the protocol query decides).
//!   Concurrency is bounded by a semaphore (default 4096 sockets, capped by the open-file
//!   limit, whose soft value is raised to the hard one) and new probes are paced by a rate
//!   limit. TCP waits adapt like nmap's: `clamp(srtt + 4 rttvar, 100 ms, --timeout)` from
//!   the measured SYN-ACK/RST latencies (RFC 6298 smoothing, see [`scan`]), so silently
//!   dropped ports cost about 100 ms + 200 ms on a fast link instead of 2 x 1 s, and a
//!   slow link still gets up to the full `--timeout` (doubled by `-sl`).
//! - [`query`]: one module per protocol query (endpoint mapper with endpoint follow-up,
//!   LDAP/CLDAP rootDSE, DNS, NetBIOS node status, SNMP, Kerberos, SMB2, SQL Browser, TLS,
//!   STUN/TURN, HTTP); every reply is treated as hostile (bounded reads, checked parsing).
//! - [`local`]: `-local`, `-wport`, `-wpid` from /proc.
//! - [`output`]: PortQry's text layout and the JSON Lines records.
//!
//! Entry point for the CLI: [`run`] with the raw arguments after `portqry`.
//!
//! # JSON (`--json`): JSON Lines, one object per target and port
//!
//! ```text
//! {"host":"dc1","address":"10.0.0.5","proto":"tcp","port":135,"service":"epmap",
//!  "state":"LISTENING","reason":"TCP handshake completed in 1 ms",
//!  "query":"epm","result":{"operation":"ept_lookup","total":53,"pages":2,"error":null,
//!                          "verdict":"All 4 TCP endpoints reachable","warnings":[]},
//!  "endpoints":[{"uuid":"12345778-1234-abcd-ef00-0123456789ac","version":"1.0",
//!                "annotation":"samr","interface":"samr","binding":"ncacn_ip_tcp:0.0.0.0[49152]",
//!                "follow_up":{"state":"LISTENING","reason":"...","bind":{"result":"accepted",...}}}]}
//! ```
//!
//! `state` is one of `LISTENING`, `NOT LISTENING`, `FILTERED`, `LISTENING or FILTERED`;
//! `query`/`result` appear where a protocol query ran (`result.error` when it failed);
//! `endpoints` only for the endpoint mapper. A target that does not resolve gives
//! `{"host":..., "error":...}`. Local mode prints one object per socket.

pub mod args;
pub mod ber;
pub mod check;
pub mod local;
pub mod net;
pub mod output;
pub mod presets;
pub mod query;
pub mod resolve;
pub mod scan;
pub mod services;

mod cmd;

#[doc(hidden)]
pub mod fuzzing;

pub use args::{parse_args, ArgError, Options, HELP};
pub use cmd::run;
pub use scan::{PortReport, PortState};

/// Transport protocol of a probed port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn upper(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }
    }
}

/// Errors that stop the command (a port that does not answer is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Args(#[from] ArgError),
    #[error("cannot resolve {name:?}: {why}")]
    Resolve { name: String, why: String },
    #[error("log file {0} exists; use -y to overwrite it")]
    LogExists(String),
    #[error("log file {path}: {err}")]
    Log { path: String, err: std::io::Error },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("output: {0}")]
    Output(#[from] std::io::Error),
    #[error("{0}")]
    Local(String),
    #[error("overall time limit of {0} s reached")]
    Deadline(u64),
}

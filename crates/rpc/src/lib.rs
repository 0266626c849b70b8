//! tracehound rpc: DCE/RPC (C706 chapter 12, MS-RPCE 2.2) as seen in captures.
//!
//! Layers, bottom up:
//! - [`pdu`]: connection-oriented PDUs (bind, bind_ack, request, response, fault, ...), a
//!   checked zero-copy view plus owned `Repr`s that parse and emit (the live prober builds
//!   binds and requests with them). The byte order comes from each PDU's data representation
//!   label and is decided once per PDU.
//! - [`ndr`], [`uuid`]: the data representation and DCE UUIDs.
//! - [`stream`]: [`RpcAnalyzer`], a `tracehound_flows::StreamHandler` that finds DCE/RPC on
//!   any TCP port by content (also mid-stream, and after the `ncacn_http/1.0` preamble of
//!   port 593), reassembles PDUs split over segments, and feeds them to [`calls`].
//! - [`calls`]: per-association state (presentation contexts, auth) and call matching by
//!   `call_id`, producing one [`Call`] per request (the stable JSON record).
//! - [`smb`]: SMB2 named pipes (`\pipe\lsarpc`, ...) carrying DCE/RPC over TCP 445.
//! - [`cl`]: connectionless DCE/RPC (ncadg_ip_udp).
//! - [`epm`], [`dcom`]: stub decoding for the endpoint mapper and DCOM activation / OXID
//!   resolution, whose answers hand out dynamic endpoints; [`endpoints`] then follows each
//!   handed-out endpoint to the connection attempts made to it.
//! - [`auth`]: the auth verifier's NTLMSSP messages (user, domain, workstation).
//! - [`names`]: interface, operation and status names.
//!
//! Contract for everything parsing wire data here: no panics, no unbounded growth; every
//! error says what and where.

pub mod ndr;
pub mod uuid;
pub mod epm;
pub mod dcom;
pub mod names;

pub mod pdu;
pub mod auth;
pub mod calls;
pub mod stream;
pub mod smb;
pub mod cl;
pub mod endpoints;

pub use calls::{Call, Endpoint, HandedOut, Issue, Outcome, RpcReport, RpcStats};
pub use stream::{RpcAnalyzer, RpcConfig};

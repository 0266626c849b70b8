//! tracehound rpc: DCE/RPC (C706 chapter 12, MS-RPCE 2.2) as seen in captures.
//!
//! The wire formats (PDUs, NDR, UUIDs, EPM, DCOM, Netlogon requests, the names data) live in
//! `tracehound-rpc-proto` and are re-exported here under their old paths; this crate is the
//! analysis of streams and calls.
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
//! - [`reassembly`]: [`stream::PduStream`], PDUs out of a byte stream (TCP or a named pipe).
//! - [`smb`]: SMB1 ([`smb::v1`]) and SMB2 ([`smb::v2`]) named pipes (`\pipe\lsarpc`, ...)
//!   carrying DCE/RPC over TCP 445.
//! - [`cl`]: connectionless DCE/RPC (ncadg_ip_udp).
//! - [`epm`], [`dcom`]: stub decoding for the endpoint mapper and DCOM activation / OXID
//!   resolution, whose answers hand out dynamic endpoints; [`endpoints`] then follows each
//!   handed-out endpoint to the connection attempts made to it.
//! - [`status`]: the return status of an answered call (last 4 response stub bytes) judged
//!   in the interface's own status space: outcome `error` for a failing status.
//! - [`netlogon`]: Netlogon NetrServerAuthenticate* requests (account, credential), for the
//!   Zerologon check.
//! - [`auth`]: the auth verifier's NTLMSSP messages (user, domain, workstation).
//! - [`names`]: interface, operation and status names.
//!
//! Contract for everything parsing wire data here: no panics, no unbounded growth; every
//! error says what and where.
//!
//! ```
//! use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};
//! use tracehound_rpc::ndr::Drep;
//! use tracehound_rpc::pdu::{Body, Fault, Repr, Request};
//! use tracehound_rpc::{Outcome, RpcAnalyzer};
//!
//! let flow = FlowInfo { id: 0, proto: Proto::Tcp, orig: "10.0.0.1:50000".parse().unwrap(), resp: "10.0.0.2:49700".parse().unwrap() };
//! let mut an = RpcAnalyzer::default();
//! // A request (no bind seen: the capture started mid-connection) and its fault.
//! let req = Repr::new(1, Drep::LE, Body::Request(Request { opnum: 3, stub: vec![0; 8], ..Default::default() })).emit();
//! let fault = Repr::new(1, Drep::LE, Body::Fault(Fault { status: 0x1c01_0002, ..Default::default() })).emit();
//! an.tcp_data(&flow, Dir::Orig, 0, &req, 1, Timestamp(0));
//! an.tcp_data(&flow, Dir::Resp, 0, &fault, 2, Timestamp(1_000_000));
//! let calls = an.take_calls();
//! assert_eq!((calls[0].opnum, calls[0].outcome, calls[0].status_code), (Some(3), Outcome::Fault, Some(0x1c01_0002)));
//! assert_eq!(calls[0].rtt, Some(0.001));
//! ```

/// The codecs, from `tracehound-rpc-proto`, under their historical paths.
pub use tracehound_rpc_proto::{dcom, drep, epm, known, names, ndr, netlogon, pdu, uuid};

mod answers;
mod assoc;
pub mod auth;
pub mod calls;
pub mod cl;
mod config;
mod ctx;
pub mod endpoints;
pub mod reassembly;
mod rpch;
pub mod smb;
pub mod status;
pub mod stream;
mod tunnel;

pub use calls::{
    Call, Endpoint, HandedOut, InterfaceSource, Issue, Limits, Outcome, RpcReport, RpcStats,
};
pub use stream::{RpcAnalyzer, RpcConfig};
pub use tunnel::{ChannelFailure, FailureKind, Tunnel};

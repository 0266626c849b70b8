//! The conversation engine: one streaming pass over decoded packets, keeping state only for
//! live flows. It classifies every TCP segment the way Wireshark's documented "TCP Analysis"
//! flags do, keeps a Zeek-style connection state and history per connection, and hands the
//! in-order payload of each direction to protocol analyzers through [`StreamHandler`].

mod types;
pub use tracehound_capture::Timestamp;
pub use types::*;

mod attempts;
mod compact;
mod engine;
mod forensics;
pub use attempts::*;
pub use forensics::{DataConflict, RstFact, DUP_MAX_GAP_NO_ID_NS, DUP_MAX_GAP_NS};
pub mod pkt;
mod reasm;
mod shared;
mod tcp;

pub use engine::{
    Config, Engine, EngineStats, COMPACT_BYTES, FULL_FLOW_BYTES, PRESSURE_ATTEMPT_TIMEOUT_NS,
};
pub use pkt::Pkt;
mod pass;
pub use pass::{DecodeStats, Issue, Pass};

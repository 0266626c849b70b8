//! The conversation engine: one streaming pass over decoded packets, keeping state only for
//! live flows. It classifies every TCP segment the way Wireshark's documented "TCP Analysis"
//! flags do, keeps a Zeek-style connection state and history per connection, and hands the
//! in-order payload of each direction to protocol analyzers through [`StreamHandler`].

mod types;
pub use tracehound_capture::Timestamp;
pub use types::*;

mod engine;
pub mod pkt;
mod reasm;
mod tcp;

pub use engine::{Config, Engine, EngineStats};
pub use pkt::Pkt;
mod pass;
pub use pass::{DecodeStats, Issue, Pass};

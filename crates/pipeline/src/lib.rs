//! `tracehound-pipeline`: the one streaming pass over a capture that `conversations`, `rpc` and
//! `analyze` share — reading the file ([`input`]), decoding and tracking flows on the reading
//! thread while the protocol analyzers run on workers ([`offload`]), optional TLS decryption
//! with the given [`Secrets`], and the facts the findings rules read ([`analysis`]).
//!
//! The CLI, the fuzz `pipeline` target and the benchmarks call this crate instead of each
//! rebuilding the pass.

pub mod analysis;
pub mod fileset;
pub mod input;
pub mod jobs;
pub mod offload;
mod secrets;
pub mod source;

pub use analysis::{analyze_file, analyze_reader, FileFacts, Mode, Threads};
pub use input::{open, run_file, run_reader, run_reader_parallel, FileRun};
pub use secrets::Secrets;

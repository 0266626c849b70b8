//! The BER/DER codec lives in `tracehound-proto` (one implementation for the capture and the
//! live side); re-exported here under its old path.

pub use tracehound_proto::ber::*;

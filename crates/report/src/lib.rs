//! Output for people and for programs: aligned text tables (colour only on a terminal) and
//! JSON objects with documented, stable field names.

pub mod conversations;
pub mod findings;
pub mod html;
pub mod rpc;
pub mod style;
pub mod table;

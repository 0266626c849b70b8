pub mod analyze;
pub mod check;
pub mod conversations;
pub mod convert;
pub mod decrypt;
pub mod export;
mod inputs;
pub mod portqry;
pub mod rpc;

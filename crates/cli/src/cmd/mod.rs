pub mod analyze;
pub mod check;
pub mod conversations;
pub mod convert;
pub mod decrypt;
pub mod portqry;
pub mod rpc;

pub mod analyze;
pub mod conversations;
pub mod portqry;
pub mod rpc;

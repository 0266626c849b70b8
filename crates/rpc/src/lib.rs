//! tracehound rpc

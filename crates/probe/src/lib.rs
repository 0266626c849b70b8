//! tracehound probe

//! tracehound report

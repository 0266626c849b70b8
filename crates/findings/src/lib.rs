//! tracehound findings

//! tracehound apps

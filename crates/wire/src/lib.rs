//! tracehound wire

//! Findings report (text and JSON).

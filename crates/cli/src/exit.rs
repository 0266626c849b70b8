//! Exit codes (documented in the README and in `--help`).

/// Success.
pub const OK: u8 = 0;
/// `analyze --fail-on`: a finding at or above that severity was raised.
pub const FINDINGS: u8 = 1;
/// Bad command line.
pub const USAGE: u8 = 2;
/// A capture could not be opened or is not a capture: nothing analysed from it.
pub const INPUT: u8 = 3;
/// A capture was damaged or cut short: everything before the damage was analysed.
pub const DAMAGED: u8 = 4;

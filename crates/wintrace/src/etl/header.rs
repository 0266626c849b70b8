//! The logfile header record (the first record of an ETL file: a system trace header of the
//! event-trace group, hook 0x0000, whose payload is TRACE_LOGFILE_HEADER) and the clock it
//! defines.
//!
//! TRACE_LOGFILE_HEADER (offsets in its payload; `P` = pointer size, 4 or 8, at offset 44):
//! buffer size (u32, 0), version bytes major/minor/sub/subminor (4), build (u32, 8),
//! processors (u32, 12), end time FILETIME (16), timer resolution (24), maximum file size
//! (28), log file mode (32), buffers written (36), start buffers (40), pointer size (44),
//! events lost (48), CPU MHz (52), two pointers (56), TIME_ZONE_INFORMATION (172 bytes at
//! `56 + 2P`, `Bias` first), then 8-aligned: boot time, performance-counter frequency, start
//! time (FILETIMEs / i64), clock type ("ReservedFlags": 1 QPC, 2 system time, 3 CPU cycles),
//! buffers lost, and the logger and log-file names (NUL-terminated UTF-16).
//!
//! Timestamps: with system time (2) an event's timestamp is a FILETIME. Otherwise it counts
//! ticks of `PerfFreq` (QPC, 1) or of `CpuSpeedInMHz` MHz (3), and the header record's own
//! timestamp is the tick count at `StartTime`: `UTC = StartTime + (ticks - header ticks) /
//! frequency`, computed exactly in 128-bit integers.

use crate::le::{i64_at, u32_at, u8_at, wstring_at};
use crate::time::filetime_to_unix_ns;
use crate::EtlInfo;

/// `LogFileMode` bit: buffers are compressed.
pub const EVENT_TRACE_COMPRESSED_MODE: u32 = 0x0400_0000;

/// Turns raw record timestamps into nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    kind: u32,
    start_ns: i64,
    ref_ticks: i64,
    freq: i64,
    /// Nanoseconds per tick when that is a whole number (a 10 MHz QPC: 100), else 0: the
    /// same result without the 128-bit division.
    ns_per_tick: i64,
}

impl Clock {
    pub fn to_unix_ns(&self, raw: i64) -> i64 {
        if self.kind == 2 || self.freq <= 0 {
            return filetime_to_unix_ns(raw);
        }
        let d = i128::from(raw) - i128::from(self.ref_ticks);
        let ns = if self.ns_per_tick > 0 {
            d * i128::from(self.ns_per_tick)
        } else {
            (d * 1_000_000_000).div_euclid(i128::from(self.freq))
        };
        let ns = i64::try_from(ns).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX });
        self.start_ns.saturating_add(ns)
    }
}

/// Parses the logfile header payload; `header_ts` is the record's raw timestamp and `ptr64`
/// whether it was a 64-bit system header. `None` when the payload is too short.
pub fn parse(p: &[u8], header_ts: i64, ptr64: bool) -> Option<(EtlInfo, Clock)> {
    let ptr: usize = match u32_at(p, 44)? {
        4 => 4,
        8 => 8,
        _ if ptr64 => 8,
        _ => 4,
    };
    let tz_at = 56 + 2 * ptr;
    let after = (tz_at + 172).next_multiple_of(8);
    let bias = u32_at(p, tz_at)? as i32;
    let boot = i64_at(p, after)?;
    let freq = i64_at(p, after + 8)?;
    let start = i64_at(p, after + 16)?;
    let clock_type = u32_at(p, after + 24)?;
    let buffers_lost = u32_at(p, after + 28)?;
    let (logger_name, next) = wstring_at(p, after + 32).unwrap_or_default();
    let (log_file_name, _) =
        if next > 0 { wstring_at(p, next).unwrap_or_default() } else { Default::default() };
    let cpu_mhz = u32_at(p, 52)?;
    let info = EtlInfo {
        os_version: format!("{}.{}.{}", u8_at(p, 4)?, u8_at(p, 5)?, u32_at(p, 8)?),
        processors: u32_at(p, 12)?,
        clock_type,
        perf_freq: freq,
        cpu_mhz,
        start_ns: filetime_to_unix_ns(start),
        end_ns: filetime_to_unix_ns(i64_at(p, 16)?),
        boot_ns: filetime_to_unix_ns(boot),
        tz_bias_minutes: bias,
        buffer_size: u32_at(p, 0)?,
        buffers_written: u32_at(p, 36)?,
        buffers_lost,
        events_lost: u32_at(p, 48)?,
        log_file_mode: u32_at(p, 32)?,
        compression_format: 0,
        logger_name,
        log_file_name,
    };
    let freq = match clock_type {
        3 => i64::from(cpu_mhz).saturating_mul(1_000_000),
        _ => freq,
    };
    let ns_per_tick = match freq {
        f if f > 0 && 1_000_000_000 % f == 0 => 1_000_000_000 / f,
        _ => 0,
    };
    let clock = Clock {
        kind: clock_type,
        start_ns: info.start_ns,
        ref_ticks: header_ts,
        freq,
        ns_per_tick,
    };
    Some((info, clock))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The multiplication used for a frequency dividing 10^9 gives what the exact 128-bit
    /// division gives, around the reference tick and at the extremes.
    #[test]
    fn whole_ns_per_tick_matches_the_division() {
        for freq in [10_000_000i64, 1_000_000_000, 1, 3_579_545, 2_500_000] {
            let fast = Clock {
                kind: 1,
                start_ns: 1_600_000_000_000_000_000,
                ref_ticks: 12_345,
                freq,
                ns_per_tick: if 1_000_000_000 % freq == 0 { 1_000_000_000 / freq } else { 0 },
            };
            let slow = Clock { ns_per_tick: 0, ..fast };
            for raw in [0, 12_345, 12_344, 99_999_999_999, -5, i64::MIN, i64::MAX, 1 << 40] {
                assert_eq!(fast.to_unix_ns(raw), slow.to_unix_ns(raw), "{freq} {raw}");
            }
        }
    }
}

//! Windows time values to nanoseconds since the Unix epoch (UTC).
//!
//! * FILETIME: 100-ns intervals since 1601-01-01 00:00:00 UTC.
//! * SYSTEMTIME: year, month, day-of-week, day, hour, minute, second, millisecond (eight
//!   little-endian u16). Network Monitor 2.0–2.2 store the capture start this way in the
//!   capturing machine's local time, with no zone: it is taken as UTC here (Wireshark takes
//!   it as the reading machine's local time, so run tshark with `TZ=UTC` to compare).

/// FILETIME of 1970-01-01 00:00:00 UTC.
pub const FILETIME_UNIX_EPOCH: i64 = 116_444_736_000_000_000;

/// A FILETIME to nanoseconds since the Unix epoch (saturating).
pub fn filetime_to_unix_ns(ft: i64) -> i64 {
    ft.saturating_sub(FILETIME_UNIX_EPOCH).saturating_mul(100)
}

/// Nanoseconds since the Unix epoch to a FILETIME (for writers in tests and `convert`).
pub fn unix_ns_to_filetime(ns: i64) -> i64 {
    ns.div_euclid(100).saturating_add(FILETIME_UNIX_EPOCH)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A SYSTEMTIME (taken as UTC) to nanoseconds since the Unix epoch; `None` when a field is
/// out of range or the time is beyond what nanoseconds since 1970 hold in 64 bits (before
/// 1677 or after 2262; SYSTEMTIME allows years up to 30827).
pub fn systemtime_to_unix_ns(f: [u16; 8]) -> Option<i64> {
    let [year, month, _dow, day, hour, min, sec, ms] = f;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 {
        return None;
    }
    if sec > 60 || ms > 999 {
        return None;
    }
    let days = days_from_civil(i64::from(year), u32::from(month), u32::from(day));
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec);
    secs.checked_mul(1_000_000_000)?.checked_add(i64::from(ms) * 1_000_000)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn epochs() {
        assert_eq!(filetime_to_unix_ns(FILETIME_UNIX_EPOCH), 0);
        assert_eq!(unix_ns_to_filetime(0), FILETIME_UNIX_EPOCH);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // 2024-05-16 08:29:18.133 (the header editcap wrote for a shared capture).
        let ns = systemtime_to_unix_ns([2024, 5, 4, 16, 8, 29, 18, 133]).unwrap();
        assert_eq!(ns, 1_715_848_158_133_000_000);
        assert_eq!(systemtime_to_unix_ns([2024, 13, 0, 1, 0, 0, 0, 0]), None);
        // the last representable second and the largest year a u16 holds (found by the
        // wintrace_netmon fuzz target: the multiplication overflowed)
        assert!(systemtime_to_unix_ns([2262, 4, 5, 11, 23, 47, 16, 0]).is_some());
        assert_eq!(systemtime_to_unix_ns([2262, 4, 5, 11, 23, 47, 17, 0]), None);
        assert_eq!(systemtime_to_unix_ns([65535, 12, 0, 31, 23, 59, 59, 999]), None);
    }
}

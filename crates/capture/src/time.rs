//! Capture timestamps: exact nanoseconds since the Unix epoch, printed exactly.
//!
//! * JSON (`Serialize`): a plain JSON number holding the exact decimal value, e.g.
//!   `1600090212.346843` (a µs capture) or `1600090212.346843123` (ns): the digits are the
//!   capture's own, never a binary float's rounding, so the value equals tshark's
//!   `frame.time_epoch` and round-trips to the capture timestamp. Trailing zeros are dropped
//!   in groups of three (ms / µs / ns), keeping at least microseconds.
//! * Text (`Display`): ISO 8601 UTC, `2020-09-14T13:30:12.346843Z`, with the same number of
//!   fractional digits (6, or 9 when the timestamp has sub-microsecond digits).
//!
//! A pcap file's precision is µs or ns for every packet; pcapng's `if_tsresol` can vary per
//! interface. Nanosecond timestamps that fall on a whole microsecond print with 6 digits.

use std::fmt;

/// A capture timestamp: nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos as i64))
    }
    pub fn as_nanos(self) -> i64 {
        self.0
    }
    /// Seconds since the epoch as a float (for JSON `ts` fields).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// `self - earlier` in seconds (negative when the capture's clock went backwards).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.0.saturating_sub(earlier.0)) as f64 / 1e9
    }
    pub fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Timestamp {
    /// Fractional digits this timestamp needs: 9 when it has sub-microsecond digits, else 6.
    pub fn digits(self) -> usize {
        if self.0.rem_euclid(1000) != 0 {
            9
        } else {
            6
        }
    }

    /// The fractional part as text with [`Timestamp::digits`] digits, e.g. `346843`.
    fn fraction(self) -> String {
        let mut b = Text::default();
        self.push_fraction(&mut b);
        b.as_str().to_string()
    }

    fn push_fraction(self, b: &mut Text) {
        let nanos = self.0.rem_euclid(1_000_000_000) as u64;
        if self.digits() == 9 {
            b.num(nanos, 9);
        } else {
            b.num(nanos / 1000, 6);
        }
    }

    /// `HH:MM:SS.ffffff` of the day (UTC).
    fn push_time_of_day(self, b: &mut Text) {
        let sod = self.0.div_euclid(1_000_000_000).rem_euclid(86_400) as u64;
        b.num(sod / 3600, 2);
        b.byte(b':');
        b.num((sod / 60) % 60, 2);
        b.byte(b':');
        b.num(sod % 60, 2);
        b.byte(b'.');
        self.push_fraction(b);
    }

    /// Exact seconds since the epoch as a decimal string, e.g. `1600090212.346843`
    /// (negative before 1970: `-0.000001`). This is what JSON `ts` fields hold.
    pub fn epoch_decimal(self) -> String {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        if secs < 0 && nanos > 0 {
            // -1 s + 999_999_999 ns = -0.000000001 s: print the magnitude.
            let neg = Timestamp(self.0.checked_neg().unwrap_or(i64::MAX));
            return format!("-{}", neg.epoch_decimal());
        }
        if secs < 0 {
            return format!("{secs}.{}", self.fraction());
        }
        self.epoch().to_string()
    }

    /// [`Timestamp::epoch_decimal`] written straight into a formatter (no `String`: JSON
    /// writers put millions of them into one buffer).
    pub fn epoch(self) -> Epoch {
        Epoch(self)
    }

    /// Time of day `HH:MM:SS.ffffff` (UTC), to the timestamp's precision.
    pub fn time_of_day(self) -> String {
        let mut b = Text::default();
        self.push_time_of_day(&mut b);
        b.as_str().to_string()
    }

    /// ISO 8601 UTC, e.g. `2020-09-14T13:30:12.346843Z` (same as `Display`).
    pub fn iso(self) -> String {
        self.to_string()
    }
}

/// A timestamp's exact seconds since the epoch ([`Timestamp::epoch`]).
pub struct Epoch(Timestamp);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let secs = t.0.div_euclid(1_000_000_000);
        if secs < 0 {
            return f.write_str(&t.epoch_decimal());
        }
        let mut b = Text::default();
        b.num(secs as u64, 1);
        b.byte(b'.');
        t.push_fraction(&mut b);
        f.write_str(b.as_str())
    }
}

/// A short ASCII text built on the stack (timestamps are written millions of times per
/// capture: no formatting machinery, no allocation).
struct Text {
    b: [u8; 48],
    n: usize,
}

impl Default for Text {
    fn default() -> Self {
        Text { b: [0; 48], n: 0 }
    }
}

impl Text {
    fn byte(&mut self, c: u8) {
        if let Some(slot) = self.b.get_mut(self.n) {
            *slot = c;
            self.n += 1;
        }
    }

    /// `v` in decimal, zero-padded to at least `width` digits.
    fn num(&mut self, mut v: u64, width: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        while i > 0 && (v > 0 || digits.len() - i < width.max(1)) {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
        for &d in digits.get(i..).unwrap_or_default() {
            self.byte(d);
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(self.b.get(..self.n).unwrap_or_default()).unwrap_or_default()
    }
}

/// The exact decimal (see the module docs). Through `serde_json` it is written verbatim; other
/// serializers get the nearest `f64`.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::value::RawValue::from_string(self.epoch_decimal()) {
            Ok(raw) => raw.serialize(s),
            Err(_) => s.serialize_f64(self.as_secs_f64()),
        }
    }
}

/// ISO 8601 UTC to the timestamp's precision, e.g. `2020-09-14T13:30:12.123456Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let mut b = Text::default();
        // i64 nanoseconds reach the years 1677 to 2262: always four digits.
        b.num(y.clamp(0, 9999) as u64, 4);
        b.byte(b'-');
        b.num(m.into(), 2);
        b.byte(b'-');
        b.num(d.into(), 2);
        b.byte(b'T');
        self.push_time_of_day(&mut b);
        b.byte(b'Z');
        f.write_str(b.as_str())
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats_known_dates() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
        // 2020-09-14 13:30:12.5 UTC = 1600090212.5
        assert_eq!(
            Timestamp::from_secs_nanos(1_600_090_212, 500_000_000).to_string(),
            "2020-09-14T13:30:12.500000Z"
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(Timestamp(-1000).to_string(), "1969-12-31T23:59:59.999999Z");
    }

    /// The digits written by hand equal what the formatting machinery writes (the earlier
    /// implementation, kept here as the reference), over the whole range of timestamps.
    #[test]
    fn hand_written_digits_equal_format() {
        fn frac(t: Timestamp) -> String {
            let nanos = t.0.rem_euclid(1_000_000_000);
            if t.digits() == 9 {
                format!("{nanos:09}")
            } else {
                format!("{:06}", nanos / 1000)
            }
        }
        fn tod(t: Timestamp) -> String {
            let sod = t.0.div_euclid(1_000_000_000).rem_euclid(86_400);
            format!("{:02}:{:02}:{:02}.{}", sod / 3600, (sod / 60) % 60, sod % 60, frac(t))
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut ts = vec![
            i64::MIN,
            i64::MAX,
            0,
            1,
            999,
            1000,
            999_999_999,
            1_000_000_000,
            86_399_999_999_999,
        ];
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // every magnitude, and whole µs / ms / s
            let v = (x as i64) >> (x % 40);
            ts.extend([v, v / 1000 * 1000, v / 1_000_000_000 * 1_000_000_000]);
        }
        for v in ts {
            let t = Timestamp(v);
            let secs = v.div_euclid(1_000_000_000);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            assert_eq!(t.to_string(), format!("{y:04}-{m:02}-{d:02}T{}Z", tod(t)), "{v}");
            assert_eq!(t.time_of_day(), tod(t), "{v}");
            if secs >= 0 {
                assert_eq!(t.epoch_decimal(), format!("{secs}.{}", frac(t)), "{v}");
            }
            let back: f64 = t.epoch_decimal().parse().unwrap();
            assert!((back - t.as_secs_f64()).abs() <= 1e-6 * back.abs().max(1.0), "{v}");
        }
    }

    #[test]
    fn exact_decimal() {
        // frame 8 of tests/fixtures/lab/rpc-fault.pcap (µs pcap): tshark's frame.time_epoch
        // is 1795260904.346843000; the old f64 output printed .346842.
        let t = Timestamp::from_secs_nanos(1_795_260_904, 346_843_000);
        assert_eq!(t.epoch_decimal(), "1795260904.346843");
        assert_eq!(serde_json::to_string(&t).unwrap(), "1795260904.346843");
        let ns = Timestamp::from_secs_nanos(1_600_090_212, 1);
        assert_eq!(serde_json::to_string(&ns).unwrap(), "1600090212.000000001");
        assert_eq!(ns.to_string(), "2020-09-14T13:30:12.000000001Z");
        assert_eq!(Timestamp(0).epoch_decimal(), "0.000000");
        assert_eq!(Timestamp(-1_000).epoch_decimal(), "-0.000001");
        assert_eq!(Timestamp(-1_500_000_000).epoch_decimal(), "-1.500000");
        assert_eq!(Timestamp(i64::MIN).epoch_decimal().len(), "-9223372036.854775808".len());
        // Inside a larger document too.
        let v = serde_json::json!({ "ts": t });
        assert!(v["ts"].is_number());
    }
}

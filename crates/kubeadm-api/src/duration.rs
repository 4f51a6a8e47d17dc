//! Go `time.Duration` / `metav1.Duration` as a Rust newtype.
//!
//! Parses Go duration strings (`"24h"`, `"1h30m"`, `"1.5s"`, `"300ms"`) exactly like Go's
//! `time.ParseDuration` and prints them exactly like `time.Duration.String()` (`"8760h0m0s"`,
//! `"4m0s"`, `"1.5s"`, `"300ms"`, `"0s"`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A signed duration in nanoseconds, serialized as a Go duration string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub i64);

/// Error parsing a Go duration string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string is not a valid duration (Go: `time: invalid duration "..."`).
    #[error("time: invalid duration {0:?}")]
    Invalid(String),
    /// A unit is missing after a number (Go: `time: missing unit in duration "..."`).
    #[error("time: missing unit in duration {0:?}")]
    MissingUnit(String),
    /// An unknown unit (Go: `time: unknown unit "x" in duration "..."`).
    #[error("time: unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
}

const NANOSECOND: i64 = 1;
const MICROSECOND: i64 = 1_000 * NANOSECOND;
const MILLISECOND: i64 = 1_000 * MICROSECOND;
const SECOND: i64 = 1_000 * MILLISECOND;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

impl Duration {
    /// Zero duration.
    pub const ZERO: Duration = Duration(0);

    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration(s * SECOND)
    }
    /// From whole minutes.
    pub const fn from_mins(m: i64) -> Self {
        Duration(m * MINUTE)
    }
    /// From whole hours.
    pub const fn from_hours(h: i64) -> Self {
        Duration(h * HOUR)
    }
    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms * MILLISECOND)
    }
    /// Nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// Whole seconds (truncated toward zero).
    pub const fn as_secs(self) -> i64 {
        self.0 / SECOND
    }
    /// A `std::time::Duration`; negative durations become zero.
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(u64::try_from(self.0).unwrap_or(0))
    }
    /// From a `std::time::Duration`, saturating at `i64::MAX` nanoseconds.
    pub fn from_std(d: std::time::Duration) -> Self {
        Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Parses like Go's `time.ParseDuration`.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        let orig = s;
        let invalid = || DurationError::Invalid(orig.to_string());
        let mut rest = s.as_bytes();
        let mut neg = false;
        if let Some(&c) = rest.first()
            && (c == b'-' || c == b'+')
        {
            neg = c == b'-';
            rest = &rest[1..];
        }
        if rest == b"0" {
            return Ok(Duration(0));
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !rest.is_empty() {
            // integer part
            let mut i = 0;
            let mut v: u64 = 0;
            while i < rest.len() && rest[i].is_ascii_digit() {
                v = v
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(rest[i] - b'0')))
                    .ok_or_else(invalid)?;
                i += 1;
            }
            let pre = i > 0;
            // fraction
            let mut frac: u64 = 0;
            let mut scale: f64 = 1.0;
            let mut post = false;
            if i < rest.len() && rest[i] == b'.' {
                i += 1;
                let start = i;
                let mut overflow = false;
                while i < rest.len() && rest[i].is_ascii_digit() {
                    if !overflow {
                        match frac.checked_mul(10).and_then(|f| f.checked_add(u64::from(rest[i] - b'0'))) {
                            Some(f) if f < (1 << 63) => {
                                frac = f;
                                scale *= 10.0;
                            }
                            _ => overflow = true,
                        }
                    }
                    i += 1;
                }
                post = i > start;
            }
            if !pre && !post {
                return Err(invalid());
            }
            // unit
            let ustart = i;
            while i < rest.len() && rest[i] != b'.' && !rest[i].is_ascii_digit() {
                i += 1;
            }
            if i == ustart {
                return Err(DurationError::MissingUnit(orig.to_string()));
            }
            let unit_bytes = &rest[ustart..i];
            let unit = String::from_utf8_lossy(unit_bytes).into_owned();
            let mult: u64 = match unit.as_str() {
                "ns" => 1,
                "us" | "\u{00b5}s" | "\u{03bc}s" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60 * 1_000_000_000,
                "h" => 3600 * 1_000_000_000,
                _ => return Err(DurationError::UnknownUnit { unit, input: orig.to_string() }),
            };
            rest = &rest[i..];
            let mut part = v.checked_mul(mult).ok_or_else(invalid)?;
            if frac > 0 {
                // Go computes this in float64 too.
                #[allow(
                    clippy::cast_precision_loss,
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss
                )]
                let f = (frac as f64 * (mult as f64 / scale)) as u64;
                part = part.checked_add(f).ok_or_else(invalid)?;
            }
            total = total.checked_add(part).ok_or_else(invalid)?;
        }
        if neg {
            if total > (1u64 << 63) {
                return Err(invalid());
            }
            // total <= 2^63, so the negation fits.
            Ok(Duration((total as i128).wrapping_neg() as i64))
        } else {
            i64::try_from(total).map(Duration).map_err(|_| invalid())
        }
    }
}

/// Appends `v / 10^prec` fraction digits (without trailing zeros) like Go's `fmtFrac`; returns the
/// integer part.
fn fmt_frac(out: &mut String, v: u64, prec: u32) -> u64 {
    let mut digits = String::new();
    let mut print = false;
    let mut v = v;
    for _ in 0..prec {
        let d = v % 10;
        print = print || d != 0;
        if print {
            digits.insert(0, char::from(b'0' + d as u8));
        }
        v /= 10;
    }
    if print {
        out.push('.');
        out.push_str(&digits);
    }
    v
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let u = self.0.unsigned_abs();
        let mut s = String::new();
        if neg {
            s.push('-');
        }
        if u < SECOND as u64 {
            if u == 0 {
                return f.write_str("0s");
            }
            if u < MICROSECOND as u64 {
                s.push_str(&format!("{u}ns"));
            } else {
                let (prec, unit) = if u < MILLISECOND as u64 { (3, "\u{00b5}s") } else { (6, "ms") };
                let mut frac = String::new();
                let int = fmt_frac(&mut frac, u, prec);
                s.push_str(&format!("{int}{frac}{unit}"));
            }
            return f.write_str(&s);
        }
        let mut frac = String::new();
        let secs_total = fmt_frac(&mut frac, u, 9);
        let secs = secs_total % 60;
        let mins_total = secs_total / 60;
        if mins_total > 0 {
            let mins = mins_total % 60;
            let hours = mins_total / 60;
            if hours > 0 {
                s.push_str(&format!("{hours}h"));
            }
            s.push_str(&format!("{mins}m"));
        }
        s.push_str(&format!("{secs}{frac}s"));
        f.write_str(&s)
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duration({self})")
    }
}

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Duration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1\u{00b5}s"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (4 * MINUTE + 5 * SECOND, "4m5s"),
            (4 * MINUTE, "4m0s"),
            (HOUR, "1h0m0s"),
            (8760 * HOUR, "8760h0m0s"),
            (87600 * HOUR, "87600h0m0s"),
            (24 * HOUR, "24h0m0s"),
            (-SECOND, "-1s"),
            (HOUR + 500 * MILLISECOND, "1h0m0.5s"),
        ];
        for (n, s) in cases {
            assert_eq!(Duration(n).to_string(), s, "{n}");
        }
    }

    #[test]
    fn parses_like_go() {
        let cases = [
            ("0", 0),
            ("5s", 5 * SECOND),
            ("24h", 24 * HOUR),
            ("1h30m", 90 * MINUTE),
            ("1.5s", 1_500 * MILLISECOND),
            (".5s", 500 * MILLISECOND),
            ("300ms", 300 * MILLISECOND),
            ("-2m", -2 * MINUTE),
            ("1us", 1_000),
            ("1\u{00b5}s", 1_000),
            ("8760h0m0s", 8760 * HOUR),
        ];
        for (s, n) in cases {
            assert_eq!(Duration::parse(s), Ok(Duration(n)), "{s}");
        }
        for bad in ["", "1", "h", "1x", "-", ".s", "1.2.3s", "abc"] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Duration::parse("1").unwrap_err().to_string(), "time: missing unit in duration \"1\"");
    }
}

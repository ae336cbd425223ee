//! Calendar dates and timestamps as statements-v1 writes them.
//!
//! Covers: [`Date`], a day of the proleptic Gregorian calendar written
//! `YYYY-MM-DD` (years 0001 to 9999, leap years checked, ordered by time),
//! its conversion from UNIX days and seconds (Howard Hinnant's
//! `civil_from_days`), and [`Timestamp`], the RFC 3339 UTC timestamp of
//! `issued_at` (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`).
//!
//! Leaves out: time zones other than `Z` (a statement's `issued_at` is UTC by
//! the spec), leap seconds (second `60` is refused), lowercase `t`/`z`, and
//! any clock: callers pass the current time in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a date or timestamp string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Not of the form `YYYY-MM-DD` (four, two and two ASCII digits).
    #[error("`{value}` is not a date of the form YYYY-MM-DD")]
    DateSyntax {
        /// The refused text.
        value: String,
    },
    /// Well formed, but no such day (month 13, 30 February, year 0000...).
    #[error("`{value}` is not a day of the Gregorian calendar between 0001-01-01 and 9999-12-31")]
    NoSuchDay {
        /// The refused text.
        value: String,
    },
    /// Not an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
    #[error(
        "`{value}` is not an RFC 3339 UTC timestamp of the form YYYY-MM-DDTHH:MM:SS[.fraction]Z"
    )]
    TimestampSyntax {
        /// The refused text.
        value: String,
    },
    /// Well formed, but the time of day does not exist (hour 24, second 60...).
    #[error("`{value}` has no such time of day (hours 00-23, minutes and seconds 00-59)")]
    NoSuchTime {
        /// The refused text.
        value: String,
    },
}

/// A day, `YYYY-MM-DD`, between 0001-01-01 and 9999-12-31. Ordered by time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order matters: the derived Ord compares year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

/// Days between 0001-01-01 and 1970-01-01.
const MIN_UNIX_DAYS: i64 = -719_162;
/// Days between 1970-01-01 and 9999-12-31.
const MAX_UNIX_DAYS: i64 = 2_932_896;

fn is_leap(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses exactly `n` ASCII digits.
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

impl Date {
    /// The earliest representable day, 0001-01-01.
    pub const MIN: Date = Date {
        year: 1,
        month: 1,
        day: 1,
    };
    /// The latest representable day, 9999-12-31.
    pub const MAX: Date = Date {
        year: 9999,
        month: 12,
        day: 31,
    };

    /// The day `year-month-day`, if it exists in 0001..=9999.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Builds a date known to be valid; for the crate's constant tables.
    pub(crate) const fn ymd_unchecked(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Parses `YYYY-MM-DD` strictly: exactly ten characters, a real day.
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let b = s.as_bytes();
        let syntax = || DateError::DateSyntax {
            value: s.to_owned(),
        };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(syntax());
        }
        let (Some(y), Some(m), Some(d)) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]))
        else {
            return Err(syntax());
        };
        // The digit counts bound the values, so the casts cannot truncate.
        Date::new(y as u16, m as u8, d as u8).ok_or_else(|| DateError::NoSuchDay {
            value: s.to_owned(),
        })
    }

    /// The year, 1..=9999.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1..=31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before it). Hinnant's `days_from_civil`.
    pub fn to_unix_days(self) -> i64 {
        let m = i64::from(self.month);
        let d = i64::from(self.day);
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day `days` after 1970-01-01 (before it if negative); `None`
    /// outside 0001-01-01..=9999-12-31. Hinnant's `civil_from_days`.
    pub fn from_unix_days(days: i64) -> Option<Date> {
        if !(MIN_UNIX_DAYS..=MAX_UNIX_DAYS).contains(&days) {
            return None;
        }
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Date::new(
            u16::try_from(y).ok()?,
            u8::try_from(m).ok()?,
            u8::try_from(d).ok()?,
        )
    }

    /// The UTC day that contains the UNIX time `secs`; `None` after 9999-12-31.
    pub fn today_from_unix_secs(secs: u64) -> Option<Date> {
        Date::from_unix_days(i64::try_from(secs / 86_400).ok()?)
    }

    /// The day `n` days later (earlier if negative), if representable.
    pub fn add_days(self, n: i64) -> Option<Date> {
        Date::from_unix_days(self.to_unix_days().checked_add(n)?)
    }

    /// The next day, if representable.
    pub fn next_day(self) -> Option<Date> {
        self.add_days(1)
    }

    /// The previous day, if representable.
    pub fn prev_day(self) -> Option<Date> {
        self.add_days(-1)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Date, DateError> {
        Date::parse(s)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An RFC 3339 UTC timestamp, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, kept as
/// written (the fraction has 1 to 9 digits). Ordered as text, which for this
/// fixed form is time order except between different fraction lengths.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Timestamp(String);

impl Timestamp {
    /// Parses the strict UTC form; see the module docs for what is refused.
    pub fn parse(s: &str) -> Result<Timestamp, DateError> {
        let b = s.as_bytes();
        let syntax = || DateError::TimestampSyntax {
            value: s.to_owned(),
        };
        if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(syntax());
        }
        let date_part = s.get(..10).ok_or_else(syntax)?;
        Date::parse(date_part).map_err(|e| match e {
            DateError::NoSuchDay { .. } => DateError::NoSuchDay {
                value: s.to_owned(),
            },
            _ => syntax(),
        })?;
        let (Some(h), Some(mi), Some(sec)) =
            (digits(&b[11..13]), digits(&b[14..16]), digits(&b[17..19]))
        else {
            return Err(syntax());
        };
        let rest = &b[19..];
        match rest {
            [b'Z'] => {}
            [b'.', frac @ .., b'Z'] if (1..=9).contains(&frac.len()) && digits(frac).is_some() => {}
            _ => return Err(syntax()),
        }
        if h > 23 || mi > 59 || sec > 59 {
            return Err(DateError::NoSuchTime {
                value: s.to_owned(),
            });
        }
        Ok(Timestamp(s.to_owned()))
    }

    /// The timestamp as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seconds since the UNIX epoch (the fraction dropped; may be negative
    /// for dates before 1970).
    pub fn unix_secs(&self) -> i64 {
        let b = self.0.as_bytes();
        let part = |r: std::ops::Range<usize>| b.get(r).and_then(digits).unwrap_or(0) as i64;
        self.date().to_unix_days() * 86_400 + part(11..13) * 3600 + part(14..16) * 60 + part(17..19)
    }

    /// The timestamp of `secs` seconds after the UNIX epoch, in whole
    /// seconds (`None` past 9999-12-31).
    pub fn from_unix_secs(secs: u64) -> Option<Timestamp> {
        let date = Date::today_from_unix_secs(secs)?;
        let s = secs % 86_400;
        Timestamp::parse(&format!(
            "{date}T{:02}:{:02}:{:02}Z",
            s / 3600,
            s / 60 % 60,
            s % 60
        ))
        .ok()
    }

    /// The UTC day of the timestamp.
    pub fn date(&self) -> Date {
        // Checked by `parse`; the fallback is unreachable but keeps this total.
        self.0
            .get(..10)
            .and_then(|d| Date::parse(d).ok())
            .unwrap_or(Date::MIN)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Timestamp {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Timestamp, DateError> {
        Timestamp::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_dates() {
        assert_eq!(
            Date::parse("2019-01-23").map(|d| d.to_string()).as_deref(),
            Ok("2019-01-23")
        );
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("2000-02-29").is_ok());
        assert!(matches!(
            Date::parse("1900-02-29"),
            Err(DateError::NoSuchDay { .. })
        ));
        assert!(matches!(
            Date::parse("2023-02-29"),
            Err(DateError::NoSuchDay { .. })
        ));
        assert!(matches!(
            Date::parse("2023-04-31"),
            Err(DateError::NoSuchDay { .. })
        ));
        assert!(matches!(
            Date::parse("2023-13-01"),
            Err(DateError::NoSuchDay { .. })
        ));
        assert!(matches!(
            Date::parse("0000-01-01"),
            Err(DateError::NoSuchDay { .. })
        ));
        for bad in [
            "2023-1-01",
            "2023/01/01",
            "20230101",
            "2023-01-01 ",
            "+023-01-01",
            "２０２３-01-01",
            "",
        ] {
            assert!(
                matches!(Date::parse(bad), Err(DateError::DateSyntax { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn unix_days_round_trip() {
        assert_eq!(Date::from_unix_days(0), Date::new(1970, 1, 1));
        assert_eq!(Date::from_unix_days(-1), Date::new(1969, 12, 31));
        assert_eq!(Date::from_unix_days(MIN_UNIX_DAYS), Some(Date::MIN));
        assert_eq!(Date::from_unix_days(MAX_UNIX_DAYS), Some(Date::MAX));
        assert_eq!(Date::from_unix_days(MIN_UNIX_DAYS - 1), None);
        assert_eq!(Date::from_unix_days(MAX_UNIX_DAYS + 1), None);
        assert_eq!(
            Date::today_from_unix_secs(1_700_000_000),
            Date::new(2023, 11, 14)
        );
        assert_eq!(
            Date::today_from_unix_secs(951_782_400),
            Date::new(2000, 2, 29)
        );
        let mut prev = Date::MIN;
        for n in (MIN_UNIX_DAYS + 1)..=MAX_UNIX_DAYS {
            let d = Date::from_unix_days(n).unwrap();
            assert_eq!(d.to_unix_days(), n);
            assert!(d > prev);
            prev = d;
        }
    }

    #[test]
    fn timestamps() {
        for ok in [
            "2019-01-23T00:00:00Z",
            "2024-02-29T23:59:59.123456789Z",
            "2024-02-29T23:59:59.1Z",
        ] {
            assert!(Timestamp::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Timestamp::parse("2019-01-23T10:00:00Z").unwrap().date(),
            Date::new(2019, 1, 23).unwrap()
        );
        for bad in [
            "2019-01-23",
            "2019-01-23T00:00:00",
            "2019-01-23T00:00:00+00:00",
            "2019-01-23t00:00:00z",
            "2019-01-23 00:00:00Z",
            "2019-01-23T00:00:00.Z",
            "2019-01-23T00:00:00.1234567890Z",
            "2019-01-23T0:00:00Z",
        ] {
            assert!(
                matches!(
                    Timestamp::parse(bad),
                    Err(DateError::TimestampSyntax { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Timestamp::parse("2019-01-23T24:00:00Z"),
            Err(DateError::NoSuchTime { .. })
        ));
        assert!(matches!(
            Timestamp::parse("2019-01-23T23:59:60Z"),
            Err(DateError::NoSuchTime { .. })
        ));
        assert!(matches!(
            Timestamp::parse("2019-02-30T00:00:00Z"),
            Err(DateError::NoSuchDay { .. })
        ));
    }
}

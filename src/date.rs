//! Calendar dates without a date library: idmaj only needs to read, compare and count
//! whole months between ISO dates.

use std::fmt;

/// A calendar date (proleptic Gregorian), always a day that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// A date to start a record with before its row is read.
    pub(crate) const PLACEHOLDER: Date = Date {
        year: 2000,
        month: 1,
        day: 1,
    };

    /// The date, or `None` when that day does not exist (e.g. 2016-02-30).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// Parses `YYYY-MM-DD`, or `DD/MM/YYYY` as French-locale spreadsheets write dates.
    pub fn parse(s: &str) -> Option<Date> {
        let s = crate::dialect::trim(s);
        // `YYYY-MM-DD` in full, as files usually hold it: read digit by digit (what
        // `parse_general` gives for it, without splitting and parsing each part).
        if let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *s.as_bytes() {
            let digits = [y0, y1, y2, y3, m0, m1, d0, d1];
            if digits.iter().all(u8::is_ascii_digit) {
                let n = |ds: &[u8]| ds.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0'));
                return Date::new(n(&digits[..4]) as i32, n(&digits[4..6]), n(&digits[6..]));
            }
        }
        Self::parse_general(s)
    }

    /// [`Date::parse`] of a trimmed text, by splitting it into its parts.
    fn parse_general(s: &str) -> Option<Date> {
        let (y, m, d) = if let Some((y, rest)) = s.split_once('-') {
            let (m, d) = rest.split_once('-')?;
            (y, m, d)
        } else if let Some((d, rest)) = s.split_once('/') {
            let (m, y) = rest.split_once('/')?;
            (y, m, d)
        } else {
            return None;
        };
        let digits = |t: &str, n: std::ops::RangeInclusive<usize>| {
            n.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(y, 4..=4) || !digits(m, 1..=2) || !digits(d, 1..=2) {
            return None;
        }
        Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month, 1 to 12.
    pub fn month(self) -> u32 {
        u32::from(self.month)
    }

    /// Day of the month, from 1.
    pub fn day(self) -> u32 {
        u32::from(self.day)
    }

    /// Whole months from `self` to `later` (negative when `later` is earlier): a month
    /// counts once its day of the month is reached.
    pub fn months_until(self, later: Date) -> i64 {
        let mut months =
            (later.year as i64 - self.year as i64) * 12 + (later.month as i64 - self.month as i64);
        if months > 0 && later.day < self.day {
            months -= 1;
        } else if months < 0 && later.day > self.day {
            months += 1;
        }
        months
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_days_that_do_not_exist() {
        assert!(Date::parse("2016-02-30").is_none());
        assert!(Date::parse("2015-02-29").is_none());
        assert!(Date::parse("2016-02-29").is_some());
        assert!(Date::parse("2016-13-01").is_none());
        assert!(Date::parse("16-01-01").is_none());
        assert!(Date::parse("2016-1-x").is_none());
    }

    #[test]
    fn full_iso_dates_read_as_the_general_way_reads_them() {
        let mut texts: Vec<String> = Vec::new();
        for y in [0, 1, 999, 1000, 1900, 1999, 2000, 2015, 2016, 2100, 9999] {
            for m in 0..=13 {
                for d in 0..=32 {
                    texts.push(format!("{y:04}-{m:02}-{d:02}"));
                }
            }
        }
        texts.extend(
            [
                "2016-0a-01",
                "2016/06/06",
                "20160-6-06",
                "2016-06-6 ",
                "+016-06-06",
                "2016-06-0٣",
            ]
            .map(String::from),
        );
        for t in &texts {
            assert_eq!(Date::parse(t), Date::parse_general(t.trim()), "{t}");
        }
    }

    #[test]
    fn french_day_first_dates_read_the_same() {
        assert_eq!(Date::parse("06/06/2016"), Date::parse("2016-06-06"));
    }

    #[test]
    fn months_count_only_when_the_day_is_reached() {
        let d = |s| Date::parse(s).unwrap();
        assert_eq!(d("2015-06-07").months_until(d("2016-06-06")), 11);
        assert_eq!(d("2015-06-06").months_until(d("2016-06-06")), 12);
        assert_eq!(d("2016-06-06").months_until(d("2016-06-06")), 0);
        assert_eq!(d("2016-07-01").months_until(d("2016-06-06")), 0);
        assert_eq!(d("2016-08-01").months_until(d("2016-06-06")), -1);
    }
}

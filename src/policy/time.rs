//! Times of day, hour windows and dates as policies write them, read strictly: a value that
//! does not parse is a finding, never a guess.

/// A window of minutes after midnight, `start..end`; `end` may be 1440 (24:00). A window whose
/// end is before its start wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u32,
    pub end: u32,
}

impl Window {
    /// Minutes of the day the window covers.
    pub fn minutes(self) -> u32 {
        if self.end >= self.start {
            self.end - self.start
        } else {
            1440 - self.start + self.end
        }
    }
    /// Covers the whole day (00:00-24:00, 00:00-23:59).
    pub fn whole_day(self) -> bool {
        self.minutes() >= 1439
    }
}

/// The minutes of the day several windows cover together (index = minute after midnight).
pub fn coverage(windows: &[Window]) -> Vec<bool> {
    let mut day = vec![false; 1440];
    for w in windows {
        let mut m = w.start % 1440;
        for _ in 0..w.minutes() {
            day[m as usize] = true;
            m = (m + 1) % 1440;
        }
    }
    day
}

/// Minutes of the day covered by the union of `windows`.
pub fn covered(windows: &[Window]) -> usize {
    coverage(windows).iter().filter(|x| **x).count()
}

/// Whether two sets of windows share at least one minute.
pub fn intersect(a: &[Window], b: &[Window]) -> bool {
    let (ca, cb) = (coverage(a), coverage(b));
    ca.iter().zip(&cb).any(|(x, y)| *x && *y)
}

/// `HH:MM` (or `H:MM`, `HH`) to minutes; 24:00 is the end of the day.
pub fn clock(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let (h, m) = match s.split_once(':') {
        Some((h, m)) => (h, m),
        None => (s, "0"),
    };
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a time of day (HH:MM)"))?;
    let m: u32 = m
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a time of day (HH:MM)"))?;
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return Err(format!(
            "`{s}` is not a time of day: hours run 00-23 (24:00 ends the day), minutes 00-59"
        ));
    }
    Ok(h * 60 + m)
}

/// `09:00-17:00` (also with spaces, `to`, an en dash, or a trailing time-zone name such as
/// `UTC`; the zone itself is the policy's `timezone`).
pub fn window(s: &str) -> Result<Window, String> {
    let mut norm = s.replace(" to ", "-").replace('–', "-");
    if let Some((head, zone)) = norm.trim().rsplit_once(' ') {
        if !zone.is_empty() && zone.len() <= 5 && zone.chars().all(|c| c.is_ascii_alphabetic()) {
            norm = head.to_string();
        }
    }
    let (a, b) = norm
        .split_once('-')
        .ok_or_else(|| format!("`{s}` is not an hour window (HH:MM-HH:MM)"))?;
    let (start, end) = (clock(a)?, clock(b)?);
    if start == end {
        return Err(format!("`{s}` is an empty window: it starts and ends at the same time"));
    }
    Ok(Window { start, end })
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A date or RFC 3339 timestamp (`2025-06-30`, `2025-06-30T23:59:59Z`) as (year, days since
/// the epoch); the time of day is ignored (expiry is judged by the day).
pub fn date(s: &str) -> Result<(i64, i64), String> {
    let t = s.trim();
    let day = t.get(..10).ok_or_else(|| format!("`{s}` is not a date (YYYY-MM-DD)"))?;
    let parts: Vec<&str> = day.split('-').collect();
    let bad = || format!("`{s}` is not a date (YYYY-MM-DD)");
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let max = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("`{s}` has month {m}")),
    };
    if d == 0 || d > max {
        return Err(format!("`{s}` has day {d}, month {m} has {max}"));
    }
    let rest = &t[10..];
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with('t') || rest.starts_with(' ')) {
        return Err(bad());
    }
    Ok((y, days_from_civil(y, m, d)))
}

/// Today (UTC) in days since the epoch.
pub fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(secs / 86_400).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_dates() {
        assert_eq!(window("09:00-17:00").unwrap(), Window { start: 540, end: 1020 });
        assert!(window("00:00-24:00").unwrap().whole_day());
        assert!(window("00:00-23:59").unwrap().whole_day());
        assert!(!window("22:00-06:00").unwrap().whole_day());
        assert_eq!(window("22:00-06:00").unwrap().minutes(), 480);
        assert!(window("25:00-26:00").is_err());
        assert!(window("09:00-09:00").is_err());
        assert!(window("nine to five").is_err());
        assert_eq!(window("9:00 - 17:00 UTC").unwrap(), Window { start: 540, end: 1020 });
        assert_eq!(window("22:00–06:00").unwrap().minutes(), 480);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(date("2000-03-01").unwrap().1, 11_017);
        assert_eq!(date("9999-12-31T23:59:59Z").unwrap().0, 9999);
        assert!(date("2025-02-30").is_err());
        assert!(date("31/12/2025").is_err());
        let (a, b) = (window("07:00-12:00").unwrap(), window("13:00-19:00").unwrap());
        assert_eq!(covered(&[a, b]), 660);
        assert!(!intersect(&[a], &[b]));
        assert!(intersect(
            &[window("22:00-06:00").unwrap()],
            &[window("05:00-07:00").unwrap()]
        ));
        assert_eq!(
            covered(&[window("00:00-12:00").unwrap(), window("12:00-24:00").unwrap()]),
            1440
        );
    }
}

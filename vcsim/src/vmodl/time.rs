//! `xsd:dateTime` formatting and parsing for virtual-clock timestamps (UTC, millisecond
//! precision), without a calendar crate: the civil-date conversion is Howard Hinnant's
//! public-domain `days_from_civil` algorithm.

/// Formats milliseconds since the Unix epoch as `2017-10-02T08:00:00.000Z`.
pub fn format_datetime(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(86_400_000);
    let ms_of_day = epoch_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC without fractions,
/// `2017-10-02T08:00:00Z` (scenario start times, report timestamps).
pub fn format_rfc3339_seconds(unix_s: i64) -> String {
    let (y, m, d) = civil_from_days(unix_s.div_euclid(86_400));
    let sod = unix_s.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Parses an `xsd:dateTime` (`YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`) into epoch milliseconds.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let t = text.trim();
    let (date, time) = t.split_once('T')?;
    let mut dp = date.splitn(3, '-');
    let year_text = dp.next()?;
    // Four-digit years only (xsd allows more, no vSphere timestamp uses them); this also
    // keeps the arithmetic below far from overflow on hostile input.
    if year_text.len() != 4 {
        return None;
    }
    let y: i64 = year_text.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let (clock, offset_min) = split_offset(time)?;
    let mut tp = clock.splitn(3, ':');
    let h: i64 = tp.next()?.parse().ok()?;
    let min: i64 = tp.next()?.parse().ok()?;
    let sec_text = tp.next()?;
    let (sec, frac) = match sec_text.split_once('.') {
        Some((s, f)) => (s.parse::<i64>().ok()?, f),
        None => (sec_text.parse::<i64>().ok()?, ""),
    };
    let mut ms = 0i64;
    for (i, c) in frac.chars().take(3).enumerate() {
        ms += i64::from(c.to_digit(10)?) * [100, 10, 1][i];
    }
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    Some(((days * 24 + h) * 60 + min - offset_min) * 60_000 + sec * 1000 + ms)
}

fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(c) = time.strip_suffix('Z') {
        return Some((c, 0));
    }
    if let Some(i) = time.rfind(['+', '-'])
        && i >= 8
    {
        let (c, off) = time.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (hh, mm) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
        let (hh, mm): (i64, i64) = (hh.parse().ok()?, mm.parse().ok()?);
        // Real offsets are within ±14:00; the bound also keeps the arithmetic safe.
        if !(0..=14).contains(&hh) || !(0..60).contains(&mm) {
            return None;
        }
        return Some((c, sign * (hh * 60 + mm)));
    }
    Some((time, 0))
}

/// Days since 1970-01-01 of the civil date `y-m-d` (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month 1–12, day 1–31) `z` days after 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
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
    fn round_trips() {
        let t = parse_datetime("2017-10-02T08:30:15.250Z").unwrap();
        assert_eq!(format_datetime(t), "2017-10-02T08:30:15.250Z");
        assert_eq!(format_datetime(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_datetime("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_datetime("2024-02-29T00:00:00Z")
                .map(format_datetime)
                .as_deref(),
            Some("2024-02-29T00:00:00.000Z")
        );
        assert_eq!(parse_datetime("garbage"), None);
        assert_eq!(parse_datetime("999999999999999-01-01T00:00:00Z"), None);
        assert_eq!(
            parse_datetime("2017-01-01T00:00:00+99999999999999999:00"),
            None
        );
        assert_eq!(
            parse_datetime("2017-01-01T00:00:99999999999999999999Z"),
            None
        );
        assert_eq!(parse_datetime("2017-13-02T08:30:15Z"), None);
    }
}

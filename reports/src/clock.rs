//! Virtual-time formatting without the wall clock: RFC 3339 UTC timestamps from Unix
//! seconds (proleptic Gregorian, days-from-civil inverse) and `mm:ss` offsets.

/// `YYYY-MM-DDTHH:MM:SSZ` for `unix_seconds` (UTC). Years outside 0–9999 print with more
/// digits or a sign; nothing fails.
pub fn rfc3339(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `start + offset_s` as RFC 3339, saturating at the ends of `i64`.
pub fn rfc3339_at(start_unix: i64, offset_s: u64) -> String {
    let offset = i64::try_from(offset_s).unwrap_or(i64::MAX);
    rfc3339(start_unix.saturating_add(offset))
}

/// An offset from the start as `mm:ss`, or `h:mm:ss` from one hour on.
pub fn offset_label(offset_s: u64) -> String {
    let (h, m, s) = (offset_s / 3600, offset_s / 60 % 60, offset_s % 60);
    if h == 0 {
        format!("{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// (year, month 1–12, day 1–31) of the day `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_506_931_200), "2017-10-02T08:00:00Z");
        assert_eq!(rfc3339_at(1_506_931_200, 20), "2017-10-02T08:00:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn agrees_with_the_time_crate() {
        let mut t: i64 = -2_208_988_800; // 1900-01-01
        while t < 4_102_444_800 {
            // 2100-01-01
            let dt = time::OffsetDateTime::from_unix_timestamp(t).expect("in range");
            let want = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
            assert_eq!(rfc3339(t), want, "t = {t}");
            t += 86_400 * 13 + 3_607;
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(offset_label(0), "00:00");
        assert_eq!(offset_label(20), "00:20");
        assert_eq!(offset_label(300), "05:00");
        assert_eq!(offset_label(3_599), "59:59");
        assert_eq!(offset_label(3_600), "1:00:00");
        assert_eq!(offset_label(7_325), "2:02:05");
    }

    #[test]
    fn saturates() {
        assert!(!rfc3339_at(i64::MAX - 5, u64::MAX).is_empty());
        assert!(!rfc3339(i64::MIN).is_empty());
    }
}

//! Virtual-time formatting without the wall clock: RFC 3339 UTC timestamps (the emulator's
//! calendar code, through `scenarios::outcome::rfc3339`) and `mm:ss` offsets.

pub use scenarios::outcome::rfc3339;

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

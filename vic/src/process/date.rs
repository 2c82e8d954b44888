//! `date` on the virtual clock, in UTC (a containerVM has no time zone set): BusyBox's default
//! format, `+FORMAT` with the strftime conversions listed in [`strftime`], `-u`, `-R`,
//! `-I[SPEC]` and `-d @SECONDS`. Setting the clock is not emulated.
//!
//! The calendar conversion is the proleptic Gregorian one, done on day numbers (no
//! floating point, valid for any i64 second count whose year fits an i64).

use super::commands::usage;
use super::out::Halt;
use super::script::Io;

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// BusyBox's default: `Thu Jan  1 00:00:00 UTC 1970`.
pub(super) const DEFAULT_FORMAT: &str = "%a %b %e %H:%M:%S %Z %Y";

/// A broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tm {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// 0 = Sunday
    pub wday: u32,
    /// 0-based day of the year
    pub yday: u32,
    pub unix_s: i64,
}

/// (year, month 1..=12, day 1..=31) of a count of days since 1970-01-01.
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so that leap days end each 4/100/400-year cycle; an era
    // is 400 years (146 097 days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

impl Tm {
    /// The UTC time of a Unix second count.
    pub fn from_unix(unix_s: i64) -> Tm {
        let days = unix_s.div_euclid(86_400);
        let secs = unix_s.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        const BEFORE_MONTH: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap_shift = u32::from(month > 2 && is_leap(year));
        Tm {
            year,
            month,
            day,
            hour: secs / 3_600,
            min: secs / 60 % 60,
            sec: secs % 60,
            // 1970-01-01 was a Thursday.
            wday: (days + 4).rem_euclid(7) as u32,
            yday: BEFORE_MONTH[month as usize - 1] + day - 1 + leap_shift,
            unix_s,
        }
    }

    /// ISO 8601 (week-based year, week 1..=53).
    fn iso_week(&self) -> (i64, u32) {
        let monday_based = (self.wday + 6) % 7;
        let week = (i64::from(self.yday) - i64::from(monday_based) + 10) / 7;
        let weeks_in = |y: i64| {
            // A year has 53 weeks when it starts on a Thursday, or on a Wednesday if leap.
            let jan1 = (days_from_civil(y, 1, 1) + 4).rem_euclid(7);
            52 + u32::from(jan1 == 4 || (jan1 == 3 && is_leap(y)))
        };
        if week < 1 {
            (self.year - 1, weeks_in(self.year - 1))
        } else if week as u32 > weeks_in(self.year) {
            (self.year + 1, 1)
        } else {
            (self.year, week as u32)
        }
    }
}

/// Days since 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats `tm` like strftime in the C locale and UTC: `%a %A %b %B %c %C %d %D %e %F %g %G %h
/// %H %I %j %k %l %m %M %n %N %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%`.
/// `%N` shows the virtual clock's milliseconds as nanoseconds. Other conversions stay as written.
pub(super) fn strftime(format: &str, tm: &Tm, millis: u32) -> String {
    let mut s = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            s.push(c);
            continue;
        }
        let Some(conv) = chars.next() else {
            s.push('%');
            break;
        };
        let hour12 = if tm.hour.is_multiple_of(12) {
            12
        } else {
            tm.hour % 12
        };
        let text = match conv {
            'a' => DAYS[tm.wday as usize][..3].to_string(),
            'A' => DAYS[tm.wday as usize].to_string(),
            'b' | 'h' => MONTHS[tm.month as usize - 1][..3].to_string(),
            'B' => MONTHS[tm.month as usize - 1].to_string(),
            'c' => strftime("%a %b %e %H:%M:%S %Y", tm, millis),
            'C' => format!("{:02}", tm.year.div_euclid(100)),
            'd' => format!("{:02}", tm.day),
            'D' | 'x' => strftime("%m/%d/%y", tm, millis),
            'e' => format!("{:2}", tm.day),
            'F' => strftime("%Y-%m-%d", tm, millis),
            'g' => format!("{:02}", tm.iso_week().0.rem_euclid(100)),
            'G' => tm.iso_week().0.to_string(),
            'H' => format!("{:02}", tm.hour),
            'I' => format!("{hour12:02}"),
            'j' => format!("{:03}", tm.yday + 1),
            'k' => format!("{:2}", tm.hour),
            'l' => format!("{hour12:2}"),
            'm' => format!("{:02}", tm.month),
            'M' => format!("{:02}", tm.min),
            'n' => "\n".into(),
            'N' => format!("{:09}", u64::from(millis) * 1_000_000),
            'p' => (if tm.hour < 12 { "AM" } else { "PM" }).into(),
            'P' => (if tm.hour < 12 { "am" } else { "pm" }).into(),
            'r' => strftime("%I:%M:%S %p", tm, millis),
            'R' => strftime("%H:%M", tm, millis),
            's' => tm.unix_s.to_string(),
            'S' => format!("{:02}", tm.sec),
            't' => "\t".into(),
            'T' | 'X' => strftime("%H:%M:%S", tm, millis),
            'u' => (if tm.wday == 0 { 7 } else { tm.wday }).to_string(),
            'U' => format!("{:02}", (tm.yday + 7 - tm.wday) / 7),
            'V' => format!("{:02}", tm.iso_week().1),
            'w' => tm.wday.to_string(),
            'W' => format!("{:02}", (tm.yday + 7 - (tm.wday + 6) % 7) / 7),
            'y' => format!("{:02}", tm.year.rem_euclid(100)),
            'Y' => tm.year.to_string(),
            'z' => "+0000".into(),
            'Z' => "UTC".into(),
            '%' => "%".into(),
            other => format!("%{other}"),
        };
        s.push_str(&text);
    }
    s
}

/// The `date` applet.
pub(super) fn run(args: &[String], io: &mut Io<'_>) -> Result<i32, Halt> {
    let now_ms = io.out.now_ms();
    let elapsed_s = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    let mut unix_s = io.ctx.start_unix_s.saturating_add(elapsed_s);
    let mut millis = (now_ms % 1000) as u32;
    let mut format: Option<String> = None;
    let mut preset: Option<&str> = None;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if let Some(f) = arg.strip_prefix('+') {
            if format.is_some() {
                return usage(io.out, "date");
            }
            format = Some(f.to_string());
            continue;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return invalid_date(io, arg);
        };
        for (at, flag) in flags.char_indices() {
            let attached = &flags[at + flag.len_utf8()..];
            match flag {
                'u' => continue,
                'R' => {
                    preset = Some("%a, %d %b %Y %H:%M:%S %z");
                    continue;
                }
                'I' => {
                    preset = Some(match attached {
                        "" | "date" => "%Y-%m-%d",
                        "hours" => "%Y-%m-%dT%H+00:00",
                        "minutes" => "%Y-%m-%dT%H:%M+00:00",
                        "seconds" => "%Y-%m-%dT%H:%M:%S+00:00",
                        "ns" => "%Y-%m-%dT%H:%M:%S,%N+00:00",
                        _ => return usage(io.out, "date"),
                    });
                }
                'd' | 's' => {
                    let value = if attached.is_empty() {
                        let Some(v) = args.get(i) else {
                            let msg = format!("date: option requires an argument -- '{flag}'");
                            io.out.err_line(&msg)?;
                            return usage(io.out, "date");
                        };
                        i += 1;
                        v.as_str()
                    } else {
                        attached
                    };
                    let seconds = value.strip_prefix('@').and_then(|n| n.parse::<i64>().ok());
                    match seconds {
                        Some(s) if flag == 'd' => {
                            unix_s = s;
                            millis = 0;
                        }
                        _ => return invalid_date(io, value),
                    }
                }
                other => {
                    io.out
                        .err_line(&format!("date: invalid option -- '{other}'"))?;
                    return usage(io.out, "date");
                }
            }
            break;
        }
    }
    let format = format.unwrap_or_else(|| preset.unwrap_or(DEFAULT_FORMAT).to_string());
    let mut text = strftime(&format, &Tm::from_unix(unix_s), millis);
    text.push('\n');
    io.out.out(&text)?;
    Ok(0)
}

fn invalid_date(io: &mut Io<'_>, arg: &str) -> Result<i32, Halt> {
    io.out.err_line(&format!("date: invalid date '{arg}'"))?;
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: &str, unix_s: i64) -> String {
        strftime(f, &Tm::from_unix(unix_s), 0)
    }

    #[test]
    fn default_format_at_known_epochs() {
        assert_eq!(fmt(DEFAULT_FORMAT, 0), "Thu Jan  1 00:00:00 UTC 1970");
        assert_eq!(
            fmt(DEFAULT_FORMAT, 1_500_000_000),
            "Fri Jul 14 02:40:00 UTC 2017"
        );
        assert_eq!(
            fmt(DEFAULT_FORMAT, 951_782_400),
            "Tue Feb 29 00:00:00 UTC 2000"
        );
        assert_eq!(fmt(DEFAULT_FORMAT, -1), "Wed Dec 31 23:59:59 UTC 1969");
        assert_eq!(
            fmt(DEFAULT_FORMAT, 1_796_577_036),
            "Sun Dec  6 17:10:36 UTC 2026"
        );
    }

    #[test]
    fn conversions_match_busybox_at_86399() {
        // Compared with BusyBox 1.35 `date -d @86399 +…` under TZ=UTC.
        assert_eq!(
            fmt(
                "%q|%k|%l|%p|%u|%w|%C|%h|%n|%t|%G|%U|%A|%B|%I|%R|%r|%c|%x|%X|%V|%g",
                86_399
            ),
            "%q|23|11|PM|4|4|19|Jan|\n|\t|1970|00|Thursday|January|11|23:59|11:59:59 PM|\
             Thu Jan  1 23:59:59 1970|01/01/70|23:59:59|01|70"
        );
        assert_eq!(
            fmt("%Y %m %d %H %M %S %s %a %b %e %j %y %Z %z %T %D %F %%", 0),
            "1970 01 01 00 00 00 0 Thu Jan  1 001 70 UTC +0000 00:00:00 01/01/70 1970-01-01 %"
        );
    }

    #[test]
    fn calendar_round_trips_and_iso_weeks() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // 2021-01-03 is in ISO week 53 of 2020; 2024-12-30 in week 1 of 2025.
        let t = Tm::from_unix(days_from_civil(2021, 1, 3) * 86_400);
        assert_eq!(t.iso_week(), (2020, 53));
        let t = Tm::from_unix(days_from_civil(2024, 12, 30) * 86_400);
        assert_eq!(t.iso_week(), (2025, 1));
        assert_eq!(
            Tm::from_unix(days_from_civil(2024, 12, 31) * 86_400).yday,
            365
        );
        // The ends of the clock format without overflowing.
        for extreme in [i64::MIN, i64::MAX] {
            let text = strftime("%c %G %V %U %W %j %C %y %s", &Tm::from_unix(extreme), 999);
            assert!(text.ends_with(&extreme.to_string()), "{text}");
        }
    }
}

//! Offsets and durations as scenario files write them: `"0s"`, `"30s"`, `"5m"`, `"1h30m"`.

use std::time::Duration;

/// Parses a duration made of one or more `<integer><unit>` parts, units `h`, `m`, `s`
/// (`"300s"`, `"5m"`, `"1m30s"`). A bare number is refused: the unit must be explicit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration: write e.g. \"30s\", \"5m\" or \"1h\"".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut parts = 0;
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {c:?} (use s, m or h, e.g. \"30s\", \"5m\")"
                ));
            }
        };
        if digits.is_empty() {
            return Err(format!(
                "invalid duration {text:?}: unit {c:?} without a number before it"
            ));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: number too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid duration {text:?}: too large"))?;
        digits.clear();
        parts += 1;
    }
    if !digits.is_empty() {
        return Err(if parts == 0 {
            format!(
                "invalid duration {text:?}: missing unit (write \"{digits}s\", \"{digits}m\" or \"{digits}h\")"
            )
        } else {
            format!("invalid duration {text:?}: trailing number {digits} without a unit")
        });
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration the way scenario files write it (`"5m"`, `"1m30s"`, `"0s"`).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("300s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        for bad in ["", "5", "m", "5d", "1.5m", "5m3", "-5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["0s", "20s", "5m", "1h", "1h2m3s", "1m30s"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }
}

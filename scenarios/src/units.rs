//! Expectation bounds in the units people read: each counter is shown in a display unit
//! derived from its vSphere unit (the `unit` column of vCenter's counter catalogue,
//! `vcsim/data/perf_counters.tsv`), so esxtop and vCenter numbers can be typed as seen.
//!
//! | vSphere unit | `QueryPerf` value | display unit | a bound may also be written |
//! |---|---|---|---|
//! | `percent` | % × 100 (2067 = 20.67 %) | `%` | `"5%"` |
//! | `kiloBytes` | KB | `MB` (KB ÷ 1024) | `"512KB"`, `"512MB"`, `"2GB"`, `"1TB"` |
//! | `megaBytes` | MB | `MB` | as above |
//! | `megaHertz` | MHz | `MHz` | `"5200MHz"`, `"5.2GHz"` |
//! | `millisecond` | ms | `ms` | `"500ms"`, `"10s"` |
//! | `microsecond` | µs | `µs` | `"500us"`, `"2ms"` |
//! | `second` | s | `s` | `"90s"`, `"5min"`, `"1h"` |
//! | anything else | as is | the unit's own | — |
//!
//! Memory multiples are binary, as vSphere's are (1 MB = 1024 KB). A bound of an expectation
//! with `relative_to` is a plain ratio of two displayed values.

use std::fmt;

/// How a counter's raw values are shown, and how bounds for it are read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DisplayUnit {
    /// What displayed values are in (`%`, `MB`, `MHz`, `ms`); empty for plain numbers.
    pub symbol: &'static str,
    /// Raw `QueryPerf` units per display unit (100 for percent, 1024 for KB shown in MB).
    pub raw_per_unit: f64,
    family: Family,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Percent,
    Memory,
    Frequency,
    Milliseconds,
    Microseconds,
    Seconds,
    Other,
}

/// Suffixes a bound may carry, per family: (suffix, display units per suffix unit).
fn suffixes(family: Family) -> &'static [(&'static str, f64)] {
    match family {
        Family::Percent => &[("%", 1.0)],
        Family::Memory => &[
            ("KB", 1.0 / 1024.0),
            ("KiB", 1.0 / 1024.0),
            ("MB", 1.0),
            ("MiB", 1.0),
            ("GB", 1024.0),
            ("GiB", 1024.0),
            ("TB", 1024.0 * 1024.0),
            ("TiB", 1024.0 * 1024.0),
        ],
        Family::Frequency => &[("MHz", 1.0), ("GHz", 1000.0)],
        Family::Milliseconds => &[("ms", 1.0), ("s", 1000.0)],
        Family::Microseconds => &[("us", 1.0), ("µs", 1.0), ("ms", 1000.0)],
        Family::Seconds => &[("s", 1.0), ("min", 60.0), ("h", 3600.0)],
        Family::Other => &[],
    }
}

impl DisplayUnit {
    /// Plain numbers (ratios): no symbol, no scaling.
    pub const PLAIN: DisplayUnit = DisplayUnit {
        symbol: "",
        raw_per_unit: 1.0,
        family: Family::Other,
    };

    /// The display unit of counters whose vSphere unit key is `key` (`percent`,
    /// `kiloBytes`, …).
    pub fn of_vsphere_unit(key: &str) -> DisplayUnit {
        let (symbol, raw_per_unit, family) = match key {
            "percent" => ("%", 100.0, Family::Percent),
            "kiloBytes" => ("MB", 1024.0, Family::Memory),
            "megaBytes" => ("MB", 1.0, Family::Memory),
            "megaHertz" => ("MHz", 1.0, Family::Frequency),
            "millisecond" => ("ms", 1.0, Family::Milliseconds),
            "microsecond" => ("µs", 1.0, Family::Microseconds),
            "kiloBytesPerSecond" => ("KBps", 1.0, Family::Other),
            "second" => ("s", 1.0, Family::Seconds),
            "number" => ("", 1.0, Family::Other),
            _ => ("", 1.0, Family::Other),
        };
        DisplayUnit {
            symbol,
            raw_per_unit,
            family,
        }
    }

    /// The display unit of the catalogued counter `name` (`cpu.ready.summation`), if
    /// vCenter's catalogue has it.
    pub fn of_counter(name: &str) -> Option<DisplayUnit> {
        if name == crate::runs::RUN_TIME_COUNTER {
            return Some(DisplayUnit::of_vsphere_unit(crate::runs::RUN_TIME_UNIT));
        }
        let key = vcsim::perf::catalogue::key_of(name)?;
        let def = vcsim::perf::catalogue::by_key(key)?;
        Some(DisplayUnit::of_vsphere_unit(def.unit))
    }

    /// A raw `QueryPerf` value in this unit.
    pub fn from_raw(self, raw: f64) -> f64 {
        raw / self.raw_per_unit
    }

    /// A displayed value with its symbol: `5 %`, `512 MB`, `400 MHz`, `4.5`.
    pub fn format(self, value: f64) -> String {
        let v = crate::evaluate::fmt_value(value);
        if self.symbol.is_empty() {
            v
        } else {
            format!("{v} {}", self.symbol)
        }
    }

    /// A bound as the file gives it: a number in this unit, or a string with a number and
    /// one of the unit's suffixes (`"512MB"`, `"2GB"`, `"5%"`), converted to this unit.
    pub fn parse_bound(self, value: &toml::Value) -> Result<f64, String> {
        let v = match value {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            toml::Value::String(s) => self.parse_text(s)?,
            other => {
                return Err(format!(
                    "a bound is a number{}, not {}",
                    self.example(),
                    other.type_str()
                ));
            }
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err("bounds must be finite numbers".into())
        }
    }

    fn example(self) -> String {
        match suffixes(self.family).first() {
            Some(_) if self.family == Family::Memory => {
                format!(
                    " (in {}) or a string such as \"512MB\" or \"2GB\"",
                    self.symbol
                )
            }
            Some((s, _)) => format!(" (in {}) or a string such as \"5{s}\"", self.symbol),
            None if self.symbol.is_empty() => String::new(),
            None => format!(" (in {})", self.symbol),
        }
    }

    fn parse_text(self, text: &str) -> Result<f64, String> {
        let t = text.trim();
        let split = t
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
            .map_or(t.len(), |(i, _)| i);
        // No suffix starts with `e`, so `e`/`E` belong to the number (an exponent).
        let (number, suffix) = (t[..split].trim(), t[split..].trim());
        let n: f64 = number.parse().map_err(|_| {
            format!(
                "bound {text:?} is not a number with a unit{}",
                self.example()
            )
        })?;
        if suffix.is_empty() {
            return Ok(n);
        }
        let known = suffixes(self.family);
        match known.iter().find(|(s, _)| s.eq_ignore_ascii_case(suffix)) {
            Some((_, factor)) => Ok(n * factor),
            None if known.is_empty() => Err(format!(
                "bound {text:?}: this counter's values are {}: write a plain number",
                if self.symbol.is_empty() {
                    "plain numbers".to_owned()
                } else {
                    format!("in {}", self.symbol)
                }
            )),
            None => {
                let list: Vec<&str> = known.iter().map(|(s, _)| *s).collect();
                Err(format!(
                    "bound {text:?}: unit {suffix:?} is not one of {} (this counter is shown in {})",
                    list.join(", "),
                    self.symbol
                ))
            }
        }
    }
}

impl fmt::Display for DisplayUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(unit: &str, v: toml::Value) -> Result<f64, String> {
        DisplayUnit::of_vsphere_unit(unit).parse_bound(&v)
    }

    #[test]
    fn percent_counters_are_read_and_shown_in_percent() {
        let u = DisplayUnit::of_counter("cpu.readiness.average").unwrap();
        assert_eq!(u.symbol, "%");
        assert_eq!(u.from_raw(3931.0), 39.31);
        assert_eq!(bound("percent", toml::Value::Integer(5)), Ok(5.0));
        assert_eq!(bound("percent", toml::Value::String("5 %".into())), Ok(5.0));
        assert_eq!(u.format(39.31), "39.31 %");
    }

    #[test]
    fn memory_counters_are_read_in_mb_with_suffixes() {
        let u = DisplayUnit::of_counter("mem.vmmemctl.average").unwrap();
        assert_eq!((u.symbol, u.raw_per_unit), ("MB", 1024.0));
        assert_eq!(u.from_raw(524_288.0), 512.0);
        let s = |t: &str| bound("kiloBytes", toml::Value::String(t.into()));
        assert_eq!(s("512MB"), Ok(512.0));
        assert_eq!(s("2GB"), Ok(2048.0));
        assert_eq!(s("2 gb"), Ok(2048.0));
        assert_eq!(s("1KB"), Ok(1.0 / 1024.0));
        assert_eq!(s("512"), Ok(512.0));
        assert!(s("512XB").unwrap_err().contains("is not one of KB"));
        assert!(s("lots").is_err());
        assert_eq!(bound("kiloBytes", toml::Value::Float(0.5)), Ok(0.5));
    }

    #[test]
    fn other_units_keep_their_values() {
        let u = DisplayUnit::of_counter("cpu.ready.summation").unwrap();
        assert_eq!((u.symbol, u.from_raw(15756.0)), ("ms", 15756.0));
        assert_eq!(
            bound("megaHertz", toml::Value::String("5.2GHz".into())),
            Ok(5200.0)
        );
        assert_eq!(
            bound("millisecond", toml::Value::String("10s".into())),
            Ok(10000.0)
        );
        assert!(bound("number", toml::Value::String("5%".into())).is_err());
        assert!(bound("percent", toml::Value::Boolean(true)).is_err());
        assert_eq!(DisplayUnit::PLAIN.format(4.5), "4.5");
    }
}

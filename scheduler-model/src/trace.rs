//! Recorded demand: a CSV of `timestamp, MHz, MB` rows (a cut of an esxtop batch export or a
//! vCenter performance chart export) turned into a [`Workload::Trace`](crate::Workload::Trace).
//!
//! Pure text in, samples out: the caller reads the file (and bounds its size). MODEL.md §6.4
//! lists every rule; in short:
//! * the first line is a header when its first cell is not a timestamp and its second not a
//!   number (esxtop's `"(PDH-CSV 4.0) (UTC)(0)"`, vCenter's `Time`); header names only choose
//!   units: a CPU column in `GHz` is scaled to MHz, one in `%` is refused, a memory column in
//!   `KB`/`GB` is scaled to MB;
//! * column 1 is the timestamp (ISO-8601, or `MM/DD/YYYY HH:MM[:SS]` with optional `AM`/`PM`),
//!   column 2 the VM's CPU demand (MHz), column 3 (optional) its active memory (MB); further
//!   columns are ignored; cells may be quoted (`"…"`, `""` for a quote);
//! * the interval is the median of the timestamp differences, rounded to whole seconds; each row
//!   lands in interval round((t − t₀)/interval); an interval without a row, or an empty cell,
//!   holds the previous value (the first known value before any);
//! * only differences between timestamps matter (a trace replays from the workload's start), so
//!   time zones are ignored except an explicit ISO offset.

use crate::workload::TraceSample;

/// Most intervals one trace may span (gaps included): 23 days at 20 s, 5.8 days at 5 s.
pub const MAX_TRACE_ROWS: usize = 100_000;
/// Largest trace text accepted, bytes.
pub const MAX_TRACE_BYTES: usize = 16 << 20;
/// Longest interval between samples: one day.
pub const MAX_TRACE_INTERVAL_S: u32 = 86_400;

/// A parsed trace: what [`Workload::Trace`](crate::Workload::Trace) replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Seconds each sample covers.
    pub interval_s: u32,
    /// One sample per interval, in time order.
    pub samples: Vec<TraceSample>,
}

/// Why a trace's text cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", .line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct TraceError {
    /// 1-based line of the problem, when it is one line's.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: String,
}

fn err<T>(line: Option<usize>, problem: impl Into<String>) -> Result<T, TraceError> {
    Err(TraceError {
        line,
        problem: problem.into(),
    })
}

/// Splits one CSV line into cells: `"…"` quotes a cell (`""` inside is a quote), spaces around
/// cells are trimmed.
fn cells(line: &str, n: usize) -> Result<Vec<String>, TraceError> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut cell = String::new();
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cell.push('"');
                    }
                    Some('"') => break,
                    Some(c) => cell.push(c),
                    None => return err(Some(n), "a quoted cell is not closed on its line"),
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != ',') {
                cell.push(c);
                chars.next();
            }
        }
        out.push(cell.trim().to_owned());
        if chars.next().is_none() {
            return Ok(out);
        }
    }
}

/// Days from 1970-01-01 to the civil date `y-m-d` (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = (i64::from(m) + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn num(s: &str, min_digits: usize, max_digits: usize) -> Option<u32> {
    let ok = (min_digits..=max_digits).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

/// `HH:MM[:SS[.fff]]` → milliseconds into the day (hour 0–23 unless `twelve_hour`: 1–12).
fn clock_ms(s: &str, twelve_hour: bool) -> Option<i64> {
    let mut parts = s.split(':');
    let h = num(parts.next()?, 1, 2)?;
    let m = num(parts.next()?, 2, 2)?;
    let (sec, ms) = match parts.next() {
        None => (0, 0),
        Some(x) => {
            let (whole, frac) = x.split_once('.').unwrap_or((x, ""));
            let ms = if frac.is_empty() {
                0
            } else {
                let digits = num(frac, 1, 9)?;
                // Keep milliseconds: scale the fraction to three digits.
                let scale = 10f64.powi(frac.len() as i32 - 3);
                (f64::from(digits) / scale).round() as i64
            };
            (num(whole, 2, 2)?, ms)
        }
    };
    if parts.next().is_some() || m > 59 || sec > 59 {
        return None;
    }
    let hour_ok = if twelve_hour {
        (1..=12).contains(&h)
    } else {
        h <= 23
    };
    hour_ok.then_some(((i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(sec)) * 1000 + ms)
}

fn date_ms(y: i64, m: u32, d: u32) -> Option<i64> {
    ((1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d))
        .then(|| days_from_civil(y, m, d) * 86_400_000)
}

/// A timestamp in milliseconds since the epoch: ISO-8601 (`2017-10-02T08:00:20Z`,
/// `2017-10-02 08:00:20`, `…+02:00`, fractions of a second) or `MM/DD/YYYY HH:MM[:SS]`
/// (1- or 2-digit month, day and hour; optional `AM`/`PM`), as esxtop and vCenter write them.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some((date, time)) = s.split_once(['T', ' ']).filter(|(d, _)| d.contains('-')) {
        // ISO-8601: date, then time with an optional zone.
        let mut dp = date.split('-');
        let y = i64::from(num(dp.next()?, 4, 4)?);
        let m = num(dp.next()?, 2, 2)?;
        let d = num(dp.next()?, 2, 2)?;
        if dp.next().is_some() {
            return None;
        }
        let (clock, offset_ms) = if let Some(c) = time.strip_suffix('Z') {
            (c, 0)
        } else if let Some(i) = time.rfind(['+', '-']) {
            let (c, z) = time.split_at(i);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let z = z[1..].replace(':', "");
            let hh = i64::from(num(z.get(..2)?, 2, 2)?);
            let mm = i64::from(num(z.get(2..)?, 2, 2)?);
            if hh > 23 || mm > 59 {
                return None;
            }
            (c, sign * (hh * 60 + mm) * 60_000)
        } else {
            (time, 0)
        };
        return Some(date_ms(y, m, d)? + clock_ms(clock, false)? - offset_ms);
    }
    // MM/DD/YYYY HH:MM[:SS] [AM|PM]
    let (date, rest) = s.split_once(' ')?;
    let mut dp = date.split('/');
    let m = num(dp.next()?, 1, 2)?;
    let d = num(dp.next()?, 1, 2)?;
    let y = i64::from(num(dp.next()?, 4, 4)?);
    if dp.next().is_some() {
        return None;
    }
    let rest = rest.trim();
    let upper = rest.to_ascii_uppercase();
    let (clock, pm) = match (upper.strip_suffix("AM"), upper.strip_suffix("PM")) {
        (Some(c), _) => (c.trim().to_owned(), Some(false)),
        (_, Some(c)) => (c.trim().to_owned(), Some(true)),
        _ => (rest.to_owned(), None),
    };
    let mut ms = clock_ms(&clock, pm.is_some())?;
    match pm {
        // 12 AM is midnight, 12 PM noon.
        Some(false) if ms >= 12 * 3_600_000 => ms -= 12 * 3_600_000,
        Some(true) if ms < 12 * 3_600_000 => ms += 12 * 3_600_000,
        _ => {}
    }
    Some(date_ms(y, m, d)? + ms)
}

/// Unit factor of a value column from its header name, read word by word (`Usage in MHz`,
/// `Active (KB)`, `Touched MBytes`): no unit word means MHz or MB.
fn unit_factor(header: &str, cpu: bool) -> Result<f64, String> {
    let lower = header.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |units: &[&str]| words.iter().any(|w| units.contains(w));
    if cpu {
        if lower.contains('%') || has(&["percent", "pct"]) {
            return Err(format!(
                "column 2 ({header:?}) is a percentage; the trace needs the CPU demand in MHz"
            ));
        }
        Ok(if has(&["ghz"]) { 1000.0 } else { 1.0 })
    } else if has(&["kb", "kbytes", "kilobytes"]) {
        Ok(1.0 / 1024.0)
    } else if has(&["gb", "gbytes", "gigabytes"]) {
        Ok(1024.0)
    } else {
        Ok(1.0)
    }
}

fn value(cell: &str, line: usize, col: &str, factor: f64) -> Result<Option<f64>, TraceError> {
    if cell.is_empty() {
        return Ok(None);
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v * factor)),
        _ => err(
            Some(line),
            format!("{col} {cell:?} is not a non-negative number"),
        ),
    }
}

/// Fills empty cells: each holds the previous value, leading ones the first known value.
fn fill(col: &mut [Option<f64>]) -> Option<()> {
    let first = col.iter().flatten().copied().next()?;
    let mut last = first;
    for v in col.iter_mut() {
        last = v.unwrap_or(last);
        *v = Some(last);
    }
    Some(())
}

/// Parses a trace (see the module docs for the accepted format).
pub fn parse_trace_csv(text: &str) -> Result<Trace, TraceError> {
    if text.len() > MAX_TRACE_BYTES {
        return err(
            None,
            format!(
                "{} bytes; a trace may have at most {MAX_TRACE_BYTES}",
                text.len()
            ),
        );
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows: Vec<(usize, i64, Option<f64>, Option<f64>)> = Vec::new();
    let (mut cpu_factor, mut mem_factor) = (1.0, 1.0);
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let c = cells(line, n)?;
        let stamp = parse_timestamp(&c[0]);
        if first {
            first = false;
            let second_is_number = c.get(1).is_some_and(|s| s.parse::<f64>().is_ok());
            if stamp.is_none() && !second_is_number {
                let header = |k: usize| c.get(k).map_or("", String::as_str);
                cpu_factor = unit_factor(header(1), true).or_else(|e| err(Some(n), e))?;
                mem_factor = unit_factor(header(2), false).or_else(|e| err(Some(n), e))?;
                continue;
            }
        }
        let Some(t) = stamp else {
            return err(
                Some(n),
                format!(
                    "timestamp {:?} is not ISO-8601 (2017-10-02T08:00:20Z) or MM/DD/YYYY HH:MM:SS",
                    c[0]
                ),
            );
        };
        if c.len() < 2 {
            return err(Some(n), "expected timestamp, MHz[, MB] (comma-separated)");
        }
        if let Some(&(pn, pt, ..)) = rows.last()
            && t <= pt
        {
            return err(
                Some(n),
                format!("timestamp {:?} is not after line {pn}'s", c[0]),
            );
        }
        let cpu = value(&c[1], n, "MHz", cpu_factor)?;
        let mem = match c.get(2) {
            Some(m) => value(m, n, "MB", mem_factor)?,
            None => None,
        };
        rows.push((n, t, cpu, mem));
        if rows.len() > MAX_TRACE_ROWS {
            return err(
                Some(n),
                format!("more than {MAX_TRACE_ROWS} rows; split or thin the trace"),
            );
        }
    }
    if rows.len() < 2 {
        return err(
            None,
            "a trace needs at least two rows (the interval comes from their timestamps)",
        );
    }
    let mut deltas: Vec<i64> = rows.windows(2).map(|w| w[1].1 - w[0].1).collect();
    deltas.sort_unstable();
    let median_ms = deltas[deltas.len() / 2];
    let interval_s = ((median_ms + 500) / 1000).max(1);
    if interval_s > i64::from(MAX_TRACE_INTERVAL_S) {
        return err(
            None,
            format!("rows are {interval_s} s apart; at most {MAX_TRACE_INTERVAL_S} s (one day)"),
        );
    }
    let interval_ms = interval_s * 1000;
    let t0 = rows[0].1;
    let last_slot = (rows[rows.len() - 1].1 - t0 + interval_ms / 2) / interval_ms;
    if last_slot >= MAX_TRACE_ROWS as i64 {
        return err(
            None,
            format!(
                "the rows span {} intervals of {interval_s} s; at most {MAX_TRACE_ROWS}",
                last_slot + 1
            ),
        );
    }
    let len = last_slot as usize + 1;
    let (mut cpu, mut mem) = (vec![None; len], vec![None; len]);
    let mut prev: Option<(usize, usize)> = None;
    for &(n, t, c, m) in &rows {
        let slot = ((t - t0 + interval_ms / 2) / interval_ms) as usize;
        if let Some((pslot, pn)) = prev
            && slot == pslot
        {
            return err(
                Some(n),
                format!(
                    "falls in the same {interval_s} s interval as line {pn} (the interval is the median spacing of the rows)"
                ),
            );
        }
        prev = Some((slot, n));
        cpu[slot] = c;
        mem[slot] = m;
    }
    if fill(&mut cpu).is_none() {
        return err(None, "column 2 (MHz) has no values");
    }
    // A trace without memory values adds no active memory.
    if fill(&mut mem).is_none() {
        mem.fill(Some(0.0));
    }
    let samples = cpu
        .into_iter()
        .zip(mem)
        .map(|(c, m)| TraceSample {
            cpu_mhz: c.unwrap_or(0.0).round().min(f64::from(u32::MAX)) as u32,
            active_mb: m.unwrap_or(0.0).round().min(u64::MAX as f64) as u64,
        })
        .collect();
    Ok(Trace {
        interval_s: interval_s as u32,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cpu_mhz: u32, active_mb: u64) -> TraceSample {
        TraceSample { cpu_mhz, active_mb }
    }

    #[test]
    fn timestamps_in_both_formats() {
        let iso = parse_timestamp("2017-10-02T08:00:20Z").unwrap();
        assert_eq!(iso, 1_506_931_220_000);
        assert_eq!(parse_timestamp("2017-10-02 08:00:20"), Some(iso));
        assert_eq!(parse_timestamp("2017-10-02T10:00:20+02:00"), Some(iso));
        assert_eq!(parse_timestamp("2017-10-02T08:00:20.250Z"), Some(iso + 250));
        assert_eq!(parse_timestamp("10/02/2017 08:00:20"), Some(iso));
        assert_eq!(parse_timestamp("10/2/2017 8:00:20 AM"), Some(iso));
        assert_eq!(
            parse_timestamp("10/2/2017 8:00:20 PM"),
            Some(iso + 12 * 3_600_000)
        );
        assert_eq!(
            parse_timestamp("10/02/2017 12:00:00 AM"),
            Some(iso - 8 * 3_600_000 - 20_000)
        );
        assert_eq!(
            parse_timestamp("2020-02-29T00:00:00Z"),
            Some(1_582_934_400_000)
        );
        for bad in [
            "2017-02-29T00:00:00Z",
            "13/01/2017 00:00:00",
            "2017-10-02T24:00:00",
            "yesterday",
            "10/02/2017",
            "2017-10-02T08:00:20+25:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn esxtop_style_header_quotes_and_units() {
        let text = "\"(PDH-CSV 4.0) (UTC)(0)\",\"\\\\esx\\Group Cpu(1:web)\\Demand GHz\",\"\\\\esx\\Group Memory(1:web)\\Touched KBytes\"\n\
                    \"10/02/2017 08:00:00\",\"1.5\",\"102400\"\n\
                    \"10/02/2017 08:00:05\",\"0.5\",\"204800\"\n";
        let t = parse_trace_csv(text).unwrap();
        assert_eq!(t.interval_s, 5);
        assert_eq!(t.samples, vec![sample(1500, 100), sample(500, 200)]);
    }

    #[test]
    fn vcenter_style_export_with_gaps_and_missing_values() {
        let text = "Time,Usage in MHz,Active (MB)\n\
                    2017-10-02T08:00:20Z,100,\n\
                    2017-10-02T08:00:40Z,,50\n\
                    2017-10-02T08:01:40Z,300,60\n\
                    2017-10-02T08:02:00Z,400,70\n";
        let t = parse_trace_csv(text).unwrap();
        assert_eq!(t.interval_s, 20);
        // 08:01:00 and 08:01:20 have no row: they hold 08:00:40's values; the first memory
        // cell is empty: it takes the first known value.
        assert_eq!(
            t.samples,
            vec![
                sample(100, 50),
                sample(100, 50),
                sample(100, 50),
                sample(100, 50),
                sample(300, 60),
                sample(400, 70),
            ]
        );
    }

    #[test]
    fn irregular_spacing_rounds_to_the_median_interval() {
        let text = "10/02/2017 08:00:00,1\n10/02/2017 08:00:05,2\n10/02/2017 08:00:11,3\n10/02/2017 08:00:15,4\n";
        let t = parse_trace_csv(text).unwrap();
        assert_eq!(t.interval_s, 5);
        assert_eq!(t.samples.len(), 4);
        assert!(t.samples.iter().all(|s| s.active_mb == 0));
    }

    #[test]
    fn problems_name_the_line() {
        let e = |t: &str| parse_trace_csv(t).unwrap_err().to_string();
        assert_eq!(
            e("t,mhz\n2017-10-02T08:00:00Z,1\nnoon,2\n"),
            "line 3: timestamp \"noon\" is not ISO-8601 (2017-10-02T08:00:20Z) or MM/DD/YYYY HH:MM:SS"
        );
        assert!(e("2017-10-02T08:00:00Z,1\n2017-10-02T08:00:00Z,2\n").starts_with("line 2:"));
        assert!(e("2017-10-02T08:00:00Z,-1\n2017-10-02T08:00:20Z,2\n").contains("MHz \"-1\""));
        assert!(e("2017-10-02T08:00:00Z,1\n").contains("at least two rows"));
        assert!(e("Time,CPU %\n2017-10-02T08:00:00Z,1\n").contains("percentage"));
        assert!(e("2017-10-02T08:00:00Z,\n2017-10-02T08:00:20Z,\n").contains("no values"));
        assert!(e("\"2017-10-02T08:00:00Z,1\n").contains("not closed"));
        // Rows 1 s apart, then one a week later: too many intervals.
        assert!(
            e("2017-10-02T08:00:00Z,1\n2017-10-02T08:00:01Z,1\n2017-10-02T08:00:02Z,1\n2017-10-09T08:00:00Z,1\n")
                .contains("at most 100000")
        );
        assert!(
            e("2017-10-02T08:00:00Z,1\n2017-10-02T08:00:05Z,1\n2017-10-02T08:00:07Z,1\n")
                .contains("same 5 s interval")
        );
    }
}

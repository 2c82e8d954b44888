//! `metrics.csv`: every sample of every series, one row per point, in the outcome's order.

use std::io::Write;

use scenarios::RunOutcome;

use crate::clock::rfc3339_at;

/// Runs of more samples than this get no `metrics.csv` (it would be hundreds of MB); every
/// sample is in `metrics.parquet` whatever the size.
pub const CSV_MAX_ROWS: usize = 200_000;

/// How many samples the run has in all (rows of the metrics files).
pub fn total_rows(outcome: &RunOutcome) -> usize {
    outcome.series.iter().map(|s| s.points.len()).sum()
}

/// Whether [`crate::render`] writes `metrics.csv` for `outcome` (at most [`CSV_MAX_ROWS`]
/// samples).
pub fn writes_csv(outcome: &RunOutcome) -> bool {
    total_rows(outcome) <= CSV_MAX_ROWS
}

/// The CSV header line (without the line end).
pub const HEADER: &str = "entity_kind,entity,counter,instance,timestamp,offset_s,value,unit";

/// `metrics.csv`: [`crate::METRICS_CSV_HEADER`], then one `\n`-terminated row per point, series in
/// `outcome.series` order and points in time order. `timestamp` is the RFC 3339 UTC time of
/// `meta.start + offset_s`; `value` is the raw value as `QueryPerf` returned it.
///
/// This builds the whole file in memory; [`crate::render`] streams it with
/// [`write_metrics_csv`] instead, so a week-long run does not hold it.
pub fn metrics_csv(outcome: &RunOutcome) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail; samples that cannot be read back end the text early.
    let _ = write_metrics_csv(outcome, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes [`metrics_csv`]'s text to `out`, reading each series back one block at a time.
pub fn write_metrics_csv(outcome: &RunOutcome, out: &mut impl Write) -> std::io::Result<()> {
    let start = outcome.meta.start.unix_seconds;
    out.write_all(HEADER.as_bytes())?;
    out.write_all(b"\n")?;
    let mut row = String::new();
    for s in &outcome.series {
        let prefix = [
            field(s.kind.as_str()),
            field(&s.entity),
            field(&s.counter),
            field(&s.instance),
        ]
        .join(",");
        let unit = field(&s.unit);
        let mut result = Ok(());
        s.points.try_for_each(|p| {
            if result.is_err() {
                return;
            }
            row.clear();
            row.push_str(&prefix);
            row.push(',');
            row.push_str(&rfc3339_at(start, p.offset_s));
            row.push(',');
            row.push_str(&p.offset_s.to_string());
            row.push(',');
            row.push_str(&p.value.to_string());
            row.push(',');
            row.push_str(&unit);
            row.push('\n');
            result = out.write_all(row.as_bytes());
        })?;
        result?;
    }
    Ok(())
}

/// One CSV field, quoted (with `"` doubled) when it holds a comma, quote or line break.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}

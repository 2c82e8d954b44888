//! `metrics.csv`: every sample of every series, one row per point, in the outcome's order.

use scenarios::RunOutcome;

use crate::clock::rfc3339_at;

/// The CSV header line (without the line end).
pub const HEADER: &str = "entity_kind,entity,counter,instance,timestamp,offset_s,value,unit";

/// `metrics.csv`: [`crate::METRICS_CSV_HEADER`], then one `\n`-terminated row per point, series in
/// `outcome.series` order and points in time order. `timestamp` is the RFC 3339 UTC time of
/// `meta.start + offset_s`; `value` is the raw value as `QueryPerf` returned it.
pub fn metrics_csv(outcome: &RunOutcome) -> String {
    let start = outcome.meta.start.unix_seconds;
    let mut out = String::new();
    out.push_str(HEADER);
    out.push('\n');
    for s in &outcome.series {
        let prefix = [
            field(s.kind.as_str()),
            field(&s.entity),
            field(&s.counter),
            field(&s.instance),
        ]
        .join(",");
        let unit = field(&s.unit);
        for p in &s.points {
            out.push_str(&prefix);
            out.push(',');
            out.push_str(&rfc3339_at(start, p.offset_s));
            out.push(',');
            out.push_str(&p.offset_s.to_string());
            out.push(',');
            out.push_str(&p.value.to_string());
            out.push(',');
            out.push_str(&unit);
            out.push('\n');
        }
    }
    out
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

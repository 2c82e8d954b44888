//! Names and numbers as every output writes them: entity kinds, statistics, file-name-safe
//! entity names, deterministic number formatting, expectation bounds.

/// A file-name-safe form of `name`: ASCII lowercase, every run of characters outside
/// `[a-z0-9]` becomes one `-`, no leading or trailing `-`; `entity` if nothing is left.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("entity");
    }
    out
}

/// A number for people: integers without a fraction, others with up to three decimals,
/// `NaN`/`inf` spelled out (the verdicts' own formatting).
pub use scenarios::evaluate::fmt_value as fmt_num;

/// A number with exactly `decimals` decimals (`-0.0` printed as `0.0`).
pub fn fmt_fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

/// An expectation's bounds: `≥ a`, `≤ b`, `a … b`, or `–` without any.
pub fn bounds_text(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{} … {}", fmt_num(a), fmt_num(b)),
        (Some(a), None) => format!("≥ {}", fmt_num(a)),
        (None, Some(b)) => format!("≤ {}", fmt_num(b)),
        (None, None) => "–".to_owned(),
    }
}

/// A verdict's observations: `entity = value` joined by `, `; `(no entity matched)` when
/// empty.
pub fn observed_text(observed: &[(String, f64)]) -> String {
    if observed.is_empty() {
        return "(no entity matched)".to_owned();
    }
    observed
        .iter()
        .map(|(e, v)| format!("{e} = {}", fmt_num(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `PASS` or `FAIL`.
pub fn pass_fail(passed: bool) -> &'static str {
    if passed { "PASS" } else { "FAIL" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes() {
        assert_eq!(sanitize("cpu-limited"), "cpu-limited");
        assert_eq!(sanitize("VCH Limited/Pool"), "vch-limited-pool");
        assert_eq!(sanitize("--a__b--"), "a-b");
        assert_eq!(sanitize("ünïcode"), "n-code");
        assert_eq!(sanitize("///"), "entity");
        assert_eq!(sanitize(""), "entity");
    }

    #[test]
    fn numbers() {
        assert_eq!(fmt_num(12000.0), "12000");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(1.0 / 3.0), "0.333");
        assert_eq!(fmt_num(-0.0001), "0");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_num(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt_fixed(-0.01, 1), "0.0");
        assert_eq!(fmt_fixed(2.25, 1), "2.2");
        assert_eq!(fmt_fixed(-1.5, 1), "-1.5");
    }

    #[test]
    fn bounds_and_observations() {
        assert_eq!(bounds_text(Some(1.0), Some(2.5)), "1 … 2.5");
        assert_eq!(bounds_text(Some(12000.0), None), "≥ 12000");
        assert_eq!(bounds_text(None, Some(3.0)), "≤ 3");
        assert_eq!(bounds_text(None, None), "–");
        assert_eq!(observed_text(&[]), "(no entity matched)");
        assert_eq!(
            observed_text(&[("a".into(), 1.0), ("b".into(), 2.5)]),
            "a = 1, b = 2.5"
        );
    }
}

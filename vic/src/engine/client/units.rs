//! The docker CLI's value syntaxes for sizes and CPU counts: go-units' `RAMInBytes` (`4g`,
//! `512m`, `1.5GiB`, `100` bytes; binary multipliers) and `--cpus` (a decimal turned into
//! nano-CPUs), with the CLI's error texts.

/// Bytes from a docker size (`-m 4g` → 4294967296), as go-units' `RAMInBytes`: a number, an
/// optional space, and an optional suffix `b`, or `k|m|g|t|p` optionally followed by `b` or
/// `ib`, in any case. Errors are the CLI's reasons (`invalid suffix: 'q'`).
pub fn ram_in_bytes(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{text}'");
    let Some(sep) = text.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(invalid());
    };
    let (num, suffix) = if text.as_bytes()[sep] == b' ' {
        (&text[..sep], &text[sep + 1..])
    } else {
        (&text[..=sep], &text[sep + 1..])
    };
    let size: f64 = num
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing \"{num}\": invalid syntax"))?;
    if !size.is_finite() || size < 0.0 {
        return Err(invalid());
    }
    let bad_suffix = || format!("invalid suffix: '{}'", suffix.to_ascii_lowercase());
    let sfx = suffix.to_ascii_lowercase();
    let multiplier: f64 = match sfx.as_bytes() {
        [] => 1.0,
        [b'b'] => 1.0,
        [unit, rest @ ..] if rest.len() <= 2 => {
            let power = match unit {
                b'k' => 1,
                b'm' => 2,
                b'g' => 3,
                b't' => 4,
                b'p' => 5,
                _ => return Err(bad_suffix()),
            };
            if !matches!(rest, [] | [b'b'] | [b'i', b'b']) {
                return Err(bad_suffix());
            }
            1024f64.powi(power)
        }
        _ => return Err(bad_suffix()),
    };
    let bytes = size * multiplier;
    if bytes >= i64::MAX as f64 {
        return Err(invalid());
    }
    Ok(bytes as i64)
}

/// Nano-CPUs from `--cpus` (`1.5` → 1500000000), as the CLI's `NanoCPUs.Set`.
pub fn nano_cpus(text: &str) -> Result<i64, String> {
    let bad = || format!("failed to parse {text} as a rational number");
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 9 {
        return Err("value is too precise".into());
    }
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let part: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    };
    whole
        .checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(part))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units() {
        assert_eq!(ram_in_bytes("4g"), Ok(4_294_967_296));
        assert_eq!(ram_in_bytes("4G"), Ok(4_294_967_296));
        assert_eq!(ram_in_bytes("4gb"), Ok(4_294_967_296));
        assert_eq!(ram_in_bytes("4GiB"), Ok(4_294_967_296));
        assert_eq!(ram_in_bytes("512m"), Ok(536_870_912));
        assert_eq!(ram_in_bytes("1.5k"), Ok(1536));
        assert_eq!(ram_in_bytes("100"), Ok(100));
        assert_eq!(ram_in_bytes("100b"), Ok(100));
        assert_eq!(ram_in_bytes("32 m"), Ok(33_554_432));
        assert_eq!(ram_in_bytes("2t"), Ok(2 * (1 << 40)));
        assert_eq!(ram_in_bytes("4q"), Err("invalid suffix: 'q'".into()));
        assert_eq!(ram_in_bytes("4gx"), Err("invalid suffix: 'gx'".into()));
        assert_eq!(ram_in_bytes("4bb"), Err("invalid suffix: 'bb'".into()));
        assert_eq!(ram_in_bytes("4gibb"), Err("invalid suffix: 'gibb'".into()));
        assert_eq!(ram_in_bytes("g"), Err("invalid size: 'g'".into()));
        assert_eq!(ram_in_bytes(""), Err("invalid size: ''".into()));
        assert!(ram_in_bytes("1.2.3g").is_err());
        assert!(ram_in_bytes("99999999999p").is_err());
        assert!(ram_in_bytes("-4g").is_err());
    }

    #[test]
    fn cpus_as_nano() {
        assert_eq!(nano_cpus("1"), Ok(1_000_000_000));
        assert_eq!(nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(nano_cpus(".25"), Ok(250_000_000));
        assert_eq!(nano_cpus("2."), Ok(2_000_000_000));
        assert_eq!(nano_cpus("0.000000001"), Ok(1));
        assert_eq!(
            nano_cpus("abc"),
            Err("failed to parse abc as a rational number".into())
        );
        assert_eq!(
            nano_cpus("0.0000000001"),
            Err("value is too precise".into())
        );
        assert!(nano_cpus(".").is_err());
        assert!(nano_cpus("-1").is_err());
        assert!(nano_cpus("99999999999999999").is_err());
    }
}

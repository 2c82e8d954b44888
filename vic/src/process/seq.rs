//! `seq [-w] [-s SEP] [FIRST [INC]] LAST` as BusyBox's: options as getopt takes them,
//! decimals as many as the operand written with the most, bounded at 100 000 numbers
//! (`seq: vicbed bounds output`, status 1; an increment of 0 would never end).

use super::commands::{bad_option, usage};
use super::out::{Halt, Output};

/// Most numbers `seq` prints: beyond, it refuses.
const SEQ_BOUND: u64 = 100_000;

/// `seq [-w] [-s SEP] [FIRST [INC]] LAST`, with at most [`SEQ_BOUND`] numbers.
pub(super) fn run(args: &[String], out: &mut Output) -> Result<i32, Halt> {
    let (mut sep, mut equal_width) = ("\n".to_string(), false);
    let mut i = 0;
    // Options as getopt takes them: up to `--` or the first operand, so `seq -1 1` is an
    // invalid option and `seq -- -1 1` counts from -1.
    while let Some(flags) = args
        .get(i)
        .and_then(|a| a.strip_prefix('-'))
        .filter(|f| !f.is_empty())
    {
        i += 1;
        if flags == "-" {
            break;
        }
        for (at, c) in flags.char_indices() {
            match c {
                'w' => equal_width = true,
                's' => {
                    let attached = &flags[at + 1..];
                    sep = if !attached.is_empty() {
                        attached.to_string()
                    } else if let Some(s) = args.get(i) {
                        i += 1;
                        s.clone()
                    } else {
                        out.err_line("seq: option requires an argument -- 's'")?;
                        return usage(out, "seq");
                    };
                    break;
                }
                other => return bad_option(out, "seq", other),
            }
        }
    }
    let operands = &args[i..];
    let parsed: Option<Vec<f64>> = operands.iter().map(|a| a.trim().parse().ok()).collect();
    let (first, inc, last) = match parsed.as_deref() {
        Some(&[last]) => (1.0, 1.0, last),
        Some(&[first, last]) => (first, 1.0, last),
        Some(&[first, inc, last]) => (first, inc, last),
        _ => return usage(out, "seq"),
    };
    if ![first, inc, last].iter().all(|v| v.is_finite()) {
        return usage(out, "seq");
    }
    // Decimals: as many as the operand written with the most.
    let precision = operands
        .iter()
        .filter_map(|a| a.split_once('.').map(|(_, f)| f.trim_end().len()))
        .max()
        .unwrap_or(0);
    // BusyBox counts up while the increment is not negative: `seq 1 0 2` never ends.
    let up = inc >= 0.0;
    let estimate = if inc == 0.0 {
        if first <= last { f64::INFINITY } else { 0.0 }
    } else {
        (last - first) / inc + 1.0
    };
    if estimate > (SEQ_BOUND + 1) as f64 {
        out.err_line("seq: vicbed bounds output")?;
        return Ok(1);
    }
    let width = if equal_width {
        [first, last]
            .iter()
            .map(|v| format!("{v:.precision$}").len())
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let mut text = String::new();
    for n in 0..=SEQ_BOUND {
        let v = first + n as f64 * inc;
        if (up && v > last) || (!up && v < last) {
            break;
        }
        if n == SEQ_BOUND {
            out.err_line("seq: vicbed bounds output")?;
            return Ok(1);
        }
        if n > 0 {
            text.push_str(&sep);
        }
        text.push_str(&format!("{v:0width$.precision$}"));
    }
    if !text.is_empty() {
        text.push('\n');
    }
    out.out(&text)?;
    Ok(0)
}

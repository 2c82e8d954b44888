//! `vicbed diff RUN_A RUN_B [--tolerance PCT] [--all]`: compares two runs' `summary.json`
//! (each a report directory or the file itself) — the overall result, each expectation's
//! verdict and observed values, failed steps and every entity's key numbers — and prints a
//! table of what differs. Exit 0 when nothing differs, 1 when something does, 2 when an
//! input cannot be read or is not a vicbed summary.

use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A `summary.json` larger than this is refused unread (a real one is well under 10 MB even
/// for 200 containers).
const MAX_SUMMARY_BYTES: u64 = 256 * 1024 * 1024;

/// `vicbed diff` arguments.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The first run: its report directory (out/<scenario>) or its summary.json.
    run_a: PathBuf,
    /// The second run, likewise.
    run_b: PathBuf,
    /// Numbers within this many % of the larger one count as equal.
    #[arg(long, default_value_t = 0.0, value_parser = tolerance)]
    tolerance: f64,
    /// Print every compared value, not only those that differ.
    #[arg(long)]
    all: bool,
}

fn tolerance(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a percentage from 0 to 100")),
    }
}

/// Runs the command.
pub fn run(args: DiffArgs) -> Result<ExitCode> {
    let load = |p: &Path| -> Result<reports::diff::Summary, String> {
        let file = if p.is_dir() {
            p.join("summary.json")
        } else {
            p.to_path_buf()
        };
        let cannot = |e: std::io::Error| format!("cannot read {}: {e}", file.display());
        let len = std::fs::metadata(&file).map_err(cannot)?.len();
        if len > MAX_SUMMARY_BYTES {
            return Err(format!(
                "{}: {len} bytes is too large for a summary.json",
                file.display()
            ));
        }
        let text = std::fs::read_to_string(&file).map_err(cannot)?;
        reports::diff::parse_summary(&text).map_err(|e| format!("{}: {e}", file.display()))
    };
    let (a, b) = match (load(&args.run_a), load(&args.run_b)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            for e in [a.err(), b.err()].into_iter().flatten() {
                eprintln!("vicbed: {e}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let comparison = reports::diff::compare(&a, &b, args.tolerance);
    if a.scenario != b.scenario {
        eprintln!(
            "vicbed: note: comparing runs of two scenarios ({} and {})",
            a.scenario, b.scenario
        );
    }
    // A closed pipe (`| head`) ends the output, not the process with a panic.
    let mut out = std::io::stdout().lock();
    match out
        .write_all(comparison.table(args.all).as_bytes())
        .and_then(|()| out.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(anyhow::Error::new(e).context("writing the comparison"));
        }
        _ => {}
    }
    Ok(if comparison.differs() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

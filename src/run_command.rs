//! `vicbed run FILE [--out DIR] [--seed N] [--check-determinism]`: parse a scenario, run it
//! on the built-in emulator, write the report. Exit 0 when every expectation holds, 1 when
//! one fails (or the run breaks), 2 for a bad scenario file (including one beyond
//! [`scenarios::limits`]), 130/143 when SIGINT/SIGTERM stopped the report being written (the
//! previous report is then unchanged).

use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// `vicbed run` arguments.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file (TOML), e.g. scenarios/library/over-the-limits.toml.
    file: PathBuf,
    /// Report directory (default: out/<scenario name>). Written beside it and swapped in
    /// when complete; an existing directory is replaced only if it holds a report alone.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed for the run (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Run twice and fail (exit 1) unless both runs produce identical data; names the first
    /// differing sample.
    #[arg(long)]
    check_determinism: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the command.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    let text = match read_scenario(&args.file) {
        Ok(t) => t,
        Err(message) => {
            eprintln!("vicbed: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    let shown = args.file.display().to_string();
    let scenario = match scenarios::parse_scenario(&shown, &text) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "vicbed: {} problem(s) in {shown}; nothing was run",
                errors.problems().len()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let hash = scenarios::scenario_hash(&text);
    let options = scenarios::RunOptions {
        seed: args.seed,
        progress: !args.quiet,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime
        .block_on(scenarios::run(&scenario, &hash, &options))
        .with_context(|| format!("running {shown}"))?;
    if args.check_determinism {
        let again = runtime
            .block_on(scenarios::run(&scenario, &hash, &options))
            .with_context(|| format!("running {shown} a second time"))?;
        if let Some(diff) = scenarios::outcome::first_difference(&outcome, &again) {
            eprintln!("vicbed: NOT deterministic: {diff}");
            return Ok(ExitCode::from(1));
        }
        println!(
            "deterministic: two runs with seed {} gave identical data",
            outcome.meta.seed
        );
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&scenario.meta.name));
    // From here on SIGINT/SIGTERM stop the writing between two files, so the temporary
    // directory is removed and the previous report stays (earlier, they end the process
    // before anything is written).
    let stop = Arc::new(Stop::default());
    runtime.spawn(watch_signals(Arc::clone(&stop)));
    let written = match reports::render_until(&outcome, &out_dir, &stop.requested) {
        Err(reports::ReportError::Interrupted) => {
            eprintln!(
                "vicbed: interrupted while writing {}; the previous report (if any) is unchanged",
                out_dir.display()
            );
            return Ok(ExitCode::from(128 + stop.signal.load(Ordering::SeqCst)));
        }
        other => other.with_context(|| format!("writing the report to {}", out_dir.display()))?,
    };
    print_summary(&outcome, &out_dir, written.files.len());
    Ok(if outcome.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A stop request from a signal: which one (its number), and the flag the writer polls.
#[derive(Default)]
struct Stop {
    requested: AtomicBool,
    signal: AtomicU8,
}

/// Waits for SIGINT or SIGTERM and records it in `stop`; the handlers stay installed, so a
/// second signal does not kill the process mid-rename either.
async fn watch_signals(stop: Arc<Stop>) {
    const SIGINT: u8 = 2;
    const SIGTERM: u8 = 15;
    #[cfg(unix)]
    let signal = {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => SIGINT,
            _ = term.recv() => SIGTERM,
        }
    };
    #[cfg(not(unix))]
    let signal = match tokio::signal::ctrl_c().await {
        Ok(()) => SIGINT,
        Err(_) => return,
    };
    stop.signal.store(signal, Ordering::SeqCst);
    stop.requested.store(true, Ordering::SeqCst);
}

/// The scenario file's text; a file over [`scenarios::limits::MAX_FILE_BYTES`] is refused
/// before it is read, so a huge file costs nothing.
fn read_scenario(path: &Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let len = std::fs::metadata(path).map_err(cannot)?.len();
    let max = scenarios::limits::MAX_FILE_BYTES;
    if usize::try_from(len).map_or(true, |n| n > max) {
        return Err(format!(
            "{}: the file is {len} bytes; a scenario file may be at most {max} bytes (4 MiB); nothing was run",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(cannot)
}

fn print_summary(outcome: &scenarios::RunOutcome, out_dir: &Path, files: usize) {
    let failed = outcome.verdicts.iter().filter(|v| !v.passed).count();
    println!(
        "{}: {} expectation(s), {} passed, {} failed (seed {}, scenario {})",
        outcome.meta.name,
        outcome.verdicts.len(),
        outcome.verdicts.len() - failed,
        failed,
        outcome.meta.seed,
        outcome.scenario_hash
    );
    for v in &outcome.verdicts {
        let observed: Vec<String> = v
            .observed
            .iter()
            .map(|(e, x)| format!("{e}={}", scenarios::evaluate::fmt_value(*x)))
            .collect();
        let observed = if observed.is_empty() {
            String::new()
        } else {
            format!("  [{}]", observed.join(", "))
        };
        println!(
            "  {} {:<28} {}{}{}",
            if v.passed { "PASS" } else { "FAIL" },
            v.id,
            v.statement,
            observed,
            if v.passed {
                String::new()
            } else {
                format!("  — {}", v.reason)
            }
        );
    }
    // Failed steps nobody expected to fail (an expected failure is a verdict above).
    let judged = |index: usize| outcome.verdicts.iter().any(|v| v.step == Some(index));
    for s in outcome.steps.iter().filter(|s| !s.ok && !judged(s.index)) {
        println!(
            "  step {} at +{} s failed: {}: {}",
            s.index, s.at_s, s.command, s.result
        );
    }
    println!(
        "report: {} ({files} files; open report.html)",
        out_dir.join("report.html").display()
    );
}

//! `vicbed run FILE [--set NAME=VALUE]… [--out DIR] [--seed N] [--check-determinism]`:
//! parse a scenario (its `[vars]` overridden by `--set`), run it on the built-in emulator,
//! write the report. Exit codes: [`EXIT_CODES`]; 130/143 when SIGINT/SIGTERM stopped the
//! report being written (the previous report is then unchanged).

use anyhow::{Context, Result};
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// What `vicbed run` exits with (also its `--help` epilogue).
pub const EXIT_CODES: &str = "Exit codes:
  0  every expectation held and the testbed did every step
  1  an expectation, or a step's `expect`/`expect_error`, failed (or --check-determinism found a difference)
  2  bad scenario file or --set: every problem is printed as FILE:LINE:COLUMN; nothing was run
  3  the testbed could not do what the scenario asked: a VCH's vic-machine create failed, or a step
     without `expect` failed (the report is still written, naming the failure)
  130/143  SIGINT/SIGTERM while the report was written (the previous report is unchanged)";

/// `vicbed run` arguments.
#[derive(Args, Debug)]
#[command(after_help = EXIT_CODES)]
pub struct RunArgs {
    /// The scenario file (TOML), e.g. scenarios/library/over-the-limits.toml.
    file: PathBuf,
    /// Override a `[vars]` value for this run (repeatable), e.g. `--set cpu_limit_mhz=5200`;
    /// the value takes the type of the variable's default. An unknown name is an error.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
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

/// `NAME=VALUE` (the value may contain `=`).
pub(crate) fn parse_set(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

/// Runs the command.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    let shown = args.file.display().to_string();
    // A later --set of one name wins, as with repeated flags elsewhere.
    let overrides: BTreeMap<String, String> = args.set.iter().cloned().collect();
    let (scenario, hash) = match scenarios::Scenario::load_with(&args.file, &overrides) {
        Ok(loaded) => loaded,
        Err(scenarios::LoadError::Invalid(errors)) => {
            eprintln!("{errors}");
            eprintln!(
                "vicbed: {} problem(s) in {shown}; nothing was run",
                errors.problems().len()
            );
            return Ok(ExitCode::from(2));
        }
        Err(other) => {
            eprintln!("vicbed: {other}; nothing was run");
            return Ok(ExitCode::from(2));
        }
    };
    let options = scenarios::RunOptions {
        seed: args.seed,
        progress: !args.quiet,
        // Build contexts (`docker build … DIR`) are read beside the scenario file.
        base_dir: args.file.parent().map(Path::to_path_buf),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // A run that breaks (the emulator, a SOAP call, the sample spool) is the testbed's
    // failure too: no report, exit 3.
    let outcome = match runtime.block_on(scenarios::run(&scenario, &hash, &options)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vicbed: running {shown}: {e}");
            return Ok(ExitCode::from(3));
        }
    };
    if args.check_determinism {
        let again = match runtime.block_on(scenarios::run(&scenario, &hash, &options)) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("vicbed: running {shown} a second time: {e}");
                return Ok(ExitCode::from(3));
            }
        };
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
    print_summary(&scenario, &outcome, &out_dir, written.files.len());
    Ok(ExitCode::from(
        scenarios::RunStatus::of(&outcome).exit_code(),
    ))
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

fn print_summary(
    scenario: &scenarios::Scenario,
    outcome: &scenarios::RunOutcome,
    out_dir: &Path,
    files: usize,
) {
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
        // Values in the expectation's display unit (a ratio's are plain).
        let unit = scenario
            .expectations
            .iter()
            .find(|e| e.id == v.id && v.step.is_none())
            .map_or(scenarios::DisplayUnit::PLAIN, |e| {
                if e.relative_to.is_some() {
                    scenarios::DisplayUnit::PLAIN
                } else {
                    e.unit
                }
            });
        let observed: Vec<String> = v
            .observed
            .iter()
            .map(|(e, x)| format!("{e}={}", unit.format(*x)))
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
    // Every failed step is a verdict above (its `expect`'s, or the testbed's when it had
    // none), so nothing more is listed here.
    println!(
        "report: {} ({files} files; open report.html)",
        out_dir.join("report.html").display()
    );
}

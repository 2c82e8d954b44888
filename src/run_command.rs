//! `vicbed run FILE [--out DIR] [--seed N] [--check-determinism]`: parse a scenario, run it
//! on the built-in emulator, write the report. Exit 0 when every expectation holds, 1 when
//! one fails (or the run breaks), 2 for a bad scenario file.

use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `vicbed run` arguments.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file (TOML), e.g. scenarios/library/over-the-limits.toml.
    file: PathBuf,
    /// Report directory (default: out/<scenario name>).
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
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vicbed: cannot read {}: {e}", args.file.display());
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
    let written = reports::render(&outcome, &out_dir)
        .with_context(|| format!("writing the report to {}", out_dir.display()))?;
    print_summary(&outcome, &out_dir, written.files.len());
    Ok(if outcome.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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

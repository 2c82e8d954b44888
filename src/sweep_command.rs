//! `vicbed sweep FILE --vary NAME=LIST|A..B/STEP … [--goal ID,…] [--minimize NAME |
//! --maximize NAME] [--jobs N] [--shard I/N] [--set NAME=VALUE …] [--out DIR]` and
//! `vicbed sweep merge DIR… --out DIR`.
//!
//! Each point is an ordinary run of the scenario with its `[vars]` set to the point's values
//! (as `vicbed run --set` does) and the scenario's seed. Exit codes: 0 the sweep ran (a
//! search: and found its answer); 1 a search found no value where the goal holds; 2 bad
//! input (flags, a scenario invalid at some point, unreadable merge directories).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use scenarios::sweep::{
    Axis, Direction, Goal, PointResult, Search, Shard, SweepError, SweepPlan, SweepResult,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

/// `vicbed sweep` arguments.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    merge: Option<SweepSub>,
    /// The scenario file (TOML) with a `[vars]` table.
    file: Option<PathBuf>,
    /// A variable and its values: `NAME=V1,V2,…` or `NAME=A..B/STEP` (repeatable; the grid
    /// is their product, the last one varying fastest).
    #[arg(long = "vary", value_name = "NAME=VALUES")]
    vary: Vec<String>,
    /// Expectation ids that decide whether a point passes (default: all of them).
    #[arg(long, value_delimiter = ',', value_name = "ID,…")]
    goal: Vec<String>,
    /// Search one varied variable for its lowest value where the goal holds (bisection).
    #[arg(long, value_name = "NAME", conflicts_with = "maximize")]
    minimize: Option<String>,
    /// Search one varied variable for its highest value where the goal holds (bisection).
    #[arg(long, value_name = "NAME")]
    maximize: Option<String>,
    /// Points run at once (default: the number of cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    jobs: Option<u32>,
    /// Run only the points whose index is I modulo N (I from 0), for `sweep merge` later.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// A fixed `[vars]` value for every point (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Output directory (default: out/<scenario>-sweep).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No line per point.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum SweepSub {
    /// Combines shard outputs into the files an unsharded sweep writes.
    Merge {
        /// Shard output directories (each with sweep.json).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged files go.
        #[arg(long)]
        out: PathBuf,
    },
}

fn usage(msg: impl std::fmt::Display) -> Result<ExitCode> {
    eprintln!("vicbed sweep: {msg}");
    Ok(ExitCode::from(2))
}

/// Runs the command.
pub fn run(args: SweepArgs) -> Result<ExitCode> {
    if let Some(SweepSub::Merge { dirs, out }) = args.merge {
        return merge(&dirs, &out);
    }
    let Some(file) = args.file.clone() else {
        return usage("a scenario file is required (or `vicbed sweep merge DIR… --out DIR`)");
    };
    if args.vary.is_empty() {
        return usage("at least one --vary NAME=VALUES is required");
    }
    let axes: Vec<Axis> = match args.vary.iter().map(|v| Axis::parse(v)).collect() {
        Ok(a) => a,
        Err(e) => return usage(e),
    };
    let mut fixed = BTreeMap::new();
    for s in &args.set {
        let Some((n, v)) = s.split_once('=') else {
            return usage(format!("--set {s:?}: expected NAME=VALUE"));
        };
        fixed.insert(n.trim().to_owned(), v.to_owned());
    }
    let search = match (&args.minimize, &args.maximize) {
        (Some(n), _) => Some(Search {
            name: n.clone(),
            direction: Direction::Minimize,
        }),
        (_, Some(n)) => Some(Search {
            name: n.clone(),
            direction: Direction::Maximize,
        }),
        _ => None,
    };
    let shard = match args.shard.as_deref().map(Shard::parse).transpose() {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let plan = SweepPlan {
        axes,
        goal: Goal {
            ids: args.goal.iter().map(|g| g.trim().to_owned()).collect(),
        },
        search,
        shard,
        jobs,
    };
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let shown = file.display().to_string();
    let hash = scenarios::scenario_hash(&text);
    // The scenario at its defaults names the sweep and its seed.
    let base = match scenarios::Scenario::parse_with(&shown, &text, &fixed) {
        Ok((s, _)) => s,
        Err(problems) => {
            eprintln!("{problems}");
            return usage(format!("{shown} is not a valid scenario"));
        }
    };
    let load = |values: &[(String, String)]| {
        let mut all = fixed.clone();
        all.extend(values.iter().cloned());
        scenarios::Scenario::parse_with(&shown, &text, &all).map_err(|e| e.to_string())
    };
    // Points are in-memory loopback runs whose keys never reach an output: one RSA key per
    // size for the whole sweep instead of one per VCH per point (most of a point's cost).
    vic::tls::reuse_private_keys_in_this_process();
    let base_dir = file.parent().map(Path::to_path_buf);
    let runner =
        |scenario: &scenarios::Scenario, hash: &str| -> Result<scenarios::RunOutcome, String> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| format!("starting a runtime: {e}"))?;
            rt.block_on(scenarios::run(
                scenario,
                hash,
                &scenarios::RunOptions {
                    seed: None,
                    progress: false,
                    base_dir: base_dir.clone(),
                },
            ))
            .map_err(|e| e.to_string())
        };
    let total = if plan.search.is_some() {
        None
    } else {
        scenarios::sweep::grid(&plan.axes).ok().map(|g| {
            g.iter()
                .filter(|p| plan.shard.is_none_or(|s| s.owns(p.index)))
                .count()
        })
    };
    let started = Instant::now();
    let done = Mutex::new(0usize);
    let quiet = args.quiet;
    let progress = |p: &PointResult| {
        if quiet {
            return;
        }
        let mut n = done.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        let elapsed = started.elapsed().as_secs_f64();
        let of = total.map(|t| format!("/{t}")).unwrap_or_default();
        let eta = total
            .filter(|t| *n < *t)
            .map(|t| format!(", ETA {:.0} s", elapsed / *n as f64 * (t - *n) as f64))
            .unwrap_or_default();
        let values: Vec<String> = p.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!(
            "[{n}{of}] {}: {}  ({elapsed:.1} s{eta})",
            values.join(" "),
            if p.passed {
                "PASS".to_owned()
            } else {
                format!("FAIL ({})", scenarios::sweep::failure_text(p))
            }
        );
    };
    let (points, answers) = match scenarios::sweep::sweep(&plan, &load, &runner, &progress) {
        Ok(r) => r,
        Err(e @ (SweepError::Usage(_) | SweepError::Scenario { .. })) => return usage(e),
    };
    let result = SweepResult {
        scenario: base.meta.name.clone(),
        scenario_hash: hash.clone(),
        seed: base.meta.seed,
        vicbed_version: env!("CARGO_PKG_VERSION").to_owned(),
        axes: plan
            .axes
            .iter()
            .map(|a| (a.name.clone(), a.values.clone()))
            .collect(),
        goal: plan.goal.clone(),
        search: plan.search.as_ref().map(|s| {
            format!(
                "{} {}",
                if s.direction == Direction::Minimize {
                    "minimize"
                } else {
                    "maximize"
                },
                s.name
            )
        }),
        shard: plan.shard.map(|s| format!("{}/{}", s.index, s.count)),
        points,
        answers,
    };
    let out = args
        .out
        .unwrap_or_else(|| Path::new("out").join(format!("{}-sweep", base.meta.name)));
    finish(&result, &out)
}

/// Writes the files and prints the answers; the exit code.
fn finish(result: &SweepResult, out: &Path) -> Result<ExitCode> {
    reports::sweep::write_sweep(result, out)
        .with_context(|| format!("writing the sweep to {}", out.display()))?;
    let passed = result.points.iter().filter(|p| p.passed).count();
    println!(
        "{}: {} point(s), {passed} passed, {} failed (seed {})",
        result.scenario,
        result.points.len(),
        result.points.len() - passed,
        result.seed
    );
    for a in &result.answers {
        println!("{}", a.sentence);
    }
    println!("sweep: {}", out.join("sweep.html").display());
    Ok(if result.answers.iter().any(|a| a.value.is_none()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn merge(dirs: &[PathBuf], out: &Path) -> Result<ExitCode> {
    let mut parts = Vec::new();
    for d in dirs {
        let path = d.join("sweep.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => return usage(format!("cannot read {}: {e}", path.display())),
        };
        match reports::sweep::read_sweep_json(&text) {
            Ok(r) => parts.push(r),
            Err(e) => return usage(format!("{} is not a sweep result: {e}", path.display())),
        }
    }
    match scenarios::sweep::merge(parts) {
        Ok(r) => finish(&r, out),
        Err(e) => usage(e),
    }
}

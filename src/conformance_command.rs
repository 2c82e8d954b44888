//! `vicbed conformance [--suite convention|firewall|tls|all] [--junit FILE] [--out DIR]`:
//! runs the conformance suites (`scenarios::conformance`) and prints a table per suite; writes
//! JUnit and a report section (Markdown, HTML, and the suites' artefacts such as the rendered
//! iptables rules). Exit 0 only when every case passes, 1 otherwise, 2 for bad arguments.

use anyhow::{Context, Result};
use clap::Args;
use scenarios::conformance::{self, NetnsPolicy, Suite, SuiteContext, SuiteResult};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `vicbed conformance` arguments.
#[derive(Args, Debug)]
pub struct ConformanceArgs {
    /// Which suite: convention, firewall, tls or all.
    #[arg(long, default_value = "all")]
    suite: String,
    /// Write JUnit XML (one test case per conformance case) to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the report section (conformance.md, conformance.html, junit.xml, artefacts)
    /// into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Never use Linux network namespaces for the firewall suite (model and tether modes
    /// only).
    #[arg(long)]
    no_netns: bool,
}

/// Runs the command.
pub fn run(args: ConformanceArgs) -> Result<ExitCode> {
    let suites = match Suite::parse_selection(&args.suite) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vicbed conformance: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let ctx = SuiteContext {
        netns: if args.no_netns {
            NetnsPolicy::Off
        } else {
            NetnsPolicy::Auto
        },
        ..SuiteContext::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut results: Vec<SuiteResult> = Vec::new();
    for suite in suites {
        let r = runtime.block_on(conformance::run_suite(suite, &ctx));
        println!("{}", conformance::render_table(&r));
        results.push(r);
    }
    let junit = reports::conformance::junit_xml(&results);
    if let Some(file) = &args.junit {
        write(file, &junit)?;
    }
    if let Some(dir) = &args.out {
        write(&dir.join("junit.xml"), &junit)?;
        write(
            &dir.join("conformance.md"),
            &reports::conformance::markdown(&results),
        )?;
        write(
            &dir.join("conformance.html"),
            &reports::conformance::html(&results),
        )?;
        for r in &results {
            for a in &r.artifacts {
                write(&dir.join("artifacts").join(&a.name), &a.content)?;
            }
        }
    }
    let failed: usize = results.iter().map(|r| r.failures().count()).sum();
    let total: usize = results.iter().map(|r| r.cases.len()).sum();
    let summary: Vec<String> = results.iter().map(SuiteResult::summary).collect();
    println!(
        "conformance: {} — {total} cases, {failed} failed",
        summary.join(", ")
    );
    Ok(if failed == 0 && results.iter().all(SuiteResult::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

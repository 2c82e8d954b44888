//! `vicbed demo`: the live demo for trainers. Starts a scenario's testbed and VCHs on a
//! running virtual clock (`vicbed_console::Demo`), serves the web console, and prints how to
//! reach everything:
//!
//! ```text
//! console: http://127.0.0.1:8080/
//! vsphere: https://127.0.0.1:PORT/sdk user=vicbed password=vicbed thumbprint=AB:…
//! vch limited: docker -H 127.0.1.2:2376 --tls
//! vch unlimited: docker -H 127.0.1.3:2376 --tls
//! ready
//! ```
//!
//! Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad arguments or scenario (nothing started);
//! 3 the testbed could not start (a VCH's vic-machine create failed, the address is taken).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

/// `vicbed demo`'s arguments.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// A scenario file, or the name of one in scenarios/library (default: the seed
    /// experiment, over-the-limits, built in).
    scenario: Option<String>,
    /// Virtual clock speed at start: X × wall time, 1 to 600 (the console changes it).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Where the console listens (port 0 picks a free one). Loopback unless you ask.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Overrides the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Set a scenario variable (repeatable): `--set cpu_limit_mhz=800`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = crate::run_command::parse_set)]
    set: Vec<(String, String)>,
    /// Browsers (event streams) served at once; more are refused with 503.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_browsers: u64,
}

/// Where a scenario argument points: a file, or a library name.
fn locate(arg: &str) -> Option<PathBuf> {
    let p = Path::new(arg);
    if p.is_file() {
        return Some(p.to_path_buf());
    }
    let in_library = Path::new("scenarios/library").join(format!("{arg}.toml"));
    in_library.is_file().then_some(in_library)
}

fn load(args: &DemoArgs) -> Result<scenarios::Scenario, String> {
    let overrides: BTreeMap<String, String> = args.set.iter().cloned().collect();
    let built_in = || {
        scenarios::Scenario::parse_with(
            "over-the-limits.toml",
            vicbed_console::SEED_SCENARIO,
            &overrides,
        )
        .map_err(|e| e.to_string())
    };
    let loaded = match args.scenario.as_deref() {
        None => built_in()?,
        Some(arg) => match locate(arg) {
            Some(path) => {
                scenarios::Scenario::load_with(&path, &overrides).map_err(|e| e.to_string())?
            }
            None if arg == "over-the-limits" => built_in()?,
            None => {
                return Err(format!(
                    "no scenario file {arg:?} (nor scenarios/library/{arg}.toml)"
                ));
            }
        },
    };
    Ok(loaded.0)
}

/// Runs the command.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    if let Err(e) = vicbed_console::controls::check_speed(args.speed) {
        eprintln!("vicbed demo: --speed: {}", e.message);
        return Ok(ExitCode::from(2));
    }
    let scenario = match load(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("vicbed demo: the scenario cannot be shown; nothing was started");
            return Ok(ExitCode::from(2));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("vicbed demo: binding {}: {e}", args.listen);
                return Ok(ExitCode::from(3));
            }
        };
        let addr = listener.local_addr()?;
        let shutdown = crate::shutdown_signal()?;
        tokio::pin!(shutdown);
        let start = vicbed_console::Demo::start(vicbed_console::DemoConfig {
            scenario,
            seed: args.seed,
            speed: args.speed,
            max_browsers: args.max_browsers as usize,
        });
        // The signal handlers are installed already: a Ctrl-C while the testbed starts must
        // stop it then (dropping the half-started testbed stops it), not after.
        let started = tokio::select! {
            r = start => r,
            () = &mut shutdown => {
                eprintln!("vicbed demo: stopped while starting");
                return Ok(ExitCode::SUCCESS);
            }
        };
        let demo = match started {
            Ok(d) => d,
            Err(e) => {
                eprintln!("vicbed demo: starting the testbed: {e}");
                return Ok(ExitCode::from(3));
            }
        };
        // Whatever ends the demo — a signal, a stdout that was closed (`| head -1`), a failed
        // listener — the testbed is stopped before the command returns.
        let served = match banner(&demo, addr) {
            Ok(()) => vicbed_console::serve(&demo, listener, shutdown).await,
            Err(e) => Err(e),
        };
        demo.shutdown().await;
        served?;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}

/// The lines `vicbed demo` prints once everything runs (see the module's overview).
fn banner(demo: &vicbed_console::Demo, addr: SocketAddr) -> std::io::Result<()> {
    let tb = demo.testbed();
    let plain = tb.sdk_url();
    let mut out = std::io::stdout().lock();
    writeln!(out, "console: http://{addr}/")?;
    writeln!(
        out,
        "vsphere: {plain} user={} password={} thumbprint={}",
        scenarios::testbed::USERNAME,
        scenarios::testbed::PASSWORD,
        tb.thumbprint()
    )?;
    for (name, command) in demo.vchs() {
        writeln!(out, "vch {name}: {command}")?;
    }
    writeln!(out, "ready")?;
    out.flush()
}

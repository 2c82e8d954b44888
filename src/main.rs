//! `vicbed`: the command line. Subcommands wire the library crates together and nothing
//! else: `run` runs a scenario and writes its report (`run_command`), `conformance` runs the
//! conformance suites (`conformance_command`), `serve` runs the vSphere
//! emulator (with the VIC guest agents installed), `vcsim` runs it with govmomi vcsim's
//! command line (`vcsim_command`; also when the binary is run under the name `vcsim`), and
//! `vic-machine` is VIC's installer (`vic::machine`).

mod conformance_command;
mod demo_command;
mod diff_command;
mod run_command;
mod sweep_command;
mod vcsim_command;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use vcsim::{Config, Emulator, Flavor, InventorySpec, ModelCounts, Vcsim};

/// vicbed: a simulation and capacity testbed for vSphere Integrated Containers.
#[derive(Parser, Debug)]
#[command(name = "vicbed", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario on the built-in emulator and write its report (exit 0: every
    /// expectation holds, 1: one failed, 2: bad scenario file, 3: the testbed could not do a step).
    Run(run_command::RunArgs),
    /// Check VIC's documented behaviour case by case: name convention, firewall trust levels
    /// and TLS modes (exit 0 only when every case passes).
    Conformance(conformance_command::ConformanceArgs),
    /// Compare two runs' summary.json: verdicts, observed values and key numbers (exit 0:
    /// equal, 1: they differ, 2: bad input).
    Diff(diff_command::DiffArgs),
    /// Run a scenario at many settings of its [vars] (a grid, or a --minimize/--maximize
    /// search) and answer with the evidence; `sweep merge` combines shard outputs (exit 0: ran
    /// and found its answer, 1: a search found no passing value, 2: bad input).
    Sweep(sweep_command::SweepArgs),
    /// Run the built-in vCenter/ESXi SOAP emulator (govc and pyvmomi accept it unchanged).
    Serve(ServeArgs),
    /// Run the emulator with govmomi vcsim's command line and model (Go-style flags: `-l
    /// 127.0.0.1:0 -vm 3 -tls=false`; `vicbed vcsim -h` lists them).
    #[command(disable_help_flag = true)]
    Vcsim(VcsimArgs),
    /// The live demo: a scenario's VCHs on a running virtual clock and a web console to
    /// watch and turn them (exit 0: stopped by a signal, 2: bad scenario, 3: could not start).
    Demo(demo_command::DemoArgs),
    /// Create, delete, list and inspect Virtual Container Hosts (VIC's vic-machine).
    #[command(name = "vic-machine")]
    VicMachine(vic::machine::VicMachine),
    /// An esxtop-style live view of the VMs of any vSphere endpoint (this emulator or a real
    /// vCenter), read with QueryPerf; keys as esxtop's (`docs/top.md`). Exit 0: quit with `q`
    /// or after `-n` refreshes, 1: terminal error, 2: bad arguments, 3: no connection or
    /// login at the start (a server lost later is reconnected to, never an exit).
    Top(top::TopArgs),
}

/// `vicbed vcsim`'s arguments: parsed by `vcsim_command` with Go's flag syntax, not clap.
#[derive(Args, Debug)]
struct VcsimArgs {
    /// vcsim's flags and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8989")]
    listen: SocketAddr,
    /// Datacenters in the default model.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    datacenter: u32,
    /// Clusters per datacenter.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=256))]
    cluster: u32,
    /// Hosts per cluster.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1024))]
    host: u32,
    /// VMs per host.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    vm: u32,
    /// Standalone hosts per datacenter.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=1024))]
    standalone_host: u32,
    /// User name Login accepts.
    #[arg(long, default_value = "user")]
    username: String,
    /// Password Login accepts.
    #[arg(long, default_value = "pass")]
    password: String,
    /// Serve HTTPS with a generated self-signed certificate.
    #[arg(long)]
    tls: bool,
    /// Emulate a standalone ESXi host (HostAgent) instead of vCenter.
    #[arg(long)]
    esx: bool,
    /// Virtual clock speed: X × wall time (the model steps every 20 s of virtual time).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Where the virtual clock starts: an RFC 3339 time, or `now` (the wall clock, so
    /// `docker ps` shows container ages as seconds ago rather than years; the default is
    /// the week of the seed posts, as in every scenario run).
    #[arg(long, value_name = "TIME", default_value = "2017-10-02T08:00:00Z")]
    clock_start: String,
    /// Inventory file (TOML: clusters with hosts, pools and VMs; standalone hosts).
    #[arg(long)]
    inventory: Option<std::path::PathBuf>,
    /// Seed for UUIDs, MACs and stochastic workloads (never for session keys).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Days of performance history the server starts with (0: none): the contention model
    /// runs the inventory's workloads through that past before the clock starts, so
    /// `QueryPerf` with intervalId 300 (and 1800, 7200, 86400) has data at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=365))]
    history_days: u32,
    /// Fail a host when the virtual clock is TIME past the start (`DC0_C0_H1@10m`): its VMs
    /// stop and, in an HA cluster, vSphere HA restarts them on the other hosts (repeatable).
    #[arg(long = "fail-host", value_name = "HOST@TIME")]
    fail_host: Vec<String>,
    /// Bring a failed host back when the virtual clock is TIME past the start (repeatable).
    #[arg(long = "recover-host", value_name = "HOST@TIME")]
    recover_host: Vec<String>,
    /// A login session idle this many wall-clock seconds ends (0: never); vCenter's default.
    #[arg(long, default_value_t = vcsim::session::DEFAULT_IDLE_TIMEOUT_S)]
    session_idle_timeout: u64,
    /// Connections served at once; more get 503 and are closed.
    #[arg(long, default_value_t = vcsim::http::Limits::default().max_connections as u64,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_connections: u64,
    /// Seconds a connection may stay open with no request in flight.
    #[arg(long, default_value_t = vcsim::http::Limits::default().idle_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle_timeout: u64,
    /// Seconds a request's headers, or a pause in its body, may take.
    #[arg(long, default_value_t = vcsim::http::Limits::default().header_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    request_timeout: u64,
    /// A built-in container registry beside the emulator (`registry::cli`).
    #[command(flatten)]
    registry: registry::cli::RegistryArgs,
}

fn main() -> ExitCode {
    // Run as `vcsim` (a link with that name), or `vicbed vcsim`: vcsim's Go-style flags.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    if invoked_as == "vcsim" {
        return vcsim_command::main("vcsim", &argv[1..]);
    }
    if argv.get(1).is_some_and(|a| a == "vcsim") {
        return vcsim_command::main("vcsim", &argv[2..]);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap uses 0 for --help/--version and 2 for usage errors.
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vicbed: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    // One crypto provider for the whole process (rustls panics when two are enabled and
    // none is chosen).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("VICBED_LOG"))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Run(args) => run_command::run(args),
        Command::Sweep(args) => sweep_command::run(args),
        Command::Conformance(args) => conformance_command::run(args),
        Command::Diff(args) => diff_command::run(args),
        Command::Serve(args) => serve(args),
        Command::Demo(args) => demo_command::run(args),
        // main() hands `vcsim` to vcsim_command before clap sees it.
        Command::Vcsim(args) => Ok(vcsim_command::main("vcsim", &args.args)),
        Command::Top(args) => Ok(ExitCode::from(top::run(&args))),
        Command::VicMachine(m) => Ok(ExitCode::from(
            u8::try_from(vic::machine::run(m)).unwrap_or(1),
        )),
    }
}

/// `--clock-start`: `now` or an RFC 3339 time, as ms since the epoch.
fn clock_start_ms(text: &str) -> Result<i64> {
    if text == "now" {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the wall clock is before 1970")?;
        return Ok(i64::try_from(since.as_millis()).unwrap_or(i64::MAX));
    }
    vcsim::vmodl::parse_datetime(text).ok_or_else(|| {
        anyhow::anyhow!("--clock-start {text:?}: expected `now` or an RFC 3339 time such as 2017-10-02T08:00:00Z")
    })
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    if !(args.speed.is_finite() && args.speed > 0.0 && args.speed <= 1_000_000.0) {
        bail!("--speed must be a number in (0, 1000000]");
    }
    let inventory = match &args.inventory {
        // `load` also reads the workload traces the file names (paths beside it).
        Some(path) => {
            Some(InventorySpec::load(path).with_context(|| format!("in {}", path.display()))?)
        }
        None => None,
    };
    let config = Config {
        flavor: if args.esx {
            Flavor::HostAgent
        } else {
            Flavor::VirtualCenter
        },
        counts: ModelCounts {
            datacenters: args.datacenter,
            clusters: args.cluster,
            hosts_per_cluster: args.host,
            vms_per_host: args.vm,
            standalone_hosts: args.standalone_host,
        },
        inventory,
        username: args.username.clone(),
        password: args.password.clone(),
        seed: args.seed,
        session_idle_timeout_s: args.session_idle_timeout,
        start_ms: clock_start_ms(&args.clock_start)?,
        ..Config::default()
    };
    let declared = config
        .inventory
        .as_ref()
        .map(|i| i.images.clone())
        .unwrap_or_default();
    let images = vic::images::Catalogue::with_declared(&declared)
        .map_err(anyhow::Error::msg)
        .context("in the inventory file's images")?;
    let mut emulator = Emulator::new(config).context("building the inventory")?;
    emulator.prefill_history(i64::from(args.history_days) * 86_400);
    for (flag, list, action) in [
        (
            "--fail-host",
            &args.fail_host,
            vcsim::emulator::HostAction::Fail,
        ),
        (
            "--recover-host",
            &args.recover_host,
            vcsim::emulator::HostAction::Recover,
        ),
    ] {
        for item in list {
            let Some((name, at)) = item.rsplit_once('@') else {
                bail!("{flag} {item:?}: expected HOST@TIME (e.g. DC0_C0_H1@10m)");
            };
            let after = scenarios::duration::parse_duration(at)
                .map_err(|e| anyhow::anyhow!("{flag} {item:?}: {e}"))?;
            let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
            emulator
                .schedule_host_event(name, after_ms, action)
                .map_err(|_| anyhow::anyhow!("{flag} {item:?}: no host named {name:?}"))?;
        }
    }
    // The VIC guest agents: a VCH appliance VM powered on here serves its Docker endpoint.
    let agents = vic::install_agents_with_images(&mut emulator, images);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        let tls = if args.tls {
            Some(vcsim::tls::self_signed(addr.ip())?)
        } else {
            None
        };
        let vc = Vcsim::new(emulator);
        let clock = vc.spawn_clock(args.speed);
        // Signal handlers go in before the exports announce readiness: a caller that reads
        // GOVC_URL and sends SIGTERM at once must get a clean shutdown.
        let shutdown = shutdown_signal()?;
        let registry = registry::cli::start(&args.registry).await?;
        if let Some(r) = &registry {
            // The engines (VCH endpoints, DCHs) resolve its name here, with no DNS.
            agents
                .tether
                .services()
                .registries()
                .insert(r.host_name(), r.handle().into());
        }
        let registry_exports = registry
            .as_ref()
            .map(|r| r.export_lines())
            .unwrap_or_default();
        print_exports(&args, addr, &registry_exports)?;
        let limits = vcsim::http::Limits {
            max_connections: args.max_connections as usize,
            header_timeout: std::time::Duration::from_secs(args.request_timeout),
            body_timeout: std::time::Duration::from_secs(args.request_timeout),
            idle_timeout: std::time::Duration::from_secs(args.idle_timeout),
            ..vcsim::http::Limits::default()
        };
        vc.serve_with_limits(listener, tls, limits, shutdown)
            .await?;
        clock.abort();
        if let Some(r) = registry {
            r.stop().await?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_exports(args: &ServeArgs, addr: SocketAddr, extra: &[String]) -> Result<()> {
    let scheme = if args.tls { "https" } else { "http" };
    let (dc, pool, net) = if args.esx {
        (
            "ha-datacenter",
            "/ha-datacenter/host/localhost.localdomain/Resources",
            "/ha-datacenter/network/VM Network",
        )
    } else {
        (
            "DC0",
            "/DC0/host/DC0_C0/Resources",
            "/DC0/network/DC0_DVPG0",
        )
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "export GOVC_URL={scheme}://{}:{}@{addr}/sdk",
        args.username, args.password
    )?;
    writeln!(out, "export GOVC_INSECURE=1")?;
    writeln!(out, "export GOVC_DATACENTER={dc}")?;
    writeln!(out, "export GOVC_DATASTORE=LocalDS_0")?;
    if args.inventory.is_none() {
        writeln!(out, "export GOVC_RESOURCE_POOL={pool}")?;
        writeln!(out, "export GOVC_NETWORK='{net}'")?;
    }
    for line in extra {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "export GOVC_SIM_PID={}", std::process::id())?;
    out.flush()?;
    Ok(())
}

/// Installs SIGINT and SIGTERM handlers now and returns the future that resolves on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

//! `vicbed vcsim` (and the binary run under the name `vcsim`): govmomi's vcsim command line
//! over the built-in emulator, so that scripts and test helpers written for vcsim start it
//! unchanged.
//!
//! The flags are vcsim's, in Go's `flag` syntax ([`goflag`]): `-l` (listen address), `-E`
//! (write the `export GOVC_URL=… GOVC_SIM_PID=…` line to that named pipe instead of stdout),
//! the model counts (`-dc -cluster -host -vm -standalone-host -pod -ds -folder -app -pool -pg
//! -pg-nsx -nsx`, counted as vcsim counts: see [`vcsim::config::VcsimModel`]), `-esx`,
//! `-autostart`, `-username`/`-password` (a value naming a file means the file's content),
//! `-tls` (on by default, self-signed; `-tlscert`/`-tlskey` load a pair), `-api-version`,
//! `-trace`/`-trace-file`, `-tunnel` (an HTTP CONNECT proxy to the server), `-delay`,
//! `-method-delay`, `-delay-jitter`, `-stdinexit`, `-httptest.serve`. `-load` (govc's
//! `object.save` directories) is refused with a clear message. `vcsim uuidgen` prints a
//! random UUID. SIGINT and SIGTERM stop the server cleanly (exit 0).

mod goflag;

use anyhow::{Context, Result, bail};
use goflag::{FlagDef, Kind};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use vcsim::config::VcsimModel;
use vcsim::{Config, Emulator, Flavor, Vcsim};

/// Most bytes read from a `-username`/`-password` file.
const MAX_CREDENTIAL_FILE_BYTES: u64 = 64 * 1024;

/// Most tunnel connections served at once (more wait in the accept queue).
const MAX_TUNNEL_CONNECTIONS: usize = 256;

/// Most bytes of a CONNECT request head the tunnel reads.
const MAX_TUNNEL_HEAD_BYTES: usize = 16 * 1024;

const fn flag(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    usage: &'static str,
) -> FlagDef {
    FlagDef {
        name,
        kind,
        default,
        usage,
    }
}

/// vcsim's flags (govmomi 0.24's `vcsim/main.go` names, defaults and help).
const FLAGS: &[FlagDef] = &[
    flag(
        "E",
        Kind::Str,
        "-",
        "Output vcsim variables to the given fifo or stdout",
    ),
    flag(
        "api-version",
        Kind::Str,
        "",
        "API version (default: this emulator's, 8.0.3.0)",
    ),
    flag(
        "app",
        Kind::Int,
        "0",
        "Number of virtual apps per compute resource (not supported: must be 0)",
    ),
    flag(
        "autostart",
        Kind::Bool,
        "true",
        "Autostart model created VMs",
    ),
    flag("cluster", Kind::Int, "1", "Number of clusters"),
    flag("dc", Kind::Int, "1", "Number of datacenters"),
    flag(
        "delay",
        Kind::Int,
        "0",
        "Method response delay across all methods",
    ),
    flag(
        "delay-jitter",
        Kind::Float,
        "0",
        "Delay jitter coefficient of variation (tip: 0.5 is a good starting value)",
    ),
    flag("ds", Kind::Int, "1", "Number of local datastores"),
    flag("esx", Kind::Bool, "false", "Simulate standalone ESX"),
    flag("folder", Kind::Int, "0", "Number of folders"),
    flag("host", Kind::Int, "3", "Number of hosts per cluster"),
    flag(
        "httptest.serve",
        Kind::Str,
        "",
        "if non-empty, httptest.NewServer serves on this address and blocks",
    ),
    flag("l", Kind::Str, "127.0.0.1:8989", "Listen address for vcsim"),
    flag(
        "load",
        Kind::Str,
        "",
        "Load model from directory (not supported)",
    ),
    flag(
        "method-delay",
        Kind::Str,
        "",
        "Delay per method on the form 'method1:delay1,method2:delay2...'",
    ),
    flag(
        "nsx",
        Kind::Int,
        "0",
        "Number of NSX backed opaque networks",
    ),
    flag(
        "password",
        Kind::Str,
        "",
        "Login password for vcsim (any password allowed by default; a file name means its content)",
    ),
    flag("pg", Kind::Int, "1", "Number of port groups"),
    flag("pg-nsx", Kind::Int, "0", "Number of NSX backed port groups"),
    flag(
        "pod",
        Kind::Int,
        "0",
        "Number of storage pods per datacenter",
    ),
    flag(
        "pool",
        Kind::Int,
        "0",
        "Number of resource pools per compute resource",
    ),
    flag(
        "standalone-host",
        Kind::Int,
        "1",
        "Number of standalone hosts",
    ),
    flag("stdinexit", Kind::Bool, "false", "Press any key to exit"),
    flag("tls", Kind::Bool, "true", "Enable TLS"),
    flag("tlscert", Kind::Str, "", "Path to TLS certificate file"),
    flag("tlskey", Kind::Str, "", "Path to TLS key file"),
    flag("trace", Kind::Bool, "false", "Trace SOAP to -trace-file"),
    flag(
        "trace-file",
        Kind::Str,
        "",
        "Trace output file (defaults to stderr)",
    ),
    flag("tunnel", Kind::Int, "-1", "SDK tunnel port"),
    flag(
        "username",
        Kind::Str,
        "",
        "Login username for vcsim (any username allowed by default; a file name means its content)",
    ),
    flag(
        "vm",
        Kind::Int,
        "2",
        "Number of virtual machines per resource pool",
    ),
];

/// Runs vcsim's command line `args` (without the program name); `program` names it in
/// the usage text.
pub fn main(program: &str, args: &[OsString]) -> ExitCode {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let parsed = match goflag::parse(FLAGS, &args) {
        Ok(p) => p,
        Err(exit) => {
            let mut err = std::io::stderr().lock();
            if !exit.message.is_empty() {
                let _ = writeln!(err, "{}", exit.message);
            }
            let _ = write!(err, "{}", goflag::usage(program, FLAGS));
            return ExitCode::from(exit.exit_code);
        }
    };
    if parsed.args.first().map(String::as_str) == Some("uuidgen") {
        return match vcsim::secret::session_key() {
            Ok(u) => {
                println!("{u}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{program}: {e}");
                ExitCode::from(1)
            }
        };
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("VICBED_LOG"))
        .with_writer(std::io::stderr)
        .try_init();
    match options(&parsed).and_then(serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// What the flags ask for.
struct Options {
    listen: String,
    env_fifo: Option<String>,
    config: Config,
    tls: bool,
    tls_pair: Option<(String, String)>,
    trace: bool,
    trace_file: Option<String>,
    tunnel: Option<u16>,
    delay: vcsim::server::Delay,
    stdin_exit: bool,
}

/// A model count flag: negative counts build nothing, as in vcsim's loops.
fn count(p: &goflag::Parsed, name: &str) -> u32 {
    u32::try_from(p.int(name).max(0)).unwrap_or(u32::MAX)
}

/// A credential flag's value: the content of the file it names, if it names one.
fn credential(flag: &str, value: &str) -> Result<String> {
    let path = std::path::Path::new(value);
    if value.is_empty() || !path.is_file() {
        return Ok(value.to_owned());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CREDENTIAL_FILE_BYTES).read_to_string(&mut text))
        .with_context(|| format!("-{flag}: reading {value}"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

fn options(p: &goflag::Parsed) -> Result<Options> {
    if !p.str("load").is_empty() {
        bail!(
            "-load {}: loading a saved inventory (govc object.save) is not supported by vicbed; \
             declare one in an inventory file for `vicbed serve --inventory FILE` instead",
            p.str("load")
        );
    }
    let esx = p.bool("esx");
    let mut model = VcsimModel {
        datacenter: count(p, "dc"),
        cluster: count(p, "cluster"),
        cluster_host: count(p, "host"),
        host: count(p, "standalone-host"),
        machine: count(p, "vm"),
        pool: count(p, "pool"),
        app: count(p, "app"),
        pod: count(p, "pod"),
        datastore: count(p, "ds"),
        portgroup: count(p, "pg"),
        portgroup_nsx: count(p, "pg-nsx"),
        opaque_network: count(p, "nsx"),
        folder: count(p, "folder"),
    };
    if esx {
        // As vcsim: only the datastore and VM counts carry over to the ESX model.
        model = VcsimModel {
            datastore: model.datastore,
            machine: model.machine,
            ..VcsimModel::esx()
        };
    }
    let user = credential("username", p.str("username"))?;
    let pass = credential("password", p.str("password"))?;
    // As vcsim: without -username and -password any non-empty pair logs in (the exported
    // URL still carries user:pass).
    let any_login = user.is_empty() && pass.is_empty();
    let (username, password) = match (user.is_empty(), pass.is_empty()) {
        (true, true) => ("user".to_owned(), "pass".to_owned()),
        (true, false) => ("user".to_owned(), pass),
        (false, _) => (user, pass),
    };
    let start_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .context("the wall clock is before 1970")?;
    let mut config = Config {
        flavor: if esx {
            Flavor::HostAgent
        } else {
            Flavor::VirtualCenter
        },
        vcsim_model: Some(model),
        autostart: p.bool("autostart"),
        username,
        password,
        any_login,
        start_ms,
        ..Config::default()
    };
    if !p.str("api-version").is_empty() {
        config.api_version = p.str("api-version").to_owned();
    }
    let tls_pair = match (p.str("tlscert"), p.str("tlskey")) {
        ("", "") => None,
        ("", _) | (_, "") => bail!("-tlscert and -tlskey go together"),
        (c, k) => Some((c.to_owned(), k.to_owned())),
    };
    let tunnel = match p.int("tunnel") {
        n if n < 0 => None,
        n => Some(u16::try_from(n).map_err(|_| anyhow::anyhow!("-tunnel {n}: not a port"))?),
    };
    let jitter = p.float("delay-jitter");
    if !(jitter.is_finite() && jitter >= 0.0) {
        bail!("-delay-jitter {jitter}: must be 0 or more");
    }
    let all_ms = u64::try_from(p.int("delay").max(0)).unwrap_or(0);
    if all_ms > vcsim::server::front::MAX_DELAY_MS {
        bail!(
            "-delay {all_ms}: at most {} ms",
            vcsim::server::front::MAX_DELAY_MS
        );
    }
    let delay = vcsim::server::Delay {
        all_ms,
        per_method_ms: vcsim::server::front::parse_method_delay(p.str("method-delay"))
            .map_err(|e| anyhow::anyhow!("-method-delay: {e}"))?,
        jitter,
    };
    let listen = match p.str("httptest.serve") {
        "" => p.str("l").to_owned(),
        addr => addr.to_owned(),
    };
    // Go's `:PORT` means every interface.
    let listen = match listen.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => listen,
    };
    Ok(Options {
        listen,
        env_fifo: Some(p.str("E").to_owned()).filter(|e| e != "-"),
        config,
        tls: p.bool("tls"),
        tls_pair,
        trace: p.bool("trace") || !p.str("trace-file").is_empty(),
        trace_file: Some(p.str("trace-file").to_owned()).filter(|f| !f.is_empty()),
        tunnel,
        delay,
        stdin_exit: p.bool("stdinexit"),
    })
}

/// A server configuration from PEM files (a certificate chain and its private key).
fn load_tls_pair(cert: &str, key: &str) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("-tlscert {cert}: {e}"))?;
    if chain.is_empty() {
        bail!("-tlscert {cert}: no certificate in the file");
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| anyhow::anyhow!("-tlskey {key}: {e}"))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .context("-tlscert/-tlskey")?;
    Ok(Arc::new(config))
}

/// `user:pass` escaped as Go's `url.UserPassword` writes it.
fn userinfo(user: &str, pass: &str) -> String {
    fn escape(s: &str, out: &mut String) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~$&+,;=".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    escape(user, &mut out);
    out.push(':');
    escape(pass, &mut out);
    out
}

/// The URL vcsim exports: the bound address (loopback for an unspecified one).
fn govc_url(o: &Options, addr: SocketAddr, tunnel_port: Option<u16>) -> String {
    let scheme = if o.tls { "https" } else { "http" };
    let host = if addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    let creds = userinfo(&o.config.username, &o.config.password);
    let mut url = format!("{scheme}://{creds}@{host}/sdk");
    if let Some(port) = tunnel_port {
        url.push_str(&format!("?GOVMOMI_TUNNEL_PROXY_PORT={port}"));
    }
    url
}

/// Writes the export line to stdout or, with `-E`, to that named pipe (opening it waits for
/// a reader, as vcsim's does; the pipe must exist).
fn write_exports(fifo: Option<&str>, line: &str) -> Result<()> {
    match fifo {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(line.as_bytes())?;
            out.flush()?;
        }
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("-E {path}"))?;
            f.write_all(line.as_bytes())
                .with_context(|| format!("-E {path}"))?;
        }
    }
    Ok(())
}

/// Creates (or truncates) the `-trace-file`, readable by its owner only: it holds every
/// SOAP body but the secrets redacted from it (`vcsim::server::front::redact_secrets`), and
/// the inventory and session keys are still nobody else's business.
fn create_trace_file(path: &str) -> Result<std::fs::File> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    open.open(path)
        .with_context(|| format!("-trace-file {path}"))
}

/// The performance history `vicbed vcsim` starts with: the realtime hour a host keeps (180
/// samples of 20 s, twelve 300 s rollups), so QueryPerf answers at once with a full window,
/// as on a vCenter that has been up (vcsim replays canned samples). It is filled on a thread
/// of its own after the inventory is built ([`Vcsim::spawn_prefill`]): the export line comes
/// as soon as the listener is up, and the first requests wait for the hour (about 0.4 s at
/// 1 024 VMs); `vicbed serve` starts with a day (`--history-days`).
const VCSIM_HISTORY_S: i64 = 3600;

fn serve(o: Options) -> Result<()> {
    let emulator = Emulator::new(o.config.clone()).context("building the inventory")?;
    let vc = Vcsim::new(emulator);
    // QueryPerf has a full hour at once, as vcsim's canned samples are there from the start.
    let _prefill = vc.spawn_prefill(VCSIM_HISTORY_S);
    // One thread serves every connection. The emulator is one lock, so a second worker
    // bought no throughput, and waking it for each request cost more server CPU than the
    // request: a CreateVM + PowerOn through govmomi's task waits took 1 520–1 610 µs of
    // server CPU with two workers and 1 120–1 280 µs with one. Large request bodies are
    // still parsed on the blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&o.listen)
            .await
            .with_context(|| format!("-l {}", o.listen))?;
        let addr = listener.local_addr()?;
        let tls = match (&o.tls_pair, o.tls) {
            (_, false) => None,
            (Some((c, k)), true) => Some(load_tls_pair(c, k)?),
            (None, true) => Some(vcsim::tls::self_signed(addr.ip())?),
        };
        let trace = if o.trace {
            let out: Box<dyn Write + Send> = match &o.trace_file {
                Some(f) => Box::new(create_trace_file(f)?),
                None => Box::new(std::io::stderr()),
            };
            Some(vcsim::server::SoapTrace::new(out))
        } else {
            None
        };
        vc.set_front(vcsim::server::Front {
            trace,
            delay: o.delay.clone(),
        });
        let clock = vc.spawn_clock(1.0);
        // Handlers go in before the export line announces readiness.
        let signals = crate::shutdown_signal()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // Without -stdinexit the sender is held until the end, so `stop_rx` never fires.
        let _held_stop = if o.stdin_exit {
            std::thread::spawn(move || {
                let mut byte = [0u8; 1];
                let _ = std::io::stdin().read(&mut byte);
                let _ = stop_tx.send(());
            });
            None
        } else {
            Some(stop_tx)
        };
        let tunnel = match o.tunnel {
            Some(port) => {
                let host = if addr.ip().is_unspecified() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    addr.ip()
                };
                let l = tokio::net::TcpListener::bind(SocketAddr::new(host, port))
                    .await
                    .with_context(|| format!("-tunnel {port}"))?;
                let port = l.local_addr()?.port();
                Some((port, tokio::spawn(run_tunnel(l, addr))))
            }
            None => None,
        };
        let server = tokio::spawn({
            let vc = vc.clone();
            async move {
                vc.serve(listener, tls, async {
                    tokio::select! {
                        _ = signals => {}
                        _ = stop_rx => {}
                    }
                })
                .await
            }
        });
        let line = format!(
            "export GOVC_URL={} GOVC_SIM_PID={}\n",
            govc_url(&o, addr, tunnel.as_ref().map(|t| t.0)),
            std::process::id()
        );
        // A plain thread, not the runtime's blocking pool: opening a fifo nobody reads waits
        // forever, and a signal must still stop the server (and the runtime must not wait
        // for that thread when it drops).
        let fifo = o.env_fifo.clone();
        let (written_tx, written_rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = written_tx.send(write_exports(fifo.as_deref(), &line));
        });
        let mut server = server;
        let served = tokio::select! {
            written = written_rx => {
                written.context("the export writer")?.context("writing the export line")?;
                server.await
            }
            served = &mut server => served,
        };
        served.context("the server task")??;
        clock.abort();
        if let Some((_, t)) = tunnel {
            t.abort();
        }
        Ok::<_, anyhow::Error>(())
    })
}

/// vcsim's SDK tunnel: an HTTP proxy that answers CONNECT (whatever the target) with a
/// connection to the server itself, and anything else with 405.
async fn run_tunnel(listener: tokio::net::TcpListener, server: SocketAddr) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_TUNNEL_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tunnel_one(client, server).await;
        });
    }
}

async fn tunnel_one(mut client: tokio::net::TcpStream, server: SocketAddr) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_TUNNEL_HEAD_BYTES {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    if !head.starts_with(b"CONNECT ") {
        client
            .write_all(
                b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await?;
        return Ok(());
    }
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head.len(), |p| p + 4);
    let mut upstream = match tokio::net::TcpStream::connect(server).await {
        Ok(s) => s,
        Err(e) => {
            let msg = format!(
                "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{e}",
                e.to_string().len()
            );
            client.write_all(msg.as_bytes()).await?;
            return Ok(());
        }
    };
    client.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await?;
    // Bytes the client sent after the head belong to the tunnelled stream.
    upstream.write_all(&head[end..]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_escapes_as_go() {
        assert_eq!(userinfo("user", "pass"), "user:pass");
        assert_eq!(userinfo("a@b", "p:w/d?"), "a%40b:p%3Aw%2Fd%3F");
    }

    #[test]
    fn flags_build_vcsims_model() {
        let args: Vec<String> = ["-dc", "2", "-vm=3", "-tls=false", "-esx=false"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = goflag::parse(FLAGS, &args).unwrap();
        let o = options(&p).unwrap();
        let m = o.config.vcsim_model.unwrap();
        assert_eq!((m.datacenter, m.machine, m.cluster_host), (2, 3, 3));
        assert!(!o.tls);
        assert_eq!(o.config.username, "user");
        let p = goflag::parse(FLAGS, &["-load".to_string(), "/x".to_string()]).unwrap();
        let err = options(&p).err().unwrap().to_string();
        assert!(err.contains("not supported"), "{err}");
    }
}

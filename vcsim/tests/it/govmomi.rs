//! The runner for the Go tests in `vcsim/tests/govmomi/`: govmomi's own library (Debian's
//! `golang-github-vmware-govmomi-dev`, Go in GOPATH mode) against an in-process server.
//!
//! The Go test binary is compiled once per version of the Go sources and kept in
//! `target/govmomi-tests/` ([`go_test_binary`]); each Rust
//! test runs the Go tests of its family (`-test.run REGEX`) against its own server on a free
//! loopback port. A missing Go toolchain or govmomi fails the test with how to install them:
//! `scripts/test.sh` installs both.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use vcsim::{Config, Emulator, Vcsim};

/// How long one family's Go tests may run.
const GO_TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The performance history a served emulator starts with (`vicbed serve`'s default).
const SERVE_HISTORY_S: i64 = 86_400;

/// Where Debian installs Go libraries (GOPATH mode); `VICBED_GOPATH` overrides it.
const DEBIAN_GOPATH: &str = "/usr/share/gocode";

/// An emulator served over HTTP(S) on 127.0.0.1:0 from a runtime of its own; stopped on drop.
pub struct GoServer {
    /// `http(s)://user:pass@127.0.0.1:PORT/sdk`.
    pub url: String,
    /// The served emulator (for checks on its state).
    pub vc: Vcsim,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GoServer {
    /// Serves `config`'s emulator over plain HTTP.
    pub fn start(config: Config) -> GoServer {
        GoServer::serve(config, false)
    }

    /// Serves `config`'s emulator over HTTPS with a self-signed certificate (as vcsim does).
    pub fn start_tls(config: Config) -> GoServer {
        GoServer::serve(config, true)
    }

    fn serve(config: Config, tls: bool) -> GoServer {
        let (user, pass) = (config.username.clone(), config.password.clone());
        let mut emu = Emulator::new(config).expect("the inventory builds");
        // As `vicbed serve` (its default --history-days 1): a fresh server already has
        // performance history and realtime samples, as a vCenter that has been up.
        emu.prefill_history(SERVE_HISTORY_S);
        let vc = Vcsim::new(emu);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("bound address");
        let tls_config = tls.then(|| vcsim::tls::self_signed(addr.ip()).expect("a certificate"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = vc.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let clock = served.spawn_clock(1.0);
                let _ = served
                    .serve(listener, tls_config, async {
                        let _ = stopped.await;
                    })
                    .await;
                clock.abort();
            });
        });
        let scheme = if tls { "https" } else { "http" };
        GoServer {
            url: format!("{scheme}://{user}:{pass}@{addr}/sdk"),
            vc,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for GoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn gopath() -> String {
    std::env::var("VICBED_GOPATH").unwrap_or_else(|_| DEBIAN_GOPATH.to_owned())
}

fn go_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/govmomi")
}

/// A fingerprint of the Go test sources (names and contents of `vcsim/tests/govmomi/*.go`).
fn sources_version() -> Result<u64, String> {
    use std::hash::{Hash, Hasher};
    let dir = go_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "go"))
        .collect();
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in &files {
        f.file_name().hash(&mut h);
        std::fs::read(f)
            .map_err(|e| format!("{}: {e}", f.display()))?
            .hash(&mut h);
    }
    Ok(h.finish())
}

/// A `go` command in GOPATH mode with a build cache under `target/`.
fn go_command() -> Command {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let mut cmd = Command::new("go");
    cmd.current_dir(go_dir())
        .env("GO111MODULE", "off")
        .env("GOPATH", gopath())
        .env("GOCACHE", target.join("gocache"))
        .env("GOFLAGS", "")
        .stdin(Stdio::null());
    cmd
}

/// The compiled Go tests, built once per version of the Go sources and kept under
/// `target/` (delete `target/govmomi-tests` after changing Go or govmomi). Panics, never
/// skips, when Go or govmomi is missing.
pub fn go_test_binary() -> &'static Path {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BINARY.get_or_init(|| {
        let govmomi = Path::new(&gopath()).join("src/github.com/vmware/govmomi/vapi/rest");
        if !govmomi.is_dir() {
            return Err(format!(
                "govmomi's Go library is not at {} (VICBED_GOPATH or {DEBIAN_GOPATH})",
                govmomi.display()
            ));
        }
        let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/govmomi-tests");
        std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
        // One binary per version of the Go sources, shared by concurrent and later test
        // runs: built under a name of this process's own, then renamed into place (atomic),
        // and older versions removed, so target/ does not grow with every run.
        let version = sources_version()?;
        let binary = out_dir.join(format!("suite-{version:016x}.test"));
        if binary.is_file() {
            return Ok(binary);
        }
        let partial = out_dir.join(format!(
            "suite-{version:016x}.{}.partial",
            std::process::id()
        ));
        let out = go_command()
            .args(["test", "-c", "-o"])
            .arg(&partial)
            .arg(".")
            .output()
            .map_err(|e| format!("cannot run `go`: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&partial);
            return Err(format!(
                "`go test -c` failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::rename(&partial, &binary)
            .map_err(|e| format!("{} → {}: {e}", partial.display(), binary.display()))?;
        if let Ok(entries) = std::fs::read_dir(&out_dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let stale = path.extension().is_some_and(|x| x == "test") && path != binary;
                if stale {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        Ok(binary)
    });
    match built {
        Ok(p) => p,
        Err(why) => panic!(
            "the govmomi tests need Go and govmomi's library: {why}.\n\
             Run `bash scripts/test.sh` (it installs golang-go and \
             golang-github-vmware-govmomi-dev with apt-get), or install them and re-run."
        ),
    }
}

/// Runs the Go tests whose names match `run` (a Go regexp) against `url`, and panics with
/// their output unless they all pass. At least one test must match.
pub fn go_test(url: &str, run: &str) {
    let binary = go_test_binary();
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args([
            "-test.v",
            "-test.count=1",
            "-test.timeout=280s",
            "-test.run",
            run,
        ])
        .current_dir(go_dir())
        .env("VICBED_URL", url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let (out_pipe, err_pipe) = (child.stdout.take(), child.stderr.take());
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = std::io::Read::read_to_string(&mut p, &mut text);
            }
            text
        })
    };
    let out_reader = read(out_pipe.map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let err_reader = read(err_pipe.map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if started.elapsed() > GO_TEST_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for the Go tests: {e}"),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let ran = stdout.lines().filter(|l| l.starts_with("=== RUN")).count();
    let ok = status.is_some_and(|s| s.success()) && ran > 0;
    assert!(
        ok,
        "Go tests {run:?} against {url}: {} ({ran} run)\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        match status {
            Some(s) => format!("exited with {s}"),
            None => format!("timed out after {GO_TEST_TIMEOUT:?}"),
        }
    );
}

/// The harness itself: govmomi logs in and finds the default inventory, over HTTP and HTTPS.
#[test]
fn govmomi_harness_logs_in() {
    let plain = GoServer::start(Config::default());
    go_test(&plain.url, "^TestHarness");
    // The Go client logged out when its test ended.
    assert_eq!(plain.vc.with(|e| e.sessions.len()), 0);
    let tls = GoServer::start_tls(Config::default());
    go_test(&tls.url, "^TestHarness");
}

//! The real docker CLI for the TLS suite: found on `PATH`, run with a private `HOME` (so no
//! `~/.docker` configuration or certificates interfere), none of the caller's `DOCKER_*`
//! variables, and a deadline after which it is killed. Outcomes are rendered as the suite's
//! observed texts: `ok: <stdout>` or `refused: <fragment of the CLI's error>`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest one docker CLI run may take.
const DEADLINE: Duration = Duration::from_secs(20);
/// How often a running CLI is polled.
const POLL: Duration = Duration::from_millis(10);

/// The docker CLI with a private home directory.
pub(super) struct DockerCli {
    program: Result<PathBuf, String>,
    home: PathBuf,
}

/// What one run printed.
#[derive(Debug, Clone)]
pub(super) struct CliRun {
    /// The exit code; `None` when killed by a signal (or at the deadline).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Whether the deadline killed it.
    pub timed_out: bool,
}

impl CliRun {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// Both streams, for failure texts.
    pub fn text(&self) -> String {
        let status = match (self.timed_out, self.code) {
            (true, _) => format!("killed after {}s", DEADLINE.as_secs()),
            (false, Some(c)) => format!("exit {c}"),
            (false, None) => "killed by a signal".to_owned(),
        };
        let mut parts = vec![status];
        for s in [&self.stdout, &self.stderr] {
            let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
            if !s.is_empty() {
                parts.push(s);
            }
        }
        parts.join(": ")
    }
}

impl DockerCli {
    /// The `docker` on `PATH` (an error text when there is none), with `home` as `HOME`.
    pub fn locate(home: &Path) -> DockerCli {
        DockerCli {
            program: find_on_path("docker"),
            home: home.to_path_buf(),
        }
    }

    /// Where the CLI is, or why it is not there.
    pub fn program(&self) -> Result<&Path, &str> {
        self.program.as_deref().map_err(String::as_str)
    }

    /// Runs `docker ARGS…` with `env` added; `Err` when it could not be started.
    pub async fn run(&self, args: &[String], env: &[(String, String)]) -> Result<CliRun, String> {
        let program = self.program.clone()?;
        let home = self.home.clone();
        let args = args.to_vec();
        let env = env.to_vec();
        tokio::task::spawn_blocking(move || run_blocking(&program, &home, &args, &env))
            .await
            .map_err(|e| format!("the docker CLI task failed: {e}"))?
    }

    /// `ok: <stdout, trimmed>` when the run exits 0, else what it printed.
    pub async fn works(&self, args: &[String], env: &[(String, String)]) -> String {
        match self.run(args, env).await {
            Err(e) => e,
            Ok(r) if r.success() => format!("ok: {}", r.stdout.trim()),
            Ok(r) => format!("failed: {}", r.text()),
        }
    }

    /// `refused: <fragment>` when the run fails and its error output contains `fragment`;
    /// otherwise what happened.
    pub async fn refused(
        &self,
        args: &[String],
        env: &[(String, String)],
        fragment: &str,
    ) -> String {
        match self.run(args, env).await {
            Err(e) => e,
            Ok(r) if r.success() => format!("accepted: {}", r.text()),
            Ok(r) if r.stderr.contains(fragment) || r.stdout.contains(fragment) => {
                refused(fragment)
            }
            Ok(r) => format!("refused differently: {}", r.text()),
        }
    }
}

/// The observed text of a refusal with `fragment` (also the expectation).
pub(super) fn refused(fragment: &str) -> String {
    format!("refused: {fragment}")
}

/// The first executable `name` in `PATH`.
fn find_on_path(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            format!(
                "the docker CLI is not on PATH ({}): install it (Debian/Ubuntu: docker.io or docker-ce-cli)",
                std::env::var("PATH").unwrap_or_default()
            )
        })
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

fn run_blocking(
    program: &Path,
    home: &Path,
    args: &[String],
    env: &[(String, String)],
) -> Result<CliRun, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("DOCKER_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let reader = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut s) = stream {
                let _ = s.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + DEADLINE;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("waiting for {}: {e}", program.display()));
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(CliRun {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
        timed_out,
    })
}

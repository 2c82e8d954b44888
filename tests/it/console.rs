//! The live console in a real browser: `vicbed demo --listen 127.0.0.1:0 --speed 60` runs the
//! over-the-limits testbed on a running virtual clock, and `tests/interop/console_browser.py`
//! drives its page in headless Chromium through Selenium (charts update, the CPU stress started
//! from the docker panel shows a high ready under the 500 MHz limit, the limit raised on the
//! page's form makes it fall) and sends bad input to the console's API (4xx with a message,
//! nothing changed).
//!
//! The screenshot the script takes while the container is starved is kept as a test
//! artefact at `target/artefacts/console.png`; with `VICBED_UPDATE_SCREENSHOT=1` it is also
//! copied to `docs/console.png`, the picture the README shows. A missing chromium,
//! chromedriver or Selenium fails the test (scripts/test.sh installs them), never skips it.

use crate::support::{SHUTDOWN_TIMEOUT, repo_root, run_script_url};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long `vicbed demo` may take to deploy its VCHs and print `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `vicbed demo`, killed on drop (its output printed when a test panicked).
struct Demo {
    child: Child,
    /// The console's base URL from the `console: URL` line.
    url: String,
    /// Every stdout line up to `ready`.
    lines: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Demo {
    fn start(args: &[&str]) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vicbed"))
            .arg("demo")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_BACKTRACE", "1")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start vicbed demo: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let mut err = child.stderr.take().expect("stderr is piped");
            let stderr = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = err.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = stderr.lock() {
                        // The tail is what explains a failure; keep at most 1 MiB.
                        if s.len() > 1 << 20 {
                            s.clear();
                            s.push_str("[…]");
                        }
                        s.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    }
                }
            });
        }
        let (tx, rx) = mpsc::channel::<String>();
        let out = child.stdout.take().expect("stdout is piped");
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut demo = Demo {
            child,
            url: String::new(),
            lines: Vec::new(),
            stderr,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(line) if line == "ready" => break,
                Ok(line) => demo.lines.push(line),
                Err(e) => panic!(
                    "vicbed demo did not print `ready` within {READY_TIMEOUT:?} ({e}); \
                     stdout so far: {:?}",
                    demo.lines
                ),
            }
        }
        let first = demo.lines.first().cloned().unwrap_or_default();
        let Some(url) = first.strip_prefix("console: ") else {
            panic!("the first line of vicbed demo should be `console: URL`, got {first:?}");
        };
        assert!(url.starts_with("http://127.0.0.1:"), "console URL {url:?}");
        demo.url = url.to_owned();
        for vch in ["limited", "unlimited"] {
            let prefix = format!("vch {vch}: docker -H ");
            assert!(
                demo.lines.iter().any(|l| l.starts_with(&prefix)),
                "no `{prefix}…` line in {:?}",
                demo.lines
            );
        }
        demo
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// SIGTERM, then waits for the exit (killed when it does not come in time).
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(
                    status.success(),
                    "vicbed demo should exit cleanly on SIGTERM, got {status}; stderr:\n{}",
                    self.stderr()
                );
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "vicbed demo did not exit within {SHUTDOWN_TIMEOUT:?} of SIGTERM; stderr:\n{}",
            self.stderr()
        );
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() {
            eprintln!("--- vicbed demo stdout ---\n{}", self.lines.join("\n"));
            eprintln!("--- vicbed demo stderr ---\n{}", self.stderr());
        }
    }
}

/// Where the screenshot is kept: `target/artefacts/console.png` (CARGO_TARGET_DIR honoured).
fn artefact() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let target = if target.is_relative() {
        repo_root().join(target)
    } else {
        target
    };
    target.join("artefacts/console.png")
}

#[test]
fn browser_raises_the_limit_and_ready_falls() {
    let shot = artefact();
    let dir = shot.parent().expect("the artefact has a folder");
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    // A picture left by an earlier run must not pass for this one's.
    let _ = std::fs::remove_file(&shot);

    let demo = Demo::start(&["--listen", "127.0.0.1:0", "--speed", "60"]);
    let shot_arg = shot.to_string_lossy().into_owned();
    let run = run_script_url(&demo.url, "console_browser.py", &[&shot_arg], None);
    println!("{}", run.stdout);
    for check in [
        "rejected requests change nothing",
        "the pool CPU chart grows",
        "the limited container's ready is high",
        "the container's ready falls",
        "the change shows in every console",
    ] {
        assert!(
            run.stdout.contains(&format!("ok {check}")),
            "console_browser.py did not report `ok {check}`:\n{}",
            run.stdout
        );
    }
    let size = std::fs::metadata(&shot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()))
        .len();
    assert!(size > 10_000, "the screenshot is only {size} bytes");
    if std::env::var("VICBED_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        let docs = repo_root().join("docs/console.png");
        std::fs::copy(&shot, &docs)
            .unwrap_or_else(|e| panic!("copy the screenshot to {}: {e}", docs.display()));
    }
    demo.stop();
}

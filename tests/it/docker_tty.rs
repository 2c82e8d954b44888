//! `docker run -it busybox sh` in a real terminal (tmux): the prompt, typed commands and
//! their output through the TTY, detaching with ctrl-p ctrl-q (the container keeps
//! running), `docker attach` and `exit 3` ending the container with that status.

use crate::docker_run::deploy;
use crate::docker_tls::{dk, stdout};
use crate::support::Server;
use crate::vic_machine::{docker, text};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of this test's own (its socket name is unique to the process and test).
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(tag: &str) -> Tmux {
        Tmux {
            socket: format!("vicbed-{tag}-{}", std::process::id()),
        }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux (scripts/test.sh installs it)")
    }

    /// Starts `command` in a new detached session `name` that stays after it exits.
    fn start(&self, name: &str, command: &str) {
        // One tmux command line, so the pane stays even if `command` ends at once.
        let out = self.cmd(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "100",
            "-y",
            "30",
            command,
            ";",
            "set-option",
            "-w",
            "remain-on-exit",
            "on",
        ]);
        assert!(out.status.success(), "tmux: {}", text(&out));
    }

    fn keys(&self, name: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", name];
        args.extend_from_slice(keys);
        let out = self.cmd(&args);
        assert!(out.status.success(), "send-keys: {}", text(&out));
    }

    fn screen(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", name]).stdout).into_owned()
    }

    /// Waits until the program in `name` has exited (tmux's `pane_dead`; its "Pane is dead"
    /// line is not always drawn).
    fn wait_dead(&self, name: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.cmd(&["list-panes", "-t", name, "-F", "#{pane_dead}"]);
            if String::from_utf8_lossy(&out.stdout).trim() == "1" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the program is still running:\n{}",
                self.screen(name)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen of `name` satisfies `ok`.
    fn wait_for(&self, name: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen(name);
            if ok(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "no {what} on the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// The docker command line with the VCH's environment, for a tmux session.
fn docker_line(cfg: &Path, env: &[(String, String)], args: &str) -> String {
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_CONFIG={} {} {} {args}",
        cfg.display(),
        vars.join(" "),
        docker()
    )
}

#[test]
fn an_interactive_terminal_session() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let env = deploy(&server, dir.path(), "vcht", &["--no-tls"]);
    let cfg = tempfile::tempdir().unwrap();
    let pull = dk(cfg.path(), &env, &["pull", "busybox"]);
    assert!(pull.status.success(), "{}", text(&pull));
    let tmux = Tmux::new("tty");

    tmux.start(
        "run",
        &docker_line(cfg.path(), &env, "run -it --name tt busybox sh"),
    );
    tmux.wait_for("run", "prompt", |s| s.lines().any(|l| l.starts_with("/ #")));
    tmux.keys("run", &["echo hello-tty", "Enter"]);
    // The command line is echoed by the terminal; its output is a line of its own.
    tmux.wait_for("run", "output", |s| {
        s.lines().any(|l| l.trim_end() == "hello-tty")
    });
    tmux.keys("run", &["C-p", "C-q"]);
    tmux.wait_dead("run", "the detach");
    let running = dk(
        cfg.path(),
        &env,
        &["inspect", "-f", "{{.State.Running}}", "tt"],
    );
    assert_eq!(stdout(&running).trim(), "true", "{}", text(&running));

    tmux.start("attach", &docker_line(cfg.path(), &env, "attach tt"));
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys("attach", &["echo again", "Enter"]);
    tmux.wait_for("attach", "output after attach", |s| {
        s.lines().any(|l| l.trim_end() == "again")
    });
    tmux.keys("attach", &["exit 3", "Enter"]);
    tmux.wait_dead("attach", "the end");
    let state = dk(
        cfg.path(),
        &env,
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "tt",
        ],
    );
    assert_eq!(stdout(&state).trim(), "exited 3", "{}", text(&state));
    let logs = dk(cfg.path(), &env, &["logs", "tt"]);
    assert!(stdout(&logs).contains("hello-tty"), "{}", text(&logs));
}

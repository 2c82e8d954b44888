//! `docker run -it busybox sh` in a real terminal (tmux): the prompt, typed commands and
//! their output through the TTY, detaching with ctrl-p ctrl-q (the container keeps
//! running), `docker attach` and `exit 3` ending the container with that status.

use crate::docker_run::deploy;
use crate::docker_tls::{dk, stdout};
use crate::support::Server;
use crate::tmux::Tmux;
use crate::vic_machine::{docker, text};
use std::path::Path;
use std::time::Duration;

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
        100,
        30,
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

    tmux.start(
        "attach",
        100,
        30,
        &docker_line(cfg.path(), &env, "attach tt"),
    );
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

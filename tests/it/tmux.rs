//! A tmux server of a test's own, for programs that need a real terminal (`docker run -it`,
//! `vicbed top`): start a session, send keys, read the screen, wait for what it shows.

use std::process::Command;
use std::time::{Duration, Instant};

/// How long a screen condition or a program's end may take.
pub const SCREEN_TIMEOUT: Duration = Duration::from_secs(30);

/// A tmux server whose socket name is unique to the process and test; killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn new(tag: &str) -> Tmux {
        Tmux {
            socket: format!("vicbed-{tag}-{}", std::process::id()),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux (scripts/test.sh installs it)")
    }

    /// Starts `command` in a new detached `columns`×`rows` session `name` that stays after
    /// it exits.
    pub fn start(&self, name: &str, columns: u16, rows: u16, command: &str) {
        let (x, y) = (columns.to_string(), rows.to_string());
        // One tmux command line, so the pane stays even if `command` ends at once.
        let out = self.cmd(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &x,
            "-y",
            &y,
            command,
            ";",
            "set-option",
            "-w",
            "remain-on-exit",
            "on",
        ]);
        assert!(
            out.status.success(),
            "tmux: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn keys(&self, name: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", name];
        args.extend_from_slice(keys);
        let out = self.cmd(&args);
        assert!(
            out.status.success(),
            "send-keys {keys:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn screen(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", name]).stdout).into_owned()
    }

    /// Waits until the program in `name` has exited (tmux's `pane_dead`; its "Pane is dead"
    /// line is not always drawn).
    pub fn wait_dead(&self, name: &str, what: &str) {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
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
    pub fn wait_for(&self, name: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
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

//! `vic-machine`: create, delete, list and inspect Virtual Container Hosts over SOAP, as VIC's
//! installer does (vic.md §1, §5, §6.1, §6.3).
//!
//! - [`opts`]: the command line (clap), flag names, aliases and defaults of vic.md §1.2;
//! - [`params`]: `ProcessParams`, the offline checks in VIC's order with VIC's messages;
//! - `create`: validation against vSphere (all issues collected), under one `--timeout`
//!   deadline; `dispatch`: the dispatcher's sequence — pool, ESX bridge, VC folder,
//!   `CreateVM_Task` with the encoded VCH config, `DisableMethods`, reconfigures, power-on;
//!   `ready`: `CheckServiceReady` through the property collector and the Docker API's
//!   `/info`; `rollback`: removing what a failed create made (vSphere objects and the
//!   certificates it wrote);
//! - [`vchconfig`]: the guestinfo form of the VCH configuration (shared with the appliance);
//! - `manage`: `ls`, `inspect`, `delete`.
//!
//! Output goes through [`Ui`]: log lines `LEVEL[secs] message` on stdout, as VIC's logrus
//! prints on a terminal. A failed action prints `--------------------` and
//! `vic-machine-linux <cmd> failed: <error>` on stderr and exits 1; flag parse errors are
//! clap's usage errors and exit 2 (see [`opts`] for why not VIC's 0).
//!
//! Not done, because the testbed has no ISOs: `CheckImagesFiles` and the ISO upload. The
//! appliance spec still names `[ds] <vm folder>/<version>-appliance.iso` as its CD-ROM
//! backing, as VIC's does.

mod api;
mod create;
mod dispatch;
pub mod duration;
mod manage;
pub mod opts;
pub mod params;
mod ready;
mod rollback;
pub mod vchconfig;

use std::fmt;
use std::io::{BufRead, Write};
use std::time::Instant;

pub use opts::{Cli, CreateOpts, DeleteOpts, InspectOpts, LsOpts, MachineCommand, VicMachine};
pub use vchconfig::{VIC_VERSION, VchConfig, full_version};

/// The program name VIC prints in `version` and failure lines.
pub const APP: &str = "vic-machine-linux";

/// An action's failure: the text after `<app> <cmd> failed: `.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The message.
    pub message: String,
}

impl Failure {
    /// A failure with `message`.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<crate::vsphere::Error> for Failure {
    fn from(e: crate::vsphere::Error) -> Failure {
        Failure::new(e.to_string())
    }
}

/// Where output goes: stdout, or captured (tests).
enum Sink {
    Stdout,
    Capture(Vec<String>),
}

/// vic-machine's log output.
pub struct Ui {
    start: Instant,
    sink: Sink,
}

impl Default for Ui {
    fn default() -> Ui {
        Ui::stdout()
    }
}

impl Ui {
    /// Prints to stdout.
    pub fn stdout() -> Ui {
        Ui {
            start: Instant::now(),
            sink: Sink::Stdout,
        }
    }

    /// Keeps the lines (tests).
    pub fn capture() -> Ui {
        Ui {
            start: Instant::now(),
            sink: Sink::Capture(Vec::new()),
        }
    }

    /// The captured lines (empty for stdout).
    pub fn lines(&self) -> &[String] {
        match &self.sink {
            Sink::Capture(l) => l,
            Sink::Stdout => &[],
        }
    }

    fn emit(&mut self, level: &str, msg: &str) {
        let secs = self.start.elapsed().as_secs();
        for line in msg.lines() {
            let text = format!("{level}[{secs:04}] {line}");
            match &mut self.sink {
                Sink::Stdout => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                }
                Sink::Capture(l) => l.push(text),
            }
        }
    }

    /// An `INFO` line.
    pub fn info(&mut self, msg: impl AsRef<str>) {
        self.emit("INFO", msg.as_ref());
    }

    /// A `WARN` line.
    pub fn warn(&mut self, msg: impl AsRef<str>) {
        self.emit("WARN", msg.as_ref());
    }

    /// An `ERROR` line.
    pub fn error(&mut self, msg: impl AsRef<str>) {
        self.emit("ERRO", msg.as_ref());
    }

    /// A line from certificate processing.
    pub fn tls(&mut self, line: &crate::tls::LogLine) {
        match line.level {
            crate::tls::LogLevel::Info => self.info(&line.message),
            crate::tls::LogLevel::Warn => self.warn(&line.message),
            crate::tls::LogLevel::Error => self.error(&line.message),
        }
    }
}

/// Reads a password from stdin after printing `prompt` on stderr. The echo is not turned off:
/// that needs a terminal ioctl, and the crate forbids `unsafe` and has no terminal crate; use
/// `--password` or `VIC_MACHINE_PASSWORD` where that matters.
fn prompt_password(prompt: &str) -> Option<String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        _ => None,
    }
}

/// Runs a `vic-machine` command; returns the process exit code (0, or 1 when the action
/// failed).
pub fn run(machine: VicMachine) -> i32 {
    let (cmd, result) = match machine.command {
        MachineCommand::Version => {
            println!("{APP} version {}", full_version());
            return 0;
        }
        command => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{APP}: cannot start the async runtime: {e}");
                    return 1;
                }
            };
            let mut ui = Ui::stdout();
            runtime.block_on(execute(command, &mut ui, &mut prompt_password))
        }
    };
    match result {
        Ok(()) => 0,
        Err(f) => {
            eprintln!("--------------------");
            eprintln!("{APP} {cmd} failed: {f}");
            1
        }
    }
}

/// Runs one command's action with `ui`; returns the command's name and the outcome.
pub async fn execute(
    command: MachineCommand,
    ui: &mut Ui,
    prompt: &mut dyn FnMut(&str) -> Option<String>,
) -> (&'static str, Result<(), Failure>) {
    // Each command's future is boxed: inline, the largest one sizes this future and every
    // caller's, enough to overflow a test thread's stack in debug builds.
    match command {
        MachineCommand::Create(o) => ("create", Box::pin(create::run(&o, ui, prompt)).await),
        MachineCommand::Delete(o) => ("delete", Box::pin(manage::delete(&o, ui)).await),
        MachineCommand::Ls(o) => ("ls", Box::pin(manage::ls(&o, ui)).await),
        MachineCommand::Inspect(o) => ("inspect", Box::pin(manage::inspect(&o, ui)).await),
        MachineCommand::Version => {
            ui.info(format!("{APP} version {}", full_version()));
            ("version", Ok(()))
        }
    }
}

/// Runs `vic-machine ARGS…` (without the program name) with captured output (tests).
pub async fn run_captured(args: &[&str]) -> (Vec<String>, Result<(), Failure>) {
    use clap::Parser as _;
    let argv = std::iter::once("vic-machine").chain(args.iter().copied());
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => return (Vec::new(), Err(Failure::new(e.to_string()))),
    };
    let mut ui = Ui::capture();
    let (_, r) = execute(cli.machine.command, &mut ui, &mut |_| None).await;
    (ui.lines().to_vec(), r)
}

/// Runs `create` with captured output (tests): the lines logged and the outcome.
pub async fn create_captured(
    o: &CreateOpts,
    prompt: &mut dyn FnMut(&str) -> Option<String>,
) -> (Vec<String>, Result<(), Failure>) {
    let mut ui = Ui::capture();
    let r = create::run(o, &mut ui, prompt).await;
    (ui.lines().to_vec(), r)
}

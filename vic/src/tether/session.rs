//! A session's process — the primary one at power-on, or an exec's (see `exec`): what the
//! tether launches, its output on the session's [`crate::interaction`] channel, and its end
//! ([`Proc`] follows it from tick to tick). An exec's end never powers the VM off.
//!
//! - An emulated command line ([`crate::process`]: `echo`, `sh -c '…'`, `sleep`, …) runs at
//!   power-on: output due at once is written then, output after a `sleep` when the virtual
//!   clock reaches it (at the tether's 20 s ticks, stamped with its own time), and the
//!   process ends at its last command's time with its exit status.
//! - `sh` with open stdin (`docker run -i [-t] busybox sh`) is an interactive
//!   [`crate::process::Shell`]: the link's stdin sink feeds it, and `exit` or the end of
//!   stdin ends the run and powers the containerVM off, as VIC's tether does when the
//!   process exits.
//! - Anything else (`stress`, `nginx`, an image-declared workload, a command outside the
//!   emulated set) runs as its [`crate::workload`] plan; the log says so once (stress prints
//!   what progrium/stress prints instead).

use crate::guestinfo::container as ck;
use crate::interaction::{Channel, Input, Stream};
use crate::process::{self, Chunk, End, Shell};
use crate::workload::{self, ProcessPlan};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use vcsim::guest::{GuestEffects, GuestHandle};
use vcsim::vmodl::MoRef;

/// What launching the process decided.
pub struct Launched {
    /// The model workload it runs.
    pub workload: scheduler_model::Workload,
    /// Virtual ms after start when it exits by itself (None: until stopped or its stdin
    /// ends).
    pub exits_after_ms: Option<u64>,
    /// Its exit status then.
    pub exit_code: i32,
    /// Output due later: (virtual ms since the epoch, stream, bytes).
    pub pending: VecDeque<(i64, Stream, Vec<u8>)>,
    /// A work-bound end (`stress-ng --cpu-ops`), if it has one.
    pub work: Option<WorkBound>,
    /// The command line of the program that runs on (not an emulated command that ends, nor
    /// an interactive shell): what the tether checks for a network server
    /// ([`crate::guestnet::recognise`]).
    pub program: Option<Vec<String>>,
}

/// A process that ends when the containerVM has done an amount of CPU work.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkBound {
    /// CPU work still to do, MHz·s.
    pub left_mhz_s: f64,
    /// When the work began, virtual ms since the epoch.
    pub from_ms: i64,
    /// The line written at the end, before the run time (`… completed in` `63.20s`).
    pub completion_log: String,
}

/// Which session a process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The container's primary process: its end powers the containerVM off.
    Primary,
    /// An exec session (`docker exec`): its end is only its own.
    Exec,
}

/// Everything the launch needs to know about the container.
pub struct LaunchSpec<'a> {
    /// The session id (the container id for the primary process, the exec id otherwise).
    pub id: &'a str,
    /// Primary process or exec.
    pub kind: Kind,
    /// The containerVM.
    pub vm: &'a MoRef,
    /// Entrypoint + Cmd.
    pub argv: &'a [String],
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// The image-declared workload text, if any.
    pub declared: Option<&'a str>,
    /// What the process sees.
    pub context: process::Context,
    /// Power-on time, virtual ms since the epoch.
    pub now_ms: i64,
    /// The tether's latest virtual time (updated at each tick), for an interactive shell's
    /// output.
    pub clock: Arc<AtomicI64>,
}

fn stream_of(s: process::Stream) -> Stream {
    match s {
        process::Stream::Stdout => Stream::Stdout,
        process::Stream::Stderr => Stream::Stderr,
    }
}

/// The line a command outside the emulated set writes once, on stderr.
pub fn workload_note(program: &str) -> String {
    let base = program.rsplit('/').next().unwrap_or(program);
    format!(
        "vicbed: '{base}' is not one of the emulated commands; it runs as its workload in the contention model until stopped\n"
    )
}

fn from_plan(
    plan: ProcessPlan,
    argv: &[String],
    channel: &Channel,
    at_ms: i64,
    after_ms: u64,
) -> Launched {
    let program = argv.first().map(String::as_str).unwrap_or("");
    // stress and stress-ng print their own lines instead of the note.
    let stress = matches!(program.rsplit('/').next(), Some("stress" | "stress-ng"));
    if !stress {
        channel.write(Stream::Stderr, at_ms, workload_note(program).into_bytes());
    }
    for l in &plan.start_log {
        channel.write(Stream::Stdout, at_ms, format!("{l}\n").into_bytes());
    }
    let stream = if plan.exit_code == 0 {
        Stream::Stdout
    } else {
        Stream::Stderr
    };
    let exits_after_ms = plan
        .exits_after_s
        .map(|s| after_ms.saturating_add(s.saturating_mul(1000)));
    let work = plan.cpu_work_mhz_s.map(|mhz_s| WorkBound {
        left_mhz_s: mhz_s as f64,
        from_ms: at_ms,
        completion_log: plan.completion_log.clone().unwrap_or_default(),
    });
    let due = exits_after_ms.map_or(at_ms, |a| at_ms_after(at_ms, a - after_ms));
    let pending = plan
        .exit_log
        .iter()
        .map(|l| (due, stream, format!("{l}\n").into_bytes()))
        .collect();
    Launched {
        workload: plan.workload,
        exits_after_ms,
        exit_code: plan.exit_code,
        pending,
        work,
        program: Some(argv.to_vec()),
    }
}

fn at_ms_after(start_ms: i64, after_ms: u64) -> i64 {
    start_ms.saturating_add(i64::try_from(after_ms).unwrap_or(i64::MAX))
}

/// Launches the session's process on `channel` (its run already begun).
pub fn launch(spec: LaunchSpec<'_>, channel: &Arc<Channel>, handle: &GuestHandle) -> Launched {
    let program = spec.argv.first().map(String::as_str).unwrap_or("");
    if spec.declared.is_some() {
        let plan = workload::plan(spec.argv, spec.tty, spec.open_stdin, spec.declared);
        return from_plan(plan, spec.argv, channel, spec.now_ms, 0);
    }
    let base = program.rsplit('/').next().unwrap_or(program);
    let is_shell = matches!(base, "sh" | "ash" | "bash");
    if is_shell && spec.open_stdin && spec.argv.len() == 1 {
        return interactive(spec, channel, handle);
    }
    if !process::is_emulated(program) {
        let plan = workload::plan(spec.argv, spec.tty, spec.open_stdin, None);
        return from_plan(plan, spec.argv, channel, spec.now_ms, 0);
    }
    let run = process::run(spec.argv, &spec.context);
    let mut pending = VecDeque::new();
    for Chunk {
        at_ms,
        stream,
        bytes,
    } in run.chunks
    {
        let at = at_ms_after(spec.now_ms, at_ms);
        let bytes = if spec.tty { crlf(&bytes) } else { bytes };
        if at_ms == 0 {
            channel.write(stream_of(stream), at, bytes);
        } else {
            pending.push_back((at, stream_of(stream), bytes));
        }
    }
    match run.end {
        End::Exited { code, after_ms } => Launched {
            workload: scheduler_model::Workload::Idle,
            exits_after_ms: Some(after_ms),
            exit_code: code,
            pending,
            work: None,
            program: None,
        },
        End::Workload { argv, after_ms } => {
            let plan = workload::plan(&argv, spec.tty, spec.open_stdin, None);
            let at = at_ms_after(spec.now_ms, after_ms);
            // What ran before is written; the workload's own lines follow at its start.
            for (t, s, b) in pending.drain(..) {
                channel.write(s, t, b);
            }
            from_plan(plan, &argv, channel, at, after_ms)
        }
    }
}

/// A terminal's output processing (ONLCR): `\n` becomes `\r\n`.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for &b in bytes {
        if b == b'\n' && out.last() != Some(&b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// An interactive shell fed by the link's stdin.
fn interactive(spec: LaunchSpec<'_>, channel: &Arc<Channel>, handle: &GuestHandle) -> Launched {
    let (shell, first) = Shell::new(spec.context, spec.tty);
    let start_ms = spec.now_ms;
    let shell = Arc::new(Mutex::new(shell));
    let write = {
        let channel = channel.clone();
        let clock = spec.clock.clone();
        move |chunks: Vec<Chunk>| {
            let now = clock.load(Ordering::Relaxed);
            for c in chunks {
                let at = now.max(at_ms_after(start_ms, c.at_ms));
                channel.write(stream_of(c.stream), at, c.bytes);
            }
        }
    };
    write(first.chunks);
    let sink = {
        let channel = channel.clone();
        let handle = handle.clone();
        let vm = spec.vm.clone();
        let id = spec.id.to_owned();
        let clock = spec.clock.clone();
        let tty = spec.tty;
        let open_stdin = spec.open_stdin;
        let kind = spec.kind;
        move |input: Input| {
            let step = {
                let mut sh = shell.lock().unwrap_or_else(|p| p.into_inner());
                match input {
                    Input::Bytes(b) => sh.feed(&b),
                    Input::Eof => sh.eof(),
                }
            };
            write(step.chunks);
            let now = clock.load(Ordering::Relaxed);
            if let Some(code) = step.exited {
                channel.end_run(Some(code), now);
                handle.post(vm.clone(), exit_effects(kind, &id, code, now));
            } else if let Some(argv) = step.workload {
                let prog = argv.first().cloned().unwrap_or_default();
                channel.write(Stream::Stderr, now, workload_note(&prog).into_bytes());
                if kind == Kind::Exec {
                    // An exec's workload is not added to the containerVM's (one workload
                    // per VM in the model); it waits until the container stops.
                    return;
                }
                let plan = workload::plan(&argv, tty, open_stdin, None);
                handle.post(
                    vm.clone(),
                    GuestEffects {
                        workload: Some(plan.workload),
                        ..GuestEffects::default()
                    },
                );
            }
        }
    };
    channel.set_input(Arc::new(sink));
    Launched {
        workload: scheduler_model::Workload::Idle,
        exits_after_ms: None,
        exit_code: 0,
        pending: VecDeque::new(),
        work: None,
        program: None,
    }
}

/// The guestinfo a process's exit writes (`status`, `detail.stoptime`) and, for the primary
/// process, the power-off.
pub fn exit_effects(kind: Kind, id: &str, code: i32, at_ms: i64) -> GuestEffects {
    let key = match kind {
        Kind::Primary => ck::session_state_key,
        Kind::Exec => ck::exec_state_key,
    };
    GuestEffects {
        extra_config: vec![
            (key(id, "status"), code.to_string()),
            (
                key(id, "detail.stoptime"),
                at_ms.div_euclid(1000).to_string(),
            ),
        ],
        power_off: kind == Kind::Primary,
        ..GuestEffects::default()
    }
}

/// A launched process the tether follows: its output due later and its end.
pub struct Proc {
    /// The session id.
    pub id: String,
    /// Primary or exec.
    pub kind: Kind,
    start_ms: i64,
    exits_after_ms: Option<u64>,
    exit_code: i32,
    exited: bool,
    /// Its link.
    pub channel: Arc<Channel>,
    pending: VecDeque<(i64, Stream, Vec<u8>)>,
    work: Option<WorkBound>,
    /// The previous tick's time: the interval the model ran after it is the one the next
    /// tick's CPU usage describes (None before the first tick).
    last_tick_ms: Option<i64>,
}

impl Proc {
    /// Follows `launched`, started at `start_ms` on `channel`.
    pub fn new(
        id: &str,
        kind: Kind,
        start_ms: i64,
        launched: &mut Launched,
        channel: Arc<Channel>,
    ) -> Proc {
        Proc {
            id: id.to_owned(),
            kind,
            start_ms,
            exits_after_ms: launched.exits_after_ms,
            exit_code: launched.exit_code,
            exited: false,
            channel,
            pending: std::mem::take(&mut launched.pending),
            // An exec's workload is not added to the containerVM's (one workload per VM in
            // the model), so the VM's usage is not its work: it runs until its timeout or
            // the container's end.
            work: launched.work.take().filter(|_| kind == Kind::Primary),
            last_tick_ms: None,
        }
    }

    /// Whether it has not ended yet.
    pub fn running(&self) -> bool {
        !self.exited
    }

    /// The end of a process that finished within its launch (`echo hi`), if it did.
    pub fn ended_at_launch(&mut self) -> Option<GuestEffects> {
        if self.exits_after_ms != Some(0) || self.exited {
            return None;
        }
        Some(self.end(self.start_ms))
    }

    fn end(&mut self, at_ms: i64) -> GuestEffects {
        self.exited = true;
        for (at, stream, bytes) in self.pending.drain(..) {
            self.channel.write(stream, at, bytes);
        }
        self.channel.end_run(Some(self.exit_code), at_ms);
        exit_effects(self.kind, &self.id, self.exit_code, at_ms)
    }

    /// A tick at `now_ms`, the VM having used `cpu_usage_mhz` over the interval the model
    /// ran after the previous tick: output written by now, and the end when it is due.
    pub fn tick(&mut self, now_ms: i64, cpu_usage_mhz: u32) -> Option<GuestEffects> {
        if self.exited {
            return None;
        }
        // Output written by now (after a `sleep`), stamped with when it was written.
        while self.pending.front().is_some_and(|(at, _, _)| *at <= now_ms) {
            if let Some((at, stream, bytes)) = self.pending.pop_front() {
                self.channel.write(stream, at, bytes);
            }
        }
        let previous_tick_ms = self.last_tick_ms.replace(now_ms);
        if let Some(done_ms) = previous_tick_ms.and_then(|p| self.work_done(p, cpu_usage_mhz)) {
            let due = self.exits_after_ms.map(|a| at_ms_after(self.start_ms, a));
            // A timeout due before the work is done wins.
            if due.is_none_or(|d| done_ms <= d) {
                return Some(self.end_work(done_ms));
            }
        }
        let due_ms = at_ms_after(self.start_ms, self.exits_after_ms?);
        // A tick comes at the end of an interval, before the model runs that interval: a
        // process due at exactly this instant ran through the whole interval, so it exits at
        // the next tick (a 300 s stress fills 15 samples of 20 s, not 14). It ended when it
        // was due, not at this tick.
        (now_ms > due_ms).then(|| self.end(due_ms))
    }

    /// Counts the work of the interval that ended at `interval_end_ms` (the previous tick),
    /// done at `cpu_usage_mhz`; returns when the work was finished, if it was.
    fn work_done(&mut self, interval_end_ms: i64, cpu_usage_mhz: u32) -> Option<i64> {
        let work = self.work.as_mut()?;
        let interval_ms = vcsim::clock::REALTIME_INTERVAL_S * 1000;
        // The model ran the whole interval with the workload, but the process only began at
        // `from_ms`: its work is spread over the part it ran.
        let begin_ms = work.from_ms.max(interval_end_ms - interval_ms);
        if interval_end_ms <= begin_ms || cpu_usage_mhz == 0 {
            return None;
        }
        let span_ms = (interval_end_ms - begin_ms) as f64;
        let done_mhz_s = f64::from(cpu_usage_mhz) * span_ms / 1000.0;
        if done_mhz_s < work.left_mhz_s {
            work.left_mhz_s -= done_mhz_s;
            return None;
        }
        let needed_ms = work.left_mhz_s / f64::from(cpu_usage_mhz) * 1000.0;
        work.left_mhz_s = 0.0;
        Some(begin_ms + (needed_ms.ceil() as i64).min(interval_end_ms - begin_ms))
    }

    /// The work-bound end at `at_ms`: stress-ng's completion line with its run time.
    fn end_work(&mut self, at_ms: i64) -> GuestEffects {
        if let Some(work) = self.work.take() {
            let run_s = (at_ms - work.from_ms).max(0) as f64 / 1000.0;
            let line = format!("{} {run_s:.2}s\n", work.completion_log);
            self.pending.retain(|(at, _, _)| *at <= at_ms);
            self.pending
                .push_back((at_ms, Stream::Stdout, line.into_bytes()));
        }
        self.end(at_ms)
    }

    /// The VM went off under it (stop, kill, a vSphere power-off): its run ends without a
    /// status of its own.
    pub fn power_off(&self, now_ms: i64) {
        self.channel.end_run(None, now_ms);
    }
}

/// Adds `more` to `fx`.
pub fn merge(fx: &mut GuestEffects, more: GuestEffects) {
    fx.extra_config.extend(more.extra_config);
    fx.power_off |= more.power_off;
    if more.workload.is_some() {
        fx.workload = more.workload;
    }
}

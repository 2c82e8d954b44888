//! Emulated container processes: a deterministic, pure interpreter (no I/O, no clocks, no
//! threads, no real processes) of the few commands a containerVM's process runs in our
//! emulation — processes with a beginning and an end on the virtual clock. Output and exit
//! statuses mimic the `busybox` image (BusyBox 1.35/1.36, ash as `sh`); texts were checked
//! against BusyBox 1.35.
//!
//! [`run`] takes a container's argv and a [`Context`] and returns output [`Chunk`]s stamped
//! with virtual ms and how the process [`End`]s; [`Shell`] is `docker run -i [-t] busybox sh`
//! fed stdin as it arrives.
//!
//! # Emulated commands
//! - Applets (as programs, by basename, so `/bin/echo` is `echo`): `echo [-neE]` (escapes
//!   `\a \b \c \e \f \n \r \t \v \\ \0NNN \NNN`), `printf FORMAT [ARG]…`, `true`, `false`,
//!   `sleep N[smhd]…` (fractions allowed; advances the virtual clock, saturating at u64 ms;
//!   `inf` sleeps for ever), `date [-u] [-R] [-I[SPEC]] [-d @S] [+FORMAT]` (UTC),
//!   `env [-i] [-u NAME] [NAME=VALUE]… [PROG ARGS]`, `printenv [NAME]…`, `hostname [-s|-f|-d]`,
//!   `cat [-n] [FILE]…` (files the image declares, [`Context::files`]; stdin is empty),
//!   `pwd`, `id [-ugGn]`, `whoami`, `uname [-amnrspvio]`, `seq [-w] [-s SEP] [FIRST [INC]] LAST`
//!   (at most 100 000 numbers, else `seq: vicbed bounds output`, status 1), and `test` / `[`
//!   (strings, integers, `! -a -o ( )`, file tests on the declared files and the image's
//!   standard directories). Options outside these get BusyBox's `invalid option` and usage.
//! - Shells: `sh`, `ash` and `bash` (all ash): `-c SCRIPT [ARG0 [ARG]…]`, `FILE [ARG]…` (a
//!   declared file), or no operand (stdin is empty: status 0 at once); flags `-e`, `-x`, `-u`
//!   work as `set` ones, `-l`, `-i`, `-s` change nothing, others are refused like unsupported
//!   syntax. Nesting is bounded at 16.
//! - Shell builtins (inside scripts only): `:`, `cd` (any directory exists: it changes `pwd`,
//!   `PWD` and `OLDPWD` only), `exit [N]`, `export [NAME[=VALUE]]…` (no operand: ash's
//!   sorted `export NAME='value'` list), `unset NAME…`, `exec [PROG ARGS]`, `set` (`-e`, `-x`,
//!   `-u`, their `+` forms, `-o pipefail`, `--` and positional operands), `shift [N]`; `echo`,
//!   `printf`, `test`, `[`, `true`, `false` and `pwd` are ash builtins too (their messages
//!   then start with `sh:`). Other ash builtins (`read`, `eval`, `trap`, `.`, `wait`, …) are
//!   refused like unsupported syntax, never taken for workloads.
//!
//! Assumptions: `uname -r` is `4.4.41` (our assumption for the Photon kernel of VIC 1.2) and
//! `uname -v` `#1-photon SMP`; `id` prints `uid=0(root) gid=0(root)` because VIC's tether
//! starts a process without `User` with its own root credentials and no supplementary groups
//! (Docker would add `groups=0(root),10(wheel)` from the image's `/etc/group`); usage texts carry
//! the banner `BusyBox v1.36.1 multi-call binary.` without a build date; `$$` is 1; `env`
//! lists a shell's variables in the order they were made (ash's order is its hash table's),
//! with ash's `SHLVL`, `PWD` and (when missing) `PATH` added.
//!
//! # Emulated shell syntax
//! Lines of simple commands joined by `;`, `&&` and `||` (left associative, `&&`/`||` may end a
//! line), newlines, `#` comments, `'…'`, `"…"` with `\` escapes and `$` expansion inside,
//! backslash escapes and line continuation outside quotes, `$NAME`, `${NAME}`, `${#NAME}`,
//! `${NAME[:]-word}`, `${NAME[:]=word}`, `${NAME[:]+word}`, `${NAME[:]?word}`, `$?`, `$$`,
//! `$#`, `$0`…`$9`, `${10}`, `$@`, `$*`, `"$@"`, `$-`, `$!` (empty), a leading `~`,
//! `NAME=value` (alone: a shell variable; before a command: that command's environment),
//! field splitting of unquoted expansions on blanks. Globbing is not done (`*` stays literal).
//! Like ash, a script is parsed a line at a time, so lines before a syntax error run.
//!
//! Anything else — pipes `|`, redirections, `&`, `(…)`, `$(…)`, `$((…))`, backticks, other
//! `${…}` forms, reserved words (`if`, `for`, `while`, `case`, `{`, `!`, …) — prints
//! `sh: vicbed emulates only ';', '&&' and '||' lists of simple commands: '<construct>' is not
//! emulated` to stderr with status 2, which ends a script (as a syntax error does in ash) and
//! leaves an interactive shell running.
//!
//! # Outside the set
//! A command that is neither a builtin, an applet nor a shell ends the emulation: from then on
//! the process *is* that command, [`End::Workload`] (or [`ShellStep::workload`]), and output
//! before it is kept. A name BusyBox would not find (where it prints `not found`, status 127)
//! cannot be told apart here, so it becomes a workload too: status 127 is never produced.
//!
//! # Bounds
//! One [`run`], or one [`Shell`] step, writes at most 1 MiB (then `vicbed: output bounded at
//! 1 MiB` on stderr, status 1), runs at most 100 000 commands (`vicbed: commands bounded at
//! 100000`) and expands no word past 1 MiB; an interactive input line is at most 64 KiB.

use std::collections::BTreeMap;

mod builtins;
mod commands;
mod cond;
mod date;
mod escape;
mod expand;
mod lex;
mod out;
mod parse;
mod printf;
mod script;
mod seq;
mod shell;

pub use shell::{Shell, ShellStep};

use out::Output;
use script::{Flow, Io};

/// What the process sees.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Environment, in order (Docker's `Env`: `KEY=VALUE` already split).
    pub env: Vec<(String, String)>,
    /// The container's hostname (`hostname` prints it).
    pub hostname: String,
    /// Files the image declares: absolute path → content (`cat` reads only these).
    pub files: BTreeMap<String, Vec<u8>>,
    /// The virtual clock at process start, Unix seconds (`date` prints it plus elapsed sleeps).
    pub start_unix_s: i64,
    /// Working directory (`pwd`), "/" when empty.
    pub workdir: String,
}

/// An output stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (with a terminal: everything).
    Stdout,
    /// Standard error.
    Stderr,
}

/// Output written at `at_ms` virtual milliseconds after the process (or shell) started.
/// Consecutive writes at the same time to the same stream are merged into one chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Virtual ms since the start.
    pub at_ms: u64,
    /// Where it was written.
    pub stream: Stream,
    /// What was written.
    pub bytes: Vec<u8>,
}

/// How a process ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Ended by itself `after_ms` after start with this exit status.
    Exited {
        /// Exit status, 0..=255.
        code: i32,
        /// Virtual ms after start.
        after_ms: u64,
    },
    /// Reached, at `after_ms`, a command outside the emulated set: from then on the process
    /// *is* that command (argv after expansion) and runs as its workload until stopped. The
    /// caller logs that once.
    Workload {
        /// The command, after expansion.
        argv: Vec<String>,
        /// Virtual ms after start.
        after_ms: u64,
    },
}

/// The output and end of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// Output in order.
    pub chunks: Vec<Chunk>,
    /// How it ended.
    pub end: End,
}

/// Runs a container's full argv (entrypoint + cmd) with no stdin. A program outside the set
/// (and an empty argv) is a workload at once, with no output.
pub fn run(argv: &[String], ctx: &Context) -> Run {
    let workload_now = || Run {
        chunks: Vec::new(),
        end: End::Workload {
            argv: argv.to_vec(),
            after_ms: 0,
        },
    };
    match argv.first() {
        Some(program) if is_emulated(program) => {}
        _ => return workload_now(),
    }
    let mut out = Output::new(false);
    let pwd = if ctx.workdir.is_empty() {
        "/"
    } else {
        &ctx.workdir
    };
    let mut io = Io { ctx, out: &mut out };
    let flow = script::exec(argv.to_vec(), ctx.env.clone(), pwd, 0, &mut io);
    let after_ms = out.now_ms();
    let end = match flow {
        Flow::Next(code) | Flow::Exit(code) => End::Exited { code, after_ms },
        Flow::Halted => End::Exited { code: 1, after_ms },
        Flow::Workload(argv) => End::Workload { argv, after_ms },
    };
    Run {
        chunks: out.take_step(),
        end,
    }
}

/// Whether `program` (a path or a bare name) is one of the emulated applets or a shell.
/// Shell builtins (`exit`, `cd`, `export`, …) are not programs: false for them.
pub fn is_emulated(program: &str) -> bool {
    let name = script::basename(program);
    script::is_shell(name) || commands::is_applet(name)
}

#[cfg(test)]
mod tests;

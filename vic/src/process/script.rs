//! The shell's state (variables, positional parameters, `$?`, the working directory) and the
//! execution of parsed lines: the shell builtins, nested shells (`sh -c`, `sh FILE`), the
//! emulated applets, and the hand-over to a workload when a command is outside the set.

use super::Context;
use super::commands::{self, Outcome};
use super::cond;
use super::out::{Halt, Output};
use super::parse::{AndOr, Connector, Line, ParseError, parse};
use super::printf;

/// Deepest nesting of `sh -c` / `sh FILE` (a script file may run itself).
const MAX_SHELL_DEPTH: u32 = 16;
/// ash builtins outside the emulation: refused like unsupported syntax, never workloads.
const NOT_EMULATED_BUILTINS: [&str; 24] = [
    ".", "alias", "bg", "break", "command", "continue", "eval", "fg", "getopts", "hash", "jobs",
    "let", "local", "read", "readonly", "return", "source", "times", "trap", "type", "ulimit",
    "umask", "unalias", "wait",
];
/// The `PATH` ash sets when the environment has none.
const DEFAULT_PATH: &str = "/sbin:/usr/sbin:/bin:/usr/bin";

/// How the shell reads its commands: it decides `$-` and the form of error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// `sh -c SCRIPT`: messages carry "line N" counted from 0, as BusyBox ash does.
    Command,
    /// `sh FILE`.
    File,
    /// Commands read from stdin without a terminal.
    Stdin,
    /// Commands typed at a terminal: errors never end the shell, messages carry no line.
    Interactive,
}

/// What happens after a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// Go on; this is `$?`.
    Next(i32),
    /// The shell exits with this status.
    Exit(i32),
    /// A command outside the emulated set now runs in the foreground, for good.
    Workload(Vec<String>),
    /// A bound was reached (notice written): the process ends with status 1.
    Halted,
}

impl From<Halt> for Flow {
    fn from(_: Halt) -> Flow {
        Flow::Halted
    }
}

/// What a running command reaches of the outside.
pub(super) struct Io<'a> {
    pub ctx: &'a Context,
    pub out: &'a mut Output,
}

/// A shell variable.
#[derive(Clone, Debug)]
pub(super) struct Var {
    pub name: String,
    /// None for `export NAME` of an unset name.
    pub value: Option<String>,
    pub exported: bool,
}

/// One shell process.
pub(super) struct Sh {
    pub vars: Vec<Var>,
    /// `$0`, also the prefix of the shell's own messages.
    pub arg0: String,
    /// The shell's program name: the prefix of its builtins' messages (`sh: invalid number`).
    pub applet: String,
    pub params: Vec<String>,
    pub status: i32,
    pub pwd: String,
    pub mode: Mode,
    /// ash's `commandname` is set (`sh -c SCRIPT ARG0`, `sh FILE`): its own messages then
    /// carry the line too.
    named: bool,
    /// Line of the command being run, for messages from its expansion.
    pub cmd_line: u32,
    /// `set -e`: a failing command ends the shell.
    pub errexit: bool,
    /// `set -x`: commands are traced to stderr.
    pub xtrace: bool,
    /// `set -u`: expanding an unset variable is an error.
    pub nounset: bool,
    depth: u32,
}

impl Sh {
    /// A shell started with `env` in `pwd`; like ash it sets `SHLVL`, `PWD` and a missing `PATH`.
    pub fn new(env: &[(String, String)], pwd: &str, arg0: &str, applet: &str, mode: Mode) -> Sh {
        let mut sh = Sh {
            vars: Vec::new(),
            arg0: arg0.into(),
            applet: applet.into(),
            params: Vec::new(),
            status: 0,
            pwd: pwd.into(),
            mode,
            named: false,
            cmd_line: 1,
            errexit: false,
            xtrace: false,
            nounset: false,
            depth: 0,
        };
        for (k, v) in env {
            sh.export(k, Some(v.clone()));
        }
        let level = sh.get("SHLVL").and_then(|v| v.trim().parse::<i64>().ok());
        let level = level.unwrap_or(0).saturating_add(1).max(1);
        sh.export("SHLVL", Some(level.to_string()));
        if sh.get("PATH").is_none() {
            sh.export("PATH", Some(DEFAULT_PATH.into()));
        }
        sh.export("PWD", Some(pwd.into()));
        sh
    }

    /// The value of a set variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.value.as_deref())
    }

    /// Sets a variable, keeping its export flag.
    pub fn set(&mut self, name: &str, value: String) {
        match self.vars.iter_mut().find(|v| v.name == name) {
            Some(v) => v.value = Some(value),
            None => self.vars.push(Var {
                name: name.into(),
                value: Some(value),
                exported: false,
            }),
        }
    }

    /// Marks a variable exported, setting it when `value` is given.
    pub fn export(&mut self, name: &str, value: Option<String>) {
        match self.vars.iter_mut().find(|v| v.name == name) {
            Some(v) => {
                v.exported = true;
                if value.is_some() {
                    v.value = value;
                }
            }
            None => self.vars.push(Var {
                name: name.into(),
                value,
                exported: true,
            }),
        }
    }

    /// The environment a command gets: exported variables in the order they were made.
    pub fn env(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|v| v.exported)
            .filter_map(|v| Some((v.name.clone(), v.value.clone()?)))
            .collect()
    }

    /// `$-`.
    pub fn flags(&self) -> &'static str {
        match self.mode {
            Mode::Command => "c",
            Mode::File => "",
            Mode::Stdin => "s",
            Mode::Interactive => "smi",
        }
    }

    /// "line 0: " for `line`, or nothing at a terminal (`sh -c` counts lines from 0).
    fn line_part(&self, line: u32) -> String {
        let shown = match self.mode {
            Mode::Interactive => return String::new(),
            Mode::Command => line.saturating_sub(1),
            Mode::File | Mode::Stdin => line,
        };
        format!("line {shown}: ")
    }

    /// "sh: exit: line 0: " — how ash prefixes a builtin's error.
    pub(super) fn builtin_prefix(&self, builtin: &str, line: u32) -> String {
        format!("{}: {builtin}: {}", self.arg0, self.line_part(line))
    }

    /// "sh: " or, when named, "n: line 0: " — how ash prefixes its own errors.
    pub fn prefix(&self, line: u32) -> String {
        if self.named {
            format!("{}: {}", self.arg0, self.line_part(line))
        } else {
            format!("{}: ", self.arg0)
        }
    }

    /// An error that ends a non-interactive shell (syntax errors, special builtins' errors).
    pub fn fatal(&mut self, status: i32) -> Flow {
        self.status = status;
        match self.mode {
            Mode::Interactive => Flow::Next(status),
            _ => Flow::Exit(status),
        }
    }

    /// Runs a whole script text: its complete lines, then reports what stopped parsing.
    pub fn run_text(&mut self, text: &str, io: &mut Io<'_>) -> Flow {
        let (lines, err) = parse(text, 1);
        match self.run_lines(&lines, io) {
            Flow::Next(_) => {}
            other => return other,
        }
        match err {
            Some((e, line)) => self.parse_error(&e, line, io),
            None => Flow::Next(self.status),
        }
    }

    /// Reports a parse error (incomplete texts as ended) with status 2.
    pub fn parse_error(&mut self, e: &ParseError, line: u32, io: &mut Io<'_>) -> Flow {
        let prefix = self.prefix(line);
        let msg = match e {
            ParseError::Unsupported(c) => format!(
                "{prefix}vicbed emulates only ';', '&&' and '||' lists of simple commands: \
                 '{c}' is not emulated"
            ),
            ParseError::Syntax(m) => format!("{prefix}syntax error: {m}"),
            other => format!(
                "{prefix}syntax error: {}",
                other.at_end_message().unwrap_or_default()
            ),
        };
        if io.out.err_line(&msg).is_err() {
            return Flow::Halted;
        }
        self.fatal(2)
    }

    /// Runs parsed lines in order; stops at anything but [`Flow::Next`].
    pub fn run_lines(&mut self, lines: &[Line], io: &mut Io<'_>) -> Flow {
        for list in lines.iter().flatten() {
            match self.run_and_or(list, io) {
                Flow::Next(_) => {}
                other => return other,
            }
        }
        Flow::Next(self.status)
    }

    fn run_and_or(&mut self, list: &AndOr, io: &mut Io<'_>) -> Flow {
        let mut flow = self.run_cmd(&list.first, io);
        // `set -e` looks only at a status the list's last command gave.
        let mut last_ran = true;
        for (connector, cmd) in &list.rest {
            let Flow::Next(status) = flow else {
                return flow;
            };
            last_ran = match connector {
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if last_ran {
                flow = self.run_cmd(cmd, io);
            }
        }
        match flow {
            Flow::Next(status) if status != 0 && last_ran && self.errexit => Flow::Exit(status),
            other => other,
        }
    }

    fn run_cmd(&mut self, cmd: &super::parse::Cmd, io: &mut Io<'_>) -> Flow {
        if io.out.tick().is_err() {
            return Flow::Halted;
        }
        self.cmd_line = cmd.line;
        let mut assigns = Vec::with_capacity(cmd.assigns.len());
        for (name, parts) in &cmd.assigns {
            match self.expand_string(parts, io) {
                Ok(v) => assigns.push((name.clone(), v)),
                Err(flow) => return flow,
            }
        }
        let argv = match self.expand_words(&cmd.words, io) {
            Ok(argv) => argv,
            Err(flow) => return flow,
        };
        if self.xtrace && io.out.err_line(&self.trace(&assigns, &argv)).is_err() {
            return Flow::Halted;
        }
        let flow = if argv.is_empty() {
            for (name, value) in assigns {
                self.set(&name, value);
            }
            Flow::Next(0)
        } else {
            self.dispatch(argv, assigns, cmd.line, io)
        };
        if let Flow::Next(status) = flow {
            self.status = status;
        }
        flow
    }

    fn dispatch(
        &mut self,
        argv: Vec<String>,
        assigns: Vec<(String, String)>,
        line: u32,
        io: &mut Io<'_>,
    ) -> Flow {
        let args = &argv[1..];
        let name = argv[0].as_str();
        if NOT_EMULATED_BUILTINS.contains(&name) {
            let msg = format!(
                "{}vicbed emulates only ';', '&&' and '||' lists of simple commands: \
                 '{name}' is not emulated",
                self.prefix(line)
            );
            if io.out.err_line(&msg).is_err() {
                return Flow::Halted;
            }
            return self.fatal(2);
        }
        if matches!(
            name,
            ":" | "exit" | "export" | "unset" | "exec" | "set" | "shift"
        ) {
            // POSIX special builtins: their prefix assignments stay.
            for (n, v) in assigns {
                self.set(&n, v);
            }
            return match name {
                "exit" => self.exit(args, line, io),
                "export" => self.export_builtin(args, line, io),
                "unset" => self.unset_builtin(args, line, io),
                "set" => self.set_builtin(args, line, io),
                "shift" => self.shift_builtin(args, line, io),
                "exec" if args.is_empty() => Flow::Next(0),
                "exec" => match exec(args.to_vec(), self.env(), &self.pwd, self.depth, io) {
                    Flow::Next(status) => Flow::Exit(status),
                    other => other,
                },
                _ => Flow::Next(0),
            };
        }
        let status = match name {
            "cd" => self.cd(args, io),
            "echo" => commands::echo(args, io.out),
            "printf" => printf::run(Some(&self.applet), args, io.out),
            "true" => Ok(0),
            "false" => Ok(1),
            "pwd" => io.out.out(&format!("{}\n", self.pwd)).map(|()| 0),
            "[" | "test" => {
                let result = if name == "[" {
                    cond::bracket(args, io.ctx, &self.pwd)
                } else {
                    cond::evaluate(args, io.ctx, &self.pwd)
                };
                match result {
                    Ok(status) => Ok(status),
                    Err(msg) => io
                        .out
                        .err_line(&format!("{}: {msg}", self.applet))
                        .map(|()| 2),
                }
            }
            _ => {
                let mut env = self.env();
                for (n, v) in assigns {
                    commands::set_env(&mut env, &n, v);
                }
                return exec(argv, env, &self.pwd, self.depth, io);
            }
        };
        status.map_or(Flow::Halted, Flow::Next)
    }
}

/// The last component of a program path.
pub(super) fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Whether a program name is a shell.
pub(super) fn is_shell(name: &str) -> bool {
    matches!(name, "sh" | "ash" | "bash")
}

/// Runs a program (not a shell builtin): a shell, an emulated applet, or else a workload.
pub(super) fn exec(
    argv: Vec<String>,
    env: Vec<(String, String)>,
    pwd: &str,
    depth: u32,
    io: &mut Io<'_>,
) -> Flow {
    let Some(program) = argv.first() else {
        return Flow::Next(0);
    };
    let name = basename(program);
    if is_shell(name) {
        return shell_program(&argv, &env, pwd, depth, io);
    }
    if !commands::is_applet(name) {
        return Flow::Workload(argv);
    }
    match commands::run(name, &argv[1..], &env, pwd, io) {
        Err(Halt) => Flow::Halted,
        Ok(Outcome::Status(status)) => Flow::Next(status),
        Ok(Outcome::Exec { argv, env }) => exec(argv, env, pwd, depth, io),
    }
}

/// `sh [-c SCRIPT [ARG0 [ARG…]] | FILE [ARG…]]`; with neither it reads stdin, which is empty.
fn shell_program(
    argv: &[String],
    env: &[(String, String)],
    pwd: &str,
    depth: u32,
    io: &mut Io<'_>,
) -> Flow {
    let applet = basename(&argv[0]);
    let fail = |io: &mut Io<'_>, msg: String| match io.out.err_line(&msg) {
        Ok(()) => Flow::Next(2),
        Err(Halt) => Flow::Halted,
    };
    if depth >= MAX_SHELL_DEPTH {
        return fail(io, format!("{applet}: vicbed bounds nested shells at 16"));
    }
    let (mut command, mut errexit, mut xtrace, mut nounset) = (false, false, false, false);
    let mut i = 1;
    while let Some(arg) = argv.get(i).filter(|a| a.starts_with('-') && a.len() > 1) {
        i += 1;
        if arg == "--" {
            break;
        }
        for flag in arg.chars().skip(1) {
            match flag {
                'c' => command = true,
                'e' => errexit = true,
                'x' => xtrace = true,
                'u' => nounset = true,
                // Login, interactive and stdin flags change nothing without a stdin.
                'l' | 'i' | 's' => {}
                other => {
                    return fail(
                        io,
                        format!(
                            "{applet}: vicbed emulates only ';', '&&' and '||' lists of simple \
                             commands: '{applet} -{other}' is not emulated"
                        ),
                    );
                }
            }
        }
    }
    let (text, arg0, params, mode) = if command {
        let Some(script) = argv.get(i) else {
            return fail(io, format!("{applet}: -c requires an argument"));
        };
        let arg0 = argv.get(i + 1).unwrap_or(&argv[0]);
        let params = argv.get(i + 2..).unwrap_or_default();
        (script.clone(), arg0, params, Mode::Command)
    } else if let Some(file) = argv.get(i) {
        let path = commands::resolve_path(pwd, file);
        let Some(content) = io.ctx.files.get(&path) else {
            return fail(
                io,
                format!("{applet}: can't open '{file}': No such file or directory"),
            );
        };
        let text = String::from_utf8_lossy(content).into_owned();
        (text, file, &argv[i + 1..], Mode::File)
    } else {
        return Flow::Next(0);
    };
    let mut sh = Sh::new(env, pwd, arg0, applet, mode);
    sh.named = mode == Mode::File || argv.len() > i + 1;
    (sh.errexit, sh.xtrace, sh.nounset) = (errexit, xtrace, nounset);
    sh.params = params.to_vec();
    sh.depth = depth + 1;
    match sh.run_text(&text, io) {
        Flow::Exit(status) => Flow::Next(status),
        other => other,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in super::super) fn sh_run(script: &str, env: &[(&str, &str)]) -> (String, String, Flow) {
        let ctx = Context::default();
        let mut out = Output::new(false);
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut io = Io {
            ctx: &ctx,
            out: &mut out,
        };
        let argv = vec!["sh".to_string(), "-c".to_string(), script.to_string()];
        let flow = exec(argv, env, "/", 0, &mut io);
        let (mut o, mut e) = (String::new(), String::new());
        for c in out.take_step() {
            let s = String::from_utf8_lossy(&c.bytes).into_owned();
            match c.stream {
                super::super::Stream::Stdout => o.push_str(&s),
                super::super::Stream::Stderr => e.push_str(&s),
            }
        }
        (o, e, flow)
    }

    #[test]
    fn and_or_is_left_associative() {
        let (o, _, f) = sh_run("false && echo a || echo b; true || echo c && echo d", &[]);
        assert_eq!(o, "b\nd\n");
        assert_eq!(f, Flow::Next(0));
    }

    #[test]
    fn assignments_prefix_and_special_builtins() {
        let (o, _, _) = sh_run("X=1; X=5 printenv X; echo $X; Y=2 :; echo $Y", &[]);
        assert_eq!(o, "5\n1\n2\n");
        let (o, _, _) = sh_run("unset HOME; echo [$HOME]; A=1; env", &[("HOME", "/root")]);
        assert_eq!(
            o,
            "[]\nSHLVL=1\nPATH=/sbin:/usr/sbin:/bin:/usr/bin\nPWD=/\n"
        );
    }

    #[test]
    fn nested_shells_and_exec() {
        let (o, _, f) = sh_run(
            "sh -c 'echo $SHLVL; exit 5'; echo $?; exec echo y; echo z",
            &[],
        );
        assert_eq!((o.as_str(), f), ("2\n5\ny\n", Flow::Next(0)));
        let (_, e, f) = sh_run("sh -c", &[]);
        assert_eq!(
            (e.as_str(), f),
            ("sh: -c requires an argument\n", Flow::Next(2))
        );
        let (_, e, _) = sh_run("sh -n -c 'echo'", &[]);
        assert!(e.contains("'sh -n' is not emulated"), "{e}");
        let (_, e, f) = sh_run("sh /nope", &[]);
        assert_eq!(e, "sh: can't open '/nope': No such file or directory\n");
        assert_eq!(f, Flow::Next(2));
    }

    #[test]
    fn exec_of_a_workload_and_env_running_a_command() {
        let (o, _, f) = sh_run("echo a; exec nginx -g 'daemon off;'", &[]);
        assert_eq!(o, "a\n");
        assert_eq!(
            f,
            Flow::Workload(vec!["nginx".into(), "-g".into(), "daemon off;".into()])
        );
        let (o, _, _) = sh_run("env -i A=1 sh -c 'echo $A $SHLVL'", &[]);
        assert_eq!(o, "1 1\n");
    }
}

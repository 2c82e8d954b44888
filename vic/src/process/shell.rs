//! The interactive shell (`docker run -i [-t] busybox sh`), fed stdin as it arrives.
//!
//! Without a terminal it is ash reading a script from stdin: no prompt, no echo, errors carry
//! the line number, and a syntax error or a failing special builtin ends it (status 2). With a
//! terminal it is ash at a prompt with BusyBox's line editing: `PS1` (default `\w \$ `, so
//! `/ # ` for root) and `PS2` (`> `) are printed, input is echoed, `\r` ends a line, output `\n`
//! becomes `\r\n`, Backspace erases, Ctrl-C drops the line (`^C`, status 130) and Ctrl-D on an
//! empty line is end of input. An unfinished command (open quote, trailing `&&`) waits for
//! more lines in both modes.

use super::Context;
use super::out::Output;
use super::parse::parse;
use super::script::{Flow, Io, Mode, Sh};

/// Longest input line (with the lines of an unfinished command): beyond, it is discarded.
const LINE_BOUND_BYTES: usize = 64 * 1024;
/// ash's secondary prompt.
const PS2: &str = "> ";

/// An interactive shell.
pub struct Shell {
    ctx: Context,
    sh: Sh,
    out: Output,
    tty: bool,
    /// The line being typed.
    line: Vec<u8>,
    /// Earlier lines of an unfinished command.
    pending: String,
    /// Line number of `pending`'s first line (ash counts stdin lines from 1).
    pending_first_line: u32,
    next_line_no: u32,
    /// An over-long line is being dropped up to its end.
    discarding: bool,
    exited: Option<i32>,
    workload: Option<Vec<String>>,
}

/// What one call to the shell produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShellStep {
    /// Output, `at_ms` relative to the shell's start.
    pub chunks: Vec<super::Chunk>,
    /// The shell exited (`exit N`, or EOF) with this status.
    pub exited: Option<i32>,
    /// A non-emulated command is now running in the foreground (argv after expansion).
    pub workload: Option<Vec<String>>,
}

impl Shell {
    /// A shell; with `tty`, the prompt is printed and the terminal's line discipline emulated.
    pub fn new(ctx: Context, tty: bool) -> (Shell, ShellStep) {
        let pwd = if ctx.workdir.is_empty() {
            "/".to_string()
        } else {
            ctx.workdir.clone()
        };
        let mode = if tty { Mode::Interactive } else { Mode::Stdin };
        let sh = Sh::new(&ctx.env, &pwd, "sh", "sh", mode);
        let mut shell = Shell {
            ctx,
            sh,
            out: Output::new(tty),
            tty,
            line: Vec::new(),
            pending: String::new(),
            pending_first_line: 1,
            next_line_no: 1,
            discarding: false,
            exited: None,
            workload: None,
        };
        if tty {
            shell.prompt(false);
        }
        let step = shell.step();
        (shell, step)
    }

    /// Bytes from stdin: runs each complete line, buffers a partial one.
    pub fn feed(&mut self, input: &[u8]) -> ShellStep {
        if self.finished() {
            return ShellStep::default();
        }
        for &b in input {
            if self.finished() {
                break;
            }
            if !self.tty {
                if b == b'\n' {
                    self.end_line();
                } else {
                    self.push(b);
                }
                continue;
            }
            match b {
                0x03 => {
                    self.line.clear();
                    self.pending.clear();
                    self.discarding = false;
                    self.out.terminal(b"^C\r\n");
                    self.sh.status = 130;
                    self.prompt(false);
                }
                0x04 if self.line.is_empty() && !self.discarding => self.ctrl_d(),
                // Ctrl-D inside a line deletes under the cursor, which is at the end: nothing.
                0x04 => {}
                0x7f | 0x08 => {
                    if self.backspace() {
                        self.out.terminal(b"\x08\x1b[J");
                    }
                }
                b'\r' | b'\n' => {
                    self.out.terminal(b"\r\n");
                    self.end_line();
                }
                _ => {
                    if self.push(b) {
                        self.out.terminal(&[b]);
                    }
                }
            }
        }
        self.step()
    }

    /// stdin closed: runs a pending partial line, then exits with the last status.
    pub fn eof(&mut self) -> ShellStep {
        if self.finished() {
            return ShellStep::default();
        }
        self.at_eof();
        self.step()
    }

    /// Elapsed virtual ms of the shell (sleeps advance it).
    pub fn elapsed_ms(&self) -> u64 {
        self.out.now_ms()
    }

    fn finished(&self) -> bool {
        self.exited.is_some() || self.workload.is_some()
    }

    fn step(&mut self) -> ShellStep {
        ShellStep {
            chunks: self.out.take_step(),
            exited: self.exited,
            workload: self.workload.clone(),
        }
    }

    /// Adds a typed byte; false when the line is over the bound (it is then being discarded).
    fn push(&mut self, b: u8) -> bool {
        if self.discarding {
            return false;
        }
        if self.line.len() + self.pending.len() >= LINE_BOUND_BYTES {
            self.discarding = true;
            self.line.clear();
            self.pending.clear();
            let msg = "sh: vicbed bounds input lines at 64 KiB: line discarded";
            if self.out.err_line(msg).is_err() {
                self.exited = Some(1);
            }
            self.sh.status = 2;
            return false;
        }
        self.line.push(b);
        true
    }

    /// Erases the last character typed; whether there was one.
    fn backspace(&mut self) -> bool {
        let Some(mut b) = self.line.pop() else {
            return false;
        };
        // Drop a whole UTF-8 character: continuation bytes up to its first byte.
        while b & 0xc0 == 0x80 {
            match self.line.pop() {
                Some(prev) => b = prev,
                None => break,
            }
        }
        true
    }

    fn ctrl_d(&mut self) {
        if self.pending.is_empty() {
            self.out.terminal(b"\r\n");
            self.exited = Some(self.sh.status);
            return;
        }
        // ash reports the unfinished command and prompts again.
        self.report_unfinished();
        if !self.finished() {
            self.prompt(false);
        }
    }

    fn at_eof(&mut self) {
        if self.discarding {
            self.discarding = false;
        } else if !self.line.is_empty() {
            self.end_line();
        }
        if !self.pending.is_empty() && !self.finished() {
            self.report_unfinished();
        }
        if !self.finished() {
            self.exited = Some(self.sh.status);
        }
    }

    /// Reports the unfinished command as a syntax error at the end of input.
    fn report_unfinished(&mut self) {
        let text = std::mem::take(&mut self.pending);
        let (_, err) = parse(&text, self.pending_first_line);
        if let Some((e, line)) = err {
            let mut io = Io {
                ctx: &self.ctx,
                out: &mut self.out,
            };
            let flow = self.sh.parse_error(&e, line, &mut io);
            self.settle(flow);
        }
    }

    /// A line is complete: run it, or keep it when the command is unfinished.
    fn end_line(&mut self) {
        if self.discarding {
            self.discarding = false;
            self.next_line_no += 1;
            if self.tty {
                self.prompt(false);
            }
            return;
        }
        let line = std::mem::take(&mut self.line);
        if self.pending.is_empty() {
            self.pending_first_line = self.next_line_no;
        }
        self.next_line_no += 1;
        self.pending.push_str(&String::from_utf8_lossy(&line));
        self.pending.push('\n');
        let (lines, err) = parse(&self.pending, self.pending_first_line);
        if err.as_ref().is_some_and(|(e, _)| e.is_incomplete()) {
            if self.tty {
                self.prompt(true);
            }
            return;
        }
        self.pending.clear();
        let mut io = Io {
            ctx: &self.ctx,
            out: &mut self.out,
        };
        let mut flow = self.sh.run_lines(&lines, &mut io);
        if let (Flow::Next(_), Some((e, line))) = (&flow, &err) {
            flow = self.sh.parse_error(e, *line, &mut io);
        }
        self.settle(flow);
        if self.tty && !self.finished() {
            self.prompt(false);
        }
    }

    fn settle(&mut self, flow: Flow) {
        match flow {
            Flow::Next(_) => {}
            Flow::Exit(status) => self.exited = Some(status),
            Flow::Workload(argv) => self.workload = Some(argv),
            Flow::Halted => self.exited = Some(1),
        }
    }

    fn prompt(&mut self, continuation: bool) {
        let text = if continuation {
            self.sh.get("PS2").unwrap_or(PS2).to_string()
        } else {
            let ps1 = self.sh.get("PS1").unwrap_or("\\w \\$ ").to_string();
            self.render_ps1(&ps1)
        };
        self.out.terminal(text.replace('\n', "\r\n").as_bytes());
    }

    /// BusyBox's prompt escapes: `\w` (with `~` for `$HOME`), `\W`, `\h`, `\H`, `\u`, `\$`,
    /// `\n`, `\e`, `\\`, and `\[`/`\]` (dropped).
    fn render_ps1(&self, ps1: &str) -> String {
        let pwd = self.sh.pwd.as_str();
        let home = self.sh.get("HOME").unwrap_or("");
        let mut s = String::new();
        let mut chars = ps1.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                s.push(c);
                continue;
            }
            match chars.next() {
                Some('w') => match pwd.strip_prefix(home) {
                    Some(rest) if home.len() > 1 && (rest.is_empty() || rest.starts_with('/')) => {
                        s.push('~');
                        s.push_str(rest);
                    }
                    _ => s.push_str(pwd),
                },
                Some('W') => s.push_str(pwd.rsplit('/').next().unwrap_or(pwd)),
                Some('h') => s.push_str(self.ctx.hostname.split('.').next().unwrap_or("")),
                Some('H') => s.push_str(&self.ctx.hostname),
                Some('u') => s.push_str("root"),
                Some('$') => s.push('#'),
                Some('n') => s.push('\n'),
                Some('e') => s.push('\x1b'),
                Some('\\') => s.push('\\'),
                Some('[' | ']') => {}
                Some(other) => {
                    s.push('\\');
                    s.push(other);
                }
                None => s.push('\\'),
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Chunk, Stream};
    use super::*;

    fn text(chunks: &[Chunk]) -> String {
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&c.bytes))
            .collect()
    }

    fn ctx() -> Context {
        Context {
            env: vec![("HOME".into(), "/root".into())],
            hostname: "c1".into(),
            ..Context::default()
        }
    }

    #[test]
    fn tty_prompt_echo_crlf_and_exit() {
        let (mut sh, first) = Shell::new(ctx(), true);
        assert_eq!(text(&first.chunks), "/ # ");
        let s = sh.feed(b"ec");
        assert_eq!(text(&s.chunks), "ec");
        let s = sh.feed(b"ho hi\r");
        assert_eq!(text(&s.chunks), "ho hi\r\nhi\r\n/ # ");
        assert!(s.chunks.iter().all(|c| c.stream == Stream::Stdout));
        let s = sh.feed(b"cd\rexit 4\r");
        assert_eq!(text(&s.chunks), "cd\r\n~ # exit 4\r\n");
        assert_eq!((s.exited, s.workload), (Some(4), None));
        assert_eq!(sh.feed(b"echo late\r"), ShellStep::default());
        assert_eq!(sh.eof(), ShellStep::default());
    }

    #[test]
    fn tty_ctrl_c_backspace_continuation_and_ctrl_d() {
        let (mut sh, _) = Shell::new(ctx(), true);
        let s = sh.feed(b"abc\x03echo $?\r");
        assert_eq!(text(&s.chunks), "abc^C\r\n/ # echo $?\r\n130\r\n/ # ");
        let s = sh.feed(b"echo xz\x7f\x7fy\r");
        assert_eq!(text(&s.chunks), "echo xz\x08\x1b[J\x08\x1b[Jy\r\ny\r\n/ # ");
        assert_eq!(sh.elapsed_ms(), 0);
        let s = sh.feed(b"echo \"a\rb\"\r");
        assert_eq!(text(&s.chunks), "echo \"a\r\n> b\"\r\na\r\nb\r\n/ # ");
        let s = sh.feed(b"echo \"open\r\x04");
        assert!(
            text(&s.chunks).ends_with("> sh: syntax error: unterminated quoted string\r\n/ # ")
        );
        let s = sh.feed(b"false\r\x04");
        assert_eq!(text(&s.chunks), "false\r\n/ # \r\n");
        assert_eq!(s.exited, Some(1));
    }

    #[test]
    fn tty_errors_keep_the_shell_running() {
        let (mut sh, _) = Shell::new(ctx(), true);
        let s = sh.feed(b"exit x\recho a | cat\recho $?\r");
        assert_eq!(
            text(&s.chunks),
            "exit x\r\nsh: exit: Illegal number: x\r\n/ # echo a | cat\r\nsh: vicbed emulates \
             only ';', '&&' and '||' lists of simple commands: '|' is not emulated\r\n/ # \
             echo $?\r\n2\r\n/ # "
        );
        assert_eq!(s.exited, None);
    }

    #[test]
    fn stdin_lines_across_feeds_and_eof_status() {
        let (mut sh, first) = Shell::new(ctx(), false);
        assert!(first.chunks.is_empty());
        assert!(sh.feed(b"echo a; sle").chunks.is_empty());
        let s = sh.feed(b"ep 2\necho b\nfalse");
        assert_eq!(text(&s.chunks), "a\nb\n");
        assert_eq!((s.chunks[0].at_ms, s.chunks[1].at_ms), (0, 2000));
        assert_eq!(sh.elapsed_ms(), 2000);
        let s = sh.eof();
        assert_eq!((s.chunks.len(), s.exited), (0, Some(1)));
    }

    #[test]
    fn stdin_errors_end_the_shell_with_line_numbers() {
        let (mut sh, _) = Shell::new(ctx(), false);
        let s = sh.feed(b"echo hi\nexit x\necho after\n");
        assert_eq!(text(&s.chunks), "hi\nsh: exit: line 2: Illegal number: x\n");
        assert_eq!(s.exited, Some(2));
        let (mut sh, _) = Shell::new(ctx(), false);
        sh.feed(b"echo \"a");
        let s = sh.eof();
        assert_eq!(
            text(&s.chunks),
            "sh: syntax error: unterminated quoted string\n"
        );
        assert_eq!(s.exited, Some(2));
    }

    #[test]
    fn workload_takes_over() {
        let (mut sh, _) = Shell::new(ctx(), true);
        let s = sh.feed(b"echo $((1))\r");
        assert_eq!(s.workload, None, "arithmetic is refused, not run");
        let (mut sh, _) = Shell::new(ctx(), false);
        let s = sh.feed(b"echo pre\nP=7000; redis-server --port $P\necho never\n");
        assert_eq!(text(&s.chunks), "pre\n");
        assert_eq!(
            s.workload,
            Some(vec!["redis-server".into(), "--port".into(), "7000".into()])
        );
        assert_eq!(sh.feed(b"echo x\n"), ShellStep::default());
    }

    #[test]
    fn overlong_lines_are_discarded() {
        let (mut sh, _) = Shell::new(ctx(), false);
        let long = vec![b'x'; LINE_BOUND_BYTES + 10];
        let s = sh.feed(&long);
        assert_eq!(
            text(&s.chunks),
            "sh: vicbed bounds input lines at 64 KiB: line discarded\n"
        );
        let s = sh.feed(b"tail\necho ok\n");
        assert_eq!(text(&s.chunks), "ok\n");
    }
}

//! A RUN step's process: the emulated BusyBox set runs for real through
//! [`crate::process::run`]; a program outside it ([`crate::process::End::Workload`]) is
//! handed to the [`super::packages`] model.
//!
//! A shell-form script that reaches such a program (`apt-get update && apt-get upgrade -y`)
//! is re-run as its top-level list: it is split at `&&`, `||`, `;` and newlines outside
//! quotes, and each part runs on its own with the list's short-circuit rules. The parts do
//! not share shell state (`cd`, `export`, shell variables) — an approximation that only
//! matters for scripts mixing such state with package managers.

use crate::process::{self, Context, End, Stream};

use super::packages::{self, Line, PkgState};

/// What a RUN's process did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOutcome {
    /// Output in order: (is stderr, text).
    pub output: Vec<(bool, String)>,
    /// Exit status.
    pub code: i32,
    /// CPU work (modelled programs only; the emulated set is free).
    pub cpu_mhz_s: u64,
    /// Virtual sleep of emulated commands.
    pub sleep_ms: u64,
    /// Bytes added to the layer.
    pub added_bytes: u64,
    /// Notes for the caller's log.
    pub notes: Vec<String>,
}

impl RunOutcome {
    fn take_chunks(&mut self, run: &process::Run) {
        for c in &run.chunks {
            let text = String::from_utf8_lossy(&c.bytes).into_owned();
            self.output.push((c.stream == Stream::Stderr, text));
        }
    }

    fn take_model(&mut self, o: packages::Outcome) {
        for l in o.lines {
            match l {
                Line::Out(t) => self.output.push((false, t + "\n")),
                Line::Err(t) => self.output.push((true, t + "\n")),
            }
        }
        self.code = o.code;
        self.cpu_mhz_s += o.cpu_mhz_s;
        self.added_bytes += o.added_bytes;
        self.notes.extend(o.note);
    }
}

/// Runs `argv` (already `/bin/sh -c …` for the shell form).
pub fn run_step(argv: &[String], ctx: &Context, pkg: &mut PkgState) -> RunOutcome {
    let mut out = RunOutcome::default();
    let first = process::run(argv, ctx);
    match first.end.clone() {
        End::Exited { code, after_ms } => {
            out.take_chunks(&first);
            out.code = code;
            out.sleep_ms = after_ms;
        }
        End::Workload { argv: reached, .. } => {
            let script = match argv {
                [sh, flag, script, ..] if process::is_emulated(sh) && flag == "-c" => {
                    Some(script.as_str())
                }
                _ => None,
            };
            match script {
                Some(script) => run_list(script, ctx, pkg, &mut out),
                None => {
                    out.take_chunks(&first);
                    out.take_model(packages::simulate(&reached, pkg));
                }
            }
        }
    }
    out
}

/// How a list part is joined to the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    Always,
    And,
    Or,
}

fn run_list(script: &str, ctx: &Context, pkg: &mut PkgState, out: &mut RunOutcome) {
    let mut status = 0;
    for (join, part) in split_list(script) {
        let go = match join {
            Join::Always => true,
            Join::And => status == 0,
            Join::Or => status != 0,
        };
        if !go {
            continue;
        }
        let argv = vec!["/bin/sh".to_owned(), "-c".to_owned(), part];
        let r = process::run(&argv, ctx);
        out.take_chunks(&r);
        match r.end {
            End::Exited { code, after_ms } => {
                out.sleep_ms = out.sleep_ms.saturating_add(after_ms);
                status = code;
            }
            End::Workload {
                argv: reached,
                after_ms,
            } => {
                out.sleep_ms = out.sleep_ms.saturating_add(after_ms);
                let before = out.code;
                out.take_model(packages::simulate(&reached, pkg));
                status = out.code;
                out.code = before;
            }
        }
    }
    out.code = status;
}

/// Splits a script at top-level `&&`, `||`, `;` and newlines (quotes and `\` respected).
fn split_list(script: &str) -> Vec<(Join, String)> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut join = Join::Always;
    let mut quote: Option<char> = None;
    let mut chars = script.chars().peekable();
    let push = |join: Join, cur: &mut String, parts: &mut Vec<(Join, String)>| {
        let text = cur.trim().to_owned();
        if !text.is_empty() {
            parts.push((join, text));
        }
        cur.clear();
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some('"'), '\\') | (None, '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '&') if chars.peek() == Some(&'&') => {
                chars.next();
                push(join, &mut cur, &mut parts);
                join = Join::And;
            }
            (None, '|') if chars.peek() == Some(&'|') => {
                chars.next();
                push(join, &mut cur, &mut parts);
                join = Join::Or;
            }
            (None, ';' | '\n') => {
                push(join, &mut cur, &mut parts);
                join = Join::Always;
            }
            (None, c) => cur.push(c),
        }
    }
    push(join, &mut cur, &mut parts);
    parts
}

#[cfg(test)]
mod tests {
    use super::super::packages::Family;
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn splits_lists_outside_quotes() {
        let parts = split_list("a && b || 'c;d' ; e \"&&\"\nf");
        assert_eq!(
            parts,
            [
                (Join::Always, "a".to_owned()),
                (Join::And, "b".to_owned()),
                (Join::Or, "'c;d'".to_owned()),
                (Join::Always, "e \"&&\"".to_owned()),
                (Join::Always, "f".to_owned()),
            ]
        );
    }

    #[test]
    fn emulated_scripts_run_whole() {
        let mut pkg = PkgState::new(Family::Debian);
        let o = run_step(
            &sh("echo hi; sleep 2; exit 3"),
            &Context::default(),
            &mut pkg,
        );
        assert_eq!(o.output, [(false, "hi\n".to_owned())]);
        assert_eq!((o.code, o.sleep_ms, o.cpu_mhz_s), (3, 2000, 0));
    }

    #[test]
    fn package_managers_in_lists() {
        let mut pkg = PkgState::new(Family::Debian);
        let o = run_step(
            &sh("echo start && apt-get update && apt-get upgrade -y && echo done"),
            &Context::default(),
            &mut pkg,
        );
        assert_eq!(o.code, 0);
        assert_eq!(o.cpu_mhz_s, 3000 + 3300);
        assert_eq!(o.output.first(), Some(&(false, "start\n".to_owned())));
        assert_eq!(o.output.last(), Some(&(false, "done\n".to_owned())));
        let o = run_step(
            &sh("apt-get install -y nope || echo fallback"),
            &Context::default(),
            &mut PkgState::new(Family::Debian),
        );
        assert_eq!(o.code, 0);
        assert_eq!(o.output.last(), Some(&(false, "fallback\n".to_owned())));
        let exec = vec!["apt-get".to_owned(), "update".to_owned()];
        let o = run_step(&exec, &Context::default(), &mut pkg);
        assert_eq!((o.code, o.cpu_mhz_s), (0, 3000));
    }
}

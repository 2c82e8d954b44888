//! The shell's own builtins that change its state: `exit`, `export`, `unset`, `cd`, `set`
//! (`-e`, `-x`, `-u`, `-o pipefail`, `--`) and `shift`, with ash's texts
//! (`sh: exit: line 0: Illegal number: x`, `export NAME='value'` lists, `+ cmd` traces).

use super::commands;
use super::out::Halt;
use super::parse::is_name;
use super::script::{Flow, Io, Sh, Var};

impl Sh {
    /// `set [-eux] [+eux] [-o OPTION] [-- ARG…]`; without operands, the variables as
    /// `NAME='value'` (ash's own variables such as `IFS` and `PS1` are not listed).
    pub(super) fn set_builtin(&mut self, args: &[String], line: u32, io: &mut Io<'_>) -> Flow {
        if args.is_empty() {
            let mut vars: Vec<&Var> = self.vars.iter().filter(|v| v.value.is_some()).collect();
            vars.sort_by(|a, b| a.name.cmp(&b.name));
            let text: String = vars
                .iter()
                .map(|v| {
                    format!(
                        "{}={}\n",
                        v.name,
                        single_quote(v.value.as_deref().unwrap_or(""))
                    )
                })
                .collect();
            return io.out.out(&text).map_or(Flow::Halted, |()| Flow::Next(0));
        }
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            i += 1;
            if arg == "--" || arg == "-" {
                self.params = args[i..].to_vec();
                break;
            }
            let on = match arg.chars().next() {
                Some('-') => true,
                Some('+') => false,
                _ => {
                    self.params = args[i - 1..].to_vec();
                    break;
                }
            };
            for flag in arg.chars().skip(1) {
                match flag {
                    'e' => self.errexit = on,
                    'x' => self.xtrace = on,
                    'u' => self.nounset = on,
                    // Without pipes, pipefail changes nothing.
                    'o' if args.get(i).is_some_and(|o| o == "pipefail") => i += 1,
                    other => {
                        let shown = if other == 'o' {
                            format!("set -o {}", args.get(i).map_or("", String::as_str))
                        } else {
                            format!("set {}{other}", if on { '-' } else { '+' })
                        };
                        let msg = format!(
                            "{}vicbed emulates only ';', '&&' and '||' lists of simple \
                             commands: '{shown}' is not emulated",
                            self.prefix(line)
                        );
                        if io.out.err_line(&msg).is_err() {
                            return Flow::Halted;
                        }
                        return self.fatal(2);
                    }
                }
            }
        }
        Flow::Next(0)
    }

    /// `shift [N]`: status 1, nothing shifted, when fewer than N parameters remain.
    pub(super) fn shift_builtin(&mut self, args: &[String], line: u32, io: &mut Io<'_>) -> Flow {
        let n = match args.first() {
            None => 1,
            Some(a) => match a.parse::<usize>() {
                Ok(n) if a.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    let msg = format!("{}Illegal number: {a}", self.builtin_prefix("shift", line));
                    if io.out.err_line(&msg).is_err() {
                        return Flow::Halted;
                    }
                    return self.fatal(2);
                }
            },
        };
        if n > self.params.len() {
            return Flow::Next(1);
        }
        self.params.drain(..n);
        Flow::Next(0)
    }

    /// The `set -x` line of a command: `PS4` (`+ `), assignments and words, quoted as ash does.
    pub(super) fn trace(&self, assigns: &[(String, String)], argv: &[String]) -> String {
        let mut line = self.get("PS4").unwrap_or("+ ").to_string();
        let words = assigns
            .iter()
            .map(|(n, v)| format!("{n}={}", trace_quote(v)))
            .chain(argv.iter().map(|w| trace_quote(w)));
        line.push_str(&words.collect::<Vec<_>>().join(" "));
        line
    }

    pub(super) fn exit(&mut self, args: &[String], line: u32, io: &mut Io<'_>) -> Flow {
        let Some(arg) = args.first() else {
            return Flow::Exit(self.status);
        };
        let number = arg.bytes().all(|b| b.is_ascii_digit()) && !arg.is_empty();
        match arg.parse::<u64>() {
            Ok(n) if number => Flow::Exit((n & 0xff) as i32),
            _ => {
                let msg = format!("{}Illegal number: {arg}", self.builtin_prefix("exit", line));
                if io.out.err_line(&msg).is_err() {
                    return Flow::Halted;
                }
                self.fatal(2)
            }
        }
    }

    pub(super) fn export_builtin(&mut self, args: &[String], line: u32, io: &mut Io<'_>) -> Flow {
        let names: Vec<&String> = args.iter().filter(|a| a.as_str() != "-p").collect();
        if names.is_empty() {
            let mut listed: Vec<&Var> = self.vars.iter().filter(|v| v.exported).collect();
            listed.sort_by(|a, b| a.name.cmp(&b.name));
            let mut text = String::new();
            for v in listed {
                match &v.value {
                    Some(value) => {
                        text.push_str(&format!("export {}={}\n", v.name, single_quote(value)))
                    }
                    None => text.push_str(&format!("export {}\n", v.name)),
                }
            }
            return io.out.out(&text).map_or(Flow::Halted, |()| Flow::Next(0));
        }
        for arg in names {
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (arg.as_str(), None),
            };
            if !is_name(name) {
                return self.bad_name("export", name, line, io);
            }
            self.export(name, value);
        }
        Flow::Next(0)
    }

    pub(super) fn unset_builtin(&mut self, args: &[String], line: u32, io: &mut Io<'_>) -> Flow {
        for name in args.iter().filter(|a| !a.starts_with('-')) {
            if !is_name(name) {
                return self.bad_name("unset", name, line, io);
            }
            self.vars.retain(|v| &v.name != name);
        }
        Flow::Next(0)
    }

    fn bad_name(&mut self, builtin: &str, name: &str, line: u32, io: &mut Io<'_>) -> Flow {
        let msg = format!(
            "{}{name}: bad variable name",
            self.builtin_prefix(builtin, line)
        );
        if io.out.err_line(&msg).is_err() {
            return Flow::Halted;
        }
        self.fatal(2)
    }

    /// `cd`: the emulation has no directory tree, so any directory exists; only `pwd`, `PWD`
    /// and `OLDPWD` change.
    pub(super) fn cd(&mut self, args: &[String], io: &mut Io<'_>) -> Result<i32, Halt> {
        let target = match args
            .iter()
            .find(|a| !a.starts_with('-') || a.as_str() == "-")
        {
            None => self
                .get("HOME")
                .filter(|h| !h.is_empty())
                .unwrap_or("/")
                .to_string(),
            Some(a) if a == "-" => {
                let old = self.get("OLDPWD").unwrap_or(&self.pwd).to_string();
                io.out.out(&format!("{old}\n"))?;
                old
            }
            Some(a) => a.clone(),
        };
        let new = commands::resolve_path(&self.pwd, &target);
        let old = std::mem::replace(&mut self.pwd, new.clone());
        self.export("OLDPWD", Some(old));
        self.export("PWD", Some(new));
        Ok(0)
    }
}

/// `'value'` with embedded quotes as `'"'"'`, as ash's `export` lists values.
fn single_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\"'\"'"))
}

/// ash quotes a traced word unless every character is one of `+,-./0-9:@A-Z]^_a-z`.
fn trace_quote(word: &str) -> String {
    let plain = word.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'@')
            || matches!(b, b']' | b'^' | b'_')
    });
    if plain {
        word.to_string()
    } else {
        single_quote(word)
    }
}

#[cfg(test)]
mod tests {
    use super::super::script::Flow;
    use super::super::script::tests::sh_run;

    #[test]
    fn shell_sets_shlvl_pwd_path_and_export_lists_sorted() {
        let (o, _, _) = sh_run("export B A=\"it's\"; export", &[("SHLVL", "2")]);
        assert_eq!(
            o,
            "export A='it'\"'\"'s'\nexport B\nexport PATH='/sbin:/usr/sbin:/bin:/usr/bin'\n\
             export PWD='/'\nexport SHLVL='3'\n"
        );
    }

    #[test]
    fn builtin_errors_end_the_script_with_ash_texts() {
        let (o, e, f) = sh_run("echo a\nexit x\necho no", &[]);
        assert_eq!((o.as_str(), f), ("a\n", Flow::Next(2)));
        assert_eq!(e, "sh: exit: line 1: Illegal number: x\n");
        let (_, e, f) = sh_run("export 1a=2; echo no", &[]);
        assert_eq!(e, "sh: export: line 0: 1a: bad variable name\n");
        assert_eq!(f, Flow::Next(2));
        let (o, _, f) = sh_run("exit 300", &[]);
        assert_eq!((o.as_str(), f), ("", Flow::Next(44)));
    }

    #[test]
    fn cd_changes_pwd_and_oldpwd() {
        let (o, _, _) = sh_run(
            "cd /a/b/../c/./; pwd; cd rel; pwd; cd -; cd; pwd; echo $OLDPWD",
            &[("HOME", "/root")],
        );
        assert_eq!(o, "/a/c\n/a/c/rel\n/a/c\n/root\n/a/c\n");
    }

    #[test]
    fn set_shift_errexit_and_xtrace() {
        let (o, _, f) = sh_run("set -- a b; echo $#; shift; echo $1; shift 3; echo $?", &[]);
        assert_eq!((o.as_str(), f), ("2\nb\n1\n", Flow::Next(0)));
        let (o, _, f) = sh_run(
            "set -e; false || true; echo ok; true && false; echo no",
            &[],
        );
        assert_eq!((o.as_str(), f), ("ok\n", Flow::Next(1)));
        let (o, _, f) = sh_run("set -e; false && true; echo reached", &[]);
        assert_eq!((o.as_str(), f), ("reached\n", Flow::Next(0)));
        let (o, e, _) = sh_run("set -x; echo a 'b c' '' a=b /x; X=1 Y='a b'; Z=2 true", &[]);
        assert_eq!(o, "a b c  a=b /x\n");
        assert_eq!(e, "+ echo a 'b c'  'a=b' /x\n+ X=1 Y='a b'\n+ Z=2 true\n");
        let (_, e, f) = sh_run("set -u; echo $NOPE; echo after", &[]);
        assert_eq!(
            (e.as_str(), f),
            ("sh: NOPE: parameter not set\n", Flow::Next(2))
        );
        let (o, _, _) = sh_run("set -o pipefail; set -e +e; false; echo on", &[]);
        assert_eq!(o, "on\n");
        let (_, e, f) = sh_run("set -f", &[]);
        assert!(e.contains("'set -f' is not emulated"), "{e}");
        assert_eq!(f, Flow::Next(2));
        let (_, e, f) = sh_run("read X; echo no", &[]);
        assert!(e.contains("'read' is not emulated"), "{e}");
        assert_eq!(f, Flow::Next(2));
        let (o, _, f) = sh_run("sh -ec 'false; echo no'; echo $?", &[]);
        assert_eq!((o.as_str(), f), ("1\n", Flow::Next(0)));
    }

    #[test]
    fn test_builtin() {
        let (o, e, _) = sh_run(
            "[ -n \"$HOME\" ] && echo y; test 1 -eq x; echo $?; [ a",
            &[("HOME", "/root")],
        );
        assert_eq!(o, "y\n2\n");
        assert_eq!(e, "sh: x: bad number\nsh: missing ]\n");
    }
}

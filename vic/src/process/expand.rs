//! Word expansion: parameters, `~`, quote removal and field splitting of unquoted expansions
//! on blanks (ash's default `IFS`; a changed `IFS` is not honoured). Globbing is not done:
//! `*` and `?` stay literal.

use super::lex::{OpKind, Param, ParamOp, Part, Word};
use super::out::WORD_BOUND_BYTES;
use super::script::{Flow, Io, Sh};

/// The fields of one command being built.
#[derive(Default)]
struct Fields {
    done: Vec<String>,
    cur: String,
    /// The current field exists even if empty (quotes were seen).
    started: bool,
    bytes: usize,
}

impl Fields {
    fn quoted(&mut self, s: &str) {
        self.cur.push_str(s);
        self.bytes += s.len();
        self.started = true;
    }

    fn literal(&mut self, s: &str) {
        if !s.is_empty() {
            self.quoted(s);
        }
    }

    /// An unquoted expansion: blanks separate fields.
    fn split(&mut self, s: &str) {
        for c in s.chars() {
            if matches!(c, ' ' | '\t' | '\n') {
                self.end_field();
            } else {
                self.cur.push(c);
                self.bytes += c.len_utf8();
                self.started = true;
            }
        }
    }

    /// `"$@"`: one field per parameter, the first and last joined to the text around them.
    fn each(&mut self, params: &[String]) {
        for (i, p) in params.iter().enumerate() {
            if i > 0 {
                self.done.push(std::mem::take(&mut self.cur));
            }
            self.quoted(p);
        }
    }

    fn end_field(&mut self) {
        if self.started {
            self.done.push(std::mem::take(&mut self.cur));
            self.started = false;
        }
    }
}

impl Sh {
    /// A command's words as fields.
    pub(super) fn expand_words(
        &mut self,
        words: &[Word],
        io: &mut Io<'_>,
    ) -> Result<Vec<String>, Flow> {
        let mut f = Fields::default();
        for w in words {
            self.expand_parts(&w.parts, &mut f, true, io)?;
            f.end_field();
        }
        Ok(f.done)
    }

    /// A word as one string, without field splitting (assignment values).
    pub(super) fn expand_string(
        &mut self,
        parts: &[Part],
        io: &mut Io<'_>,
    ) -> Result<String, Flow> {
        let mut f = Fields::default();
        self.expand_parts(parts, &mut f, false, io)?;
        f.done.push(f.cur);
        Ok(f.done.join(" "))
    }

    fn expand_parts(
        &mut self,
        parts: &[Part],
        f: &mut Fields,
        split: bool,
        io: &mut Io<'_>,
    ) -> Result<(), Flow> {
        for part in parts {
            match part {
                Part::Lit { text, quoted } => match (*quoted, split) {
                    (true, _) => f.quoted(text),
                    // Blanks end words, so only a `${N:-a b}` word has them here: they
                    // split as the expansion's result does.
                    (false, true) => f.split(text),
                    (false, false) => f.literal(text),
                },
                Part::Tilde => {
                    let home = self.get("HOME").unwrap_or("~").to_string();
                    f.literal(&home);
                }
                Part::Length { param, .. } => {
                    let n = self.value(param).unwrap_or_default().chars().count();
                    f.literal(&n.to_string());
                }
                Part::Param { param, quoted, op } => {
                    self.expand_param(param, *quoted, op.as_ref(), f, split, io)?;
                }
            }
            if f.bytes > WORD_BOUND_BYTES {
                return Err(io.out.halt("vicbed: expansion bounded at 1 MiB").into());
            }
        }
        Ok(())
    }

    fn expand_param(
        &mut self,
        param: &Param,
        quoted: bool,
        op: Option<&ParamOp>,
        f: &mut Fields,
        split: bool,
        io: &mut Io<'_>,
    ) -> Result<(), Flow> {
        if op.is_none() && matches!(param, Param::At | Param::Star) {
            let params = self.params.clone();
            match (param, quoted && split) {
                (Param::At, true) => f.each(&params),
                (_, true) => f.quoted(&params.join(" ")),
                _ if split => f.split(&params.join(" ")),
                _ => f.literal(&params.join(" ")),
            }
            return Ok(());
        }
        let value = self.value(param);
        let value = match op {
            None if value.is_none()
                && self.nounset
                && matches!(param, Param::Name(_) | Param::Positional(1..)) =>
            {
                let prefix = self.prefix(self.cmd_line);
                io.out
                    .err_line(&format!("{prefix}{}: parameter not set", param_name(param)))?;
                return Err(self.fatal(2));
            }
            None => value.unwrap_or_default(),
            Some(op) => {
                let set = value.as_ref().is_some_and(|v| !(op.colon && v.is_empty()));
                match op.kind {
                    OpKind::Default | OpKind::Alternative => {
                        let use_word = (op.kind == OpKind::Default) != set;
                        if use_word {
                            return self.expand_parts(&op.word, f, split, io);
                        }
                        if op.kind == OpKind::Alternative {
                            return Ok(());
                        }
                        value.unwrap_or_default()
                    }
                    OpKind::Assign if set => value.unwrap_or_default(),
                    OpKind::Assign => {
                        let word = self.expand_string(&op.word, io)?;
                        if let Param::Name(name) = param {
                            self.set(name, word.clone());
                        }
                        word
                    }
                    OpKind::Error if set => value.unwrap_or_default(),
                    OpKind::Error => {
                        let mut msg = self.expand_string(&op.word, io)?;
                        if msg.is_empty() {
                            msg = if op.colon {
                                "parameter null or not set".into()
                            } else {
                                "parameter not set".into()
                            };
                        }
                        let prefix = self.prefix(self.cmd_line);
                        let line = format!("{prefix}{}: {msg}", param_name(param));
                        io.out.err_line(&line)?;
                        return Err(self.fatal(2));
                    }
                }
            }
        };
        if quoted {
            f.quoted(&value);
        } else if split {
            f.split(&value);
        } else {
            f.literal(&value);
        }
        Ok(())
    }

    /// A parameter's value, None when unset.
    fn value(&self, param: &Param) -> Option<String> {
        match param {
            Param::Name(n) => self.get(n).map(str::to_string),
            Param::Positional(0) => Some(self.arg0.clone()),
            Param::Positional(k) => self.params.get(k - 1).cloned(),
            Param::Status => Some(self.status.to_string()),
            // The process is its container's first: `$$` is 1.
            Param::Pid => Some("1".into()),
            Param::Count => Some(self.params.len().to_string()),
            Param::At | Param::Star => Some(self.params.join(" ")),
            Param::Bang => None,
            Param::Flags => Some(self.flags().into()),
        }
    }
}

fn param_name(param: &Param) -> String {
    match param {
        Param::Name(n) => n.clone(),
        Param::Positional(k) => k.to_string(),
        Param::Status => "?".into(),
        Param::Pid => "$".into(),
        Param::Count => "#".into(),
        Param::At => "@".into(),
        Param::Star => "*".into(),
        Param::Bang => "!".into(),
        Param::Flags => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Context;
    use super::super::out::Output;
    use super::super::parse::parse;
    use super::super::script::Mode;
    use super::*;

    /// The fields of the single command in `line`.
    fn fields(line: &str, params: &[&str]) -> Vec<String> {
        let ctx = Context::default();
        let mut out = Output::new(false);
        let mut io = Io {
            ctx: &ctx,
            out: &mut out,
        };
        let env = vec![("HOME".to_string(), "/root".to_string())];
        let mut sh = Sh::new(&env, "/", "sh", "sh", Mode::Command);
        sh.params = params.iter().map(|s| s.to_string()).collect();
        sh.set("X", "a  b".into());
        sh.set("E", String::new());
        let (lines, err) = parse(line, 1);
        assert_eq!(err, None);
        sh.expand_words(&lines[0][0].first.words, &mut io).unwrap()
    }

    #[test]
    fn splitting_only_unquoted_expansions() {
        assert_eq!(
            fields("w $X \"$X\" $E \"\" x$E'y'", &[]),
            ["w", "a", "b", "a  b", "", "xy"]
        );
        assert_eq!(
            fields("'$X' \"\\$X\" ~ ~/d \"~\"", &[]),
            ["$X", "$X", "/root", "/root/d", "~"]
        );
    }

    #[test]
    fn positional_parameters() {
        let p = ["a", "b c", ""];
        assert_eq!(fields("$# $0 $1 ${2}", &p), ["3", "sh", "a", "b", "c"]);
        assert_eq!(fields("\"$@\"", &p), ["a", "b c", ""]);
        assert_eq!(fields("x\"$@\"y", &p), ["xa", "b c", "y"]);
        assert_eq!(fields("$@", &p), ["a", "b", "c"]);
        assert_eq!(fields("\"$*\"", &p), ["a b c "]);
        assert_eq!(fields("\"$@\"", &[]), Vec::<String>::new());
        assert_eq!(fields("$$ $? $9", &[]), ["1", "0"]);
    }

    #[test]
    fn operators() {
        assert_eq!(
            fields("${N:-d} ${E:-d} ${E-d} ${X:+alt} ${N+alt}", &[]),
            ["d", "d", "alt"]
        );
        assert_eq!(
            fields("\"${N:-a  b}\" ${N:-a  b} ${#X}", &[]),
            ["a  b", "a", "b", "4"]
        );
        assert_eq!(fields("${N:=v} $N", &[]), ["v", "v"]);
    }
}

//! The Dockerfile parser: parser directives (`# escape=`), comments, line continuations, and
//! one [`Step`] per instruction with its arguments split the way the legacy builder splits
//! them (JSON or shell form for RUN/CMD/ENTRYPOINT, JSON or blank-separated lists for
//! COPY/ADD/VOLUME, `K V` and `K=V …` for ENV/LABEL). Variables are *not* substituted here:
//! the executor does that with the environment of each step ([`super::words`]).
//!
//! Every error is reported before any step runs, as `Dockerfile parse error line N: …`
//! with Docker's texts. ONBUILD, HEALTHCHECK and SHELL are real instructions the testbed does
//! not emulate: they are refused with a clear message rather than taken as unknown.

use thiserror::Error;

/// The longest Dockerfile accepted (Docker has no limit; ours keeps parsing bounded).
pub const MAX_DOCKERFILE_BYTES: usize = 1024 * 1024;

/// A Dockerfile that cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("Dockerfile parse error line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the instruction (its first line).
    pub line: usize,
    /// Docker's message.
    pub message: String,
}

/// RUN, CMD and ENTRYPOINT arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandForm {
    /// Shell form: run by `/bin/sh -c`.
    Shell(String),
    /// Exec (JSON) form.
    Exec(Vec<String>),
}

impl CommandForm {
    /// The argv Docker stores: `["/bin/sh", "-c", text]` for the shell form.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandForm::Shell(text) => vec!["/bin/sh".into(), "-c".into(), text.clone()],
            CommandForm::Exec(argv) => argv.clone(),
        }
    }
}

/// COPY or ADD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopySpec {
    /// ADD (true) or COPY.
    pub add: bool,
    /// Sources, unsubstituted (context paths, `*`/`?` globs; for ADD maybe URLs).
    pub sources: Vec<String>,
    /// Destination, unsubstituted.
    pub dest: String,
    /// `--chown=user[:group]`, recorded in the layer (ownership is not emulated further).
    pub chown: Option<String>,
    /// `--from=<stage or image>` (COPY only).
    pub from: Option<String>,
}

/// One instruction with its arguments as written (no substitution yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Instruction {
    /// `FROM image [AS name]`.
    From {
        /// Image reference or earlier stage name.
        image: String,
        /// Stage name, lowercased.
        stage: Option<String>,
    },
    /// `RUN`.
    Run(CommandForm),
    /// `CMD`.
    Cmd(CommandForm),
    /// `ENTRYPOINT`; an empty exec form clears it.
    Entrypoint(CommandForm),
    /// `COPY` / `ADD`.
    Copy(CopySpec),
    /// `ENV` pairs (values keep their quotes until substitution).
    Env(Vec<(String, String)>),
    /// `ARG name[=default]`.
    Arg {
        /// Name.
        name: String,
        /// Default, if given.
        default: Option<String>,
    },
    /// `LABEL` pairs.
    Label(Vec<(String, String)>),
    /// `EXPOSE` words (`80`, `53/udp`, `8000-8002`).
    Expose(Vec<String>),
    /// `WORKDIR`.
    Workdir(String),
    /// `USER`.
    User(String),
    /// `VOLUME` paths.
    Volume(Vec<String>),
    /// `MAINTAINER` (kept as the image author).
    Maintainer(String),
    /// `STOPSIGNAL` (kept in the config).
    StopSignal(String),
}

/// An instruction and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// 1-based first line.
    pub line: usize,
    /// The text Docker prints after `Step i/n : ` (instruction uppercased, continuations
    /// joined).
    pub text: String,
    /// What it does.
    pub instruction: Instruction,
}

/// A parsed Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character (`\` or `` ` ``).
    pub escape: char,
    /// Instructions in order.
    pub steps: Vec<Step>,
    /// Things the parser accepted but ignored (`FROM --platform`), for the caller's log.
    pub notes: Vec<String>,
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// `# name=value` as a parser directive.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix('#')?;
    let (name, value) = rest.split_once('=')?;
    let name = name.trim();
    let value = value.trim();
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    (valid && !value.is_empty()).then(|| (name.to_ascii_lowercase(), value.to_owned()))
}

/// Parses a whole Dockerfile.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    if text.len() > MAX_DOCKERFILE_BYTES {
        return Err(err(1, "vicbed: Dockerfile larger than 1 MiB"));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut escape = '\\';
    let mut first = 0;
    let mut escape_seen = false;
    // Directives come first; any other line (blank, comment, instruction) ends them.
    while let Some(line) = lines.get(first) {
        let Some((name, value)) = directive(line) else {
            break;
        };
        if name != "escape" {
            // An unknown directive is a comment, and ends the directives.
            first += 1;
            break;
        }
        if escape_seen {
            return Err(err(
                first + 1,
                "only one escape parser directive can be used",
            ));
        }
        escape = match value.as_str() {
            "\\" => '\\',
            "`" => '`',
            other => {
                return Err(err(
                    first + 1,
                    format!("invalid ESCAPE '{other}'. Must be ` or \\"),
                ));
            }
        };
        escape_seen = true;
        first += 1;
    }
    let mut file = Dockerfile {
        escape,
        steps: Vec::new(),
        notes: Vec::new(),
    };
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in lines.iter().enumerate().skip(first) {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            // Blank and comment lines vanish, also inside a continued instruction.
            continue;
        }
        let trimmed = line.trim_end();
        let (content, continues) = match trimmed.strip_suffix(escape) {
            Some(head) => (head, true),
            None => (line, false),
        };
        match &mut pending {
            Some((_, acc)) => acc.push_str(content),
            None => pending = Some((i + 1, content.to_owned())),
        }
        if !continues && let Some((start, acc)) = pending.take() {
            let step = parse_instruction(start, &acc, escape, &mut file.notes)?;
            file.steps.push(step);
        }
    }
    if let Some((start, acc)) = pending.take()
        && !acc.trim().is_empty()
    {
        let step = parse_instruction(start, &acc, escape, &mut file.notes)?;
        file.steps.push(step);
    }
    Ok(file)
}

/// Splits `--name=value` flags off the front of the arguments.
fn split_flags(rest: &str) -> (Vec<(String, Option<String>)>, &str) {
    let mut flags = Vec::new();
    let mut rest = rest.trim_start();
    while let Some(body) = rest.strip_prefix("--") {
        let end = body.find(char::is_whitespace).unwrap_or(body.len());
        let word = &body[..end];
        if word.is_empty() {
            break;
        }
        match word.split_once('=') {
            Some((n, v)) => flags.push((n.to_owned(), Some(v.to_owned()))),
            None => flags.push((word.to_owned(), None)),
        }
        rest = body[end..].trim_start();
    }
    (flags, rest)
}

/// JSON array of strings, if `rest` is one.
fn json_list(rest: &str) -> Option<Vec<String>> {
    let t = rest.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// Docker's `parseWords`: blank-separated words, quotes and escapes kept in the word.
fn quoted_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.push(c);
            }
            Some(q) if c == q => {
                quote = None;
                word.push(c);
            }
            _ if c == escape && quote != Some('\'') => {
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// ENV and LABEL: `K V` (old form) or `K=V …`.
fn name_values(
    line: usize,
    cmd: &str,
    rest: &str,
    escape: char,
) -> Result<Vec<(String, String)>, ParseError> {
    let words = quoted_words(rest, escape);
    let Some(first) = words.first() else {
        return Err(err(line, format!("{cmd} requires at least one argument")));
    };
    if !first.contains('=') {
        let t = rest.trim();
        let value = t
            .find(char::is_whitespace)
            .map(|i| t[i..].trim())
            .unwrap_or("");
        if words.len() < 2 || value.is_empty() {
            return Err(err(line, format!("{cmd} must have two arguments")));
        }
        return Ok(vec![(first.clone(), value.to_owned())]);
    }
    let mut pairs = Vec::new();
    for w in &words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(err(
                line,
                format!("Syntax error - can't find = in {w:?}. Must be of the form: name=value"),
            ));
        };
        if k.is_empty() {
            return Err(err(line, format!("{cmd} names can not be blank")));
        }
        pairs.push((k.to_owned(), v.to_owned()));
    }
    Ok(pairs)
}

fn command_form(rest: &str) -> CommandForm {
    match json_list(rest) {
        Some(argv) => CommandForm::Exec(argv),
        None => CommandForm::Shell(rest.trim().to_owned()),
    }
}

fn list(rest: &str) -> Vec<String> {
    json_list(rest).unwrap_or_else(|| rest.split_whitespace().map(str::to_owned).collect())
}

fn stage_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn parse_instruction(
    line: usize,
    full: &str,
    escape: char,
    notes: &mut Vec<String>,
) -> Result<Step, ParseError> {
    let full = full.trim();
    let (word, rest) = match full.find(char::is_whitespace) {
        Some(i) => (&full[..i], full[i..].trim_start()),
        None => (full, ""),
    };
    let cmd = word.to_ascii_uppercase();
    let text = if rest.is_empty() {
        cmd.clone()
    } else {
        format!("{cmd} {rest}")
    };
    let (flags, args) = split_flags(rest);
    let allowed: &[&str] = match cmd.as_str() {
        "FROM" => &["platform"],
        "COPY" => &["chown", "from"],
        "ADD" => &["chown"],
        _ => &[],
    };
    let known = [
        "FROM",
        "RUN",
        "CMD",
        "ENTRYPOINT",
        "COPY",
        "ADD",
        "ENV",
        "ARG",
        "LABEL",
        "EXPOSE",
        "WORKDIR",
        "USER",
        "VOLUME",
        "MAINTAINER",
        "STOPSIGNAL",
    ];
    if ["ONBUILD", "HEALTHCHECK", "SHELL"].contains(&cmd.as_str()) {
        return Err(err(
            line,
            format!("vicbed does not emulate the {cmd} instruction"),
        ));
    }
    if !known.contains(&cmd.as_str()) {
        return Err(err(line, format!("unknown instruction: {cmd}")));
    }
    // RUN/CMD/ENTRYPOINT text starting with `--` belongs to the command, not to flags.
    let (flags, args) = if ["RUN", "CMD", "ENTRYPOINT"].contains(&cmd.as_str()) {
        (Vec::new(), rest)
    } else {
        (flags, args)
    };
    for (name, _) in &flags {
        if !allowed.contains(&name.as_str()) {
            return Err(err(line, format!("Unknown flag: {name}")));
        }
    }
    let flag = |n: &str| {
        flags
            .iter()
            .find(|(f, _)| f == n)
            .map(|(_, v)| v.clone().unwrap_or_default())
    };
    let one = |what: &str| -> Result<String, ParseError> {
        if args.trim().is_empty() {
            Err(err(line, format!("{what} requires exactly one argument")))
        } else {
            Ok(args.trim().to_owned())
        }
    };
    let instruction = match cmd.as_str() {
        "FROM" => {
            if let Some(p) = flag("platform") {
                notes.push(format!(
                    "line {line}: FROM --platform={p} ignored: every containerVM is linux/amd64"
                ));
            }
            let words: Vec<&str> = args.split_whitespace().collect();
            match words.as_slice() {
                [image] => Instruction::From {
                    image: (*image).to_owned(),
                    stage: None,
                },
                [image, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
                    let name = name.to_ascii_lowercase();
                    if !stage_name_ok(&name) {
                        return Err(err(
                            line,
                            format!(
                                "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                            ),
                        ));
                    }
                    Instruction::From {
                        image: (*image).to_owned(),
                        stage: Some(name),
                    }
                }
                _ => return Err(err(line, "FROM requires either one or three arguments")),
            }
        }
        "RUN" => {
            if args.trim().is_empty() {
                return Err(err(line, "RUN requires at least one argument"));
            }
            Instruction::Run(command_form(args))
        }
        "CMD" => Instruction::Cmd(command_form(args)),
        "ENTRYPOINT" => match command_form(args) {
            CommandForm::Shell(s) if s.is_empty() => {
                Instruction::Entrypoint(CommandForm::Exec(vec![]))
            }
            form => Instruction::Entrypoint(form),
        },
        "COPY" | "ADD" => {
            let mut items = list(args);
            if items.len() < 2 {
                return Err(err(line, format!("{cmd} requires at least two arguments")));
            }
            let dest = items.pop().unwrap_or_default();
            Instruction::Copy(CopySpec {
                add: cmd == "ADD",
                sources: items,
                dest,
                chown: flag("chown"),
                from: flag("from"),
            })
        }
        "ENV" => Instruction::Env(name_values(line, "ENV", args, escape)?),
        "LABEL" => Instruction::Label(name_values(line, "LABEL", args, escape)?),
        "ARG" => {
            let words: Vec<&str> = args.split_whitespace().collect();
            let [arg] = words.as_slice() else {
                return Err(err(line, "ARG requires exactly one argument"));
            };
            match arg.split_once('=') {
                Some(("", _)) => return Err(err(line, "ARG names can not be blank")),
                Some((n, v)) => Instruction::Arg {
                    name: n.to_owned(),
                    default: Some(v.to_owned()),
                },
                None => Instruction::Arg {
                    name: (*arg).to_owned(),
                    default: None,
                },
            }
        }
        "EXPOSE" => {
            let words: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
            if words.is_empty() {
                return Err(err(line, "EXPOSE requires at least one argument"));
            }
            Instruction::Expose(words)
        }
        "VOLUME" => {
            let items = list(args);
            if items.is_empty() {
                return Err(err(line, "VOLUME requires at least one argument"));
            }
            if items.iter().any(|v| v.trim().is_empty()) {
                return Err(err(line, "VOLUME specified can not be an empty string"));
            }
            Instruction::Volume(items.iter().map(|v| v.trim().to_owned()).collect())
        }
        "WORKDIR" => Instruction::Workdir(one("WORKDIR")?),
        "USER" => Instruction::User(one("USER")?),
        "MAINTAINER" => Instruction::Maintainer(one("MAINTAINER")?),
        _ => Instruction::StopSignal(one("STOPSIGNAL")?),
    };
    Ok(Step {
        line,
        text,
        instruction,
    })
}

#[cfg(test)]
#[path = "dockerfile_tests.rs"]
mod tests;

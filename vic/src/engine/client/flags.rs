//! A flag scanner with the docker CLI's (spf13/pflag's) syntax: `--flag value`,
//! `--flag=value`, `-f value`, `-fvalue`, `-f=value`, combined short flags (`-dit`), boolean
//! flags with an optional `=true|false`, `--` ending the flags, and either interspersed
//! flags (`docker rm web -f`) or flags only before the first argument (`docker run`, whose
//! arguments after the image are the container's command).

use super::error::CliError;

/// What a flag takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A boolean (`-d`, `--rm`, `--rm=false`).
    Bool,
    /// A value (`--name web`).
    Value,
    /// A real docker flag this client refuses, with the reason.
    Unsupported(&'static str),
}

/// One flag a command accepts.
#[derive(Clone, Copy, Debug)]
pub(super) struct Flag {
    /// The long name, which parsed values are keyed by.
    pub long: &'static str,
    /// The one-letter form.
    pub short: Option<char>,
    /// Another long name (`net` for `network`).
    pub alias: Option<&'static str>,
    /// What it takes.
    pub kind: Kind,
}

impl Flag {
    /// A boolean flag.
    pub const fn bool(long: &'static str, short: Option<char>) -> Flag {
        Flag {
            long,
            short,
            alias: None,
            kind: Kind::Bool,
        }
    }

    /// A flag with a value.
    pub const fn value(long: &'static str, short: Option<char>) -> Flag {
        Flag {
            long,
            short,
            alias: None,
            kind: Kind::Value,
        }
    }

    /// A docker flag refused with `why`.
    pub const fn unsupported(long: &'static str, short: Option<char>, why: &'static str) -> Flag {
        Flag {
            long,
            short,
            alias: None,
            kind: Kind::Unsupported(why),
        }
    }

    /// The same flag also answering to `--alias`.
    pub const fn or(self, alias: &'static str) -> Flag {
        Flag {
            alias: Some(alias),
            ..self
        }
    }

    /// The name the CLI uses in messages: `-m, --memory` or `--cpus`.
    pub fn display(&self) -> String {
        match self.short {
            Some(c) => format!("-{c}, --{}", self.long),
            None => format!("--{}", self.long),
        }
    }
}

/// The flags and arguments of one command line.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// `(long name, value)` in order; booleans as `true`/`false`.
    pub values: Vec<(&'static str, String)>,
    /// The positional arguments.
    pub args: Vec<String>,
}

impl Parsed {
    /// The last value of a boolean flag (false when absent).
    pub fn bool(&self, long: &str) -> bool {
        self.last(long) == Some("true")
    }

    /// The last value of `long`.
    pub fn last(&self, long: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == long)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable flag, in order.
    pub fn all(&self, long: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(n, _)| *n == long)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether `long` was given at all.
    pub fn changed(&self, long: &str) -> bool {
        self.values.iter().any(|(n, _)| *n == long)
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(flag: &Flag, value: &str) -> Result<&'static str, CliError> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok("true"),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok("false"),
        _ => Err(CliError::InvalidValue {
            flag: flag.display(),
            value: value.to_owned(),
            reason: format!("strconv.ParseBool: parsing \"{value}\": invalid syntax"),
        }),
    }
}

fn unsupported(command: &str, flag: &Flag, why: &str) -> CliError {
    CliError::Unsupported {
        what: format!("{command} --{}", flag.long).trim_start().to_owned(),
        why: why.to_owned(),
    }
}

/// Scans `argv` against `flags`. With `interspersed` false, the first positional argument
/// ends the flags (it and everything after are arguments). `command` names the command in
/// refusals.
pub(super) fn scan(
    command: &str,
    flags: &[Flag],
    argv: &[String],
    interspersed: bool,
) -> Result<Parsed, CliError> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < argv.len() {
        let word = &argv[i];
        i += 1;
        if word == "--" {
            out.args.extend(argv[i..].iter().cloned());
            break;
        }
        if let Some(body) = word.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let flag = flags
                .iter()
                .find(|f| f.long == name || f.alias == Some(name))
                .ok_or_else(|| CliError::UnknownFlag(format!("--{name}")))?;
            let value = match flag.kind {
                Kind::Unsupported(why) => return Err(unsupported(command, flag, why)),
                Kind::Bool => parse_bool(flag, inline.unwrap_or("true"))?.to_owned(),
                Kind::Value => match inline {
                    Some(v) => v.to_owned(),
                    None => {
                        let v = argv
                            .get(i)
                            .ok_or_else(|| CliError::MissingValue(format!("--{name}")))?;
                        i += 1;
                        v.clone()
                    }
                },
            };
            out.values.push((flag.long, value));
            continue;
        }
        let Some(group) = word.strip_prefix('-').filter(|g| !g.is_empty()) else {
            out.args.push(word.clone());
            if !interspersed {
                out.args.extend(argv[i..].iter().cloned());
                break;
            }
            continue;
        };
        for (at, c) in group.char_indices() {
            let from_here = &group[at..];
            let flag = flags.iter().find(|f| f.short == Some(c)).ok_or_else(|| {
                CliError::UnknownShorthand {
                    flag: c,
                    group: from_here.to_owned(),
                }
            })?;
            let rest = &from_here[c.len_utf8()..];
            match flag.kind {
                Kind::Unsupported(why) => return Err(unsupported(command, flag, why)),
                Kind::Bool => {
                    if let Some(v) = rest.strip_prefix('=') {
                        out.values
                            .push((flag.long, parse_bool(flag, v)?.to_owned()));
                        break;
                    }
                    out.values.push((flag.long, "true".to_owned()));
                }
                Kind::Value => {
                    let inline = rest.strip_prefix('=').unwrap_or(rest);
                    let value = if !rest.is_empty() {
                        inline.to_owned()
                    } else {
                        let v = argv.get(i).ok_or_else(|| {
                            CliError::MissingValue(format!("'{c}' in -{from_here}"))
                        })?;
                        i += 1;
                        v.clone()
                    };
                    out.values.push((flag.long, value));
                    break;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[
        Flag::bool("detach", Some('d')),
        Flag::bool("interactive", Some('i')),
        Flag::bool("tty", Some('t')),
        Flag::value("memory", Some('m')),
        Flag::value("name", None),
        Flag::value("network", None).or("net"),
        Flag::unsupported("volume", Some('v'), "no volume store"),
    ];

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn scan_run(s: &str) -> Result<Parsed, CliError> {
        scan("run", FLAGS, &words(s), false)
    }

    #[test]
    fn long_short_combined_and_inline_forms() {
        let p = scan_run("-dit --name=web -m4g --net x img a -d").unwrap();
        assert!(p.bool("detach") && p.bool("interactive") && p.bool("tty"));
        assert_eq!(p.last("name"), Some("web"));
        assert_eq!(p.last("memory"), Some("4g"));
        assert_eq!(p.last("network"), Some("x"));
        assert_eq!(p.args, ["img", "a", "-d"]);
        let p = scan_run("-m=1g -d=false --detach=true -- -img").unwrap();
        assert_eq!(p.last("memory"), Some("1g"));
        assert!(p.bool("detach"));
        assert_eq!(p.args, ["-img"]);
        let p = scan_run("-dm 512m img").unwrap();
        assert_eq!(p.last("memory"), Some("512m"));
        let p = scan("rm", FLAGS, &words("a -d b"), true).unwrap();
        assert_eq!(p.args, ["a", "b"]);
        assert!(p.changed("detach") && !p.changed("tty"));
    }

    #[test]
    fn errors_word_as_pflag() {
        let e = |s: &str| scan_run(s).unwrap_err().to_string();
        assert_eq!(e("--foo img"), "unknown flag: --foo");
        assert_eq!(e("--foo=1 img"), "unknown flag: --foo");
        assert_eq!(e("-dz img"), "unknown shorthand flag: 'z' in -z");
        assert_eq!(e("-d -m"), "flag needs an argument: 'm' in -m");
        assert_eq!(e("-dm"), "flag needs an argument: 'm' in -m");
        assert_eq!(e("--name"), "flag needs an argument: --name");
        assert_eq!(
            e("--detach=maybe x"),
            "invalid argument \"maybe\" for \"-d, --detach\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax"
        );
        assert_eq!(
            e("-v /a:/b img"),
            "docker run --volume is not supported by the testbed's docker client: no volume store"
        );
    }
}

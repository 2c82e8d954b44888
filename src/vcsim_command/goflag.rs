//! A parser for Go's `flag` package syntax, which vcsim's command line uses and clap cannot
//! express: single-dash long names (`-vm 3`), `--name` as a synonym, `-name=value`, boolean
//! flags that take no separate value (`-tls`, `-tls=false`), parsing that stops at the first
//! non-flag argument or at `--`, and Go's own messages and exit codes (2 on a bad flag, 0
//! after `-h`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A flag's value type, as Go's `flag.Bool`, `flag.Int`, `flag.String`, `flag.Float64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `-name` alone means true; a value only with `=`.
    Bool,
    /// A Go `int` (64-bit here).
    Int,
    /// Any text.
    Str,
    /// A Go `float64`.
    Float,
}

/// One defined flag.
#[derive(Clone, Debug)]
pub struct FlagDef {
    /// The name without dashes.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// The default, as Go prints it.
    pub default: &'static str,
    /// The help text.
    pub usage: &'static str,
}

/// Why parsing stopped without values: Go prints `message` (if any) and the usage to
/// stderr and exits with `exit_code`.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseExit {
    /// The error line (`flag provided but not defined: -x`), empty after `-h`.
    pub message: String,
    /// 2 for errors, 0 for `-h`/`-help`.
    pub exit_code: u8,
}

/// Parsed flags: every defined flag's value (its default unless set) and the arguments
/// after the flags.
#[derive(Debug, Default)]
pub struct Parsed {
    values: BTreeMap<&'static str, String>,
    /// The arguments after the flags (`uuidgen`).
    pub args: Vec<String>,
}

impl Parsed {
    /// The value of flag `name` (its default when unset; empty for an undefined name).
    pub fn str(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    /// A boolean flag's value (already validated by [`parse`]).
    pub fn bool(&self, name: &str) -> bool {
        parse_bool(self.str(name)).unwrap_or(false)
    }

    /// An int flag's value (already validated by [`parse`]).
    pub fn int(&self, name: &str) -> i64 {
        parse_int(self.str(name)).unwrap_or(0)
    }

    /// A float flag's value (already validated by [`parse`]).
    pub fn float(&self, name: &str) -> f64 {
        self.str(name).parse().unwrap_or(0.0)
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` for the usual forms: decimal, `0x`, `0o`/`0`, `0b`,
/// with an optional sign and `_` separators after a prefix.
fn parse_int(s: &str) -> Result<i64, &'static str> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.replace('_', ""))
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.replace('_', ""))
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.replace('_', ""))
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].replace('_', ""))
    } else {
        (10, lower.clone())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err("parse error");
    }
    let magnitude = u64::from_str_radix(&digits, radix).map_err(|_| "value out of range")?;
    if neg {
        if magnitude > i64::MAX as u64 + 1 {
            return Err("value out of range");
        }
        Ok((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).map_err(|_| "value out of range")
    }
}

fn check_value(kind: Kind, value: &str) -> Result<(), &'static str> {
    match kind {
        Kind::Bool => parse_bool(value).map(|_| ()).ok_or("parse error"),
        Kind::Int => parse_int(value).map(|_| ()),
        Kind::Float => value.parse::<f64>().map(|_| ()).map_err(|_| "parse error"),
        Kind::Str => Ok(()),
    }
}

/// Parses `args` (without the program name) as Go's `flag.Parse` does.
pub fn parse(defs: &[FlagDef], args: &[String]) -> Result<Parsed, ParseExit> {
    let fail = |message: String| ParseExit {
        message,
        exit_code: 2,
    };
    let mut parsed = Parsed {
        values: defs
            .iter()
            .map(|d| (d.name, d.default.to_owned()))
            .collect(),
        ..Parsed::default()
    };
    let mut i = 0;
    while i < args.len() {
        let s = &args[i];
        if s.len() < 2 || !s.starts_with('-') {
            break;
        }
        let mut dashes = 1;
        if s.as_bytes()[1] == b'-' {
            dashes = 2;
            if s.len() == 2 {
                i += 1;
                break;
            }
        }
        let spec = &s[dashes..];
        if spec.starts_with('-') || spec.starts_with('=') {
            return Err(fail(format!("bad flag syntax: {s}")));
        }
        i += 1;
        // The name ends at the first `=` after its first character (which may be more than
        // one byte: `-é` is an unknown flag, not a panic).
        let first = spec.chars().next().map_or(0, char::len_utf8);
        let (name, inline) = match spec[first..].find('=') {
            Some(at) => (&spec[..first + at], Some(&spec[first + at + 1..])),
            None => (spec, None),
        };
        let Some(def) = defs.iter().find(|d| d.name == name) else {
            if name == "h" || name == "help" {
                return Err(ParseExit {
                    message: String::new(),
                    exit_code: 0,
                });
            }
            return Err(fail(format!("flag provided but not defined: -{name}")));
        };
        let value = match (def.kind, inline) {
            (Kind::Bool, Some(v)) => {
                if parse_bool(v).is_none() {
                    return Err(fail(format!(
                        "invalid boolean value {v:?} for -{name}: parse error"
                    )));
                }
                v.to_owned()
            }
            (Kind::Bool, None) => "true".to_owned(),
            (_, Some(v)) => v.to_owned(),
            (_, None) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => return Err(fail(format!("flag needs an argument: -{name}"))),
            },
        };
        if let Err(why) = check_value(def.kind, &value) {
            return Err(fail(format!(
                "invalid value {value:?} for flag -{name}: {why}"
            )));
        }
        parsed.values.insert(def.name, value);
    }
    parsed.args = args[i..].to_vec();
    Ok(parsed)
}

/// Go's usage text: `Usage of PROGRAM:` and each flag, sorted by name, as
/// `flag.PrintDefaults` lays them out.
pub fn usage(program: &str, defs: &[FlagDef]) -> String {
    let mut sorted: Vec<&FlagDef> = defs.iter().collect();
    sorted.sort_by_key(|d| d.name);
    let mut out = format!("Usage of {program}:\n");
    for d in sorted {
        let mut line = format!("  -{}", d.name);
        let ty = match d.kind {
            Kind::Bool => "",
            Kind::Int => "int",
            Kind::Str => "string",
            Kind::Float => "float",
        };
        if !ty.is_empty() {
            line.push(' ');
            line.push_str(ty);
        }
        // Go puts a one-letter boolean's help on the same line.
        if line.len() <= 4 {
            line.push('\t');
        } else {
            line.push_str("\n    \t");
        }
        line.push_str(&d.usage.replace('\n', "\n    \t"));
        let zero = match d.kind {
            Kind::Bool => d.default == "false",
            Kind::Int | Kind::Float => d.default == "0",
            Kind::Str => d.default.is_empty(),
        };
        if !zero {
            if d.kind == Kind::Str {
                let _ = write!(line, " (default {:?})", d.default);
            } else {
                let _ = write!(line, " (default {})", d.default);
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[FlagDef] = &[
        FlagDef {
            name: "l",
            kind: Kind::Str,
            default: "127.0.0.1:8989",
            usage: "Listen address",
        },
        FlagDef {
            name: "vm",
            kind: Kind::Int,
            default: "2",
            usage: "VMs",
        },
        FlagDef {
            name: "tls",
            kind: Kind::Bool,
            default: "true",
            usage: "Enable TLS",
        },
        FlagDef {
            name: "delay-jitter",
            kind: Kind::Float,
            default: "0",
            usage: "Jitter",
        },
    ];

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_forms_are_accepted() {
        let p = parse(
            DEFS,
            &args(&[
                "-l",
                "127.0.0.1:0",
                "--vm",
                "3",
                "-tls=false",
                "uuidgen",
                "-x",
            ]),
        )
        .unwrap();
        assert_eq!(p.str("l"), "127.0.0.1:0");
        assert_eq!(p.int("vm"), 3);
        assert!(!p.bool("tls"));
        assert_eq!(p.args, ["uuidgen", "-x"]);
        let p = parse(DEFS, &args(&["-vm=0x10", "-tls", "--", "-vm"])).unwrap();
        assert_eq!(p.int("vm"), 16);
        assert!(p.bool("tls"));
        assert_eq!(p.args, ["-vm"]);
        assert_eq!(parse(DEFS, &args(&["-vm", "-1"])).unwrap().int("vm"), -1);
    }

    #[test]
    fn errors_carry_gos_messages() {
        let e = parse(DEFS, &args(&["-x"])).unwrap_err();
        assert_eq!(e.message, "flag provided but not defined: -x");
        assert_eq!(e.exit_code, 2);
        let e = parse(DEFS, &args(&["-vm"])).unwrap_err();
        assert_eq!(e.message, "flag needs an argument: -vm");
        let e = parse(DEFS, &args(&["-vm", "three"])).unwrap_err();
        assert_eq!(
            e.message,
            "invalid value \"three\" for flag -vm: parse error"
        );
        let e = parse(DEFS, &args(&["-tls=maybe"])).unwrap_err();
        assert_eq!(
            e.message,
            "invalid boolean value \"maybe\" for -tls: parse error"
        );
        let e = parse(DEFS, &args(&["---vm"])).unwrap_err();
        assert_eq!(e.message, "bad flag syntax: ---vm");
        let e = parse(DEFS, &args(&["-vm", "99999999999999999999"])).unwrap_err();
        assert!(e.message.ends_with("value out of range"));
        assert_eq!(parse(DEFS, &args(&["-h"])).unwrap_err().exit_code, 0);
        let e = parse(DEFS, &args(&["-é=1"])).unwrap_err();
        assert_eq!(e.message, "flag provided but not defined: -é");
        let e = parse(DEFS, &args(&["--ü"])).unwrap_err();
        assert_eq!(e.message, "flag provided but not defined: -ü");
    }

    #[test]
    fn usage_is_laid_out_as_gos() {
        let u = usage("vcsim", DEFS);
        assert!(u.starts_with("Usage of vcsim:\n  -delay-jitter float\n    \tJitter\n"));
        assert!(u.contains("  -l string\n    \tListen address (default \"127.0.0.1:8989\")\n"));
        assert!(u.contains("  -tls\n    \tEnable TLS (default true)\n"));
        assert!(u.contains("  -vm int\n    \tVMs (default 2)\n"));
    }
}

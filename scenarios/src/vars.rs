//! Parametric scenarios: a `[vars]` table of named values with defaults, and `${name}`
//! anywhere in the file standing for a value or for part of a string.
//!
//! ```toml
//! [vars]
//! cpu_limit = 4000          # --set cpu_limit=5200 overrides it
//! image = "progrium/stress"
//!
//! [[vch]]
//! name = "web"
//! args = ["--name", "vch-web", "--cpu", "${cpu_limit}"]
//!
//! [[expect]]
//! max = ${cpu_limit}        # a bare use stands for the value itself
//! ```
//!
//! Substitution happens on the file's text before TOML parsing, so a variable may stand for
//! any value (a count, a bound, a duration) or part of any string (VCH arguments, docker
//! lines). A value inserted into a `"…"` string is escaped for TOML; into a `'…'` string it
//! must need no escaping; in a bare position a string value is inserted as a quoted string,
//! a number or boolean as itself. Comments are left alone. Lines never move, and problems
//! found after substitution are mapped back to the column of the `${…}` they come from, so
//! `file:line:column` points at the file as written.
//!
//! `${i}` is reserved: in the strings of a `[[step]]` with `count = N` it is the
//! repetition's number, 1 to N (substituted per repetition by the step checks).
//!
//! Overrides (`vicbed run --set NAME=VALUE`, a sweep's points) take the type of the default:
//! an integer variable takes an integer, a float a number, a boolean `true`/`false`, a string
//! any text. Unknown names, in overrides or in `${…}`, are problems like any other.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::errors::{Collector, Problem, ScenarioErrors, line_col};
use crate::schema::Scenario;

/// The reserved name of a repeated step's repetition number.
pub const REPETITION: &str = "i";

/// A variable's value.
#[derive(Clone, Debug, PartialEq)]
pub enum VarValue {
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// `true` or `false`.
    Boolean(bool),
    /// Text.
    String(String),
}

impl VarValue {
    /// The value as text, as it reads inside a string (`500`, `5.2`, `true`, `nginx`).
    pub fn text(&self) -> String {
        match self {
            VarValue::Integer(i) => i.to_string(),
            VarValue::Float(f) => {
                let s = f.to_string();
                if s.contains(['.', 'e', 'E', 'i', 'N']) {
                    s
                } else {
                    format!("{s}.0")
                }
            }
            VarValue::Boolean(b) => b.to_string(),
            VarValue::String(s) => s.clone(),
        }
    }

    /// The value as a TOML value (strings quoted and escaped).
    fn literal(&self) -> String {
        match self {
            VarValue::String(s) => format!("\"{}\"", escape_basic(s)),
            other => other.text(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            VarValue::Integer(_) => "an integer",
            VarValue::Float(_) => "a number",
            VarValue::Boolean(_) => "a boolean",
            VarValue::String(_) => "a string",
        }
    }

    /// An override's text read with the type of `self` (the default).
    fn parse_like(&self, text: &str) -> Result<VarValue, String> {
        let t = text.trim();
        let parsed = match self {
            VarValue::Integer(_) => t.parse().ok().map(VarValue::Integer),
            VarValue::Float(_) => t
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(VarValue::Float),
            VarValue::Boolean(_) => match t {
                "true" => Some(VarValue::Boolean(true)),
                "false" => Some(VarValue::Boolean(false)),
                _ => None,
            },
            VarValue::String(_) => Some(VarValue::String(text.to_owned())),
        };
        parsed.ok_or_else(|| {
            format!(
                "{:?} is not {} (the default is {})",
                text,
                self.kind(),
                self.literal()
            )
        })
    }
}

impl fmt::Display for VarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// Escapes text for a TOML basic (`"…"`) string.
fn escape_basic(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Where a `${…}` stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    /// A value position (`max = ${x}`).
    Bare,
    /// Inside a `"…"` or `"""…"""` string.
    Basic,
    /// Inside a `'…'` or `'''…'''` string.
    Literal,
}

/// Which table a position belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Vars,
    Step,
    Other,
}

/// One `${…}` in the text.
#[derive(Debug)]
struct Reference {
    span: Range<usize>,
    /// `None` when malformed (no closing brace, or characters a name cannot have).
    name: Option<String>,
    context: Context,
    section: Section,
}

/// What a scan of the text found.
struct Scan {
    references: Vec<Reference>,
    /// The `[vars]` table, header to the next header.
    vars: Option<Range<usize>>,
}

/// Finds every `${…}` outside comments with its context, and the `[vars]` table, with a
/// small TOML lexer (strings, comments, brackets, table headers).
fn scan(text: &str) -> Scan {
    let b = text.as_bytes();
    let mut references = Vec::new();
    let (mut vars, mut vars_start) = (None, None);
    let mut section = Section::Other;
    let (mut i, mut depth, mut line_start) = (0usize, 0i32, true);
    let reference = |at: usize, context: Context, section: Section| -> Reference {
        let rest = &text[at + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let closed = rest[end..].starts_with('}');
        let name = &rest[..end];
        Reference {
            span: at..at + 2 + end + usize::from(closed),
            name: (closed && valid_name(name)).then(|| name.to_owned()),
            context,
            section,
        }
    };
    while i < b.len() {
        if line_start && depth <= 0 {
            let j = i + b[i..]
                .iter()
                .take_while(|c| matches!(c, b' ' | b'\t'))
                .count();
            if b.get(j) == Some(&b'[') {
                let end = b[j..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| j + p);
                let header = text[j..end].split('#').next().unwrap_or("").trim();
                let array = header.starts_with("[[");
                let name = header.trim_matches(|c| c == '[' || c == ']').trim();
                if let Some(s) = vars_start.take() {
                    vars = Some(s..i);
                }
                section = if name == "vars" && !array && vars.is_none() {
                    vars_start = Some(i);
                    Section::Vars
                } else if name == "step" && array {
                    Section::Step
                } else {
                    Section::Other
                };
                depth = 0;
                i = end;
                continue;
            }
        }
        line_start = false;
        match b[i] {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'#' => {
                i += b[i..].iter().take_while(|&&c| c != b'\n').count();
            }
            b'"' | b'\'' => {
                let quote = b[i];
                let triple = b[i..].starts_with(if quote == b'"' { b"\"\"\"" } else { b"'''" });
                let context = if quote == b'"' {
                    Context::Basic
                } else {
                    Context::Literal
                };
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    if quote == b'"' && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if !triple && b[i] == b'\n' {
                        break; // an unterminated string: the parser reports it
                    }
                    if b[i] == quote && (!triple || b[i..].starts_with(&[quote; 3])) {
                        i += if triple { 3 } else { 1 };
                        // A closing `"""` may be followed by up to two more quotes.
                        while triple && i < b.len() && b[i] == quote {
                            i += 1;
                        }
                        break;
                    }
                    if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
                        let r = reference(i, context, section);
                        i = r.span.end;
                        references.push(r);
                        continue;
                    }
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth -= 1;
                i += 1;
            }
            b'$' if b.get(i + 1) == Some(&b'{') => {
                let r = reference(i, Context::Bare, section);
                i = r.span.end;
                references.push(r);
            }
            _ => i += 1,
        }
    }
    if let Some(s) = vars_start {
        vars = Some(s..b.len());
    }
    Scan { references, vars }
}

/// The `[vars]` table's values, each with the span of its key.
fn declared(
    c: &mut Collector<'_>,
    text: &str,
    range: &Range<usize>,
) -> BTreeMap<String, (VarValue, Range<usize>)> {
    let mut out = BTreeMap::new();
    let base = range.start;
    // Syntax errors are left to the whole file's parse, which reports them in place.
    let (root, _syntax) = DeTable::parse_recoverable(&text[range.clone()]);
    let Some(table) = root.get_ref().get("vars") else {
        return out;
    };
    let DeValue::Table(table) = table.get_ref() else {
        return out;
    };
    for (key, value) in table {
        let span = key.span().start + base..key.span().end + base;
        let name = key.get_ref().as_ref();
        if name == REPETITION {
            c.at(
                &span,
                format!(
                    "[vars]: `{REPETITION}` is reserved: ${{{REPETITION}}} is the repetition number of a step with `count`"
                ),
            );
            continue;
        }
        if !valid_name(name) {
            c.at(
                &span,
                format!(
                    "[vars]: {name:?} is not a variable name (a letter or _, then letters, digits, _ and -)"
                ),
            );
            continue;
        }
        let v = match toml::Value::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(toml::Value::Integer(i)) => VarValue::Integer(i),
            Ok(toml::Value::Float(f)) => VarValue::Float(f),
            Ok(toml::Value::Boolean(b)) => VarValue::Boolean(b),
            Ok(toml::Value::String(s)) => VarValue::String(s),
            Ok(other) => {
                c.at(
                    &span,
                    format!(
                        "[vars]: `{name}` is {}: a variable is a string, a number or a boolean",
                        other.type_str()
                    ),
                );
                continue;
            }
            Err(_) => continue,
        };
        out.insert(name.to_owned(), (v, span));
    }
    out
}

/// One replacement: `original` in the file became `expanded` in the substituted text.
#[derive(Clone, Debug)]
struct Edit {
    original: Range<usize>,
    expanded: Range<usize>,
}

/// The text after substitution, the values in effect, and the way back to the file.
#[derive(Clone, Debug)]
pub(crate) struct Expansion {
    /// The substituted text (same lines as the file).
    pub text: String,
    /// Every declared variable with the value in effect.
    pub vars: BTreeMap<String, VarValue>,
    edits: Vec<Edit>,
}

impl Expansion {
    /// The file offset of an offset in the substituted text: inside a substitution, its
    /// `${`; elsewhere, shifted back by the substitutions before it.
    pub fn original_offset(&self, expanded: usize) -> usize {
        let mut shift: isize = 0;
        for e in &self.edits {
            if expanded < e.expanded.start {
                break;
            }
            if expanded < e.expanded.end {
                return e.original.start;
            }
            shift = e.expanded.end as isize - e.original.end as isize;
        }
        (expanded as isize - shift).max(0) as usize
    }

    /// `errors` (located in the substituted text) located in `original`.
    pub fn relocate(&self, original: &str, mut errors: ScenarioErrors) -> ScenarioErrors {
        if self.edits.is_empty() {
            return errors;
        }
        for p in &mut errors.problems {
            let offset = self.original_offset(offset_of(&self.text, p.line, p.column));
            (p.line, p.column) = line_col(original, offset);
        }
        errors.problems.sort_by_key(|p| (p.line, p.column));
        errors
    }
}

/// The byte offset of a 1-based (line, column in characters) in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    text[start..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| start + i)
}

/// Substitutes `[vars]` (with `overrides`) into `text`, reporting problems to `c` (which
/// is over `text`). Unknown or malformed references are reported and replaced so that the
/// rest of the file can still be checked: by `0` in a value position, left as written in a
/// string.
pub(crate) fn expand(
    c: &mut Collector<'_>,
    text: &str,
    overrides: &BTreeMap<String, String>,
) -> Expansion {
    let scan = scan(text);
    let declared = scan
        .vars
        .as_ref()
        .map_or_else(BTreeMap::new, |r| declared(c, text, r));
    let header = scan.vars.clone().map_or(0..0, |r| r.start..r.start + 1);
    let names = || -> String {
        if declared.is_empty() {
            "the file has no [vars] table".to_owned()
        } else {
            let list: Vec<&str> = declared.keys().map(String::as_str).collect();
            format!("declared: {}", list.join(", "))
        }
    };
    let mut vars: BTreeMap<String, VarValue> = declared
        .iter()
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect();
    for (name, value) in overrides {
        let set = format!("--set {name}={value}");
        if name == REPETITION {
            c.at(
                &header,
                format!("{set}: `{REPETITION}` is reserved for the repetition number of a step with `count`"),
            );
        } else if let Some(default) = vars.get(name) {
            match default.parse_like(value) {
                Ok(v) => {
                    vars.insert(name.clone(), v);
                }
                Err(why) => c.at(&header, format!("{set}: {why}")),
            }
        } else {
            c.at(
                &header,
                format!("{set}: unknown variable `{name}` ({})", names()),
            );
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut edits = Vec::new();
    let mut copied = 0;
    for r in &scan.references {
        let replacement: Option<String> = match (&r.name, r.section) {
            (_, Section::Vars) => {
                c.at(
                    &r.span,
                    "[vars]: a variable's value cannot use ${…}: write the value itself",
                );
                None
            }
            (None, _) => {
                c.at(
                    &r.span,
                    "`${` starts a variable: write ${name} (a letter or _, then letters, digits, _ and -, then `}`)",
                );
                (r.context == Context::Bare).then(|| "0".to_owned())
            }
            (Some(n), Section::Step) if n == REPETITION && r.context != Context::Bare => None,
            (Some(n), section) if n == REPETITION => {
                c.at(
                    &r.span,
                    if section == Section::Step {
                        format!(
                            "${{{REPETITION}}} is text: write it inside a string of the step (e.g. \"web${{{REPETITION}}}\")"
                        )
                    } else {
                        format!(
                            "${{{REPETITION}}} is only defined in the strings of a [[step]] with `count` (the repetition number)"
                        )
                    },
                );
                (r.context == Context::Bare).then(|| "0".to_owned())
            }
            (Some(n), _) => match (vars.get(n), r.context) {
                (None, context) => {
                    c.at(&r.span, format!("unknown variable `{n}` ({})", names()));
                    (context == Context::Bare).then(|| "0".to_owned())
                }
                (Some(v), Context::Bare) => Some(v.literal()),
                (Some(v), Context::Basic) => Some(escape_basic(&v.text())),
                (Some(v), Context::Literal) => {
                    let t = v.text();
                    if t.contains('\'') || t.chars().any(char::is_control) {
                        c.at(
                            &r.span,
                            format!(
                                "the value of `{n}` ({t:?}) cannot go into a '…' string: use a \"…\" string"
                            ),
                        );
                        None
                    } else {
                        Some(t)
                    }
                }
            },
        };
        if let Some(rep) = replacement {
            out.push_str(&text[copied..r.span.start]);
            let start = out.len();
            out.push_str(&rep);
            edits.push(Edit {
                original: r.span.clone(),
                expanded: start..out.len(),
            });
            copied = r.span.end;
        }
    }
    out.push_str(&text[copied..]);
    Expansion {
        text: out,
        vars,
        edits,
    }
}

/// Why a scenario file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is over [`crate::limits::MAX_FILE_BYTES`] (refused before reading it).
    #[error(
        "{path}: the file is {len} bytes; a scenario file may be at most {max} bytes (4 MiB)",
        max = crate::limits::MAX_FILE_BYTES
    )]
    TooLarge {
        /// The path as given.
        path: String,
        /// Its size.
        len: u64,
    },
    /// The file is not a valid scenario (every problem, located).
    #[error(transparent)]
    Invalid(#[from] ScenarioErrors),
}

impl Scenario {
    /// Substitutes `[vars]` into `text` — each declared variable's default, replaced by
    /// `overrides[name]` when given (read with the default's type) — then parses and
    /// validates it. Returns the scenario (its [`Scenario::vars`] hold the values in
    /// effect) and its hash for [`crate::run`]: [`crate::scenario_hash`] of the substituted
    /// text, so points that differ in a value differ in hash, and a file without
    /// `${…}` hashes as before. Every problem — an unknown override or `${…}`, an override
    /// of the wrong type, and everything [`crate::parse_scenario`] checks — is reported at
    /// once, located in `text`. Pure: no I/O.
    pub fn parse_with(
        path_for_messages: &str,
        text: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<(Scenario, String), ScenarioErrors> {
        crate::validate::parse(path_for_messages, text, overrides)
    }

    /// [`Scenario::parse_with`] on the file at `path` (refused unread when larger than
    /// [`crate::limits::MAX_FILE_BYTES`]); messages name the path as given.
    pub fn load_with(
        path: &Path,
        overrides: &BTreeMap<String, String>,
    ) -> Result<(Scenario, String), LoadError> {
        let shown = path.display().to_string();
        let cannot = |source| LoadError::Read {
            path: shown.clone(),
            source,
        };
        let len = std::fs::metadata(path).map_err(cannot)?.len();
        if usize::try_from(len).map_or(true, |n| n > crate::limits::MAX_FILE_BYTES) {
            return Err(LoadError::TooLarge { path: shown, len });
        }
        let text = std::fs::read_to_string(path).map_err(cannot)?;
        Ok(Scenario::parse_with(&shown, &text, overrides)?)
    }
}

/// Problems of an expansion and of the substituted text's checks, together, located in the
/// file.
pub(crate) fn merge(
    path: &str,
    original: &str,
    expansion: &Expansion,
    first: Vec<Problem>,
    then: Option<ScenarioErrors>,
) -> ScenarioErrors {
    let mut problems = first;
    if let Some(e) = then {
        problems.extend(expansion.relocate(original, e).problems);
    }
    problems.sort_by_key(|p| (p.line, p.column));
    problems.dedup();
    ScenarioErrors {
        path: path.to_owned(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, overrides: &[(&str, &str)]) -> (Expansion, String) {
        let mut c = Collector::new(text);
        let o = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let e = expand(&mut c, text, &o);
        let problems = c.finish("f.toml").to_string();
        (e, problems)
    }

    const FILE: &str = "[vars]\nlimit = 500\nname = 'web \"a\"'\nratio = 0.5\n\n[x]\nargs = [\"--cpu\", \"${limit}\"]\nmax = ${limit} # ${ignored}\nline = \"run --name ${name}\"\nlit = 'x${limit}'\nbare = ${name}\n";

    #[test]
    fn substitutes_values_and_escapes_strings() {
        let (e, problems) = run(FILE, &[]);
        assert_eq!(problems, "");
        assert!(e.text.contains("args = [\"--cpu\", \"500\"]"), "{}", e.text);
        assert!(e.text.contains("max = 500 # ${ignored}"), "{}", e.text);
        assert!(
            e.text.contains(r#"line = "run --name web \"a\"""#),
            "{}",
            e.text
        );
        assert!(e.text.contains("lit = 'x500'"), "{}", e.text);
        assert!(e.text.contains(r#"bare = "web \"a\"""#), "{}", e.text);
        assert_eq!(e.text.lines().count(), FILE.lines().count());
        let t: toml::Table = toml::from_str(&e.text).expect("valid TOML");
        assert_eq!(t["x"]["max"].as_integer(), Some(500));
        assert_eq!(t["x"]["line"].as_str(), Some("run --name web \"a\""));
        assert_eq!(e.vars["ratio"], VarValue::Float(0.5));
    }

    #[test]
    fn overrides_take_the_defaults_type() {
        let (e, problems) = run(FILE, &[("limit", "5200"), ("ratio", "1")]);
        assert_eq!(problems, "");
        assert!(e.text.contains("max = 5200 #"));
        assert_eq!(e.vars["ratio"], VarValue::Float(1.0));
        assert_eq!(VarValue::Float(1.0).text(), "1.0");
        let (_, problems) = run(FILE, &[("limit", "lots"), ("nope", "1"), ("i", "2")]);
        assert!(
            problems.contains(
                "f.toml:1:1: --set limit=lots: \"lots\" is not an integer (the default is 500)"
            ),
            "{problems}"
        );
        assert!(
            problems
                .contains("--set nope=1: unknown variable `nope` (declared: limit, name, ratio)"),
            "{problems}"
        );
        assert!(
            problems.contains("--set i=2: `i` is reserved"),
            "{problems}"
        );
    }

    #[test]
    fn unknown_and_malformed_references_are_located() {
        let text = "[x]\na = ${nope}\nb = \"${ok\"\n[[step]]\nc = \"web${i}\"\nd = ${i}\n[y]\ne = \"${i}\"\n";
        let (e, problems) = run(text, &[]);
        assert!(
            problems.contains("f.toml:2:5: unknown variable `nope` (the file has no [vars] table)"),
            "{problems}"
        );
        assert!(
            problems.contains("f.toml:3:6: `${` starts a variable"),
            "{problems}"
        );
        assert!(problems.contains("f.toml:6:5: ${i} is text"), "{problems}");
        assert!(
            problems.contains("f.toml:8:6: ${i} is only defined"),
            "{problems}"
        );
        assert!(!problems.contains("f.toml:5:"), "{problems}");
        assert!(e.text.contains("a = 0\n") && e.text.contains("c = \"web${i}\""));
    }

    #[test]
    fn offsets_map_back_to_the_file() {
        let text = "[vars]\nv = \"a-long-value\"\n[x]\nk = \"${v}\" + bad\n";
        let (e, _) = run(text, &[]);
        let bad_expanded = e.text.find("+ bad").unwrap();
        assert_eq!(e.original_offset(bad_expanded), text.find("+ bad").unwrap());
        let inside = e.text.rfind("long").unwrap();
        assert_eq!(e.original_offset(inside), text.find("${v}").unwrap());
        assert_eq!(offset_of(text, 4, 5), text.find("\"${v}").unwrap());
    }

    #[test]
    fn vars_are_checked() {
        let (_, problems) = run("[vars]\ni = 1\nt = [1]\nu = \"${v}\"\n", &[]);
        assert!(
            problems.contains("f.toml:2:1: [vars]: `i` is reserved"),
            "{problems}"
        );
        assert!(
            problems.contains("f.toml:3:1: [vars]: `t` is array"),
            "{problems}"
        );
        assert!(
            problems.contains("f.toml:4:6: [vars]: a variable's value cannot use"),
            "{problems}"
        );
    }
}

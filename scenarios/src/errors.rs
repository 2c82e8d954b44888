//! Problems found in a scenario file, each with its line and column.

use std::fmt;
use std::ops::Range;

/// One problem at a place in the file (1-based line and column; the column counts characters).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Every problem of a scenario file. `Display` writes one per line as
/// `path:line:column: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioErrors {
    /// The path used in messages.
    pub path: String,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl ScenarioErrors {
    /// The problems, in file order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.path, p.line, p.column, p.message)?;
        }
        Ok(())
    }
}

/// 1-based (line, column) of a byte offset in `text` (clamped to the text; column in characters).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// Collects problems against one text.
pub(crate) struct Collector<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl<'t> Collector<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Collector {
            text,
            problems: Vec::new(),
        }
    }

    /// Records `message` at the start of `span`.
    pub(crate) fn at(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.problems.push(Problem {
            line,
            column,
            message: message.into(),
        });
    }

    /// Records a TOML error (syntax or schema) at its span, or at the file's start.
    pub(crate) fn toml(&mut self, context: Option<&str>, e: &toml::de::Error) {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().replace('\n', " ");
        match context {
            Some(c) => self.at(&span, format!("{c}: {msg}")),
            None => self.at(&span, msg),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    pub(crate) fn finish(mut self, path: &str) -> ScenarioErrors {
        // Stable sort: problems at one place keep their discovery order.
        self.problems.sort_by_key(|p| (p.line, p.column));
        self.problems.dedup();
        ScenarioErrors {
            path: path.to_owned(),
            problems: self.problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn offsets_to_line_and_column() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 5), (2, 3));
        assert_eq!(line_col(t, 7), (2, 4)); // after the two-byte é
        assert_eq!(line_col(t, 999), (3, 2));
    }
}

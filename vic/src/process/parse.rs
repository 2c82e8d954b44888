//! The grammar of emulated scripts: lines of `;`-separated and-or lists (`&&`, `||`, left
//! associative) of simple commands, each a run of `NAME=value` assignments and words.
//!
//! Like ash, a script is taken one line at a time: [`parse`] returns the complete lines before
//! the first error, which the shell runs before reporting it. Reserved words (`if`, `for`, `{`,
//! `!`, …) in command position are refused as not emulated.

use super::lex::{LexError, Lexer, Part, Tok, Word};

/// A simple command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Cmd {
    /// Leading `NAME=value` words.
    pub assigns: Vec<(String, Vec<Part>)>,
    pub words: Vec<Word>,
    /// 1-based line where the command starts.
    pub line: u32,
}

/// `&&` or `||`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Connector {
    And,
    Or,
}

/// `cmd && cmd || cmd…`
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AndOr {
    pub first: Cmd,
    pub rest: Vec<(Connector, Cmd)>,
}

/// The and-or lists of one line, run in order.
pub(super) type Line = Vec<AndOr>;

/// Why parsing stopped before the end of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ParseError {
    /// A construct outside the emulated syntax, as written.
    Unsupported(String),
    /// A syntax error: the text after "syntax error: ".
    Syntax(String),
    /// The text ends inside a quote: an interactive shell reads another line.
    UnterminatedQuote,
    /// The text ends after `&&` or `||`: an interactive shell reads another line.
    MissingCommand,
}

impl ParseError {
    /// Whether more input could complete the text.
    pub fn is_incomplete(&self) -> bool {
        matches!(
            self,
            ParseError::UnterminatedQuote | ParseError::MissingCommand
        )
    }

    /// The text after "syntax error: " for an incomplete text that really ended.
    pub fn at_end_message(&self) -> Option<&'static str> {
        match self {
            ParseError::UnterminatedQuote => Some("unterminated quoted string"),
            ParseError::MissingCommand => Some("unexpected end of file"),
            _ => None,
        }
    }
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> ParseError {
        match e {
            LexError::Unsupported(s) => ParseError::Unsupported(s),
            LexError::Unterminated => ParseError::UnterminatedQuote,
            LexError::Syntax(s) => ParseError::Syntax(s),
        }
    }
}

/// Reserved words of the POSIX shell (and ash's bash extensions): none is emulated.
const RESERVED: [&str; 18] = [
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "{", "}", "!", "[[", "function",
];

/// The complete lines of `text` (first line numbered `first_line`), and the error that stopped
/// parsing with the line where it was found, if any.
pub(super) fn parse(text: &str, first_line: u32) -> (Vec<Line>, Option<(ParseError, u32)>) {
    let mut p = Parser {
        lex: Lexer::new(text, first_line),
        peeked: None,
    };
    let mut lines = Vec::new();
    loop {
        match p.line() {
            Ok(Some(line)) => lines.push(line),
            Ok(None) => return (lines, None),
            Err(e) => return (lines, Some((e, p.lex.line()))),
        }
    }
}

struct Parser {
    lex: Lexer,
    peeked: Option<Tok>,
}

fn describe(tok: &Tok) -> &'static str {
    match tok {
        Tok::Semi => "\";\"",
        Tok::DoubleSemi => "\";;\"",
        Tok::AndIf => "\"&&\"",
        Tok::OrIf => "\"||\"",
        Tok::Newline => "newline",
        Tok::Word(_) => "word",
    }
}

fn unexpected(tok: &Tok) -> ParseError {
    ParseError::Syntax(format!("unexpected {}", describe(tok)))
}

impl Parser {
    fn next(&mut self) -> Result<Option<Tok>, ParseError> {
        match self.peeked.take() {
            Some(t) => Ok(Some(t)),
            None => Ok(self.lex.next_token()?),
        }
    }

    fn peek(&mut self) -> Result<Option<&Tok>, ParseError> {
        if self.peeked.is_none() {
            self.peeked = self.lex.next_token()?;
        }
        Ok(self.peeked.as_ref())
    }

    /// The next non-empty line, `None` at the end.
    fn line(&mut self) -> Result<Option<Line>, ParseError> {
        while self.peek()? == Some(&Tok::Newline) {
            self.next()?;
        }
        if self.peek()?.is_none() {
            return Ok(None);
        }
        let mut line = vec![self.and_or()?];
        loop {
            match self.next()? {
                None | Some(Tok::Newline) => return Ok(Some(line)),
                Some(Tok::Semi) => match self.peek()? {
                    None | Some(Tok::Newline) => {}
                    Some(_) => line.push(self.and_or()?),
                },
                Some(t) => return Err(unexpected(&t)),
            }
        }
    }

    fn and_or(&mut self) -> Result<AndOr, ParseError> {
        let first = self.command()?;
        let mut rest = Vec::new();
        loop {
            let connector = match self.peek()? {
                Some(Tok::AndIf) => Connector::And,
                Some(Tok::OrIf) => Connector::Or,
                _ => return Ok(AndOr { first, rest }),
            };
            self.next()?;
            // A command may follow on the next line.
            while self.peek()? == Some(&Tok::Newline) {
                self.next()?;
            }
            rest.push((connector, self.command()?));
        }
    }

    fn command(&mut self) -> Result<Cmd, ParseError> {
        let mut words = Vec::new();
        while let Some(Tok::Word(_)) = self.peek()? {
            if let Some(Tok::Word(w)) = self.next()? {
                words.push(w);
            }
        }
        let Some(first) = words.first() else {
            return Err(match self.next()? {
                None => ParseError::MissingCommand,
                Some(t) => unexpected(&t),
            });
        };
        if let [
            Part::Lit {
                text,
                quoted: false,
            },
        ] = first.parts.as_slice()
            && RESERVED.contains(&text.as_str())
        {
            return Err(ParseError::Unsupported(text.clone()));
        }
        let line = first.line;
        let mut assigns = Vec::new();
        let mut rest = words.into_iter().peekable();
        while let Some(w) = rest.peek() {
            let Some(assign) = as_assignment(w) else {
                break;
            };
            assigns.push(assign);
            rest.next();
        }
        Ok(Cmd {
            assigns,
            words: rest.collect(),
            line,
        })
    }
}

/// `NAME=value` when the word starts with an unquoted valid name and `=`.
fn as_assignment(w: &Word) -> Option<(String, Vec<Part>)> {
    let Some(Part::Lit {
        text,
        quoted: false,
    }) = w.parts.first()
    else {
        return None;
    };
    let (name, value) = text.split_once('=')?;
    if !is_name(name) {
        return None;
    }
    let mut parts = Vec::with_capacity(w.parts.len());
    if !value.is_empty() {
        parts.push(Part::Lit {
            text: value.into(),
            quoted: false,
        });
    }
    parts.extend(w.parts[1..].iter().cloned());
    Some((name.into(), parts))
}

/// Whether `s` is a valid variable name.
pub(super) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<Line> {
        let (lines, err) = parse(s, 1);
        assert_eq!(err, None, "{s}");
        lines
    }

    fn err(s: &str) -> (usize, ParseError) {
        let (lines, err) = parse(s, 1);
        (lines.len(), err.expect(s).0)
    }

    #[test]
    fn lists_and_lines() {
        let l = ok("a; b && c || d\n\n# c\ne;");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].len(), 2);
        assert_eq!(l[0][1].rest.len(), 2);
        assert_eq!(l[0][1].rest[1].0, Connector::Or);
        assert_eq!(l[1][0].first.line, 4);
        // A command after && may be on the next line.
        assert_eq!(ok("a &&\n\nb")[0][0].rest.len(), 1);
    }

    #[test]
    fn assignments_only_before_the_command() {
        let l = ok("A=1 B='x y' cmd C=2");
        let c = &l[0][0].first;
        assert_eq!(c.assigns.len(), 2);
        assert_eq!(c.assigns[0].0, "A");
        assert_eq!(c.words.len(), 2);
        let l = ok("'A=1' 1A=2");
        assert!(l[0][0].first.assigns.is_empty());
    }

    #[test]
    fn errors_keep_complete_lines_before() {
        assert_eq!(
            err("a\nb; ;"),
            (1, ParseError::Syntax("unexpected \";\"".into()))
        );
        assert_eq!(
            err("a;;"),
            (0, ParseError::Syntax("unexpected \";;\"".into()))
        );
        assert_eq!(
            err("a && && b"),
            (0, ParseError::Syntax("unexpected \"&&\"".into()))
        );
        assert_eq!(err("a &&"), (0, ParseError::MissingCommand));
        assert_eq!(err("a\n'b"), (1, ParseError::UnterminatedQuote));
        assert_eq!(err("if true"), (0, ParseError::Unsupported("if".into())));
        assert_eq!(err("a | b"), (0, ParseError::Unsupported("|".into())));
        // A reserved word as an argument is a plain word.
        ok("echo if fi");
    }
}

//! Shell tokens: words (literal text, quotes, `$` parameters, a leading `~`) and the list
//! operators `;`, `&&`, `||` and newline.
//!
//! Constructs outside the emulated syntax (pipes, redirections, `&`, subshells, command and
//! arithmetic substitution, backticks, `${…}` forms other than the few below) are reported as
//! [`LexError::Unsupported`] with their text, so the shell can say precisely what it refused.

/// A token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tok {
    /// A word.
    Word(Word),
    /// `;`
    Semi,
    /// `;;` (a `case` terminator: always a syntax error here).
    DoubleSemi,
    /// `&&`
    AndIf,
    /// `||`
    OrIf,
    /// A newline outside quotes.
    Newline,
}

/// A word as written, before expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Word {
    pub parts: Vec<Part>,
    /// 1-based line of the script where the word starts.
    pub line: u32,
}

/// A piece of a word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// Literal text; `quoted` when it came from quotes or a backslash (it keeps an empty word
    /// alive and never names an assignment).
    Lit { text: String, quoted: bool },
    /// `~` or `~/…` at the start of a word: `$HOME`.
    Tilde,
    /// `$NAME`, `${NAME}` and `${NAME<op>word}`.
    Param {
        param: Param,
        quoted: bool,
        op: Option<ParamOp>,
    },
    /// `${#NAME}`: the length of the value.
    Length { param: Param, quoted: bool },
}

/// What a `$` refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Param {
    Name(String),
    Positional(usize),
    /// `$?`
    Status,
    /// `$$`
    Pid,
    /// `$#`
    Count,
    /// `$@`
    At,
    /// `$*`
    Star,
    /// `$!`
    Bang,
    /// `$-`
    Flags,
}

/// `${NAME:-word}` and friends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ParamOp {
    /// With `:`, an empty value counts as unset.
    pub colon: bool,
    pub kind: OpKind,
    pub word: Vec<Part>,
}

/// The operator of a `${NAME<op>word}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OpKind {
    /// `-`: use word when unset.
    Default,
    /// `=`: assign word when unset.
    Assign,
    /// `+`: use word when set.
    Alternative,
    /// `?`: error with word when unset.
    Error,
}

/// Why lexing stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum LexError {
    /// A construct outside the emulated syntax, as written.
    Unsupported(String),
    /// A quote still open at the end of the text (an interactive shell asks for more).
    Unterminated,
    /// A malformed `${…}`: the text after "syntax error: ".
    Syntax(String),
}

/// Characters that end an unquoted word.
fn is_meta(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')'
    )
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// The tokenizer over one text.
pub(super) struct Lexer {
    src: Vec<char>,
    pos: usize,
    line: u32,
}

impl Lexer {
    /// A lexer whose first line is numbered `first_line`.
    pub fn new(text: &str, first_line: u32) -> Lexer {
        Lexer {
            src: text.chars().collect(),
            pos: 0,
            line: first_line,
        }
    }

    /// The line the lexer has reached.
    pub fn line(&self) -> u32 {
        self.line
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.src.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// The next token, `None` at the end of the text.
    pub fn next_token(&mut self) -> Result<Option<Tok>, LexError> {
        loop {
            match self.peek() {
                Some(' ' | '\t') => {
                    self.bump();
                }
                Some('\\') if self.peek_at(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                _ => break,
            }
        }
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let tok = match c {
            '\n' => {
                self.bump();
                Tok::Newline
            }
            ';' => {
                self.bump();
                if self.peek() == Some(';') {
                    self.bump();
                    Tok::DoubleSemi
                } else {
                    Tok::Semi
                }
            }
            '&' | '|' => {
                self.bump();
                if self.peek() != Some(c) {
                    return Err(LexError::Unsupported(c.to_string()));
                }
                self.bump();
                if c == '&' { Tok::AndIf } else { Tok::OrIf }
            }
            '<' | '>' => return Err(LexError::Unsupported(self.redirection())),
            '(' | ')' => return Err(LexError::Unsupported(c.to_string())),
            _ => {
                let line = self.line;
                let parts = self.word_parts(None, false)?;
                Tok::Word(Word { parts, line })
            }
        };
        Ok(Some(tok))
    }

    /// The text of a redirection operator, for the refusal message.
    fn redirection(&self) -> String {
        const OPS: [&str; 9] = ["<<-", "<<", ">>", ">&", "<&", "<>", ">|", "<", ">"];
        let rest: String = self.src[self.pos..].iter().take(3).collect();
        OPS.iter()
            .find(|op| rest.starts_with(*op))
            .map_or_else(|| rest.chars().take(1).collect(), |op| op.to_string())
    }

    /// The parts of a word. At top level (`close` None) the word ends at a metacharacter; inside
    /// `${NAME<op>…}` (`close` Some('}')) it ends at the brace and blanks are literal.
    /// `in_dquote` marks every part quoted (an operator word inside double quotes).
    fn word_parts(&mut self, close: Option<char>, in_dquote: bool) -> Result<Vec<Part>, LexError> {
        let mut parts = Vec::new();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if Some(c) == close || (close.is_none() && is_meta(c)) {
                break;
            }
            match c {
                '\'' => {
                    self.bump();
                    let mut text = String::new();
                    loop {
                        match self.bump() {
                            None => return Err(LexError::Unterminated),
                            Some('\'') => break,
                            Some(ch) => text.push(ch),
                        }
                    }
                    push_lit(&mut parts, &text, true);
                }
                '"' => {
                    self.bump();
                    self.double_quoted(&mut parts)?;
                }
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') => {}
                        // A backslash ending the text stays literal, as in ash.
                        None => push_lit(&mut parts, "\\", true),
                        Some(ch) => push_lit(&mut parts, &ch.to_string(), true),
                    }
                }
                '$' => {
                    let part = self.dollar(in_dquote)?;
                    parts.push(part);
                }
                '`' => return Err(LexError::Unsupported("`".into())),
                '~' if self.pos == start && close.is_none() => {
                    self.bump();
                    if self.peek().is_none_or(|n| n == '/' || is_meta(n)) {
                        parts.push(Part::Tilde);
                    } else {
                        push_lit(&mut parts, "~", in_dquote);
                    }
                }
                _ => {
                    self.bump();
                    push_lit(&mut parts, &c.to_string(), in_dquote);
                }
            }
        }
        Ok(parts)
    }

    /// The rest of a `"…"` after its opening quote.
    fn double_quoted(&mut self, parts: &mut Vec<Part>) -> Result<(), LexError> {
        // An empty `""` still makes a word; the marker goes once something else is inside, so
        // that `"$@"` without parameters makes none.
        let marker = parts.len();
        push_lit(parts, "", true);
        let created = parts.len() > marker;
        loop {
            match self.peek() {
                None => return Err(LexError::Unterminated),
                Some('"') => {
                    self.bump();
                    if created
                        && parts.len() > marker + 1
                        && matches!(&parts[marker], Part::Lit { text, .. } if text.is_empty())
                    {
                        parts.remove(marker);
                    }
                    return Ok(());
                }
                Some('\\') => {
                    self.bump();
                    match self.bump() {
                        None => return Err(LexError::Unterminated),
                        Some('\n') => {}
                        Some(ch @ ('$' | '`' | '"' | '\\')) => {
                            push_lit(parts, &ch.to_string(), true)
                        }
                        Some(ch) => push_lit(parts, &format!("\\{ch}"), true),
                    }
                }
                Some('$') => {
                    let part = self.dollar(true)?;
                    parts.push(part);
                }
                Some('`') => return Err(LexError::Unsupported("`".into())),
                Some(ch) => {
                    self.bump();
                    push_lit(parts, &ch.to_string(), true);
                }
            }
        }
    }

    /// A `$` expansion, the `$` not yet consumed.
    fn dollar(&mut self, quoted: bool) -> Result<Part, LexError> {
        self.bump();
        let Some(c) = self.peek() else {
            return Ok(lit("$", quoted));
        };
        let param = match c {
            '{' => return self.braced(quoted),
            '(' => {
                let construct = if self.peek_at(1) == Some('(') {
                    "$(("
                } else {
                    "$("
                };
                return Err(LexError::Unsupported(construct.into()));
            }
            '0'..='9' => {
                self.bump();
                Param::Positional(c as usize - '0' as usize)
            }
            c if is_name_start(c) => Param::Name(self.name()),
            _ => match special(c) {
                Some(p) => {
                    self.bump();
                    p
                }
                None => return Ok(lit("$", quoted)),
            },
        };
        Ok(Part::Param {
            param,
            quoted,
            op: None,
        })
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|&c| is_name_char(c)) {
            self.bump();
            name.push(c);
        }
        name
    }

    /// A `${…}`, positioned at `{`.
    fn braced(&mut self, quoted: bool) -> Result<Part, LexError> {
        let open = self.pos - 1;
        self.bump();
        if self.peek() == Some('#') && self.peek_at(1) != Some('}') {
            self.bump();
            let param = self.braced_param()?;
            self.expect_close(open)?;
            return Ok(Part::Length { param, quoted });
        }
        let param = self.braced_param()?;
        let colon = self.peek() == Some(':');
        if colon {
            self.bump();
        }
        let kind = match self.peek() {
            Some('}') if !colon => {
                self.bump();
                return Ok(Part::Param {
                    param,
                    quoted,
                    op: None,
                });
            }
            Some('-') => OpKind::Default,
            Some('=') => OpKind::Assign,
            Some('+') => OpKind::Alternative,
            Some('?') => OpKind::Error,
            None => return Err(LexError::Syntax("missing '}'".into())),
            _ => return Err(self.unsupported_brace(open)),
        };
        self.bump();
        let word = self.word_parts(Some('}'), quoted)?;
        self.expect_close(open)?;
        Ok(Part::Param {
            param,
            quoted,
            op: Some(ParamOp { colon, kind, word }),
        })
    }

    fn braced_param(&mut self) -> Result<Param, LexError> {
        match self.peek() {
            Some(c) if is_name_start(c) => Ok(Param::Name(self.name())),
            Some(c) if c.is_ascii_digit() => {
                let mut n: usize = 0;
                while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
                    self.bump();
                    n = n.saturating_mul(10).saturating_add(d as usize);
                }
                Ok(Param::Positional(n))
            }
            Some(c) => match special(c) {
                Some(p) => {
                    self.bump();
                    Ok(p)
                }
                None if self.src[self.pos..].contains(&'}') => {
                    Err(LexError::Syntax("bad substitution".into()))
                }
                None => Err(LexError::Syntax("missing '}'".into())),
            },
            None => Err(LexError::Syntax("missing '}'".into())),
        }
    }

    fn expect_close(&mut self, open: usize) -> Result<(), LexError> {
        match self.peek() {
            Some('}') => {
                self.bump();
                Ok(())
            }
            Some(_) => Err(self.unsupported_brace(open)),
            None => Err(LexError::Syntax("missing '}'".into())),
        }
    }

    /// A `${…}` form that is not emulated, quoted up to its closing brace.
    fn unsupported_brace(&self, open: usize) -> LexError {
        let rest = &self.src[open..];
        let end = rest
            .iter()
            .position(|&c| c == '}')
            .map_or(rest.len(), |i| i + 1);
        LexError::Unsupported(rest[..end].iter().collect())
    }
}

fn special(c: char) -> Option<Param> {
    Some(match c {
        '?' => Param::Status,
        '$' => Param::Pid,
        '#' => Param::Count,
        '@' => Param::At,
        '*' => Param::Star,
        '!' => Param::Bang,
        '-' => Param::Flags,
        _ => return None,
    })
}

fn lit(text: &str, quoted: bool) -> Part {
    Part::Lit {
        text: text.into(),
        quoted,
    }
}

/// Appends literal text, merging with a previous literal of the same quoting.
fn push_lit(parts: &mut Vec<Part>, text: &str, quoted: bool) {
    if let Some(Part::Lit {
        text: prev,
        quoted: q,
    }) = parts.last_mut()
        && *q == quoted
    {
        prev.push_str(text);
        return;
    }
    parts.push(lit(text, quoted));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Result<Vec<Tok>, LexError> {
        let mut l = Lexer::new(s, 1);
        let mut v = Vec::new();
        while let Some(t) = l.next_token()? {
            v.push(t);
        }
        Ok(v)
    }

    fn word(t: &Tok) -> &[Part] {
        match t {
            Tok::Word(w) => &w.parts,
            other => panic!("not a word: {other:?}"),
        }
    }

    #[test]
    fn operators_comments_and_lines() {
        let t = toks("a;b&&c||d # x y\ne;;").unwrap();
        assert_eq!(t.len(), 10);
        assert_eq!(t[1], Tok::Semi);
        assert_eq!(t[3], Tok::AndIf);
        assert_eq!(t[5], Tok::OrIf);
        assert_eq!(t[7], Tok::Newline);
        assert_eq!(t[9], Tok::DoubleSemi);
        let Tok::Word(e) = &t[8] else { panic!() };
        assert_eq!(e.line, 2);
        assert_eq!(word(&t[0]), &[lit("a", false)]);
    }

    #[test]
    fn quotes_and_escapes() {
        let t = toks(r#"'a b'"c\$d\q"\ e a#b"#).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(word(&t[0]), &[lit(r"a bc$d\q ", true), lit("e", false)]);
        assert_eq!(word(&t[1]), &[lit("a#b", false)]);
        assert_eq!(toks("\"\"").unwrap().len(), 1);
        assert_eq!(toks("echo 'a").unwrap_err(), LexError::Unterminated);
        assert_eq!(toks("echo \"a").unwrap_err(), LexError::Unterminated);
    }

    #[test]
    fn parameters() {
        let t = toks("$A${B}$1$?${10}$ ${#C}").unwrap();
        let p = word(&t[0]);
        assert!(matches!(&p[0], Part::Param { param: Param::Name(n), .. } if n == "A"));
        assert!(matches!(&p[1], Part::Param { param: Param::Name(n), .. } if n == "B"));
        assert!(matches!(
            &p[2],
            Part::Param {
                param: Param::Positional(1),
                ..
            }
        ));
        assert!(matches!(
            &p[3],
            Part::Param {
                param: Param::Status,
                ..
            }
        ));
        assert!(matches!(
            &p[4],
            Part::Param {
                param: Param::Positional(10),
                ..
            }
        ));
        assert_eq!(p[5], lit("$", false));
        assert!(matches!(word(&t[1])[0], Part::Length { .. }));
        let t = toks("${X:-a b}").unwrap();
        let Part::Param { op: Some(op), .. } = &word(&t[0])[0] else {
            panic!()
        };
        assert!(op.colon);
        assert_eq!(op.kind, OpKind::Default);
        assert_eq!(op.word, vec![lit("a b", false)]);
    }

    #[test]
    fn tilde_only_at_word_start() {
        assert_eq!(word(&toks("~/x").unwrap()[0])[0], Part::Tilde);
        assert_eq!(word(&toks("a~").unwrap()[0]), &[lit("a~", false)]);
        assert_eq!(word(&toks("~x").unwrap()[0]), &[lit("~x", false)]);
    }

    #[test]
    fn unsupported_constructs_are_named() {
        let u = |s: &str| toks(s).unwrap_err();
        assert_eq!(u("a | b"), LexError::Unsupported("|".into()));
        assert_eq!(u("a &"), LexError::Unsupported("&".into()));
        assert_eq!(u("a >> f"), LexError::Unsupported(">>".into()));
        assert_eq!(u("a 2>f"), LexError::Unsupported(">".into()));
        assert_eq!(u("a $(b)"), LexError::Unsupported("$(".into()));
        assert_eq!(u("a \"$((1))\""), LexError::Unsupported("$((".into()));
        assert_eq!(u("a `b`"), LexError::Unsupported("`".into()));
        assert_eq!(u("(a)"), LexError::Unsupported("(".into()));
        assert_eq!(u("${X/a/b}"), LexError::Unsupported("${X/a/b}".into()));
        assert_eq!(u("${X"), LexError::Syntax("missing '}'".into()));
    }
}

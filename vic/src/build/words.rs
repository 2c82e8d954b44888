//! Docker's word processing for Dockerfile arguments: quote removal, the escape character
//! and `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}` substitution, applied (as the legacy
//! builder does) to the arguments of ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER,
//! VOLUME, WORKDIR and ARG — never to RUN, CMD or ENTRYPOINT, whose shell does its own.
//!
//! An unset variable expands to nothing. Errors use the 17.06 texts (`Missing ':' in
//! substitution`, `Unsupported modifier (?) in substitution`).

use thiserror::Error;

/// A word that cannot be processed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WordError {
    /// `${NAME` without its closing brace.
    #[error("Missing '}}' in substitution: {0}")]
    MissingBrace(String),
    /// `${NAME?x}` and other characters after the name.
    #[error("Missing ':' in substitution: {0}")]
    MissingColon(String),
    /// `${NAME:?word}` and other modifiers than `-` and `+`.
    #[error("Unsupported modifier ({modifier}) in substitution: {word}")]
    UnsupportedModifier {
        /// The modifier character.
        modifier: char,
        /// The whole word.
        word: String,
    },
    /// An opening quote without its closing one.
    #[error("unexpected end of statement while looking for matching {0}")]
    UnterminatedQuote(&'static str),
    /// `${A:-${B:-…}}` nested deeper than [`MAX_NESTING`] (ours: the parser recurses per
    /// level, and a Dockerfile may be 1 MiB).
    #[error("substitutions nested more than {MAX_NESTING} deep: {0}")]
    TooDeep(String),
}

/// Deepest `${…}` nesting a word may have.
pub const MAX_NESTING: usize = 32;

/// Expands one word: quotes are removed, escapes applied, variables substituted from `env`
/// (`KEY`, `VALUE` pairs; the last pair with a key wins). Blanks inside the word are kept.
pub fn process_word(
    word: &str,
    env: &[(String, String)],
    escape: char,
) -> Result<String, WordError> {
    let chars: Vec<char> = word.chars().collect();
    let mut lex = Lexer {
        chars: &chars,
        pos: 0,
        env,
        escape,
        word,
        depth: 0,
    };
    lex.until(None)
}

/// Expands a list (EXPOSE): the word is expanded, then split on blanks.
pub fn process_words(
    word: &str,
    env: &[(String, String)],
    escape: char,
) -> Result<Vec<String>, WordError> {
    Ok(process_word(word, env, escape)?
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

/// The value of `name` in `env`, the last definition winning.
pub fn lookup<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    env: &'a [(String, String)],
    escape: char,
    word: &'a str,
    /// Open `${` levels.
    depth: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Processes until `stop` (consumed) or the end.
    fn until(&mut self, stop: Option<char>) -> Result<String, WordError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok(out);
            }
            self.pos += 1;
            match c {
                '\'' => out.push_str(&self.single_quoted()?),
                '"' => out.push_str(&self.double_quoted()?),
                '$' => out.push_str(&self.dollar()?),
                c if c == self.escape => {
                    if let Some(n) = self.next() {
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
        match stop {
            Some(_) => Err(WordError::MissingBrace(self.word.to_owned())),
            None => Ok(out),
        }
    }

    fn single_quoted(&mut self) -> Result<String, WordError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
                None => return Err(WordError::UnterminatedQuote("single-quote")),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, WordError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(out),
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) if c == self.escape => match self.next() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => out.push(n),
                    Some(n) => {
                        out.push(c);
                        out.push(n);
                    }
                    None => return Err(WordError::UnterminatedQuote("double-quote")),
                },
                Some(c) => out.push(c),
                None => return Err(WordError::UnterminatedQuote("double-quote")),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        if let Some(c) = self.peek()
            && c.is_ascii_digit()
        {
            // Positional-style `$1`: one digit only, as the shell reads it.
            self.pos += 1;
            name.push(c);
            return name;
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    fn value(&self, name: &str) -> String {
        lookup(self.env, name).unwrap_or_default().to_owned()
    }

    /// `${NAME}`, `${NAME:-word}`, `${NAME:+word}` after the `${`.
    fn braced(&mut self) -> Result<String, WordError> {
        let name = self.name();
        match self.next() {
            Some('}') => Ok(self.value(&name)),
            Some(':') => {
                let modifier = self.next();
                let word = self.until(Some('}'))?;
                let set = lookup(self.env, &name).is_some_and(|v| !v.is_empty());
                match modifier {
                    Some('-') => Ok(if set { self.value(&name) } else { word }),
                    Some('+') => Ok(if set { word } else { String::new() }),
                    Some(m) => Err(WordError::UnsupportedModifier {
                        modifier: m,
                        word: self.word.to_owned(),
                    }),
                    None => Err(WordError::MissingBrace(self.word.to_owned())),
                }
            }
            Some(_) => Err(WordError::MissingColon(self.word.to_owned())),
            None => Err(WordError::MissingBrace(self.word.to_owned())),
        }
    }

    fn dollar(&mut self) -> Result<String, WordError> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                if self.depth >= MAX_NESTING {
                    return Err(WordError::TooDeep(self.word.to_owned()));
                }
                self.depth += 1;
                let expanded = self.braced();
                self.depth -= 1;
                expanded
            }
            _ => {
                let name = self.name();
                if name.is_empty() {
                    Ok("$".to_owned())
                } else {
                    Ok(self.value(&name))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        vec![
            ("A".into(), "one".into()),
            ("EMPTY".into(), String::new()),
            ("A".into(), "two".into()),
        ]
    }

    fn w(text: &str) -> Result<String, WordError> {
        process_word(text, &env(), '\\')
    }

    #[test]
    fn substitution_forms() {
        assert_eq!(w("$A").unwrap(), "two", "last definition wins");
        assert_eq!(w("${A}x").unwrap(), "twox");
        assert_eq!(w("$Ax").unwrap(), "", "the name runs on");
        assert_eq!(w("${NOPE:-dflt}").unwrap(), "dflt");
        assert_eq!(w("${EMPTY:-dflt}").unwrap(), "dflt");
        assert_eq!(w("${A:-dflt}").unwrap(), "two");
        assert_eq!(w("${A:+set}").unwrap(), "set");
        assert_eq!(w("${NOPE:+set}").unwrap(), "");
        assert_eq!(w("${NOPE:-$A/x}").unwrap(), "two/x", "nested expansion");
        assert_eq!(w("a$").unwrap(), "a$");
        assert_eq!(w("$ x").unwrap(), "$ x");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(w("'$A b'").unwrap(), "$A b");
        assert_eq!(w("\"$A b\"").unwrap(), "two b");
        assert_eq!(w("\\$A").unwrap(), "$A");
        assert_eq!(w("\"a\\\"b\\n\"").unwrap(), "a\"b\\n");
        assert_eq!(process_word("`$A", &env(), '`').unwrap(), "$A");
        assert_eq!(process_word("c:\\x", &env(), '`').unwrap(), "c:\\x");
    }

    #[test]
    fn errors() {
        assert_eq!(
            w("${A").unwrap_err().to_string(),
            "Missing '}' in substitution: ${A"
        );
        assert_eq!(
            w("${A?x}").unwrap_err().to_string(),
            "Missing ':' in substitution: ${A?x}"
        );
        assert_eq!(
            w("${A:?x}").unwrap_err().to_string(),
            "Unsupported modifier (?) in substitution: ${A:?x}"
        );
        assert!(w("'abc").is_err());
        assert!(w("\"abc").is_err());
    }

    #[test]
    fn lists_split_after_expansion() {
        let env = vec![("PORTS".to_string(), "80 443/tcp".to_string())];
        assert_eq!(
            process_words("$PORTS 53/udp", &env, '\\').unwrap(),
            ["80", "443/tcp", "53/udp"]
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = format!("{}x{}", "${A:-".repeat(100_000), "}".repeat(100_000));
        assert!(matches!(
            process_word(&deep, &env(), '\\'),
            Err(WordError::TooDeep(_))
        ));
        let ok = format!(
            "{}x{}",
            "${N:-".repeat(MAX_NESTING),
            "}".repeat(MAX_NESTING)
        );
        assert_eq!(process_word(&ok, &env(), '\\').unwrap(), "x");
    }
}

//! Splitting a command line into words with POSIX `sh` quoting (single quotes, double quotes
//! with `\"`, `\\`, `\$` and `` \` `` escapes, backslashes outside quotes); no variables,
//! globs or substitutions. Enough for the lines vic-machine prints, which quote paths with
//! double quotes (`--tlscacert="/certs/my vch/ca.pem"`).

use super::error::CliError;

/// Splits `line` into words. Fails on an unterminated quote or a trailing backslash.
pub fn split_words(line: &str) -> Result<Vec<String>, CliError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(CliError::Quoting("unterminated single quote".into())),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => {
                                return Err(CliError::Quoting("unterminated double quote".into()));
                            }
                        },
                        Some(c) => cur.push(c),
                        None => return Err(CliError::Quoting("unterminated double quote".into())),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    cur.push(c);
                }
                None => return Err(CliError::Quoting("trailing backslash".into())),
            },
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_sh() {
        assert_eq!(
            split_words(r#"docker -H 1.2.3.4:2376 --tlscacert="/c/my vch/ca.pem" info"#).unwrap(),
            [
                "docker",
                "-H",
                "1.2.3.4:2376",
                "--tlscacert=/c/my vch/ca.pem",
                "info"
            ]
        );
        assert_eq!(
            split_words(r#"a 'b c' "d\"e\$f\x" g\ h '' """#).unwrap(),
            ["a", "b c", "d\"e$f\\x", "g h", "", ""]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert!(matches!(split_words("'a"), Err(CliError::Quoting(_))));
        assert!(matches!(split_words("\"a"), Err(CliError::Quoting(_))));
        assert!(matches!(split_words("a\\"), Err(CliError::Quoting(_))));
    }
}

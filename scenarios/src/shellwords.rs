//! Shell-like splitting of docker command lines into argv (POSIX `sh` quoting rules for
//! single quotes, double quotes and backslashes; no variables, globs or substitutions).

/// Splits `line` into words. Errors on an unterminated quote or a trailing backslash.
pub fn split(line: &str) -> Result<Vec<String>, String> {
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
                        None => return Err("unterminated single quote".into()),
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
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    cur.push(c);
                }
                None => return Err("trailing backslash".into()),
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
    use super::split;

    #[test]
    fn splits_like_sh() {
        assert_eq!(
            split(r#"run -d --name "a b" -e 'X=$y z' c\ d "q\"x""#).unwrap(),
            ["run", "-d", "--name", "a b", "-e", "X=$y z", "c d", "q\"x"]
        );
        assert_eq!(split("  ps   -a ").unwrap(), ["ps", "-a"]);
        assert_eq!(split("run ''").unwrap(), ["run", ""]);
        assert!(split("").unwrap().is_empty());
        assert!(split("run 'x").is_err());
        assert!(split("run \"x").is_err());
        assert!(split("run x\\").is_err());
    }
}

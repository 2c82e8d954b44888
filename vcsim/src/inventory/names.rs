//! Entity names as vSphere stores them.
//!
//! The vSphere API reference for `ManagedEntity.name`: "Any / (slash), \ (backslash),
//! character used in this name element will be escaped. Similarly, any % (percent) character
//! used in this name element will be escaped, unless it is used to start an escape sequence.
//! A slash is escaped as %2F or %2f. A backslash is escaped as %5C or %5c, and a percent is
//! escaped as %25." Names are at most 80 characters. A character XML 1.0 cannot carry (C0
//! controls other than tab, newline and carriage return; U+FFFE, U+FFFF) is refused with
//! `InvalidName`: once stored it would make every listing that includes the entity
//! unreadable to a strict XML client. Other control characters (tab, newline, DEL, C1) are
//! refused as well: no vSphere client can type or show them in a name.

use crate::vmodl::{Fault, Value};

/// The longest entity name vSphere accepts, in characters.
pub const NAME_MAX_CHARS: usize = 80;

/// Whether XML 1.0 can carry `c` (its `Char` production; Rust chars are never surrogates).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// `InvalidName`: a name the server refuses.
pub fn invalid_name(name: &str) -> Fault {
    Fault::new(
        "InvalidName",
        format!(
            "The name '{}' contains a character that is not allowed",
            name.escape_default()
        ),
    )
    .with("name", Value::str(name.escape_default().to_string()))
}

/// The name as vSphere stores it (`/`, `\` and lone `%` escaped), or `InvalidArgument` on
/// `property` (empty or longer than [`NAME_MAX_CHARS`]) or `InvalidName` (control
/// characters).
pub fn entity_name(raw: &str, property: &str) -> Result<String, Fault> {
    if raw.trim().is_empty() || raw.chars().count() > NAME_MAX_CHARS {
        return Err(Fault::invalid_argument(property));
    }
    if raw.chars().any(|c| c.is_control() || !is_xml_char(c)) {
        return Err(invalid_name(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    for (i, c) in raw.char_indices() {
        match c {
            '/' => out.push_str("%2f"),
            '\\' => out.push_str("%5c"),
            '%' if !starts_escape(&bytes[i + 1..]) => out.push_str("%25"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Whether `rest` starts with two hex digits (the `%` before it begins an escape sequence).
fn starts_escape(rest: &[u8]) -> bool {
    rest.len() >= 2 && rest[0].is_ascii_hexdigit() && rest[1].is_ascii_hexdigit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_vsphere_does() {
        assert_eq!(entity_name("a/b", "name").unwrap(), "a%2fb");
        assert_eq!(entity_name("a\\b", "name").unwrap(), "a%5cb");
        assert_eq!(entity_name("100%", "name").unwrap(), "100%25");
        assert_eq!(entity_name("50% off", "name").unwrap(), "50%25 off");
        // Already an escape sequence: kept.
        assert_eq!(entity_name("a%2Fb", "name").unwrap(), "a%2Fb");
        assert_eq!(entity_name("DEV-web (1)", "name").unwrap(), "DEV-web (1)");
        assert_eq!(entity_name("ünïcødé", "name").unwrap(), "ünïcødé");
    }

    #[test]
    fn refuses_what_xml_cannot_carry_and_bad_lengths() {
        for bad in ["a\u{1}b", "\u{0}", "x\u{1b}[0m", "tab\there", "a\u{FFFF}"] {
            let f = entity_name(bad, "name").unwrap_err();
            assert_eq!(f.ty, "InvalidName", "{bad:?}");
        }
        assert_eq!(entity_name("", "name").unwrap_err().ty, "InvalidArgument");
        assert_eq!(
            entity_name("   ", "name").unwrap_err().ty,
            "InvalidArgument"
        );
        assert!(entity_name(&"x".repeat(80), "name").is_ok());
        assert_eq!(
            entity_name(&"x".repeat(81), "name").unwrap_err().ty,
            "InvalidArgument"
        );
    }

    #[test]
    fn xml_chars() {
        assert!(is_xml_char('\n') && is_xml_char('a') && is_xml_char('\u{10FFFF}'));
        assert!(!is_xml_char('\u{1}') && !is_xml_char('\u{FFFE}'));
    }
}

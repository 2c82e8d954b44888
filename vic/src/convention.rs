//! The containerVM name convention (`--container-name-convention` / `--cnc`, vic.md §2).
//!
//! The convention only shapes the **vSphere display name** of a containerVM
//! (`VirtualMachineConfigSpec.Name`); docker names are untouched. Two pieces live here:
//!
//! - [`NameConvention::parse`]: vic-machine's create-time validation, with VIC's exact messages
//!   (typo included);
//! - [`NameConvention::display_name`]: the port layer's display-name function, which VIC applies at
//!   create and again on `docker rename` (vic.md §2 "Rename", PR #7172).
//!
//! Lengths are counted in bytes, as VIC (Go) does. Where VIC would cut a multi-byte UTF-8
//! character in half we cut before it instead, because a Rust `String` cannot hold the half.

use std::fmt;

/// The `{name}` token: the docker container name (given or generated).
pub const NAME_TOKEN: &str = "{name}";
/// The `{id}` token: the 12-character short id.
pub const ID_TOKEN: &str = "{id}";
/// The convention used when none is configured (vic.md §2 "Default").
pub const DEFAULT_CONVENTION: &str = "{name}-{id}";
/// vSphere display-name cap VIC enforces (`MaxVMNameLength`, vic.md §2).
pub const MAX_VM_NAME_LENGTH: usize = 80;
/// Length of the short container id (`ShortIDLen`, vic.md §2).
pub const SHORT_ID_LENGTH: usize = 12;
/// What VIC logs when a custom convention leaves no room for the tokens (vic.md §2, step 2).
pub const FALLBACK_WARNING: &str =
    "Falling back to default name convention as custom convention overflows name capacity";

/// vic-machine's coarse limit: `len(cnc) - 4 >= 68` fails (vic.md §2 "vic-machine validation").
const VALIDATION_LIMIT: usize = 68;
/// vic-machine always discounts 4 bytes, even when only `{name}` (6 bytes) is present.
const VALIDATION_DISCOUNT: usize = 4;

/// A create-time validation failure of `--container-name-convention`.
///
/// The messages are VIC's, verbatim, including the "convetion" typo (vic.md §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConventionError {
    /// Neither `{id}` nor `{name}` appears in the convention.
    #[error("Container name convention must include {{id}} or {{name}} token")]
    MissingToken,
    /// The convention is 72 bytes or longer.
    #[error("Container name convetion exceeds maximum length (68, discounting tokens)")]
    TooLong,
}

/// A container name convention such as `{name}-{id}` or `prod-{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameConvention {
    template: String,
}

impl Default for NameConvention {
    fn default() -> Self {
        Self {
            template: DEFAULT_CONVENTION.to_owned(),
        }
    }
}

impl fmt::Display for NameConvention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.template)
    }
}

impl NameConvention {
    /// Parses and validates a `--cnc` flag value the way `vic-machine create` does.
    ///
    /// An empty value means "not set" and yields the default `{name}-{id}`; the checks only apply
    /// to a value the user actually gave. When both checks fail, the first issue in VIC's order
    /// is returned; [`NameConvention::validate`] lists all of them.
    pub fn parse(value: &str) -> Result<Self, ConventionError> {
        match Self::validate(value).into_iter().next() {
            Some(issue) => Err(issue),
            None => Ok(Self::unchecked(value)),
        }
    }

    /// Every validation issue of `value`, in VIC's order (token check, then length).
    ///
    /// vic-machine's validator collects all issues and logs each one (vic.md §1.1 step 5), so a
    /// conformance suite may need the full list.
    pub fn validate(value: &str) -> Vec<ConventionError> {
        let mut issues = Vec::new();
        if value.is_empty() {
            return issues;
        }
        if !value.contains(ID_TOKEN) && !value.contains(NAME_TOKEN) {
            issues.push(ConventionError::MissingToken);
        }
        // `len(cnc) - 4 >= 68` in Go; written without subtraction so short values cannot
        // underflow.
        if value.len() >= VALIDATION_LIMIT + VALIDATION_DISCOUNT {
            issues.push(ConventionError::TooLong);
        }
        issues
    }

    /// A convention as the port layer sees it: no validation at all.
    ///
    /// The port layer never validates (the API form and `configure` can store anything), so a
    /// token-less template gives every container the same static name and an over-long one
    /// triggers the runtime fallback (vic.md §2 steps 2 and 5). Empty means the default.
    pub fn unchecked(template: &str) -> Self {
        if template.is_empty() {
            return Self::default();
        }
        Self {
            template: template.to_owned(),
        }
    }

    /// The effective template (`{name}-{id}` when none was configured).
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Whether this template leaves no room for its tokens, so VIC falls back to the default
    /// and logs [`FALLBACK_WARNING`] (vic.md §2 step 2).
    pub fn overflows(&self) -> bool {
        capacity(&self.template).is_none()
    }

    /// The vSphere display name for container `name` with container id `id`.
    ///
    /// `id` may be the full 64-hex id or the short id; only its first 12 characters are used.
    /// The result is at most 80 bytes: the id is inserted first and the name is cut from the
    /// right (vic.md §2 step 3). Only the first occurrence of each token is replaced (step 4).
    /// `docker rename` calls this again with the new name (vic.md §2 "Rename").
    pub fn display_name(&self, name: &str, id: &str) -> String {
        let short_id = prefix(id, SHORT_ID_LENGTH);
        apply(&self.template, name, short_id)
            .or_else(|| apply(DEFAULT_CONVENTION, name, short_id))
            // Unreachable in practice (the default always fits), kept because vic.md §2 step 2
            // names it: `{id}` alone.
            .unwrap_or_else(|| short_id.to_owned())
    }
}

/// Insertion capacity of `template`: 80 minus the template length once the first `{name}` and
/// then the first `{id}` are removed. `None` when that is zero or less (vic.md §2 steps 1–2).
fn capacity(template: &str) -> Option<usize> {
    let stripped = replace_first(&replace_first(template, NAME_TOKEN, ""), ID_TOKEN, "");
    MAX_VM_NAME_LENGTH
        .checked_sub(stripped.len())
        .filter(|c| *c > 0)
}

/// Applies one template; `None` when it overflows.
fn apply(template: &str, name: &str, short_id: &str) -> Option<String> {
    let capacity = capacity(template)?;
    // The id goes in first, so it is the name that gets cut (vic.md §2 step 3).
    let (with_id, id_used) = if template.contains(ID_TOKEN) {
        let id = prefix(short_id, capacity);
        (replace_first(template, ID_TOKEN, id), id.len())
    } else {
        (template.to_owned(), 0)
    };
    let name = prefix(name, capacity - id_used);
    Some(replace_first(&with_id, NAME_TOKEN, name))
}

/// `s.replacen(from, to, 1)`: only the first occurrence (vic.md §2 step 4).
fn replace_first(s: &str, from: &str, to: &str) -> String {
    s.replacen(from, to, 1)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const SHORT: &str = "0123456789ab";

    fn cnc(t: &str) -> NameConvention {
        NameConvention::parse(t).expect("valid convention")
    }

    #[test]
    fn default_is_name_dash_id() {
        assert_eq!(
            NameConvention::default().display_name("happy_name", ID64),
            "happy_name-0123456789ab"
        );
        assert_eq!(
            cnc("").display_name("happy_name", ID64),
            "happy_name-0123456789ab"
        );
        assert_eq!(cnc("").template(), DEFAULT_CONVENTION);
    }

    #[test]
    fn tokens_are_substituted_with_the_short_id() {
        assert_eq!(
            cnc("prod-{id}").display_name("web", ID64),
            format!("prod-{SHORT}")
        );
        assert_eq!(cnc("{name}").display_name("web", ID64), "web");
        assert_eq!(
            cnc("{id}-{name}").display_name("web", SHORT),
            format!("{SHORT}-web")
        );
    }

    #[test]
    fn only_first_occurrence_is_replaced() {
        assert_eq!(
            cnc("{id}-{name}-{id}").display_name("happy_name", ID64),
            "0123456789ab-happy_name-{id}"
        );
        assert_eq!(cnc("{name}{name}").display_name("a", ID64), "a{name}");
    }

    #[test]
    fn vm_token_is_left_alone() {
        assert_eq!(
            cnc("{vm}-{id}").display_name("a", ID64),
            format!("{{vm}}-{SHORT}")
        );
    }

    #[test]
    fn name_is_cut_and_id_kept_at_80() {
        let long = "n".repeat(100);
        let out = cnc("{name}-{id}").display_name(&long, ID64);
        assert_eq!(out.len(), 80);
        assert_eq!(out, format!("{}-{SHORT}", "n".repeat(67)));
    }

    #[test]
    fn capacity_discounts_static_text() {
        // 60 static bytes + tokens: capacity 20 = 12 id + 8 name.
        let template = format!("{}{{name}}{{id}}", "s".repeat(60));
        let out = cnc(&template).display_name("abcdefghijkl", ID64);
        assert_eq!(out, format!("{}abcdefgh{SHORT}", "s".repeat(60)));
        assert_eq!(out.len(), 80);
    }

    #[test]
    fn name_only_template_gets_full_capacity() {
        let out = cnc("{name}").display_name(&"x".repeat(90), ID64);
        assert_eq!(out.len(), 80);
    }

    #[test]
    fn id_truncated_when_capacity_is_below_twelve() {
        // Only reachable without create-time validation (75 static bytes).
        let t = format!("{}{{id}}", "s".repeat(75));
        let out = NameConvention::unchecked(&t).display_name("n", ID64);
        assert_eq!(out, format!("{}01234", "s".repeat(75)));
    }

    #[test]
    fn overflow_falls_back_to_default() {
        let t = format!("{}{{name}}", "s".repeat(80));
        let c = NameConvention::unchecked(&t);
        assert!(c.overflows());
        assert_eq!(c.display_name("web", ID64), format!("web-{SHORT}"));
        // Exactly 79 static bytes still fits one byte.
        let fits = NameConvention::unchecked(&format!("{}{{name}}", "s".repeat(79)));
        assert!(!fits.overflows());
        assert_eq!(
            fits.display_name("web", ID64),
            format!("{}w", "s".repeat(79))
        );
    }

    #[test]
    fn static_template_is_not_rejected_at_runtime() {
        let c = NameConvention::unchecked("static");
        assert_eq!(c.display_name("a", ID64), "static");
        assert_eq!(c.display_name("b", ID64), "static");
    }

    #[test]
    fn rename_reapplies_the_convention() {
        let with_name = cnc("{name}-{id}");
        assert_eq!(with_name.display_name("new", ID64), format!("new-{SHORT}"));
        let id_only = cnc("c-{id}");
        assert_eq!(
            id_only.display_name("old", ID64),
            id_only.display_name("new", ID64)
        );
    }

    #[test]
    fn validation_messages_are_verbatim() {
        assert_eq!(
            NameConvention::parse("static").unwrap_err().to_string(),
            "Container name convention must include {id} or {name} token"
        );
        let long = format!("{}{{id}}", "a".repeat(68));
        assert_eq!(long.len(), 72);
        assert_eq!(
            NameConvention::parse(&long).unwrap_err().to_string(),
            "Container name convetion exceeds maximum length (68, discounting tokens)"
        );
        assert!(NameConvention::parse(&format!("{}{{id}}", "a".repeat(67))).is_ok());
    }

    #[test]
    fn validation_discounts_four_even_for_name() {
        // 66 + `{name}` = 72 bytes: rejected although the token is 6 bytes long.
        let t = format!("{}{{name}}", "a".repeat(66));
        assert_eq!(NameConvention::parse(&t), Err(ConventionError::TooLong));
    }

    #[test]
    fn validate_lists_all_issues_in_order() {
        let t = "x".repeat(72);
        assert_eq!(
            NameConvention::validate(&t),
            vec![ConventionError::MissingToken, ConventionError::TooLong]
        );
        assert!(NameConvention::validate("").is_empty());
    }

    #[test]
    fn multibyte_names_are_cut_on_a_char_boundary() {
        let name = "é".repeat(40); // 80 bytes
        let out = cnc("{name}-{id}").display_name(&name, ID64);
        assert!(out.len() <= 80);
        assert!(out.ends_with(&format!("-{SHORT}")));
        assert_eq!(out.len(), 66 + 13); // 67 bytes of name round down to 66
    }

    #[test]
    fn short_ids_are_used_verbatim() {
        assert_eq!(cnc("{id}").display_name("n", "abc"), "abc");
    }
}

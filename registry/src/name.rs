//! Repository names and manifest references as the distribution spec and Harbor shape them:
//! `project/repository[/more]` (Harbor needs the project part), path components of
//! lower-case alphanumerics joined by `.`, `_`, `__` or runs of `-`; tags of at most 128
//! word characters, dots and dashes.

use crate::digest::Digest;
use std::fmt;

/// The longest repository name accepted, in characters.
pub const NAME_MAX_CHARS: usize = 255;
/// The longest tag accepted, in characters.
pub const TAG_MAX_CHARS: usize = 128;

/// A validated repository name with at least two components.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoName {
    full: String,
}

/// Why a name or reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Does not match the spec's name grammar.
    #[error("invalid repository name {0:?}")]
    Invalid(String),
    /// A single component: Harbor needs `project/repository`.
    #[error("repository name {0:?} has no project: expected project/repository")]
    NoProject(String),
    /// Neither a tag nor a digest.
    #[error("invalid reference {0:?}: expected a tag or a digest")]
    Reference(String),
}

impl RepoName {
    /// Parses and validates a repository name.
    pub fn parse(text: &str) -> Result<RepoName, NameError> {
        if text.is_empty() || text.len() > NAME_MAX_CHARS {
            return Err(NameError::Invalid(text.to_owned()));
        }
        if !text.split('/').all(component_ok) {
            return Err(NameError::Invalid(text.to_owned()));
        }
        if !text.contains('/') {
            return Err(NameError::NoProject(text.to_owned()));
        }
        Ok(RepoName {
            full: text.to_owned(),
        })
    }

    /// The project (first component).
    pub fn project(&self) -> &str {
        self.full.split('/').next().unwrap_or_default()
    }

    /// The whole name.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.full)
    }
}

impl TryFrom<String> for RepoName {
    type Error = NameError;
    fn try_from(s: String) -> Result<RepoName, NameError> {
        RepoName::parse(&s)
    }
}

impl From<RepoName> for String {
    fn from(n: RepoName) -> String {
        n.full
    }
}

/// One path component of a repository name, as the distribution spec's grammar has it:
/// alphanumeric runs joined by one separator (`.`, `_`, `__`, `-`+). Clients check names
/// with it too (`vic::distribution`).
pub fn component_ok(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// What a manifest URL names: a tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// A tag (`v1`, `latest`).
    Tag(String),
    /// A content digest.
    Digest(Digest),
}

impl Reference {
    /// Parses a tag or a digest.
    pub fn parse(text: &str) -> Result<Reference, NameError> {
        if text.contains(':') {
            return Digest::parse(text)
                .map(Reference::Digest)
                .map_err(|_| NameError::Reference(text.to_owned()));
        }
        let b = text.as_bytes();
        let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
        let ok = !b.is_empty()
            && b.len() <= TAG_MAX_CHARS
            && word(b[0])
            && b.iter().all(|&x| word(x) || x == b'.' || x == b'-');
        if ok {
            Ok(Reference::Tag(text.to_owned()))
        } else {
            Err(NameError::Reference(text.to_owned()))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => f.write_str(t),
            Reference::Digest(d) => write!(f, "{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harbor_names_need_a_project() {
        let n = RepoName::parse("library/hello-world").expect("valid");
        assert_eq!(n.project(), "library");
        assert_eq!(
            RepoName::parse("hello"),
            Err(NameError::NoProject("hello".into()))
        );
        assert!(RepoName::parse("proj/a/b.c__d--e").is_ok());
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "",
            "Library/x",
            "a//b",
            "/a/b",
            "a/b/",
            "a/-b",
            "a/b.",
            "a/b___c",
            "a/b._c",
            "a/b c",
        ] {
            assert!(
                matches!(RepoName::parse(bad), Err(NameError::Invalid(_))),
                "{bad:?}"
            );
        }
        let long = format!("a/{}", "b".repeat(NAME_MAX_CHARS));
        assert!(RepoName::parse(&long).is_err());
    }

    #[test]
    fn references_are_tags_or_digests() {
        assert_eq!(
            Reference::parse("v1.0-rc_1"),
            Ok(Reference::Tag("v1.0-rc_1".into()))
        );
        let d = Digest::of(b"m");
        assert_eq!(Reference::parse(&d.to_string()), Ok(Reference::Digest(d)));
        for bad in [
            "",
            ".v1",
            "-x",
            "a/b",
            "sha256:zz",
            &"t".repeat(TAG_MAX_CHARS + 1),
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?}");
        }
    }
}

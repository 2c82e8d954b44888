//! Content digests (`sha256:<64 hex>`): the only algorithm the registry stores blobs under,
//! and the incremental hasher an upload feeds as its chunks arrive.

use sha2::{Digest as _, Sha256};
use std::fmt;

/// A `sha256:` digest, kept as its 64 lower-case hex characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    hex: String,
}

/// Why a digest string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not `algorithm:encoded`.
    #[error("digest {0:?} is not of the form algorithm:hex")]
    Malformed(String),
    /// An algorithm other than sha256.
    #[error("digest algorithm {0:?} is not supported (only sha256)")]
    Unsupported(String),
}

impl Digest {
    /// Parses `sha256:<64 lower-case hex>`.
    pub fn parse(text: &str) -> Result<Digest, DigestError> {
        let Some((algorithm, encoded)) = text.split_once(':') else {
            return Err(DigestError::Malformed(text.to_owned()));
        };
        let algorithm_ok = !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
        if !algorithm_ok || encoded.is_empty() {
            return Err(DigestError::Malformed(text.to_owned()));
        }
        if algorithm != "sha256" {
            return Err(DigestError::Unsupported(algorithm.to_owned()));
        }
        if encoded.len() != 64
            || !encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::Malformed(text.to_owned()));
        }
        Ok(Digest {
            hex: encoded.to_owned(),
        })
    }

    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        let mut h = Hasher::new();
        h.update(data);
        h.finish()
    }

    /// The 64 hex characters.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;
    fn try_from(s: String) -> Result<Digest, DigestError> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

/// A running SHA-256 over an upload's bytes; cloneable so a chunk that fails half-way can be
/// rolled back to the state before it.
#[derive(Clone, Default)]
pub struct Hasher {
    inner: Sha256,
}

impl Hasher {
    /// A hasher over no bytes yet.
    pub fn new() -> Hasher {
        Hasher::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        let out = self.inner.finalize();
        let mut hex = String::with_capacity(64);
        for b in out {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        Digest { hex }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hasher")
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_has_the_well_known_digest() {
        assert_eq!(
            Digest::of(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn parse_accepts_sha256_and_refuses_the_rest() {
        let d = Digest::of(b"x").to_string();
        assert_eq!(Digest::parse(&d).map(|d| d.to_string()), Ok(d.clone()));
        assert!(matches!(
            Digest::parse("sha512:abcd"),
            Err(DigestError::Unsupported(_))
        ));
        for bad in [
            "",
            "sha256",
            "sha256:",
            "sha256:xyz",
            &d.to_uppercase(),
            "SHA256:ab",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chunked_hashing_equals_one_shot() {
        let mut h = Hasher::new();
        h.update(b"hello ");
        let saved = h.clone();
        h.update(b"world");
        assert_eq!(h.finish(), Digest::of(b"hello world"));
        assert_eq!(saved.finish(), Digest::of(b"hello "));
    }
}

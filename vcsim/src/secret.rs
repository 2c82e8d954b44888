//! Secrets from the OS CSPRNG: session keys and clone tickets.
//!
//! They are the one exception to "one seed decides a run" (ARCHITECTURE.md, invariants): a
//! key derived from the seed would be the same on every fresh server, so a client that never
//! logged in could present it. Nothing drawn here reaches a report.

/// Why the OS could not supply random bytes.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct SecretError(String);

/// `n` bytes from the OS CSPRNG.
fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| SecretError(e.to_string()))?;
    Ok(b)
}

/// A session key shaped as vCenter's (a version-4 UUID, 122 random bits).
pub fn session_key() -> Result<String, SecretError> {
    let b = random_bytes::<16>()?;
    let hi = u64::from_be_bytes(b[..8].try_into().unwrap_or_default());
    let lo = u64::from_be_bytes(b[8..].try_into().unwrap_or_default());
    Ok(crate::ids::uuid_v4(hi, lo))
}

/// A clone ticket (`cst-VCT-<uuid>`, as vCenter's look).
pub fn clone_ticket() -> Result<String, SecretError> {
    Ok(format!("cst-VCT-{}", session_key()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_uuid_shaped_and_distinct() {
        let a = session_key().expect("random");
        let b = session_key().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(clone_ticket().expect("random").starts_with("cst-VCT-"));
    }
}

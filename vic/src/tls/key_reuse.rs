//! Reuse of RSA private keys within one process, for batch simulation.
//!
//! Generating a 2048-bit RSA key costs tens of milliseconds; a `vicbed sweep` point creates
//! a VCH (and so a server certificate) per VCH per point, which made key generation most of
//! a point's cost. A sweep's VCHs live only in memory, on loopback, for the length of one
//! point, and their keys never reach a report; so the sweep command calls
//! [`reuse_private_keys_in_this_process`] and every certificate issued afterwards in that
//! process uses one key per key size, itself from the OS CSPRNG (never from the seed).
//! `vicbed run`, `serve` and `vic-machine` never call it: each of their certificates gets a
//! fresh key, as VIC's do.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use rcgen::{KeyPair, RsaKeySize};

use super::error::TlsError;

/// Keys by size in bits, as PKCS#8 DER (a `KeyPair` is not `Clone`).
#[derive(Default)]
pub(crate) struct KeyCache {
    by_bits: Mutex<BTreeMap<u32, Vec<u8>>>,
}

impl KeyCache {
    /// The cached key of this size, made on first use.
    pub(crate) fn get(&self, size: RsaKeySize) -> Result<KeyPair, TlsError> {
        let bits = bits(size);
        let mut keys = self.by_bits.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(der) = keys.get(&bits) {
            return parse(der);
        }
        let key = generate(size)?;
        keys.insert(bits, key.serialize_der());
        Ok(key)
    }
}

static PROCESS_CACHE: OnceLock<KeyCache> = OnceLock::new();

/// From now on, certificates issued in this process share one RSA key per key size.
/// For batch simulation only (see the module documentation).
pub fn reuse_private_keys_in_this_process() {
    PROCESS_CACHE.get_or_init(KeyCache::default);
}

/// A key for a new certificate: fresh, unless the process reuses keys.
pub(crate) fn new_key(size: RsaKeySize) -> Result<KeyPair, TlsError> {
    match PROCESS_CACHE.get() {
        Some(cache) => cache.get(size),
        None => generate(size),
    }
}

fn generate(size: RsaKeySize) -> Result<KeyPair, TlsError> {
    KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size)
        .map_err(|e| TlsError::Generate(e.to_string()))
}

fn parse(der: &[u8]) -> Result<KeyPair, TlsError> {
    KeyPair::try_from(der).map_err(|e| TlsError::Generate(e.to_string()))
}

fn bits(size: RsaKeySize) -> u32 {
    match size {
        RsaKeySize::_2048 => 2048,
        RsaKeySize::_3072 => 3072,
        RsaKeySize::_4096 => 4096,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::PublicKeyData as _;

    #[test]
    fn a_cache_gives_one_key_per_size_and_fresh_keys_differ() {
        let cache = KeyCache::default();
        let a = cache.get(RsaKeySize::_2048).unwrap();
        let b = cache.get(RsaKeySize::_2048).unwrap();
        assert_eq!(a.subject_public_key_info(), b.subject_public_key_info());
        assert_eq!(b.algorithm(), &rcgen::PKCS_RSA_SHA256);
        let fresh = generate(RsaKeySize::_2048).unwrap();
        assert_ne!(a.subject_public_key_info(), fresh.subject_public_key_info());
    }
}

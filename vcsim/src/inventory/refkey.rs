//! The object map's key: a reference value (`vm-42`) held inside the map's node when short,
//! as nearly all are. A `String` key keeps its text on the heap, so each comparison of a
//! tree search read a cold allocation: at estate scale (10 000 VMs, each looked up every
//! interval) those reads were most of a lookup's cost. Keys order as their text does, so
//! the map's order (reference order, what [`super::Inventory::iter`] promises) is unchanged.

use std::borrow::Borrow;
use std::cmp::Ordering;

/// Longest value kept inline: with the length byte and the variant tag, a key is as large
/// as the `String` it replaces.
const INLINE_BYTES: usize = 22;

/// A reference value as an ordered map key, looked up by its bytes (`value.as_bytes()`).
#[derive(Clone, Debug)]
pub(super) enum RefKey {
    /// Up to [`INLINE_BYTES`] bytes: the length, then the text.
    Inline(u8, [u8; INLINE_BYTES]),
    /// A longer value.
    Heap(Box<[u8]>),
}

impl RefKey {
    /// The key of reference value `value`.
    pub(super) fn new(value: &str) -> RefKey {
        let bytes = value.as_bytes();
        if bytes.len() <= INLINE_BYTES {
            let mut inline = [0; INLINE_BYTES];
            inline[..bytes.len()].copy_from_slice(bytes);
            RefKey::Inline(bytes.len() as u8, inline)
        } else {
            RefKey::Heap(bytes.into())
        }
    }

    /// The key of `value` if it is held inline: a lookup key that allocates nothing and
    /// compares by words (see `Ord`); `None` for a longer value (look it up by its bytes).
    pub(super) fn probe(value: &str) -> Option<RefKey> {
        (value.len() <= INLINE_BYTES).then(|| RefKey::new(value))
    }

    /// The value's text as bytes.
    fn as_bytes(&self) -> &[u8] {
        match self {
            RefKey::Inline(len, bytes) => &bytes[..usize::from(*len)],
            RefKey::Heap(bytes) => bytes,
        }
    }
}

// Byte order is `str`'s order, which `Borrow` requires to agree with the key's own.
impl Borrow<[u8]> for RefKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for RefKey {
    fn eq(&self, other: &RefKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for RefKey {}

impl PartialOrd for RefKey {
    fn partial_cmp(&self, other: &RefKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RefKey {
    fn cmp(&self, other: &RefKey) -> Ordering {
        match (self, other) {
            // Two inline keys compare as their zero-padded bytes, then their lengths: the
            // text order (padding only ties a key with a longer one that continues in zero
            // bytes, and then the shorter comes first, as it does as text). Read as two
            // big-endian integers, that is two compares where a byte compare was a call.
            (RefKey::Inline(len_a, a), RefKey::Inline(len_b, b)) => {
                words(a).cmp(&words(b)).then_with(|| len_a.cmp(len_b))
            }
            _ => self.as_bytes().cmp(other.as_bytes()),
        }
    }
}

/// An inline key's padded bytes as two big-endian integers, which order as the bytes do.
#[inline]
fn words(bytes: &[u8; INLINE_BYTES]) -> (u128, u64) {
    let mut high = [0u8; 16];
    high.copy_from_slice(&bytes[..16]);
    let mut low = [0u8; 8];
    low[..INLINE_BYTES - 16].copy_from_slice(&bytes[16..]);
    (u128::from_be_bytes(high), u64::from_be_bytes(low))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    proptest::proptest! {
        /// Inline keys compare by words; every pair must still order as its text does.
        #[test]
        fn keys_compare_as_their_text(a in "[a-z0-9\\x00-]{0,24}", b in "[a-z0-9\\x00-]{0,24}") {
            let (ka, kb) = (RefKey::new(&a), RefKey::new(&b));
            proptest::prop_assert_eq!(ka.cmp(&kb), a.as_bytes().cmp(b.as_bytes()));
            proptest::prop_assert_eq!(ka.cmp(&ka), Ordering::Equal);
        }
    }

    #[test]
    fn keys_order_and_find_as_their_text_does() {
        let long = "session[52a3b1c0-0000-4000-8000-000000000001]";
        let values = ["vm-9", "vm-10", "", "vm-1", long, "host-1", "é-1", "vm-10x"];
        let mut by_key = BTreeMap::new();
        let mut by_text = BTreeMap::new();
        for (i, v) in values.iter().enumerate() {
            by_key.insert(RefKey::new(v), i);
            by_text.insert((*v).to_owned(), i);
        }
        assert!(by_key.values().eq(by_text.values()));
        for v in values {
            assert_eq!(by_key.get(v.as_bytes()), by_text.get(v));
        }
        assert_eq!(by_key.get("vm-2".as_bytes()), None);
        assert!(matches!(RefKey::new(long), RefKey::Heap(_)));
        assert!(matches!(
            RefKey::new("resgroup-123456789012"),
            RefKey::Inline(..)
        ));
        assert_eq!(std::mem::size_of::<RefKey>(), std::mem::size_of::<String>());
    }
}

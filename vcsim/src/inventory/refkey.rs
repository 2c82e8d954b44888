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
        self.as_bytes().cmp(other.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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

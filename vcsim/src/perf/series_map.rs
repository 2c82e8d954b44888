//! One entity's series, by `(counter id, instance)`: sorted for queries, and cheap to find
//! again in the order they were last recorded.
//!
//! The emulator records each entity's samples in the same order every interval (the model
//! walks counters and vCPUs in a fixed order), so the recording path remembers which series
//! the n-th sample of the last call went to and checks that one first: two integers compared
//! (the instance name packed into one), where a tree search compared strings at every level
//! and read each series' key wherever the heap put it. That search
//! was a fifth of an interval at 5 000 VMs. Anything unexpected (a new series, a vCPU added,
//! another caller's order) falls back to the tree.

use std::collections::BTreeMap;
use std::ops::RangeFrom;

/// A series key: counter id and instance (`""` is the aggregate, `"0"` a vCPU, …).
pub(super) type SeriesKey = (i32, String);

/// Series values of type `V` by key, with the recording-order cache.
#[derive(Debug)]
pub(super) struct SeriesMap<V> {
    /// Key → index into `slots`, in key order.
    index: BTreeMap<SeriesKey, usize>,
    /// The series, in creation order, each with its key.
    slots: Vec<(SeriesKey, V)>,
    /// The last recording, by sample position: the series' index into `slots` and its key
    /// packed (see [`pack`]), so the check reads this vector only, not each series' key
    /// string wherever the heap put it.
    recorded: Vec<(usize, i32, u64)>,
    /// Lookup buffer: a series that exists costs no allocation.
    probe: SeriesKey,
}

impl<V> Default for SeriesMap<V> {
    fn default() -> Self {
        SeriesMap {
            index: BTreeMap::new(),
            slots: Vec::new(),
            recorded: Vec::new(),
            probe: (0, String::new()),
        }
    }
}

/// [`pack`]'s answer for an instance too long to pack.
const UNPACKED: u64 = u64::MAX;

/// An instance name of at most 7 bytes as one integer (its bytes and its length), which
/// equals another's exactly when the names are equal; [`UNPACKED`] for longer names.
/// Instances are `""` or a vCPU number for every series the model produces.
fn pack(instance: &str) -> u64 {
    let bytes = instance.as_bytes();
    if bytes.len() > 7 {
        return UNPACKED;
    }
    let mut out = bytes.len() as u64;
    for (n, b) in bytes.iter().enumerate() {
        out |= u64::from(*b) << (8 * (n + 1));
    }
    out
}

impl<V> SeriesMap<V> {
    /// The series `(key, instance)` for the `position`-th sample of a recording (0-based,
    /// consecutive within one recording), created by `make` if new.
    pub(super) fn for_recording(
        &mut self,
        position: usize,
        key: i32,
        instance: &str,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let packed = pack(instance);
        let hit = match self.recorded.get(position) {
            Some(&(i, k, p)) if k == key && p == packed && packed != UNPACKED => Some(i),
            Some(&(i, k, _)) if k == key && packed == UNPACKED && self.slots[i].0.1 == instance => {
                Some(i)
            }
            _ => None,
        };
        let i = match hit {
            Some(i) => i,
            None => {
                let i = self.find_or_insert(key, instance, make);
                let entry = (i, key, packed);
                if position < self.recorded.len() {
                    self.recorded[position] = entry;
                } else {
                    self.recorded.push(entry);
                }
                i
            }
        };
        &mut self.slots[i].1
    }

    fn find_or_insert(&mut self, key: i32, instance: &str, make: impl FnOnce() -> V) -> usize {
        self.probe.0 = key;
        self.probe.1.clear();
        self.probe.1.push_str(instance);
        if let Some(&i) = self.index.get(&self.probe) {
            return i;
        }
        let i = self.slots.len();
        self.slots.push((self.probe.clone(), make()));
        self.index.insert(self.probe.clone(), i);
        i
    }

    /// Drops every series.
    pub(super) fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.recorded.clear();
    }

    /// Every series, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &V)> {
        self.index.iter().map(|(k, &i)| (k, &self.slots[i].1))
    }

    /// Every key, in key order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &SeriesKey> {
        self.index.keys()
    }

    /// Every series, in no particular order.
    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().map(|(_, v)| v)
    }

    /// Every series, mutably, in no particular order.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots.iter_mut().map(|(_, v)| v)
    }

    /// The series of `key`, with its stored key.
    pub(super) fn get_key_value(&self, key: &SeriesKey) -> Option<(&SeriesKey, &V)> {
        self.index
            .get_key_value(key)
            .map(|(k, &i)| (k, &self.slots[i].1))
    }

    /// The series of `key`.
    pub(super) fn get(&self, key: &SeriesKey) -> Option<&V> {
        self.index.get(key).map(|&i| &self.slots[i].1)
    }

    /// The series from `range.start` on, in key order.
    pub(super) fn range(
        &self,
        range: RangeFrom<SeriesKey>,
    ) -> impl Iterator<Item = (&SeriesKey, &V)> {
        self.index.range(range).map(|(k, &i)| (k, &self.slots[i].1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_order_is_a_shortcut_not_a_key() {
        let mut m: SeriesMap<u32> = SeriesMap::default();
        *m.for_recording(0, 2, "", || 0) += 1;
        *m.for_recording(1, 2, "0", || 0) += 1;
        // Same order again: the same series.
        *m.for_recording(0, 2, "", || 0) += 10;
        *m.for_recording(1, 2, "0", || 0) += 10;
        // Another order: still found by key, never a duplicate.
        *m.for_recording(0, 2, "0", || 0) += 100;
        *m.for_recording(1, 6, "", || 0) += 100;
        *m.for_recording(2, 2, "", || 0) += 100;
        let all: Vec<(SeriesKey, u32)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(
            all,
            vec![
                ((2, String::new()), 111),
                ((2, "0".to_owned()), 111),
                ((6, String::new()), 100)
            ]
        );
        assert_eq!(m.get(&(6, String::new())), Some(&100));
        assert_eq!(m.range((2, "0".to_owned())..).count(), 2);
        m.clear();
        assert_eq!(m.iter().count(), 0);
        assert_eq!(*m.for_recording(0, 2, "", || 7), 7);
    }

    #[test]
    fn long_instances_are_compared_in_full() {
        let mut m: SeriesMap<u32> = SeriesMap::default();
        *m.for_recording(0, 2, "vmhba0:C0:T0:L0", || 0) += 1;
        *m.for_recording(0, 2, "vmhba0:C0:T0:L0", || 0) += 1;
        *m.for_recording(0, 2, "vmhba0:C0:T0:L1", || 0) += 1;
        assert_eq!(m.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![2, 1]);
        assert_ne!(pack(""), pack("\0"));
        assert_ne!(pack("1"), pack("10"));
        assert_eq!(pack("12345678"), UNPACKED);
    }
}

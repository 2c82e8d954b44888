//! One entity's series, by `(counter id, instance)`: sorted for queries, and cheap to find
//! again in the order they were recorded.
//!
//! Every VM the model runs has the same series (43 for a 2-vCPU VM), so the keys live in a
//! shared [`Layout`]: the keys in creation order, their sorted index and, for the recording
//! path, each key's counter and instance packed into two integers. An entity holds an `Arc`
//! of its layout and one value per key, where a map of its own cost some 9 KB per VM. A new
//! series moves the entity to the layout with that key added, which [`Layouts`] interns, so
//! entities that gained the same series in the same order share one.
//!
//! The emulator records each entity's samples in the same order every interval (the model
//! walks counters and vCPUs in a fixed order), which is the order the layout was built in:
//! the n-th sample of a recording goes to the layout's n-th key, checked by comparing two
//! integers. Anything unexpected (a new series, a vCPU added, another caller's order) falls
//! back to the sorted index.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeFrom;
use std::sync::Arc;

/// A series key: counter id and instance (`""` is the aggregate, `"0"` a vCPU, …).
pub(super) type SeriesKey = (i32, String);

/// A set of series keys, shared by the entities that have exactly these series.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// Unique among the layouts of one [`Layouts`] (0 is the empty layout).
    id: u32,
    /// The keys in the order they were added.
    keys: Vec<SeriesKey>,
    /// Per key: counter id and packed instance ([`pack`]).
    packed: Vec<(i32, u64)>,
    /// Key → index into `keys`, in key order.
    index: BTreeMap<SeriesKey, usize>,
}

/// The layouts in use, interned by how they grew: a layout plus one key is always the same
/// layout. Bounded by the distinct series sets recorded (a few per entity type).
#[derive(Debug, Default)]
pub(super) struct Layouts {
    next_id: u32,
    grown: HashMap<(u32, SeriesKey), Arc<Layout>>,
    /// Lookup buffer: finding an existing series costs no allocation.
    probe: SeriesKey,
}

impl Layouts {
    /// The layout of exactly `keys`, in that order: the one an entity reaches by recording
    /// them in that order. `None` if `keys` repeats a key (no recording reaches that).
    pub(super) fn of(&mut self, keys: &[SeriesKey]) -> Option<Arc<Layout>> {
        let mut layout = Arc::new(Layout::default());
        for key in keys {
            if layout.index.contains_key(key) {
                return None;
            }
            layout = self.grow(&layout, key.clone());
        }
        Some(layout)
    }

    /// `layout` with `key` added at the end.
    fn grow(&mut self, layout: &Layout, key: SeriesKey) -> Arc<Layout> {
        let next_id = &mut self.next_id;
        Arc::clone(
            self.grown
                .entry((layout.id, key.clone()))
                .or_insert_with(|| {
                    *next_id += 1;
                    let mut keys = layout.keys.clone();
                    let mut packed = layout.packed.clone();
                    let mut index = layout.index.clone();
                    packed.push((key.0, pack(&key.1)));
                    index.insert(key.clone(), keys.len());
                    keys.push(key);
                    Arc::new(Layout {
                        id: *next_id,
                        keys,
                        packed,
                        index,
                    })
                }),
        )
    }
}

/// Series values of type `V` by key, on a shared layout.
#[derive(Debug)]
pub(super) struct SeriesMap<V> {
    layout: Arc<Layout>,
    /// One per key of the layout, in its order.
    values: Vec<V>,
}

impl<V> Default for SeriesMap<V> {
    fn default() -> Self {
        SeriesMap {
            layout: Arc::new(Layout::default()),
            values: Vec::new(),
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

impl Layout {
    /// Number of keys.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys in recording order.
    pub(super) fn keys(&self) -> &[SeriesKey] {
        &self.keys
    }
}

impl<V> SeriesMap<V> {
    /// Whether this map's series are exactly `layout`'s, in its order: a recording in that
    /// order fills series `0..layout.len()` one by one.
    pub(super) fn is_on(&self, layout: &Arc<Layout>) -> bool {
        Arc::ptr_eq(&self.layout, layout)
    }

    /// The series `(key, instance)` for the `position`-th sample of a recording (0-based,
    /// consecutive within one recording), created by `make` if new.
    pub(super) fn for_recording(
        &mut self,
        layouts: &mut Layouts,
        position: usize,
        key: i32,
        instance: &str,
        make: impl FnOnce() -> V,
    ) -> (usize, &mut V) {
        let packed = pack(instance);
        let hit = match self.layout.packed.get(position) {
            Some(&(k, p)) if k == key && p == packed && packed != UNPACKED => true,
            Some(&(k, _)) if k == key && packed == UNPACKED => {
                self.layout.keys[position].1 == instance
            }
            _ => false,
        };
        let i = if hit {
            position
        } else {
            layouts.probe.0 = key;
            layouts.probe.1.clear();
            layouts.probe.1.push_str(instance);
            match self.layout.index.get(&layouts.probe) {
                Some(&i) => i,
                None => {
                    let probe = layouts.probe.clone();
                    self.layout = layouts.grow(&self.layout, probe);
                    self.values.push(make());
                    self.values.len() - 1
                }
            }
        };
        (i, &mut self.values[i])
    }

    /// Number of series.
    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// The series at index `i` (the order they were added).
    pub(super) fn value_mut(&mut self, i: usize) -> Option<&mut V> {
        self.values.get_mut(i)
    }

    /// Every series with its index (the order they were added), in key order.
    pub(super) fn iter_indexed(&self) -> impl Iterator<Item = (usize, &SeriesKey, &V)> {
        self.layout
            .index
            .iter()
            .map(|(k, &i)| (i, k, &self.values[i]))
    }

    /// The index, stored key and value of the series of `key`.
    pub(super) fn get_indexed(&self, key: &SeriesKey) -> Option<(usize, &SeriesKey, &V)> {
        self.layout
            .index
            .get_key_value(key)
            .map(|(k, &i)| (i, k, &self.values[i]))
    }

    /// Every series, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &V)> {
        self.layout.index.iter().map(|(k, &i)| (k, &self.values[i]))
    }

    /// Every key, in key order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &SeriesKey> {
        self.layout.index.keys()
    }

    /// Every series, in no particular order.
    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.values.iter()
    }

    /// Every series, mutably, in no particular order.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.values.iter_mut()
    }

    /// The series of `key`, with its stored key.
    pub(super) fn get_key_value(&self, key: &SeriesKey) -> Option<(&SeriesKey, &V)> {
        self.layout
            .index
            .get_key_value(key)
            .map(|(k, &i)| (k, &self.values[i]))
    }

    /// The series from `range.start` on, in key order.
    pub(super) fn range(
        &self,
        range: RangeFrom<SeriesKey>,
    ) -> impl Iterator<Item = (&SeriesKey, &V)> {
        self.layout
            .index
            .range(range)
            .map(|(k, &i)| (k, &self.values[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_order_is_a_shortcut_not_a_key() {
        let mut m: SeriesMap<u32> = SeriesMap::default();
        let mut l = Layouts::default();
        *m.for_recording(&mut l, 0, 2, "", || 0).1 += 1;
        *m.for_recording(&mut l, 1, 2, "0", || 0).1 += 1;
        // Same order again: the same series.
        *m.for_recording(&mut l, 0, 2, "", || 0).1 += 10;
        *m.for_recording(&mut l, 1, 2, "0", || 0).1 += 10;
        // Another order: still found by key, never a duplicate.
        *m.for_recording(&mut l, 0, 2, "0", || 0).1 += 100;
        *m.for_recording(&mut l, 1, 6, "", || 0).1 += 100;
        *m.for_recording(&mut l, 2, 2, "", || 0).1 += 100;
        let all: Vec<(SeriesKey, u32)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(
            all,
            vec![
                ((2, String::new()), 111),
                ((2, "0".to_owned()), 111),
                ((6, String::new()), 100)
            ]
        );
        assert_eq!(m.get_indexed(&(6, String::new())).map(|x| *x.2), Some(100));
        assert_eq!(m.range((2, "0".to_owned())..).count(), 2);
    }

    #[test]
    fn entities_with_the_same_series_share_a_layout() {
        let mut l = Layouts::default();
        let mut a: SeriesMap<u32> = SeriesMap::default();
        let mut b: SeriesMap<u32> = SeriesMap::default();
        for m in [&mut a, &mut b] {
            for (n, (key, instance)) in [(2, ""), (12, ""), (12, "0")].into_iter().enumerate() {
                *m.for_recording(&mut l, n, key, instance, || 0).1 += 1;
            }
        }
        assert!(Arc::ptr_eq(&a.layout, &b.layout));
        // One more series in one entity only: it moves, the other keeps its layout.
        *b.for_recording(&mut l, 3, 12, "1", || 5).1 += 1;
        assert!(!Arc::ptr_eq(&a.layout, &b.layout));
        assert_eq!(a.iter().count(), 3);
        assert_eq!(b.get_indexed(&(12, "1".to_owned())).map(|x| *x.2), Some(6));
        assert_eq!(b.get_indexed(&(2, String::new())).map(|x| *x.2), Some(1));
    }

    #[test]
    fn long_instances_are_compared_in_full() {
        let mut m: SeriesMap<u32> = SeriesMap::default();
        let mut l = Layouts::default();
        *m.for_recording(&mut l, 0, 2, "vmhba0:C0:T0:L0", || 0).1 += 1;
        *m.for_recording(&mut l, 0, 2, "vmhba0:C0:T0:L0", || 0).1 += 1;
        *m.for_recording(&mut l, 0, 2, "vmhba0:C0:T0:L1", || 0).1 += 1;
        assert_eq!(m.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![2, 1]);
        assert_ne!(pack(""), pack("\0"));
        assert_ne!(pack("1"), pack("10"));
        assert_eq!(pack("12345678"), UNPACKED);
    }
}

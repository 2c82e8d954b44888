//! A compact column of 64-bit samples: each value stored as the zigzag varint of its
//! difference from the one before (the first from 0), so a steady series costs one byte per
//! sample and a varying one two or three, where a `(end_ms, value)` pair cost 16 (32 with a
//! ring's spare capacity). Reading is a sequential decode, which every query does anyway
//! (it walks a window oldest first); writing appends or drops the oldest few in one move.
//! The historical rings are columns; an entity's realtime samples are rows of the same
//! varints (`rows`), which this module's encoding functions also serve.

/// A slot that holds no sample (a series that did not report at that time). No counter
/// value is this negative.
pub(super) const NO_SAMPLE: i64 = i64::MIN;

/// A delta-varint encoded sequence of `i64`.
#[derive(Clone, Debug, Default)]
pub(super) struct Column {
    bytes: Vec<u8>,
    len: u32,
    /// The newest value (the base of the next one's delta).
    last: i64,
}

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut u: u64) {
    while u >= 0x80 {
        out.push((u as u8) | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

/// Makes room in `bytes` for `need` more, when it has less spare: by a quarter of its
/// length, and at least `least`. A quarter, not double: the perf store's buffers are many
/// and long-lived.
pub(super) fn grow_for(bytes: &mut Vec<u8>, need: usize, least: usize) {
    if bytes.len() + need > bytes.capacity() {
        bytes.reserve_exact((bytes.len() / 4).max(least));
    }
}

/// Reads a varint at `*at`, moving `*at` past it. Columns are only written by this module,
/// so a varint is never cut short; a truncated one reads as what it has.
pub(super) fn get_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut u = 0u64;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        if shift < 64 {
            u |= u64::from(b & 0x7f) << shift;
        }
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    u
}

impl Column {
    /// Number of values.
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    /// Appends a value.
    pub(super) fn push(&mut self, v: i64) {
        let base = if self.len == 0 { 0 } else { self.last };
        grow_for(&mut self.bytes, 10, 16);
        put_varint(&mut self.bytes, zigzag(v.wrapping_sub(base)));
        self.last = v;
        self.len += 1;
    }

    /// Appends the newest value `n` more times: each a zero delta, one byte.
    pub(super) fn push_repeats(&mut self, n: usize) {
        if n == 0 || self.len == 0 {
            return;
        }
        grow_for(&mut self.bytes, n, n);
        self.bytes.resize(self.bytes.len() + n, 0);
        self.len += n as u32;
    }

    /// The values, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        let mut at = 0usize;
        let mut prev = 0i64;
        (0..self.len).map(move |_| {
            prev = prev.wrapping_add(unzigzag(get_varint(&self.bytes, &mut at)));
            prev
        })
    }

    /// Drops the oldest `n` values (all of them when `n` is the length or more).
    pub(super) fn drop_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        if n >= self.len() {
            *self = Column {
                bytes: std::mem::take(&mut self.bytes),
                ..Column::default()
            };
            self.bytes.clear();
            return;
        }
        // Walk to the n-th value: it becomes the first, encoded from 0.
        let mut at = 0usize;
        let mut prev = 0i64;
        for _ in 0..n {
            prev = prev.wrapping_add(unzigzag(get_varint(&self.bytes, &mut at)));
        }
        let first = prev.wrapping_add(unzigzag(get_varint(&self.bytes, &mut at)));
        let mut head = Vec::with_capacity(10);
        put_varint(&mut head, zigzag(first));
        // Bytes 0..at (the dropped values and the new first's delta) become `head`.
        self.bytes.splice(..at, head);
        self.len -= n as u32;
        // Give back what a long-lived column no longer needs.
        if self.bytes.capacity() > self.bytes.len() * 2 + 32 {
            self.bytes
                .shrink_to(self.bytes.len() + self.bytes.len() / 4 + 16);
        }
    }

    /// Bytes held on the heap.
    pub(super) fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn from_values(values: impl IntoIterator<Item = i64>) -> Column {
        let mut c = Column::default();
        for v in values {
            c.push(v);
        }
        c
    }

    #[test]
    fn steady_values_take_a_byte_each() {
        let c = from_values(std::iter::repeat_n(12_345, 180));
        assert!(c.bytes.len() <= 180 + 3, "{}", c.bytes.len());
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![12_345; 180]);
    }

    #[test]
    fn extremes_round_trip() {
        let values = [
            0,
            -1,
            1,
            i64::MAX,
            i64::MIN,
            NO_SAMPLE,
            42,
            i64::MIN + 1,
            -1,
        ];
        let c = from_values(values);
        assert_eq!(c.iter().collect::<Vec<_>>(), values);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push(i64),
        DropFront(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let value = prop_oneof![
            -3i64..3,
            0i64..100_000,
            any::<i64>(),
            Just(NO_SAMPLE),
            Just(i64::MAX)
        ];
        prop_oneof![
            4 => value.prop_map(Op::Push),
            1 => (0usize..8).prop_map(Op::DropFront),
        ]
    }

    proptest! {
        /// Every operation leaves the column equal to the same operation on a plain vector.
        #[test]
        fn behaves_as_a_vector(ops in proptest::collection::vec(op(), 0..120)) {
            let mut c = Column::default();
            let mut v: Vec<i64> = Vec::new();
            for op in ops {
                match op {
                    Op::Push(x) => { c.push(x); v.push(x); }
                    Op::DropFront(n) => { c.drop_front(n); v.drain(..n.min(v.len())); }
                }
                prop_assert_eq!(c.len(), v.len());
            }
            prop_assert_eq!(c.iter().collect::<Vec<_>>(), v);
        }
    }
}

//! One entity's realtime samples as rows in a single byte buffer: a row per timeline slot,
//! holding the slot's end time and then each series' value in the entity's layout order.
//!
//! The emulator records every series of an entity together each interval, so a row is
//! written in one append to one allocation. Storing a column per series meant one
//! allocation per series: at 10 000 VMs × 43 series each sample was a cache miss, and the
//! per-interval recording was most of an estate's step. Reading a series now decodes the
//! entity's rows, which a query does once for all the series it asks for.
//!
//! # Encoding
//! A row is a header varint `(n << 1) | keyframe`, a bitmap of `⌈n / 8⌉` bytes marking the
//! values that differ from their base, and a zigzag varint for each of those: the value minus
//! its base. A keyframe's base is 0 for every value, so decoding can start there; any other
//! row's base is the previous row's value at `i` (0 where that row had none or had
//! [`NO_SAMPLE`]). Values past `n` are [`NO_SAMPLE`]: trailing gaps are not written. A value
//! that did not move costs one bit: most of a VM's 43 series (swap, balloon, compression,
//! the vCPUs' idle split) hold still from one 20 s sample to the next.
//!
//! # Rows fed to history
//! The store rolls realtime samples up into history in batches (see `store`), so the rows
//! remember how many of the oldest have been fed ([`Rows::fed`]). The row after the last
//! fed one is always a keyframe, so the unfed rows decode without the fed ones, and the
//! oldest rows are dropped only up to a keyframe that is fed: the bytes before it are cut
//! and nothing is re-encoded.

use super::column::{NO_SAMPLE, get_varint, grow_for, unzigzag, zigzag};

/// An entity's realtime rows, oldest first.
#[derive(Clone, Debug, Default)]
pub(super) struct Rows {
    bytes: Vec<u8>,
    len: u32,
    /// The oldest rows rolled up into history so far, and the byte offset of the first row
    /// after them (a keyframe, or the end of `bytes`).
    fed: u32,
    fed_at: u32,
    /// The newest keyframe's row and byte offset (both 0 when there is no row), so a read
    /// of the newest rows needs no scan.
    key_row: u32,
    key_at: u32,
    /// The newest row's values, trailing gaps left out: the base of the next row.
    last: Vec<i64>,
}

/// Decodes the row starting at `*at` into `cur` (the previous row's values, or anything
/// when the row is a keyframe), moving `*at` past it. Without `keep` every value is decoded
/// and `cur` becomes as long as the row; with it, only the values `keep` marks are decoded
/// (the others' varints are skipped) and `cur` stays `keep.len()` long, [`NO_SAMPLE`] past
/// the row's end.
fn decode_row(bytes: &[u8], at: &mut usize, cur: &mut Vec<i64>, keep: Option<&[bool]>) {
    let header = get_varint(bytes, at);
    let keyframe = header & 1 == 1;
    let n = usize::try_from(header >> 1).unwrap_or(usize::MAX);
    if keep.is_none() && cur.len() < n {
        cur.resize(n, NO_SAMPLE);
    }
    let map_at = *at;
    *at = at.saturating_add(n.div_ceil(8)).min(bytes.len());
    for i in 0..n {
        let changed = bytes
            .get(map_at + i / 8)
            .is_some_and(|b| b & (1 << (i % 8)) != 0);
        let kept = keep.is_none_or(|k| k.get(i).copied().unwrap_or(false));
        match cur.get_mut(i) {
            Some(v) if kept => {
                let base = if keyframe || *v == NO_SAMPLE { 0 } else { *v };
                *v = if changed {
                    base.wrapping_add(unzigzag(get_varint(bytes, at)))
                } else {
                    base
                };
            }
            _ if changed => skip_varint(bytes, at),
            _ => {}
        }
    }
    match keep {
        None => cur.truncate(n),
        Some(_) => cur.iter_mut().skip(n).for_each(|v| *v = NO_SAMPLE),
    }
}

/// Skips the row starting at `*at`, returning whether it is a keyframe.
fn skip_row(bytes: &[u8], at: &mut usize) -> bool {
    let header = get_varint(bytes, at);
    let n = usize::try_from(header >> 1).unwrap_or(usize::MAX);
    let map_end = at.saturating_add(n.div_ceil(8)).min(bytes.len());
    let changed: u32 = bytes[*at..map_end].iter().map(|b| b.count_ones()).sum();
    *at = map_end;
    for _ in 0..changed {
        get_varint(bytes, at);
    }
    header & 1 == 1
}

/// Skips one varint at `*at` without decoding it.
fn skip_varint(bytes: &[u8], at: &mut usize) {
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
}

/// Where a keyframe starts: its row number, its byte offset and its time (value 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Keyframe {
    pub(super) row: usize,
    pub(super) at: usize,
    pub(super) time_ms: i64,
}

impl Rows {
    /// Rows holding `rows`, every one counted as fed.
    pub(super) fn from_rows(rows: &[Vec<i64>]) -> Rows {
        let mut out = Rows::default();
        let mut buf = Vec::new();
        for row in rows {
            buf.clone_from(row);
            out.push(&mut buf);
        }
        out.mark_fed();
        out
    }

    /// Number of rows.
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    /// How many of the oldest rows have been fed to history.
    pub(super) fn fed(&self) -> usize {
        self.fed as usize
    }

    /// The newest row's values (trailing gaps left out); empty when there is no row.
    pub(super) fn last(&self) -> &[i64] {
        &self.last
    }

    /// Appends a row. It is a keyframe when every row before it has been fed. `row` is
    /// taken (it becomes the newest row, kept as the next one's base) and left holding
    /// something to be overwritten: the caller's buffer and the base swap places.
    pub(super) fn push(&mut self, row: &mut Vec<i64>) {
        let n = row
            .iter()
            .rposition(|v| *v != NO_SAMPLE)
            .map_or(0, |i| i + 1);
        row.truncate(n);
        let keyframe = self.fed == self.len;
        // The most a row can take: its header varint, the changed bits, ten bytes a value.
        let most = 10 + n.div_ceil(8) + 10 * n;
        grow_for(&mut self.bytes, most, most);
        if keyframe {
            self.key_row = self.len;
            self.key_at = self.bytes.len() as u32;
        }
        // Encoded by index into a scratch buffer and appended in one copy: one bounds check
        // a byte rather than a capacity check a byte (a fifth of an estate's recording), and
        // only the changed bits cleared rather than the row's worst case.
        SCRATCH.with_borrow_mut(|out| {
            if out.len() < most {
                out.resize(most, 0);
            }
            let mut at = write_varint(out, 0, ((n as u64) << 1) | u64::from(keyframe));
            let changed_at = at;
            at += n.div_ceil(8);
            out[changed_at..at].fill(0);
            for (i, v) in row.iter().enumerate() {
                let base = match self.last.get(i) {
                    Some(b) if !keyframe && *b != NO_SAMPLE => *b,
                    _ => 0,
                };
                if *v != base {
                    out[changed_at + i / 8] |= 1 << (i % 8);
                    at = write_varint(out, at, zigzag(v.wrapping_sub(base)));
                }
            }
            self.bytes.extend_from_slice(&out[..at]);
        });
        std::mem::swap(&mut self.last, row);
        self.len += 1;
    }

    /// Appends a row equal to the newest but for its time (value 0), `end_ms`, written as
    /// [`Rows::push`] would write it: one changed bit and the time's delta. Returns false,
    /// appending nothing, when that short form does not apply (no row yet, the next row is
    /// a keyframe, or the newest row has a gap, whose repeat would be written in full).
    pub(super) fn push_repeat(&mut self, end_ms: i64) -> bool {
        let n = self.last.len();
        if n == 0 || self.fed == self.len || self.last.contains(&NO_SAMPLE) {
            return false;
        }
        let map_len = n.div_ceil(8);
        let most = 10 + map_len + 10;
        grow_for(&mut self.bytes, most, most);
        // Written by index into room made at once (cut back to what was written).
        let delta = end_ms.wrapping_sub(self.last[0]);
        let start = self.bytes.len();
        self.bytes.resize(start + most, 0);
        let mut at = write_varint(&mut self.bytes, start, (n as u64) << 1);
        if delta != 0 {
            self.bytes[at] = 1;
            at = write_varint(&mut self.bytes, at + map_len, zigzag(delta));
        } else {
            at += map_len;
        }
        self.bytes.truncate(at);
        self.last[0] = end_ms;
        self.len += 1;
        true
    }

    /// Makes room for `bytes` more bytes of rows at once (a batch of rows about to be
    /// appended grows the buffer once, not a quarter at a time).
    pub(super) fn reserve(&mut self, bytes: usize) {
        if self.bytes.capacity() - self.bytes.len() < bytes {
            self.bytes.reserve_exact(bytes);
        }
    }

    /// Counts every row as fed to history: the next row is a keyframe.
    pub(super) fn mark_fed(&mut self) {
        self.fed = self.len;
        self.fed_at = self.bytes.len() as u32;
    }

    /// Calls `f` with each row not yet fed to history, oldest first (see [`Rows::mark_fed`]).
    pub(super) fn for_each_unfed(&self, f: impl FnMut(&[i64])) {
        self.decode_from(self.fed_at as usize, None, f);
    }

    /// Calls `f` with every row, oldest first.
    pub(super) fn for_each(&self, f: impl FnMut(&[i64])) {
        self.decode_from(0, None, f);
    }

    /// Decodes the rows from byte offset `at`, which must start a keyframe (or the buffer),
    /// keeping what `keep` marks (see [`decode_row`]).
    fn decode_from(&self, mut at: usize, keep: Option<&[bool]>, mut f: impl FnMut(&[i64])) {
        let mut cur = keep.map_or_else(Vec::new, |k| vec![NO_SAMPLE; k.len()]);
        while at < self.bytes.len() {
            decode_row(&self.bytes, &mut at, &mut cur, keep);
            f(&cur);
        }
    }

    /// The keyframes, oldest first. A scan that skips each row's values without decoding
    /// them: a read that wants only the newest rows starts at the keyframe before them.
    pub(super) fn keyframes(&self) -> Vec<Keyframe> {
        let mut out = Vec::new();
        let mut at = 0usize;
        let mut row = 0usize;
        while at < self.bytes.len() {
            let start = at;
            if skip_row(&self.bytes, &mut at) {
                out.push(Keyframe {
                    row,
                    at: start,
                    time_ms: self.keyframe_time(start),
                });
            }
            row += 1;
        }
        out
    }

    /// The newest keyframe (none when there is no row).
    pub(super) fn newest_keyframe(&self) -> Option<Keyframe> {
        (self.len > 0).then(|| {
            let at = self.key_at as usize;
            Keyframe {
                row: self.key_row as usize,
                at,
                time_ms: self.keyframe_time(at),
            }
        })
    }

    /// The newest keyframe that `ok` accepts, where `ok` holds for a prefix of the keyframes
    /// (a bound on time or row): the newest keyframe when it is accepted, else a scan.
    pub(super) fn last_keyframe_where(&self, ok: impl Fn(&Keyframe) -> bool) -> Option<Keyframe> {
        match self.newest_keyframe() {
            Some(k) if ok(&k) => Some(k),
            _ => self.keyframes().into_iter().take_while(|k| ok(k)).last(),
        }
    }

    /// The time (value 0) of the keyframe at byte offset `at`: a keyframe's base is 0, so
    /// it is the first varint after the bitmap when its bit is set.
    fn keyframe_time(&self, mut at: usize) -> i64 {
        let header = get_varint(&self.bytes, &mut at);
        let n = usize::try_from(header >> 1).unwrap_or(usize::MAX);
        if n == 0 {
            return NO_SAMPLE;
        }
        let set = self.bytes.get(at).is_some_and(|b| b & 1 != 0);
        at = at.saturating_add(n.div_ceil(8));
        if set {
            unzigzag(get_varint(&self.bytes, &mut at))
        } else {
            0
        }
    }

    /// Decodes the rows from keyframe offset `at` (see [`Rows::keyframes`]), keeping only
    /// the values `keep` marks: `f` sees each row as `keep.len()` values, [`NO_SAMPLE`]
    /// where a value is not kept or the row has none. The values not kept are skipped
    /// without being decoded, which makes a read of one series several times cheaper than
    /// [`Rows::for_each`].
    pub(super) fn for_each_kept_from(&self, at: usize, keep: &[bool], f: impl FnMut(&[i64])) {
        self.decode_from(at, Some(keep), f);
    }

    /// Every row's values, each as long as it was written.
    pub(super) fn to_rows(&self) -> Vec<Vec<i64>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|r| out.push(r.to_vec()));
        out
    }

    /// Drops the oldest rows, at most `max` of them, up to the newest fed keyframe within
    /// that bound (a cut, nothing re-encoded); returns how many were dropped.
    pub(super) fn drop_front(&mut self, max: usize) -> usize {
        let dropped = self.drop_front_keeping(max);
        // Give back what a long-lived buffer no longer needs.
        if self.bytes.capacity() > self.bytes.len() * 2 + 64 {
            self.bytes
                .shrink_to(self.bytes.len() + self.bytes.len() / 4 + 16);
        }
        dropped
    }

    /// [`Rows::drop_front`] that keeps the buffer's capacity, for rows about to be appended.
    pub(super) fn drop_front_keeping(&mut self, max: usize) -> usize {
        let bound = max.min(self.fed());
        let everything = self.fed() == self.len() && bound == self.len();
        if !everything && self.key_row > 0 && self.key_row as usize <= bound {
            // The newest keyframe is within the bound: it is the cut the scan below would
            // find, known without reading a row.
            return self.cut(self.key_row as usize, self.key_at as usize);
        }
        let mut at = 0usize;
        let (mut cut_rows, mut cut_at) = (0usize, 0usize);
        for row in 0..=bound {
            if row == self.len() {
                break;
            }
            let start = at;
            let keyframe = skip_row(&self.bytes, &mut at);
            if keyframe && row > 0 {
                (cut_rows, cut_at) = (row, start);
            }
        }
        if self.fed() == self.len() && bound == self.len() {
            // Everything goes.
            (cut_rows, cut_at) = (self.len(), self.bytes.len());
        }
        self.cut(cut_rows, cut_at)
    }

    /// Drops the rows before row `cut_rows`, a keyframe starting at byte `cut_at` (or the
    /// end); returns how many were dropped.
    fn cut(&mut self, cut_rows: usize, cut_at: usize) -> usize {
        if cut_rows == 0 {
            return 0;
        }
        self.bytes.drain(..cut_at);
        self.len -= cut_rows as u32;
        self.fed -= cut_rows as u32;
        self.fed_at -= cut_at as u32;
        // The newest keyframe is at or after the cut (a keyframe itself), unless all went.
        self.key_row = self.key_row.saturating_sub(cut_rows as u32);
        self.key_at = self.key_at.saturating_sub(cut_at as u32);
        if self.len == 0 {
            self.last.clear();
        }
        cut_rows
    }

    /// Bytes held on the heap.
    pub(super) fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.last.capacity() * std::mem::size_of::<i64>()
    }
}

thread_local! {
    /// A row's encoding before it is appended (see [`Rows::push`]): grown to the largest row
    /// met, and never shrunk (a few hundred bytes).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes `u` as a varint at `out[at..]` (which has room), returning the offset after it.
#[inline]
fn write_varint(out: &mut [u8], mut at: usize, mut u: u64) -> usize {
    while u >= 0x80 {
        out[at] = (u as u8) | 0x80;
        at += 1;
        u >>= 7;
    }
    out[at] = u as u8;
    at + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn steady_values_take_a_bit() {
        let mut r = Rows::default();
        for t in 0..180 {
            r.push(&mut vec![
                1_506_931_200_000 + t * 20_000,
                1_234,
                5_678_910,
                0,
                42,
            ]);
        }
        // A keyframe of 15 bytes (header, bitmap, 6 of time, 2 + 4 + 1 of values; the zero
        // costs its bit), then rows of a header, a bitmap and 3 bytes of time delta.
        assert_eq!(r.bytes.len(), 15 + 179 * 5);
        let rows = r.to_rows();
        assert_eq!(rows.len(), 180);
        assert_eq!(
            rows[179],
            [1_506_931_200_000 + 179 * 20_000, 1_234, 5_678_910, 0, 42]
        );
    }

    #[test]
    fn gaps_and_extremes_round_trip() {
        let rows: Vec<Vec<i64>> = vec![
            vec![1, NO_SAMPLE, 3],
            vec![2, 7, NO_SAMPLE, NO_SAMPLE],
            vec![3],
            vec![4, i64::MAX, i64::MIN + 1, -1, NO_SAMPLE, 9],
            vec![5, -1, 0, 1],
        ];
        let r = Rows::from_rows(&rows);
        let trimmed: Vec<Vec<i64>> = rows
            .iter()
            .map(|row| {
                let n = row
                    .iter()
                    .rposition(|v| *v != NO_SAMPLE)
                    .map_or(0, |i| i + 1);
                row[..n].to_vec()
            })
            .collect();
        assert_eq!(r.to_rows(), trimmed);
        assert_eq!(r.last(), [5, -1, 0, 1]);
        assert_eq!(r.fed(), 5);
    }

    #[test]
    fn unfed_rows_decode_from_their_keyframe_and_drops_stop_at_one() {
        let mut r = Rows::default();
        for t in 0..10 {
            r.push(&mut vec![t, 100 + t]);
            if t == 3 || t == 7 {
                r.mark_fed();
            }
        }
        let mut unfed = Vec::new();
        r.for_each_unfed(|row| unfed.push(row.to_vec()));
        assert_eq!(unfed, [vec![8, 108], vec![9, 109]]);
        // Keyframes at rows 0, 4 and 8: at most 6 may go, so 4 do.
        assert_eq!(r.drop_front(6), 4);
        assert_eq!(r.len(), 6);
        assert_eq!(r.fed(), 4);
        assert_eq!(r.to_rows()[0], [4, 104]);
        // Rows not fed are never dropped.
        assert_eq!(r.drop_front(100), 4);
        assert_eq!(r.to_rows(), [vec![8, 108], vec![9, 109]]);
        r.mark_fed();
        assert_eq!(r.drop_front(100), 2);
        assert_eq!(r.len(), 0);
        assert!(r.last().is_empty());
        r.push(&mut vec![11, 1]);
        assert_eq!(r.to_rows(), [vec![11, 1]]);
    }

    #[test]
    fn keyframes_and_kept_values_read_as_the_whole_rows() {
        let mut r = Rows::default();
        for t in 0..40i64 {
            let mut row = vec![1_000 + t * 20, t % 3, NO_SAMPLE, 7 * t];
            if t % 5 == 0 {
                row.truncate(2);
            }
            r.push(&mut row);
            if t % 15 == 14 {
                r.mark_fed();
            }
        }
        let kfs = r.keyframes();
        assert_eq!(kfs.iter().map(|k| k.row).collect::<Vec<_>>(), [0, 15, 30]);
        assert_eq!(
            kfs.iter().map(|k| k.time_ms).collect::<Vec<_>>(),
            [1_000, 1_300, 1_600]
        );
        assert_eq!(r.newest_keyframe(), kfs.last().copied());
        let all = r.to_rows();
        for k in &kfs {
            let mut got = Vec::new();
            r.for_each_kept_from(k.at, &[true, false, false, true], |row| {
                got.push(row.to_vec())
            });
            let want: Vec<Vec<i64>> = all[k.row..]
                .iter()
                .map(|row| {
                    vec![
                        row[0],
                        NO_SAMPLE,
                        NO_SAMPLE,
                        row.get(3).copied().unwrap_or(NO_SAMPLE),
                    ]
                })
                .collect();
            assert_eq!(got, want);
        }
    }

    proptest! {
        /// Pushing, marking fed and dropping leave exactly the rows a plain vector keeps.
        #[test]
        fn behaves_as_a_vector_of_rows(
            ops in proptest::collection::vec(
                prop_oneof![
                    6 => proptest::collection::vec(
                        prop_oneof![-3i64..3, 0i64..100_000, any::<i64>(), Just(NO_SAMPLE)],
                        0..6,
                    ).prop_map(Some),
                    2 => Just(None),
                ],
                0..80,
            ),
            drops in proptest::collection::vec(0usize..12, 0..80),
        ) {
            let mut r = Rows::default();
            let mut v: Vec<Vec<i64>> = Vec::new();
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Some(row) => {
                        r.push(&mut row.clone());
                        let k = row.iter().rposition(|x| *x != NO_SAMPLE).map_or(0, |i| i + 1);
                        v.push(row[..k].to_vec());
                    }
                    None => r.mark_fed(),
                }
                let max = drops.get(n).copied().unwrap_or(0);
                let dropped = r.drop_front(max);
                prop_assert!(dropped <= max);
                v.drain(..dropped);
                prop_assert_eq!(r.len(), v.len());
                prop_assert!(r.fed() <= r.len());
                prop_assert_eq!(r.last(), v.last().map_or(&[][..], |x| x.as_slice()));
                let mut unfed = Vec::new();
                r.for_each_unfed(|row| unfed.push(row.to_vec()));
                prop_assert_eq!(&unfed[..], &v[r.fed()..]);
            }
            prop_assert_eq!(r.to_rows(), v.clone());
            // Reading some values from any keyframe reads what the whole rows hold there.
            let keep = [true, false, true, true, false, true, false];
            prop_assert_eq!(r.newest_keyframe(), r.keyframes().pop());
            for k in r.keyframes() {
                let mut got = Vec::new();
                r.for_each_kept_from(k.at, &keep, |row| got.push(row.to_vec()));
                let want: Vec<Vec<i64>> = v[k.row..]
                    .iter()
                    .map(|row| {
                        keep.iter()
                            .enumerate()
                            .map(|(i, kept)| match row.get(i) {
                                Some(x) if *kept => *x,
                                _ => NO_SAMPLE,
                            })
                            .collect()
                    })
                    .collect();
                prop_assert_eq!(got, want);
                prop_assert_eq!(k.time_ms, v[k.row].first().copied().unwrap_or(NO_SAMPLE));
            }
        }
    }
}

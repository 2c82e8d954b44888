//! The change log: each object's latest change, by the version it changed at, which is how
//! a property filter reads only what changed since it last looked.
//!
//! Versions only grow, so a change is appended at the end, and the object's previous entry
//! is marked stale where it lies (found by binary search) rather than removed. Stale entries
//! leave from the front as they reach it, or all at once when they outnumber the live ones.
//! An ordered map did the same work with a rebalance of its nodes at nearly every change:
//! at 10 000 VMs each re-logged every interval, that was a quarter of an update's cost.

use std::collections::VecDeque;

/// Objects' latest changes in version order.
#[derive(Debug, Default)]
pub(super) struct ChangeLog {
    /// (version, reference value), in version order; the value is `None` once stale.
    entries: VecDeque<(u64, Option<String>)>,
    /// How many entries are stale.
    stale: usize,
    /// Where the next entry to take is likeliest: just after the last one taken. Objects
    /// are mostly re-logged in the order they were last logged (an interval refreshes
    /// every entity in the same order), and then the search reads no other entry.
    next: usize,
}

impl ChangeLog {
    /// Logs that `value` changed at `version`, later than every version logged so far; its
    /// entry at `before`, if any, goes stale (and lends its copy of `value`).
    pub(super) fn log(&mut self, value: &str, before: Option<u64>, version: u64) {
        let kept = before.and_then(|b| self.take(b));
        debug_assert!(kept.as_deref().is_none_or(|k| k == value));
        debug_assert!(self.entries.back().is_none_or(|(v, _)| *v < version));
        let value = kept.unwrap_or_else(|| value.to_owned());
        self.entries.push_back((version, Some(value)));
    }

    /// Takes the entry logged at `version` out of the log, returning its value.
    pub(super) fn take(&mut self, version: u64) -> Option<String> {
        let at = if self
            .entries
            .get(self.next)
            .is_some_and(|(v, _)| *v == version)
        {
            self.next
        } else {
            self.entries
                .binary_search_by_key(&version, |(v, _)| *v)
                .ok()?
        };
        let value = self.entries[at].1.take()?;
        self.stale += 1;
        self.next = at + 1;
        while self.entries.front().is_some_and(|(_, v)| v.is_none()) {
            self.entries.pop_front();
            self.stale -= 1;
            // A hint only: the run of stale entries may go on past `at`.
            self.next = self.next.saturating_sub(1);
        }
        // Compacting once stale entries are half the log keeps it at most twice the number
        // of objects, at a cost spread over as many changes as it drops.
        if self.stale > self.entries.len() / 2 {
            self.entries.retain(|(_, v)| v.is_some());
            self.stale = 0;
            self.next = 0;
        }
        Some(value)
    }

    /// The values changed after `version`, each once, in the order of their latest change.
    pub(super) fn since(&self, version: u64) -> impl Iterator<Item = &str> {
        let first = self.entries.partition_point(|(v, _)| *v <= version);
        self.entries
            .range(first..)
            .filter_map(|(_, v)| v.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The log against the ordered map it replaced, over a run of inserts, repeated
    /// changes (in a scattered order, then round after round in one order, as intervals
    /// refresh entities) and removals.
    #[test]
    fn the_log_reads_as_the_ordered_map_did() {
        for order in [7919, 1] {
            check_against_map(|step| (step * order) % 97);
        }
    }

    fn check_against_map(object: impl Fn(u64) -> u64) {
        let mut log = ChangeLog::default();
        let mut map: BTreeMap<u64, String> = BTreeMap::new();
        let mut stamp: BTreeMap<String, u64> = BTreeMap::new();
        let mut version = 0;
        for step in 0..2000u64 {
            version += 1;
            let name = format!("vm-{}", object(step));
            if step % 13 == 0 {
                // A removal.
                if let Some(at) = stamp.remove(&name) {
                    assert_eq!(log.take(at), map.remove(&at));
                }
                continue;
            }
            let before = stamp.insert(name.clone(), version);
            log.log(&name, before, version);
            if let Some(b) = before {
                map.remove(&b);
            }
            map.insert(version, name);
            for since in [0, version / 2, version.saturating_sub(5), version] {
                let expected = map.range(since + 1..).map(|(_, v)| v.as_str());
                assert!(log.since(since).eq(expected));
            }
            assert!(log.entries.len() <= 2 * map.len() + 2);
        }
        assert_eq!(log.take(version + 1), None);
    }
}

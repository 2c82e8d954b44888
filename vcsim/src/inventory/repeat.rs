//! Updates that a few numbers determine, skipped when they would repeat themselves.
//!
//! Every VM's and host's quick stats are rewritten from the model's samples each 20 s
//! interval, and in a steady estate nearly all come out as they were. Rewriting walks the
//! object's property tree (its property map, `summary`, `quickStats`: a chain of cold cache
//! lines per object at 10 000 VMs) to find nothing to change. [`Inventory::update_leaf_from`]
//! keeps the inputs of an object's last such update; when the object has not changed since
//! and the inputs are equal, the update would leave it as it is, so only its stamp moves. The
//! stamp and the change log move exactly as [`Inventory::update_leaf`] moves them, so what a
//! client's `WaitForUpdatesEx` sees is the same either way.

use super::{Inventory, ManagedObject};
use crate::vmodl::{Fault, MoRef};

/// Most inputs an update is remembered by (a VM's quick stats have 11); an update with
/// more always runs.
const MAX_INPUTS: usize = 12;

/// The inputs of an object's last [`Inventory::update_leaf_from`], and the version that
/// update stamped: while the object still carries that version, nothing else changed it.
/// Kept inside the object, beside its stamp, rather than behind a pointer: no allocation
/// per object, and no second place in memory to read.
#[derive(Debug)]
pub(super) struct LeafInputs {
    by: &'static str,
    at: u64,
    len: u8,
    /// Bit `i` set: input `i` is `Some(values[i])`.
    present: u16,
    values: [i64; MAX_INPUTS],
}

impl LeafInputs {
    /// `inputs` remembered, if there are not too many.
    fn new(by: &'static str, at: u64, inputs: &[Option<i64>]) -> Option<LeafInputs> {
        if inputs.len() > MAX_INPUTS {
            return None;
        }
        let mut kept = LeafInputs {
            by,
            at,
            len: inputs.len() as u8,
            present: 0,
            values: [0; MAX_INPUTS],
        };
        for (i, v) in inputs.iter().enumerate() {
            if let Some(v) = v {
                kept.present |= 1 << i;
                kept.values[i] = *v;
            }
        }
        Some(kept)
    }

    /// Whether these are `by`'s inputs `inputs`.
    fn matches(&self, by: &str, inputs: &[Option<i64>]) -> bool {
        self.by == by
            && usize::from(self.len) == inputs.len()
            && inputs.iter().enumerate().all(|(i, v)| match v {
                Some(v) => self.present & (1 << i) != 0 && self.values[i] == *v,
                None => self.present & (1 << i) == 0,
            })
    }
}

impl Inventory {
    /// [`Inventory::update_leaf`] for a change that `inputs` determine: `f` must set what it
    /// sets from `inputs` alone (not from the object's other properties, the clock or a
    /// counter), so that applied to its own result it changes nothing. `by` names the change
    /// (one `f` per name). When the object's last change was this one with equal inputs, `f`
    /// would change nothing, so it is not called; the object is stamped and the change
    /// logged either way, as `update_leaf` does. Returns whether `f` ran.
    pub fn update_leaf_from(
        &mut self,
        r: &MoRef,
        by: &'static str,
        inputs: &[Option<i64>],
        f: impl FnOnce(&mut ManagedObject),
    ) -> Result<bool, Fault> {
        self.update_inner(
            r,
            |o, before| {
                let repeat = o
                    .leaf_inputs
                    .as_ref()
                    .is_some_and(|l| l.at == before && l.matches(by, inputs));
                if repeat {
                    if let Some(l) = &mut o.leaf_inputs {
                        l.at = o.changed_at;
                    }
                } else {
                    f(o);
                    o.leaf_inputs = LeafInputs::new(by, o.changed_at, inputs);
                }
                !repeat
            },
            false,
        )
    }
}

impl Inventory {
    /// [`Inventory::update_leaf_from`] by a caller that knows its inputs equal those of the
    /// object's last update by `by` (the caller made that update, from values it knows to
    /// repeat): when that update is still the object's last change, the object is stamped
    /// and the change logged as a skipped repeat is, without the inputs being compared,
    /// and the result is true. Otherwise (another change since, another `by`, no such
    /// object) nothing happens and the result is false: the caller makes the update.
    pub fn repeat_leaf(&mut self, r: &MoRef, by: &'static str) -> bool {
        let Some(o) = super::object_mut(&mut self.objects, r) else {
            return false;
        };
        let Some(l) = o
            .leaf_inputs
            .as_mut()
            .filter(|l| l.at == o.changed_at && l.by == by)
        else {
            return false;
        };
        self.version += 1;
        let version = self.version;
        let before = std::mem::replace(&mut o.changed_at, version);
        l.at = version;
        self.log_change(&r.value, Some(before), version);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmodl::Value;

    fn counter(o: &ManagedObject) -> i64 {
        o.get("n").and_then(Value::as_i64).unwrap_or(0)
    }

    /// `f` here counts its calls into the object, so a skipped call shows.
    fn bump(inv: &mut Inventory, r: &MoRef, by: &'static str, inputs: &[Option<i64>]) -> bool {
        inv.update_leaf_from(r, by, inputs, |o| {
            let n = counter(o) + 1;
            o.props.insert("n".to_owned(), Value::Long(n));
        })
        .unwrap()
    }

    /// `repeat_leaf` is `update_leaf_from`'s skipped repeat (the same stamp, log and kept
    /// inputs) when the object's last change was `by`'s update, and does nothing otherwise.
    #[test]
    fn a_known_repeat_stamps_as_a_compared_one() {
        let mut compared = Inventory::new(1);
        let mut known = Inventory::new(1);
        let vm = MoRef::new("VirtualMachine", "vm-1");
        for inv in [&mut compared, &mut known] {
            inv.insert(ManagedObject::new(vm.clone()));
            assert!(!inv.repeat_leaf(&vm, "qs"), "no update by qs yet");
            bump(inv, &vm, "qs", &[Some(1), None]);
        }
        assert!(!bump(&mut compared, &vm, "qs", &[Some(1), None]));
        assert!(known.repeat_leaf(&vm, "qs"));
        for inv in [&compared, &known] {
            assert_eq!(inv.version(), 3);
            assert_eq!(inv.get(&vm).unwrap().changed_at, 3);
            assert_eq!(inv.changed_since(2).collect::<Vec<_>>(), ["vm-1"]);
            assert_eq!(counter(inv.get(&vm).unwrap()), 1);
        }
        // The kept inputs moved with the stamp: a compared repeat still skips after it.
        assert!(!bump(&mut known, &vm, "qs", &[Some(1), None]));
        assert!(!known.repeat_leaf(&vm, "other"), "another update's name");
        known.update_leaf(&vm, |_| ()).unwrap();
        let v = known.version();
        assert!(!known.repeat_leaf(&vm, "qs"), "another change in between");
        assert_eq!(known.version(), v, "a refused repeat changes nothing");
        assert!(!known.repeat_leaf(&MoRef::new("VirtualMachine", "vm-9"), "qs"));
        assert!(
            !known.repeat_leaf(&MoRef::new("HostSystem", "vm-1"), "qs"),
            "wrong type"
        );
    }

    #[test]
    fn a_repeat_is_skipped_but_stamped_and_logged() {
        let mut inv = Inventory::new(1);
        let vm = MoRef::new("VirtualMachine", "vm-1");
        let other = MoRef::new("VirtualMachine", "vm-2");
        inv.insert(ManagedObject::new(vm.clone()));
        inv.insert(ManagedObject::new(other.clone()));
        assert!(bump(&mut inv, &vm, "qs", &[Some(1), None]));
        // Same inputs, nothing else changed the object: skipped, yet stamped and logged.
        let v = inv.version();
        assert!(!bump(&mut inv, &vm, "qs", &[Some(1), None]));
        assert_eq!(inv.version(), v + 1);
        assert_eq!(inv.get(&vm).unwrap().changed_at, v + 1);
        assert_eq!(inv.changed_since(v).collect::<Vec<_>>(), ["vm-1"]);
        assert_eq!(counter(inv.get(&vm).unwrap()), 1);
        // Other inputs, another change's name, or another change in between: `f` runs.
        assert!(bump(&mut inv, &vm, "qs", &[Some(1), Some(0)]));
        assert!(bump(&mut inv, &vm, "other", &[Some(1), Some(0)]));
        assert!(!bump(&mut inv, &vm, "other", &[Some(1), Some(0)]));
        inv.update_leaf(&vm, |_| ()).unwrap();
        assert!(bump(&mut inv, &vm, "other", &[Some(1), Some(0)]));
        assert_eq!(counter(inv.get(&vm).unwrap()), 4);
        // Another object's update in between does not count.
        bump(&mut inv, &other, "other", &[Some(1), Some(0)]);
        assert!(!bump(&mut inv, &vm, "other", &[Some(1), Some(0)]));
    }

    #[test]
    fn a_replaced_copy_or_too_many_inputs_run_the_update() {
        let mut inv = Inventory::new(1);
        let vm = MoRef::new("VirtualMachine", "vm-1");
        inv.insert(ManagedObject::new(vm.clone()));
        assert!(bump(&mut inv, &vm, "qs", &[Some(7)]));
        let copy = inv.get(&vm).unwrap().clone();
        assert!(copy.leaf_inputs.is_none());
        inv.insert(copy);
        assert!(bump(&mut inv, &vm, "qs", &[Some(7)]));
        assert_eq!(counter(inv.get(&vm).unwrap()), 2);
        // Too many inputs to remember: the update always runs.
        let many = [Some(1); MAX_INPUTS + 1];
        assert!(bump(&mut inv, &vm, "many", &many));
        assert!(bump(&mut inv, &vm, "many", &many));
        let missing = MoRef::new("VirtualMachine", "vm-9");
        assert!(inv.update_leaf_from(&missing, "qs", &[], |_| ()).is_err());
    }
}

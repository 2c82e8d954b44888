//! Telling a VM's samples that repeat the previous step's without deriving them.
//!
//! A steady VM (its workload, allocation and neighbours unchanged) comes out of each step
//! with the same raw outputs, and so with the same 40-odd counter values. Deriving those
//! values, storing them and refreshing quick stats from them was most of an emulator's
//! interval at 10 000 VMs, to learn that nothing moved. [`RepeatMemo`] keeps the raw
//! outputs a VM's values are made from (its CPU outputs, its memory state and its vCPUs'
//! demands, bit for bit) and [`Samples::vm_repeats`] compares them: equal raw outputs give
//! equal values, because the values are a function of these alone
//! ([`Samples::write_values`] reads nothing else but the interval's length, kept too).

use crate::ids::VmId;
use crate::memory::VmMem;
use crate::samples::{Samples, VmOut};

/// vCPUs whose demands a memo holds inline; a VM with more never counts as repeating.
const MEMO_VCPUS: usize = 8;

/// Raw outputs held per VM: the interval and vCPU count, 8 CPU outputs, 21 memory fields
/// and [`MEMO_VCPUS`] demands.
const RAW_WORDS: usize = 1 + 8 + 21 + MEMO_VCPUS;

/// The raw outputs behind each VM's samples as of the last [`Samples::vm_repeats`] that
/// saw it, by VM id.
#[derive(Clone, Debug, Default)]
pub struct RepeatMemo {
    /// The raw words, compared and overwritten in place.
    words: Vec<[u64; RAW_WORDS]>,
    /// Whether `words` holds the VM's last step (false until seen, or after a step whose
    /// outputs could not be held).
    held: Vec<bool>,
}

impl RepeatMemo {
    /// Forgets VM `v` (its next [`Samples::vm_repeats`] is false).
    pub fn forget(&mut self, v: VmId) {
        if let Some(held) = self.held.get_mut(v.idx()) {
            *held = false;
        }
    }
}

/// Puts the words of `o`, `m` and the vCPU demands `d` (at most [`MEMO_VCPUS`]), with the
/// interval's length, into `kept` (everything a VM's values are derived from), returning
/// whether any differed from what `kept` held. Compared as written, in one pass: the memo
/// is the only copy.
fn remember(kept: &mut [u64; RAW_WORDS], interval_s: u32, o: &VmOut, m: &VmMem, d: &[f64]) -> bool {
    // Destructured field by field, so a field added to either struct fails to compile here
    // until it is held too (or said not to matter).
    let VmOut {
        id: _,
        n_vcpu,
        vcpu_off: _,
        mhz,
        memory_mb,
        cpu_res,
        usage,
        demand,
        mu,
        mu0,
        costop_k,
    } = *o;
    let VmMem {
        guest,
        stale,
        balloon,
        balloon_target,
        compressed,
        swapped,
        swap_target,
        swapin_cum,
        swapout_cum,
        swapin_rate,
        swapout_rate,
        compression_rate,
        decompression_rate,
        active,
        target,
        granted,
        shared,
        consumed,
        overhead,
        latency,
        stall,
    } = *m;
    let fields = [
        mhz,
        memory_mb,
        cpu_res,
        usage,
        demand,
        mu,
        mu0,
        costop_k,
        guest,
        stale,
        balloon,
        balloon_target,
        compressed,
        swapped,
        swap_target,
        swapin_cum,
        swapout_cum,
        swapin_rate,
        swapout_rate,
        compression_rate,
        decompression_rate,
        active,
        target,
        granted,
        shared,
        consumed,
        overhead,
        latency,
        stall,
    ];
    // The vCPU count is in the first word, so the demands compared are the same vCPUs'.
    let head = (u64::from(interval_s) << 32) | u64::from(n_vcpu);
    let mut differ = kept[0] ^ head;
    kept[0] = head;
    let (outputs, demands) = kept[1..].split_at_mut(fields.len());
    for (w, f) in outputs.iter_mut().zip(fields) {
        let bits = f.to_bits();
        differ |= *w ^ bits;
        *w = bits;
    }
    for (w, f) in demands.iter_mut().zip(d) {
        let bits = f.to_bits();
        differ |= *w ^ bits;
        *w = bits;
    }
    differ != 0
}

impl Samples {
    /// Whether VM `v`'s samples in this step are exactly those of the step `memo` last saw
    /// it in (false when it has none now or was not seen), remembering this step's for the
    /// next call. Bit-for-bit equal raw outputs: a NaN or a zero's sign that differs counts
    /// as a change.
    pub fn vm_repeats(&self, v: VmId, memo: &mut RepeatMemo) -> bool {
        let i = v.idx();
        if memo.words.len() <= i {
            memo.words.resize(i + 1, [0; RAW_WORDS]);
            memo.held.resize(i + 1, false);
        }
        let now = self.slot(v).and_then(|slot| {
            let o = &self.vms[slot];
            let off = o.vcpu_off as usize;
            let d = self.vcpu_demand.get(off..off + o.n_vcpu as usize)?;
            (d.len() <= MEMO_VCPUS).then(|| (o, &self.mem[slot], d))
        });
        let Some((o, m, d)) = now else {
            memo.held[i] = false;
            return false;
        };
        let differ = remember(&mut memo.words[i], self.interval_s, o, m, d);
        let repeats = memo.held[i] && !differ;
        memo.held[i] = true;
        repeats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Allocation, Entity, HostSpec, VmSpec, Workload, World};

    fn constant(mhz_per_vcpu: u32) -> Workload {
        Workload::Constant {
            mhz_per_vcpu,
            active_mb: 512,
        }
    }

    fn world() -> (World, VmId) {
        let mut w = World::new(7);
        let h = w.add_host(HostSpec {
            name: "h".into(),
            cores: 4,
            mhz_per_core: 2000,
            hyperthreading: false,
            memory_mb: 16_384,
        });
        let root = w.add_root_pool("c", &[h]).unwrap();
        let vm = w
            .add_vm(
                root,
                h,
                VmSpec {
                    name: "vm".into(),
                    vcpus: 2,
                    memory_mb: 2048,
                    cpu: Allocation::default(),
                    memory: Allocation::default(),
                },
            )
            .unwrap();
        w.set_workload(vm, constant(1500)).unwrap();
        w.power_on(vm).unwrap();
        (w, vm)
    }

    #[test]
    fn every_word_counts_and_only_the_vcpus_held() {
        let o = VmOut {
            n_vcpu: 2,
            usage: 1500.0,
            ..VmOut::default()
        };
        let m = VmMem {
            active: 512.0,
            ..VmMem::default()
        };
        let stalled = VmMem { stall: 1.0, ..m };
        let signed = VmMem { stall: -0.0, ..m };
        let one = VmOut { n_vcpu: 1, ..o };
        // (interval, CPU outputs, memory, demands, whether a word differs from the step before)
        let steps: [(u32, &VmOut, &VmMem, &[f64], bool); 8] = [
            (20, &o, &m, &[700.0, 800.0], true),
            (20, &o, &m, &[700.0, 800.0], false),
            // The same total split otherwise between the vCPUs.
            (20, &o, &m, &[800.0, 700.0], true),
            (20, &o, &stalled, &[800.0, 700.0], true),
            (40, &o, &stalled, &[800.0, 700.0], true),
            // A zero's sign is a bit too.
            (40, &o, &signed, &[800.0, 700.0], true),
            (40, &o, &signed, &[800.0, 700.0], false),
            // One vCPU fewer: a change, whatever the words past it held.
            (40, &one, &signed, &[800.0], true),
        ];
        let mut kept = [0; RAW_WORDS];
        for (i, (interval_s, o, m, d, differs)) in steps.into_iter().enumerate() {
            assert_eq!(
                remember(&mut kept, interval_s, o, m, d),
                differs,
                "step {i}"
            );
        }
    }

    #[test]
    fn a_steady_vm_repeats_and_a_changed_one_does_not() {
        let (mut w, vm) = world();
        let mut memo = RepeatMemo::default();
        let repeats: Vec<bool> = (0..400)
            .map(|_| w.step(20).vm_repeats(vm, &mut memo))
            .collect();
        assert!(!repeats[0], "first sight is no repeat");
        assert!(
            repeats[300..].iter().all(|r| *r),
            "a steady VM settles into repeats"
        );
        w.set_workload(vm, constant(500)).unwrap();
        assert!(
            !w.step(20).vm_repeats(vm, &mut memo),
            "a new workload is a change"
        );
        memo.forget(vm);
        assert!(
            !w.step(20).vm_repeats(vm, &mut memo),
            "a forgotten VM is seen anew"
        );
        let s = w.step(20);
        assert!(
            !s.vm_repeats(VmId(vm.0 + 1), &mut memo),
            "no samples, no repeat"
        );
        assert!(matches!(s.entities().last(), Some(Entity::Vm(_))));
    }
}

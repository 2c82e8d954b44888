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
    /// `None` until seen, or after a step whose outputs could not be held.
    by_vm: Vec<Option<[u64; RAW_WORDS]>>,
}

impl RepeatMemo {
    /// Forgets VM `v` (its next [`Samples::vm_repeats`] is false).
    pub fn forget(&mut self, v: VmId) {
        if let Some(slot) = self.by_vm.get_mut(v.idx()) {
            *slot = None;
        }
    }
}

/// The words of `o`, `m` and the vCPU demands `d` (at most [`MEMO_VCPUS`]), with the
/// interval's length: everything a VM's values are derived from.
fn raw(interval_s: u32, o: &VmOut, m: &VmMem, d: &[f64]) -> Option<[u64; RAW_WORDS]> {
    if d.len() > MEMO_VCPUS {
        return None;
    }
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
    let mut out = [0u64; RAW_WORDS];
    out[0] = (u64::from(interval_s) << 32) | u64::from(n_vcpu);
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
    for (w, f) in out[1..].iter_mut().zip(fields.iter().chain(d)) {
        *w = f.to_bits();
    }
    Some(out)
}

impl Samples {
    /// Whether VM `v`'s samples in this step are exactly those of the step `memo` last saw
    /// it in (false when it has none now or was not seen), remembering this step's for the
    /// next call. Bit-for-bit equal raw outputs: a NaN or a zero's sign that differs counts
    /// as a change.
    pub fn vm_repeats(&self, v: VmId, memo: &mut RepeatMemo) -> bool {
        let now = self.slot(v).and_then(|slot| {
            let o = &self.vms[slot];
            let off = o.vcpu_off as usize;
            let d = self.vcpu_demand.get(off..off + o.n_vcpu as usize)?;
            raw(self.interval_s, o, &self.mem[slot], d)
        });
        let i = v.idx();
        if memo.by_vm.len() <= i {
            memo.by_vm.resize(i + 1, None);
        }
        let kept = &mut memo.by_vm[i];
        let repeats = now.is_some() && *kept == now;
        if !repeats {
            *kept = now;
        }
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

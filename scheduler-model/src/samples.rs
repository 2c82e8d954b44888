//! The last step's samples: a compact, reused struct-of-rows buffer that renders vSphere
//! counter values on demand. A step writes a handful of numbers per VM, pool and host; a sample
//! (`entity`, `counter`, `instance`, `value`) is derived only when read, so nothing is allocated
//! per sample and per-vCPU instances cost nothing until asked for.

use crate::counters::{Applies, Counter};
use crate::cpu::{VcpuIn, VcpuTimes, round_i64, vcpu_times};
use crate::ids::{Entity, HostId, PoolId, VmId};
use crate::memory::VmMem;
use crate::plan::NONE;

/// One sample, as vSphere's `PerfMetricIntSeries` element would carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sample {
    /// The entity.
    pub entity: Entity,
    /// The counter.
    pub counter: Counter,
    /// `None` for the aggregate instance (""), `Some(j)` for vCPU `j`.
    pub instance: Option<u16>,
    /// The value, scaled as the vSphere API reports it (ms, MHz, KB, KBps, percent × 100).
    pub value: i64,
}

/// Memory stocks and rates summed over VMs, MB and MB/s.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct MemAgg {
    pub granted: f64,
    pub consumed: f64,
    pub active: f64,
    pub shared: f64,
    pub overhead: f64,
    pub balloon: f64,
    pub swapped: f64,
    pub compressed: f64,
    pub swapin_rate: f64,
    pub swapout_rate: f64,
    pub compression_rate: f64,
    pub decompression_rate: f64,
}

impl MemAgg {
    #[inline]
    pub fn add_vm(&mut self, m: &VmMem) {
        self.granted += m.granted;
        self.consumed += m.consumed;
        self.active += m.active_reported();
        self.shared += m.shared;
        self.overhead += m.overhead;
        self.balloon += m.balloon;
        self.swapped += m.swapped;
        self.compressed += m.compressed;
        self.swapin_rate += m.swapin_rate;
        self.swapout_rate += m.swapout_rate;
        self.compression_rate += m.compression_rate;
        self.decompression_rate += m.decompression_rate;
    }

    #[inline]
    pub fn add(&mut self, o: &MemAgg) {
        self.granted += o.granted;
        self.consumed += o.consumed;
        self.active += o.active;
        self.shared += o.shared;
        self.overhead += o.overhead;
        self.balloon += o.balloon;
        self.swapped += o.swapped;
        self.compressed += o.compressed;
        self.swapin_rate += o.swapin_rate;
        self.swapout_rate += o.swapout_rate;
        self.compression_rate += o.compression_rate;
        self.decompression_rate += o.decompression_rate;
    }
}

/// Per-VM CPU outputs of a step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct VmOut {
    /// The VM's id.
    pub id: u32,
    pub n_vcpu: u32,
    pub vcpu_off: u32,
    pub mhz: f64,
    pub memory_mb: f64,
    pub cpu_res: f64,
    /// cpu.usagemhz (= allocation; work-conserving).
    pub usage: f64,
    /// cpu.demand (runnable demand).
    pub demand: f64,
    /// Water levels with and without limits.
    pub mu: f64,
    pub mu0: f64,
    pub costop_k: f64,
}

/// Per-pool outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct PoolOut {
    pub live: bool,
    pub cpu_usage: f64,
    pub cpu_demand: f64,
    pub cpu_entitlement: f64,
    pub mem: MemAgg,
}

/// Per-host outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct HostOut {
    pub live: bool,
    pub cpu_usage: f64,
    pub cpu_demand: f64,
    pub cpu_nominal: f64,
    pub memory_mb: f64,
    /// Host memory in use: VMs' consumed + overhead + VMkernel.
    pub mem_used: f64,
    pub min_free: f64,
    pub state: u8,
    pub mem: MemAgg,
}

/// The samples of the last step.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub(crate) interval_s: u32,
    pub(crate) time_s: u64,
    pub(crate) hosts: Vec<HostOut>,
    pub(crate) pools: Vec<PoolOut>,
    /// Slot of each VM id (`NONE` when it has no samples): per-VM rows are in tree order.
    pub(crate) vm_slot: Vec<u32>,
    /// Per slot.
    pub(crate) vms: Vec<VmOut>,
    /// Per slot.
    pub(crate) mem: Vec<VmMem>,
    /// Runnable demand of each vCPU (MHz), at `vms[slot].vcpu_off + j`.
    pub(crate) vcpu_demand: Vec<f64>,
}

#[inline]
fn kb(mb: f64) -> i64 {
    round_i64(mb * 1024.0)
}

#[inline]
fn pct100(fraction: f64) -> i64 {
    round_i64(fraction * 10_000.0)
}

impl Samples {
    /// Length of the interval these samples cover, s (0 before the first step).
    pub fn interval_s(&self) -> u32 {
        self.interval_s
    }

    /// Model time at the end of the interval, s since the world started.
    pub fn time_s(&self) -> u64 {
        self.time_s
    }

    /// Whether `entity` has samples in this step (a host, an existing pool, a powered-on VM).
    pub fn has(&self, entity: Entity) -> bool {
        match entity {
            Entity::Host(h) => self.hosts.get(h.idx()).is_some_and(|x| x.live),
            Entity::Pool(p) => self.pools.get(p.idx()).is_some_and(|x| x.live),
            Entity::Vm(v) => self.slot(v).is_some(),
        }
    }

    /// The row of a VM that has samples.
    #[inline]
    pub(crate) fn slot(&self, vm: VmId) -> Option<usize> {
        match self.vm_slot.get(vm.idx()) {
            Some(&s) if s != NONE => Some(s as usize),
            _ => None,
        }
    }

    /// All samples: hosts, then pools, then VMs, each in id order; counters in
    /// [`Counter::ALL`] order; a per-vCPU counter's aggregate precedes its instances.
    pub fn iter(&self) -> impl Iterator<Item = Sample> + '_ {
        self.entities().flat_map(move |e| self.entity(e))
    }

    /// Every entity that may have samples, in [`Samples::iter`]'s order: hosts, then pools,
    /// then VMs, each in id order. A caller that handles each entity's samples together
    /// walks these and [`Samples::entity`], rather than grouping [`Samples::iter`]'s stream.
    pub fn entities(&self) -> impl Iterator<Item = Entity> + use<> {
        let hosts = (0..self.hosts.len()).map(|i| Entity::Host(HostId(i as u32)));
        let pools = (0..self.pools.len()).map(|i| Entity::Pool(PoolId(i as u32)));
        let vms = (0..self.vm_slot.len()).map(|i| Entity::Vm(VmId(i as u32)));
        hosts.chain(pools).chain(vms)
    }

    /// The samples of one entity (empty if it has none this step).
    pub fn entity(&self, entity: Entity) -> EntitySamples<'_> {
        let (kind, vm_slot) = match entity {
            Entity::Host(_) => (Applies::HOST, None),
            Entity::Pool(_) => (Applies::POOL, None),
            Entity::Vm(v) => (Applies::VM, self.slot(v)),
        };
        let n_inst = vm_slot.map_or(0, |s| self.vms[s].n_vcpu);
        EntitySamples {
            samples: self,
            cache: TimesCache::default(),
            entity,
            kind,
            vm_slot,
            counter: if self.has(entity) {
                0
            } else {
                Counter::ALL.len()
            },
            instance: 0,
            n_inst,
        }
    }

    /// The shape of `entity`'s samples this step: its kind and, for a VM, its vCPU count.
    /// Entities of one shape produce the same counters and instances in the same order, so
    /// a caller can name the values [`Samples::write_values`] writes once per shape. `None`
    /// when the entity has no samples.
    pub fn shape(&self, entity: Entity) -> Option<(Applies, u32)> {
        match entity {
            Entity::Vm(v) => self
                .slot(v)
                .map(|slot| (Applies::VM, self.vms[slot].n_vcpu)),
            Entity::Host(_) => self.has(entity).then_some((Applies::HOST, 0)),
            Entity::Pool(_) => self.has(entity).then_some((Applies::POOL, 0)),
        }
    }

    /// Replaces `out` with the values of `entity`'s samples, in [`Samples::entity`]'s order
    /// (the values that iterator yields, without their names): the recording path's form,
    /// one pass with each vCPU's time split computed once. Empty when the entity has no
    /// samples.
    pub fn write_values(&self, entity: Entity, out: &mut Vec<i64>) {
        out.clear();
        match entity {
            Entity::Vm(v) => {
                if let Some(slot) = self.slot(v) {
                    self.write_vm_values(slot, out);
                }
            }
            _ if !self.has(entity) => {}
            Entity::Host(h) => out.extend(
                kind_counters(Applies::HOST)
                    .iter()
                    .filter_map(|&c| self.host_value(h.idx(), c)),
            ),
            Entity::Pool(p) => out.extend(
                kind_counters(Applies::POOL)
                    .iter()
                    .filter_map(|&c| self.pool_value(p.idx(), c)),
            ),
        }
    }

    fn write_vm_values(&self, v: usize, out: &mut Vec<i64>) {
        let n_vcpu = self.vms[v].n_vcpu;
        // Every vCPU's time split computed up front, in one loop: the reads below find them
        // all in place (measured: leaving them to the first read made an estate interval about 7 % slower).
        let mut cache = TimesCache {
            slot: Some(v),
            ..TimesCache::default()
        };
        for j in 0..n_vcpu.min(CACHED_VCPUS as u32) {
            cache.times[j as usize] = Some(self.times(v, j));
        }
        for &(c, per_vcpu) in vm_counters() {
            if let Some(x) = self.vm_aggregate(v, c, &mut cache) {
                out.push(x);
            }
            if per_vcpu {
                for j in 0..n_vcpu {
                    let (t, u) = self.times_cached(v, j, &mut cache);
                    if let Some(x) = time_value(c, &t, u) {
                        out.push(x);
                    }
                }
            }
        }
    }

    /// Number of samples in this step.
    pub fn len(&self) -> usize {
        let per = |k: Applies| Counter::ALL.iter().filter(|c| c.applies_to(k)).count();
        let per_vcpu = Counter::ALL
            .iter()
            .filter(|c| c.applies_to(Applies::VM) && c.info().per_vcpu)
            .count();
        let hosts = self.hosts.iter().filter(|h| h.live).count() * per(Applies::HOST);
        let pools = self.pools.iter().filter(|p| p.live).count() * per(Applies::POOL);
        let vms: usize = self
            .vms
            .iter()
            .map(|v| per(Applies::VM) + per_vcpu * v.n_vcpu as usize)
            .sum();
        hosts + pools + vms
    }

    /// Whether there are no samples (before the first step).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One value; `None` if the entity has no samples this step, does not carry the counter,
    /// or the instance does not exist.
    pub fn value(&self, entity: Entity, counter: Counter, instance: Option<u16>) -> Option<i64> {
        if !self.has(entity) {
            return None;
        }
        match entity {
            Entity::Host(h) if instance.is_none() => self.host_value(h.idx(), counter),
            Entity::Pool(p) if instance.is_none() => self.pool_value(p.idx(), counter),
            Entity::Vm(v) => {
                self.vm_value(self.slot(v)?, counter, instance, &mut TimesCache::default())
            }
            _ => None,
        }
    }

    /// The time split of vCPU `j` of VM `v` (its `cpu.*.summation` instance values).
    pub fn vcpu_times(&self, vm: VmId, vcpu: u16) -> Option<VcpuTimes> {
        let slot = self.slot(vm)?;
        (u32::from(vcpu) < self.vms[slot].n_vcpu).then(|| self.times(slot, u32::from(vcpu)).0)
    }

    #[inline]
    fn times(&self, v: usize, j: u32) -> (VcpuTimes, f64) {
        let o = &self.vms[v];
        let d = self.vcpu_demand[(o.vcpu_off + j) as usize];
        let t = vcpu_times(VcpuIn {
            demand: d,
            mu: o.mu,
            mu0: o.mu0,
            costop_k: o.costop_k,
            stall: self.mem[v].stall,
            mhz: o.mhz,
            interval_ms: i64::from(self.interval_s) * 1000,
        });
        (t, d.min(o.mu))
    }

    /// The time split of vCPU `j` of the VM in slot `v`, through `cache`.
    #[inline]
    fn times_cached(&self, v: usize, j: u32, cache: &mut TimesCache) -> (VcpuTimes, f64) {
        if cache.slot != Some(v) {
            *cache = TimesCache {
                slot: Some(v),
                ..TimesCache::default()
            };
        }
        match cache.times.get_mut(j as usize) {
            Some(Some(t)) => *t,
            Some(entry) => *entry.insert(self.times(v, j)),
            None => self.times(v, j),
        }
    }

    fn vm_value(
        &self,
        v: usize,
        c: Counter,
        instance: Option<u16>,
        cache: &mut TimesCache,
    ) -> Option<i64> {
        let info = c.info();
        if !info.applies.contains(Applies::VM) {
            return None;
        }
        if let Some(j) = instance {
            if !info.per_vcpu || u32::from(j) >= self.vms[v].n_vcpu {
                return None;
            }
            let (t, u) = self.times_cached(v, u32::from(j), cache);
            return time_value(c, &t, u);
        }
        self.vm_aggregate(v, c, cache)
    }

    /// The aggregate value of counter `c`, which applies to VMs, for the VM in slot `v`.
    fn vm_aggregate(&self, v: usize, c: Counter, cache: &mut TimesCache) -> Option<i64> {
        let o = &self.vms[v];
        let m = &self.mem[v];
        if cache.slot != Some(v) {
            *cache = TimesCache {
                slot: Some(v),
                ..TimesCache::default()
            };
        }
        // A summation over the vCPUs, kept once computed: latency and readiness read the
        // same sums as the `summation` aggregates.
        let mut sum = |c: Counter| -> i64 {
            let k = summed_index(c);
            if let Some(done) = k.and_then(|k| cache.sums[k]) {
                return done;
            }
            let total = (0..o.n_vcpu)
                .map(|j| {
                    let (t, u) = self.times_cached(v, j, cache);
                    time_value(c, &t, u).unwrap_or(0)
                })
                .sum();
            if let Some(k) = k {
                cache.sums[k] = Some(total);
            }
            total
        };
        let vcpu_ms = f64::from(o.n_vcpu) * f64::from(self.interval_s) * 1000.0;
        Some(match c {
            Counter::CpuUsageAverage => pct100(o.usage / (f64::from(o.n_vcpu) * o.mhz)),
            Counter::CpuUsagemhzAverage => round_i64(o.usage),
            Counter::CpuDemandAverage => round_i64(o.demand),
            Counter::CpuEntitlementLatest => round_i64(o.cpu_res.max(o.usage)),
            Counter::CpuLatencyAverage => {
                // Contention for physical CPUs: ready beyond the limit's share, co-stop, swap wait.
                let x = sum(Counter::CpuReadySummation) - sum(Counter::CpuMaxlimitedSummation)
                    + sum(Counter::CpuCostopSummation)
                    + sum(Counter::CpuSwapwaitSummation);
                pct100(x as f64 / vcpu_ms)
            }
            Counter::CpuReadinessAverage => {
                pct100(sum(Counter::CpuReadySummation) as f64 / vcpu_ms)
            }
            Counter::CpuReadySummation
            | Counter::CpuMaxlimitedSummation
            | Counter::CpuCostopSummation
            | Counter::CpuRunSummation
            | Counter::CpuWaitSummation
            | Counter::CpuIdleSummation
            | Counter::CpuUsedSummation
            | Counter::CpuSwapwaitSummation => sum(c),
            Counter::MemGrantedAverage => kb(m.granted),
            Counter::MemConsumedAverage => kb(m.consumed),
            Counter::MemActiveAverage => kb(m.active_reported()),
            Counter::MemSharedAverage => kb(m.shared),
            Counter::MemOverheadAverage => kb(m.overhead),
            Counter::MemEntitlementAverage => kb(m.target),
            Counter::MemVmmemctlAverage => kb(m.balloon),
            Counter::MemVmmemctltargetAverage => kb(m.balloon_target),
            Counter::MemSwappedAverage => kb(m.swapped),
            Counter::MemSwaptargetAverage => kb(m.swapped + m.swap_target),
            Counter::MemSwapinAverage => kb(m.swapin_cum),
            Counter::MemSwapoutAverage => kb(m.swapout_cum),
            Counter::MemSwapinRateAverage => kb(m.swapin_rate),
            Counter::MemSwapoutRateAverage => kb(m.swapout_rate),
            Counter::MemCompressedAverage => kb(m.compressed),
            Counter::MemZipSavedLatest => kb(m.compressed / 2.0),
            Counter::MemCompressionRateAverage => kb(m.compression_rate),
            Counter::MemDecompressionRateAverage => kb(m.decompression_rate),
            Counter::MemLatencyAverage => pct100(m.latency),
            Counter::MemUsageAverage => pct100(m.active_reported() / o.memory_mb),
            Counter::MemStateLatest | Counter::MemLowfreethresholdAverage => return None,
        })
    }

    fn pool_value(&self, p: usize, c: Counter) -> Option<i64> {
        if !c.applies_to(Applies::POOL) {
            return None;
        }
        let o = &self.pools[p];
        Some(match c {
            Counter::CpuUsagemhzAverage => round_i64(o.cpu_usage),
            Counter::CpuDemandAverage => round_i64(o.cpu_demand),
            Counter::CpuEntitlementLatest => round_i64(o.cpu_entitlement),
            _ => mem_agg_value(&o.mem, c)?,
        })
    }

    fn host_value(&self, h: usize, c: Counter) -> Option<i64> {
        if !c.applies_to(Applies::HOST) {
            return None;
        }
        let o = &self.hosts[h];
        Some(match c {
            Counter::CpuUsageAverage => pct100(o.cpu_usage / o.cpu_nominal),
            Counter::CpuUsagemhzAverage => round_i64(o.cpu_usage),
            Counter::CpuDemandAverage => round_i64(o.cpu_demand),
            Counter::MemConsumedAverage => kb(o.mem_used),
            Counter::MemUsageAverage => pct100(o.mem_used / o.memory_mb),
            Counter::MemStateLatest => i64::from(o.state),
            Counter::MemLowfreethresholdAverage => kb(o.min_free),
            _ => mem_agg_value(&o.mem, c)?,
        })
    }
}

/// Pool and host figures: host memory of the VMs below, so consumed and granted both count
/// the VMs' overhead (a pool's limit bounds consumed with overhead), keeping consumed ≤ granted
/// (MODEL.md §5.7). A VM's own figures are guest memory only.
fn mem_agg_value(m: &MemAgg, c: Counter) -> Option<i64> {
    Some(match c {
        Counter::MemGrantedAverage => kb(m.granted + m.overhead),
        Counter::MemConsumedAverage => kb(m.consumed + m.overhead),
        Counter::MemActiveAverage => kb(m.active),
        Counter::MemSharedAverage => kb(m.shared),
        Counter::MemOverheadAverage => kb(m.overhead),
        Counter::MemVmmemctlAverage => kb(m.balloon),
        Counter::MemSwappedAverage => kb(m.swapped),
        Counter::MemCompressedAverage => kb(m.compressed),
        Counter::MemSwapinRateAverage => kb(m.swapin_rate),
        Counter::MemSwapoutRateAverage => kb(m.swapout_rate),
        Counter::MemCompressionRateAverage => kb(m.compression_rate),
        Counter::MemDecompressionRateAverage => kb(m.decompression_rate),
        _ => return None,
    })
}

fn time_value(c: Counter, t: &VcpuTimes, usage_mhz: f64) -> Option<i64> {
    Some(match c {
        Counter::CpuUsagemhzAverage => round_i64(usage_mhz),
        Counter::CpuReadySummation => t.ready_ms,
        Counter::CpuMaxlimitedSummation => t.maxlimited_ms,
        Counter::CpuCostopSummation => t.costop_ms,
        Counter::CpuRunSummation | Counter::CpuUsedSummation => t.run_ms,
        Counter::CpuWaitSummation => t.wait_ms,
        Counter::CpuIdleSummation => t.idle_ms,
        Counter::CpuSwapwaitSummation => t.swapwait_ms,
        _ => return None,
    })
}

/// The counters that apply to entities of `kind`, in [`Counter::ALL`] order.
fn kind_counters(kind: Applies) -> &'static [Counter] {
    static BY_KIND: std::sync::OnceLock<[Vec<Counter>; 3]> = std::sync::OnceLock::new();
    let all = BY_KIND.get_or_init(|| {
        [Applies::HOST, Applies::POOL, Applies::VM].map(|k| {
            Counter::ALL
                .iter()
                .copied()
                .filter(|c| c.info().applies.contains(k))
                .collect()
        })
    });
    if kind == Applies::HOST {
        &all[0]
    } else if kind == Applies::POOL {
        &all[1]
    } else {
        &all[2]
    }
}

/// The counters that apply to VMs, in [`Counter::ALL`] order, with whether each has
/// per-vCPU instances (looked up once: `Counter::info` builds a whole record).
fn vm_counters() -> &'static [(Counter, bool)] {
    static VM: std::sync::OnceLock<Vec<(Counter, bool)>> = std::sync::OnceLock::new();
    VM.get_or_init(|| {
        kind_counters(Applies::VM)
            .iter()
            .map(|&c| (c, c.info().per_vcpu))
            .collect()
    })
}

/// vCPUs whose time split an [`EntitySamples`] keeps once computed: a VM's counters read
/// each vCPU's split about twenty times (every `cpu.*.summation` instance and aggregate,
/// latency and readiness), and computing it is most of a VM's sample cost.
const CACHED_VCPUS: usize = 8;

/// The time splits of one VM's first [`CACHED_VCPUS`] vCPUs, computed when first read (a
/// pure function of the step's state, so reading the cache is reading the value).
#[derive(Clone, Debug, Default)]
struct TimesCache {
    slot: Option<usize>,
    times: [Option<(VcpuTimes, f64)>; CACHED_VCPUS],
    /// The VM's sums over its vCPUs, by [`summed_index`].
    sums: [Option<i64>; SUMMED.len()],
}

/// The per-vCPU time counters whose vCPU sums a VM's aggregates read.
const SUMMED: [Counter; 8] = [
    Counter::CpuReadySummation,
    Counter::CpuMaxlimitedSummation,
    Counter::CpuCostopSummation,
    Counter::CpuRunSummation,
    Counter::CpuWaitSummation,
    Counter::CpuIdleSummation,
    Counter::CpuUsedSummation,
    Counter::CpuSwapwaitSummation,
];

/// The index of `c` in [`SUMMED`].
fn summed_index(c: Counter) -> Option<usize> {
    SUMMED.iter().position(|&s| s == c)
}

/// Iterator over one entity's samples (see [`Samples::entity`]).
#[derive(Clone, Debug)]
pub struct EntitySamples<'a> {
    samples: &'a Samples,
    cache: TimesCache,
    entity: Entity,
    kind: Applies,
    /// A VM's row, found once rather than for each of its samples.
    vm_slot: Option<usize>,
    counter: usize,
    /// 0 = aggregate, j + 1 = vCPU j.
    instance: u32,
    n_inst: u32,
}

impl Iterator for EntitySamples<'_> {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        while let Some(&c) = Counter::ALL.get(self.counter) {
            let info = c.info();
            if !info.applies.contains(self.kind) {
                self.counter += 1;
                continue;
            }
            let instance = match self.instance {
                0 => None,
                j => Some((j - 1) as u16),
            };
            let last = !(info.per_vcpu && self.kind == Applies::VM) || self.instance >= self.n_inst;
            if last {
                self.counter += 1;
                self.instance = 0;
            } else {
                self.instance += 1;
            }
            let value = match self.entity {
                // A VM iterates only when it has a row (see `Samples::entity`).
                Entity::Vm(_) => self
                    .vm_slot
                    .and_then(|slot| self.samples.vm_value(slot, c, instance, &mut self.cache)),
                _ => self.samples.value(self.entity, c, instance),
            };
            if let Some(value) = value {
                return Some(Sample {
                    entity: self.entity,
                    counter: c,
                    instance,
                    value,
                });
            }
        }
        None
    }
}

//! Historical statistics of the entities vCenter aggregates itself, and a past for a fresh
//! `serve`.
//!
//! VMs, hosts and resource pools get their history from their own realtime samples: the
//! perf store rolls every sample it records up into the historical intervals (see
//! `perf::rollup`). Clusters and datastores have no realtime statistics (their
//! `PerfProviderSummary` says `currentSupported = false`, `refreshRate = -1`); vCenter
//! computes their samples itself, and so does [`Emulator::record_history`], once per realtime
//! interval after the model's samples are in:
//!
//! - a **cluster** (`ClusterComputeResource`) gets, for every 20 s interval, the aggregate of
//!   its hosts that produced a sample in it (vCenter: "aggregated from ESXi and virtual
//!   machine metrics"); the 300 s and coarser samples are rolled up from those as for any
//!   entity. Counters, all level 1 in vCenter's catalogue, so archived by every default
//!   interval:
//!   `cpu.usagemhz.average` (Σ hosts), `cpu.totalmhz.average` (Σ cores × MHz),
//!   `cpu.usage.average` (usage ÷ total, in hundredths of a percent),
//!   `mem.consumed.average`, `mem.overhead.average`, `mem.vmmemctl.average` (Σ hosts, KB),
//!   `mem.totalmb.average` (Σ installed memory, MB) and `mem.usage.average` (consumed ÷
//!   installed, as the hosts' own `mem.usage`). Not produced: `clusterServices.*` (DRS and
//!   HA bookkeeping) and `vmop.*` (operation counts), which the model has no source for.
//! - a **datastore** gets its space counters from its `summary`, every 30 minutes as vCenter
//!   populates them ("Values are populated every 30 minutes", vSphere API reference,
//!   *Datastore / Virtual Machine Storage Capacity Counters*): `disk.capacity.latest`
//!   (`capacity`), `disk.used.latest` (`capacity − freeSpace`) and `disk.provisioned.latest`
//!   (used + `uncommitted`), all in KB, aggregate instance only. The 300 s interval thus holds
//!   one datastore sample per 30 minutes, the periods between have none (a query mixing them
//!   with other counters sees vCenter's -1 there). No I/O counters: the model has no storage
//!   I/O.
//!
//! [`Emulator::prefill_history`] gives a fresh emulator a past: it steps a copy of the
//! contention model through the `past_s` seconds before `now` with the inventory's workloads
//! as they are (the model itself is untouched, so the present is what it is without history),
//! recording each interval as if it had happened (realtime samples only for the last hour,
//! as a host keeps them), so collectors that read 300 s rollups see a full day at once. The
//! past before the realtime hour is stepped 300 s at a time. Measured in a release build for
//! one day: 456 model steps; 23 ms for the default inventory (8 VMs), 0.5 s for 170 VMs,
//! 2.2 s for 650 VMs (most of it the realtime hour, which costs what an hour of `serve`
//! costs).

use super::Emulator;
use crate::clock::REALTIME_INTERVAL_S;
use crate::perf::RETENTION_MS;
use crate::perf::catalogue::key_of;
use crate::perf::rollup::{Rollup, archived_depth};
use crate::vmodl::{MoRef, Value};
use scheduler_model::{Counter, Entity, World};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// How often datastore space counters are populated.
const DATASTORE_PERIOD_MS: i64 = 1_800_000;

/// The finest historical period: at its boundaries the buckets of entities that stopped
/// producing are closed.
const SWEEP_PERIOD_MS: i64 = 300_000;

/// The longest past [`Emulator::prefill_history`] steps through: the longest retention (the
/// year of the 86 400 s interval); anything older would be dropped at once.
pub const PREFILL_MAX_S: i64 = 31_536_000;

/// One model sample: counter, vCPU instance (None: the aggregate), value.
type CounterSample = (Counter, Option<u16>, i64);

/// Hosts' aggregate samples of one interval: (host MoRef value, counter key) → value.
type HostSamples = BTreeMap<(String, i32), i64>;

/// What [`Emulator::prefill_history`] computes once and reuses every step.
struct Prefill {
    /// Model entity → inventory reference.
    refs: BTreeMap<(u8, u32), MoRef>,
    /// Catalogue keys and instance names of the samples.
    names: super::step::SampleNames,
    /// Whether some historical interval archives each counter (by index): (aggregate,
    /// device instance).
    archived: [(bool, bool); Counter::ALL.len()],
    /// One entity's samples of a step (reused: the model yields each entity's together).
    buf: Vec<CounterSample>,
    /// Where the perf store keeps each entity, for the realtime hour's recordings.
    hints: super::step::PerfHints,
    /// An entity's values of a step, and the kept ones (both reused).
    values: Vec<i64>,
    kept: Vec<i64>,
}

impl Prefill {
    fn new(refs: BTreeMap<(u8, u32), MoRef>) -> Prefill {
        // A counter's discriminant is its index in `Counter::ALL`.
        let mut archived = [(false, false); Counter::ALL.len()];
        for c in Counter::ALL {
            let key = key_of(c.name());
            let def = key.and_then(crate::perf::catalogue::by_key);
            let kept = |level: fn(&crate::perf::catalogue::CounterDef) -> i32| {
                def.is_some_and(|d| {
                    Rollup::from_summary_type(d.rollup).is_some() && archived_depth(level(d)) > 0
                })
            };
            archived[*c as usize] = (kept(|d| d.level), kept(|d| d.per_device_level));
        }
        Prefill {
            refs,
            names: super::step::SampleNames::new(),
            archived,
            buf: Vec::new(),
            hints: super::step::PerfHints::default(),
            values: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Records entity `e`'s realtime samples of a step from the model's values, named once
    /// per shape as the real steps name them; false when they do not fit their shape (the
    /// caller records them by name).
    fn realtime_entity(
        &mut self,
        perf: &mut crate::perf::PerfStore,
        shapes: &mut super::step::RowShapes,
        host_samples: &mut HostSamples,
        samples: &scheduler_model::Samples,
        e: Entity,
        end_ms: i64,
    ) -> bool {
        let Some(shape) = samples.shape(e) else {
            return true;
        };
        let id = match e {
            Entity::Host(h) => (0, h.0),
            Entity::Pool(p) => (1, p.0),
            Entity::Vm(v) => (2, v.0),
        };
        let Some(moref) = self.refs.get(&id) else {
            return true;
        };
        samples.write_values(e, &mut self.values);
        let named = shapes.named(perf, samples, e, shape);
        if !named.fits(&self.values) {
            return false;
        }
        let kept = named.kept(&self.values, &mut self.kept);
        if id.0 == 0 {
            for ((key, inst), value) in named.keys().iter().zip(kept) {
                if inst.is_empty() {
                    host_samples.insert((moref.value.clone(), *key), *value);
                }
            }
        }
        named.record(perf, self.hints.get(e), moref, end_ms, kept);
        true
    }

    /// Records one entity's samples of a step (in `self.buf`).
    fn entity(
        &mut self,
        perf: &mut crate::perf::PerfStore,
        host_samples: &mut HostSamples,
        e: Entity,
        end_ms: i64,
        realtime: bool,
    ) {
        let id = match e {
            Entity::Host(h) => (0, h.0),
            Entity::Pool(p) => (1, p.0),
            Entity::Vm(v) => (2, v.0),
        };
        let Some(moref) = self.refs.get(&id) else {
            return;
        };
        let named = self.names.named(&self.buf);
        if id.0 == 0 {
            for (key, inst, value) in named.clone() {
                if inst.is_empty() {
                    host_samples.insert((moref.value.clone(), key), value);
                }
            }
        }
        if realtime {
            perf.record_all(moref, end_ms, named);
        } else {
            perf.record_history_only(moref, end_ms, named);
        }
    }
}

/// Catalogue keys of the counters computed here (looked up once).
struct Keys {
    cpu_usage: i32,
    cpu_usagemhz: i32,
    cpu_totalmhz: i32,
    mem_usage: i32,
    mem_consumed: i32,
    mem_overhead: i32,
    mem_vmmemctl: i32,
    mem_totalmb: i32,
    disk_capacity: i32,
    disk_used: i32,
    disk_provisioned: i32,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // The bundled catalogue has every one of these (a unit test checks); -1 matches no
        // counter, so a damaged catalogue loses a series rather than panicking.
        let k = |name: &str| key_of(name).unwrap_or(-1);
        Keys {
            cpu_usage: k("cpu.usage.average"),
            cpu_usagemhz: k("cpu.usagemhz.average"),
            cpu_totalmhz: k("cpu.totalmhz.average"),
            mem_usage: k("mem.usage.average"),
            mem_consumed: k("mem.consumed.average"),
            mem_overhead: k("mem.overhead.average"),
            mem_vmmemctl: k("mem.vmmemctl.average"),
            mem_totalmb: k("mem.totalmb.average"),
            disk_capacity: k("disk.capacity.latest"),
            disk_used: k("disk.used.latest"),
            disk_provisioned: k("disk.provisioned.latest"),
        }
    })
}

/// A cluster's hosts summed over one interval.
#[derive(Debug, Default)]
struct ClusterSums {
    usage_mhz: i64,
    capacity_mhz: i64,
    consumed_kb: i64,
    overhead_kb: i64,
    vmmemctl_kb: i64,
    memory_mb: i64,
}

/// `part / whole` in hundredths of a percent (vCenter's fixed-point percent), rounded.
fn percent_100(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    let (p, w) = (i128::from(part.max(0)), i128::from(whole));
    ((p * 10_000 * 2 + w) / (2 * w)).min(i128::from(i64::MAX)) as i64
}

impl Emulator {
    /// Computes the historical samples of the 20 s interval that ended at `end_ms` for the
    /// entities vCenter aggregates itself (clusters every interval, datastores every 30
    /// minutes), and at 300 s boundaries closes the periods of entities that stopped
    /// producing. Called once per realtime interval, after the model's samples are recorded.
    pub fn record_history(&mut self, end_ms: i64) {
        self.record_history_from(end_ms, None);
    }

    /// [`Emulator::record_history`] with the hosts' aggregate samples of the interval given
    /// (`(host, counter) → value`) instead of read back from the store, where they were not
    /// kept as realtime samples (the prefilled past before the last hour).
    fn record_history_from(&mut self, end_ms: i64, hosts: Option<&HostSamples>) {
        self.record_cluster_history(end_ms, hosts);
        if end_ms.rem_euclid(DATASTORE_PERIOD_MS) == 0 {
            self.record_datastore_history(end_ms);
        }
        // The prefill needs no sweep: its inventory does not change, so no entity stops
        // producing mid-period (and sweeping every series each 300 s step would dominate a
        // long prefill).
        if hosts.is_none() && end_ms.rem_euclid(SWEEP_PERIOD_MS) == 0 {
            self.perf.close_due(end_ms);
        }
    }

    /// Gives a fresh emulator `past_s` seconds of history before `now` (at most
    /// [`PREFILL_MAX_S`], in whole 20 s intervals): a copy of the contention model runs the
    /// inventory's current workloads through that past, deterministically from the world's
    /// seed, and what it measures is recorded as the real steps are, clusters and datastores
    /// included.
    ///
    /// The past is a rehearsal on a copy: the model itself, and so everything from `now`
    /// on, is exactly what it would be without history. Workloads that depend on time since
    /// they started (a trace, a stress timeout, a profile's steps) still start at `now`, and
    /// at `now` the VMs' memory state starts fresh as it does without history (a warm-up of
    /// a few minutes after the steady past). A daily profile, anchored to the time of day,
    /// shows the same day in the past. Stochastic demand draws the same streams in the past
    /// as from `now` on (the copy starts from the same state).
    ///
    /// The realtime hour before `now` (from the 300 s boundary at or before its start) is
    /// stepped 20 s at a time and kept as realtime samples, as a host holds them; its 300 s
    /// samples are rollups of those. The past before it is stepped 300 s at a time, on the
    /// interval's boundaries: the model's equations take any interval length, a 300 s step's
    /// sample is the 300 s rollup directly (a rate averaged, a `summation` summed over the
    /// 300 s), and fifteen times fewer steps keep a day's prefill well under a second for
    /// hundreds of VMs. Only series some historical interval archives are recorded there.
    ///
    /// The clock does not move: the last step ends at `now`, and the next real one follows
    /// it. Guests are not ticked (their timers run on the clock, which has not started).
    /// Returns the number of model steps; does nothing (0) once the clock has moved or
    /// samples exist, since the past must come before them.
    pub fn prefill_history(&mut self, past_s: i64) -> usize {
        let step_ms = REALTIME_INTERVAL_S * 1000;
        let now_ms = self.clock.now_ms();
        let past_ms = past_s.clamp(0, PREFILL_MAX_S) * 1000 / step_ms * step_ms;
        if past_ms == 0 || now_ms != self.clock.start_ms() || self.perf.entities().next().is_some()
        {
            return 0;
        }
        // Workloads guests posted since they started run in the past too.
        self.apply_posted_guest_effects();
        let from_ms = now_ms - past_ms;
        let fine_from_ms = (now_ms - RETENTION_MS)
            .div_euclid(SWEEP_PERIOD_MS)
            .saturating_mul(SWEEP_PERIOD_MS)
            .max(from_ms);
        let mut steps: Vec<(i64, i64)> = Vec::new();
        let mut t = from_ms;
        while t < fine_from_ms {
            let next = (t.div_euclid(SWEEP_PERIOD_MS) + 1) * SWEEP_PERIOD_MS;
            steps.push((t, next.min(fine_from_ms)));
            t = next.min(fine_from_ms);
        }
        while t < now_ms {
            steps.push((t, t + step_ms));
            t += step_ms;
        }
        // A copy of the model lives through the past; the present one is untouched.
        let mut world = self.world.clone();
        let mut ctx = Prefill::new(self.model_refs());
        for &(start_ms, end_ms) in &steps {
            let realtime = end_ms - start_ms == step_ms && end_ms > now_ms - RETENTION_MS;
            self.prefill_step(&mut world, &mut ctx, start_ms, end_ms, realtime);
        }
        steps.len()
    }

    /// Steps the model over `(start_ms, end_ms]` and records its samples: as realtime
    /// samples too when `realtime`, else only the series history keeps.
    fn prefill_step(
        &mut self,
        world: &mut World,
        ctx: &mut Prefill,
        start_ms: i64,
        end_ms: i64,
        realtime: bool,
    ) {
        let interval_s = u32::try_from((end_ms - start_ms) / 1000).unwrap_or(u32::MAX);
        let mut host_samples = HostSamples::new();
        // Each entity's samples together, hosts then pools then VMs.
        let samples = world.step(interval_s);
        for e in samples.entities() {
            if realtime
                && ctx.realtime_entity(
                    &mut self.perf,
                    &mut self.row_shapes,
                    &mut host_samples,
                    samples,
                    e,
                    end_ms,
                )
            {
                continue;
            }
            ctx.buf.clear();
            for s in samples.entity(e) {
                let (aggregate, device) = ctx.archived[s.counter as usize];
                let kept = if s.instance.is_some() {
                    device
                } else {
                    aggregate
                };
                if realtime || kept {
                    ctx.buf.push((s.counter, s.instance, s.value));
                }
            }
            if !ctx.buf.is_empty() {
                ctx.entity(&mut self.perf, &mut host_samples, e, end_ms, realtime);
            }
        }
        self.record_history_from(end_ms, Some(&host_samples));
    }
    /// Model entity → inventory reference, for hosts (0), pools (1) and VMs (2).
    fn model_refs(&self) -> BTreeMap<(u8, u32), MoRef> {
        let hosts = self
            .ids
            .hosts
            .iter()
            .map(|(k, v)| ((0, v.0), MoRef::new("HostSystem", k.clone())));
        let pools = self
            .ids
            .pools
            .iter()
            .map(|(k, v)| ((1, v.0), MoRef::new("ResourcePool", k.clone())));
        let vms = self
            .ids
            .vms
            .iter()
            .map(|(k, v)| ((2, v.0), MoRef::new("VirtualMachine", k.clone())));
        hosts.chain(pools).chain(vms).collect()
    }

    /// Sums each cluster's hosts that produced a sample at `end_ms` (read from `hosts`, or
    /// else from the store's realtime samples) and records the cluster's counters for that
    /// interval.
    fn record_cluster_history(&mut self, end_ms: i64, hosts: Option<&HostSamples>) {
        let k = keys();
        let mut clusters: BTreeMap<String, ClusterSums> = BTreeMap::new();
        for (host_value, id) in &self.ids.hosts {
            let host = MoRef::new("HostSystem", host_value.clone());
            let Some(cluster) = self
                .inv
                .prop(&host, "parent")
                .and_then(Value::as_moref)
                .filter(|p| p.ty.as_ref() == "ClusterComputeResource")
            else {
                continue;
            };
            let sample = |key: i32| match hosts {
                Some(given) => given.get(&(host_value.clone(), key)).copied(),
                None => self
                    .perf
                    .latest(&host, key, "")
                    .filter(|&(t, _)| t == end_ms)
                    .map(|(_, v)| v),
            };
            // A host without a sample this interval (not in the model's plan, disconnected)
            // adds neither usage nor capacity.
            let (Some(usage_mhz), Ok(spec)) = (sample(k.cpu_usagemhz), self.world.host_spec(*id))
            else {
                continue;
            };
            let sums = clusters.entry(cluster.value.clone()).or_default();
            sums.usage_mhz += usage_mhz;
            sums.capacity_mhz += i64::from(spec.cores) * i64::from(spec.mhz_per_core);
            sums.consumed_kb += sample(k.mem_consumed).unwrap_or(0);
            sums.overhead_kb += sample(k.mem_overhead).unwrap_or(0);
            sums.vmmemctl_kb += sample(k.mem_vmmemctl).unwrap_or(0);
            sums.memory_mb += i64::try_from(spec.memory_mb).unwrap_or(i64::MAX);
        }
        for (cluster, s) in clusters {
            let memory_kb = s.memory_mb.saturating_mul(1024);
            self.perf.record_history_only(
                &MoRef::new("ClusterComputeResource", cluster),
                end_ms,
                [
                    (k.cpu_usagemhz, "", s.usage_mhz),
                    (k.cpu_totalmhz, "", s.capacity_mhz),
                    (k.cpu_usage, "", percent_100(s.usage_mhz, s.capacity_mhz)),
                    (k.mem_consumed, "", s.consumed_kb),
                    (k.mem_overhead, "", s.overhead_kb),
                    (k.mem_vmmemctl, "", s.vmmemctl_kb),
                    (k.mem_totalmb, "", s.memory_mb),
                    (k.mem_usage, "", percent_100(s.consumed_kb, memory_kb)),
                ],
            );
        }
    }

    /// Records every datastore's space counters from its summary.
    fn record_datastore_history(&mut self, end_ms: i64) {
        let k = keys();
        let space: Vec<(MoRef, i64, i64, i64)> = self
            .inv
            .of_type("Datastore")
            .iter()
            .filter_map(|r| {
                let o = self.inv.get(r).ok()?;
                let summary = o.get("summary")?;
                let bytes = |f: &str| summary.field(f).and_then(Value::as_i64);
                let capacity = bytes("capacity")?.max(0);
                let free = bytes("freeSpace").unwrap_or(capacity).clamp(0, capacity);
                let uncommitted = bytes("uncommitted").unwrap_or(0).max(0);
                Some((o.moref.clone(), capacity, capacity - free, uncommitted))
            })
            .collect();
        for (ds, capacity, used, uncommitted) in space {
            self.perf.record_history_only(
                &ds,
                end_ms,
                [
                    (k.disk_capacity, "", capacity / 1024),
                    (k.disk_used, "", used / 1024),
                    (
                        k.disk_provisioned,
                        "",
                        used.saturating_add(uncommitted) / 1024,
                    ),
                ],
            );
        }
    }
}

#[cfg(test)]
mod tests;

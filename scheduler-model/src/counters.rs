//! vSphere performance counters the model produces: names, units, rollups, stats types, levels
//! and which entities carry them. Metadata follows a `perfCounter` dump of a real vCenter
//! (contention-model.md §1.2–1.3, source S1).

/// Unit as vSphere names it (`PerformanceManager.UnitInfo` key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// `percent`, reported × 100 (2067 = 20.67 %).
    Percent,
    /// `megaHertz`.
    MegaHertz,
    /// `millisecond`.
    Millisecond,
    /// `kiloBytes`.
    KiloBytes,
    /// `kiloBytesPerSecond`.
    KiloBytesPerSecond,
    /// `number`.
    Number,
}

impl Unit {
    /// vSphere's key for the unit.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::MegaHertz => "megaHertz",
            Unit::Millisecond => "millisecond",
            Unit::KiloBytes => "kiloBytes",
            Unit::KiloBytesPerSecond => "kiloBytesPerSecond",
            Unit::Number => "number",
        }
    }
}

/// Rollup type (`PerformanceManager.CounterInfo.RollupType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rollup {
    /// `average`.
    Average,
    /// `summation`.
    Summation,
    /// `latest`.
    Latest,
    /// `maximum`.
    Maximum,
    /// `minimum`.
    Minimum,
    /// `none`.
    None,
}

impl Rollup {
    /// vSphere's name.
    pub fn name(self) -> &'static str {
        match self {
            Rollup::Average => "average",
            Rollup::Summation => "summation",
            Rollup::Latest => "latest",
            Rollup::Maximum => "maximum",
            Rollup::Minimum => "minimum",
            Rollup::None => "none",
        }
    }
}

/// Stats type (`PerformanceManager.CounterInfo.StatsType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatsType {
    /// `rate`.
    Rate,
    /// `delta`.
    Delta,
    /// `absolute`.
    Absolute,
}

impl StatsType {
    /// vSphere's name.
    pub fn name(self) -> &'static str {
        match self {
            StatsType::Rate => "rate",
            StatsType::Delta => "delta",
            StatsType::Absolute => "absolute",
        }
    }
}

/// Which entity kinds carry a counter (bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Applies(u8);

impl Applies {
    /// Hosts.
    pub const HOST: Applies = Applies(1);
    /// Resource pools.
    pub const POOL: Applies = Applies(2);
    /// VMs.
    pub const VM: Applies = Applies(4);
    const fn or(self, o: Applies) -> Applies {
        Applies(self.0 | o.0)
    }
    /// Whether `self` includes all of `o`.
    pub const fn contains(self, o: Applies) -> bool {
        self.0 & o.0 == o.0
    }
}

/// Everything vcsim needs to publish a `PerfCounterInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CounterInfo {
    /// The counter.
    pub counter: Counter,
    /// Full dotted name, e.g. `cpu.ready.summation`.
    pub full_name: &'static str,
    /// Group key, e.g. `cpu`.
    pub group: &'static str,
    /// Name key, e.g. `ready`.
    pub name_key: &'static str,
    /// Unit.
    pub unit: Unit,
    /// Rollup.
    pub rollup: Rollup,
    /// Stats type.
    pub stats_type: StatsType,
    /// Collection level.
    pub level: u8,
    /// Per-device (instance) collection level.
    pub per_device_level: u8,
    /// Short description (vCenter's summary text).
    pub summary: &'static str,
    /// Which entities carry it.
    pub applies: Applies,
    /// Whether VMs report per-vCPU instances ("0", "1", …) besides the aggregate ("").
    pub per_vcpu: bool,
}

macro_rules! counters {
    ($( $var:ident => $full:literal, $group:literal, $key:literal, $unit:ident, $rollup:ident,
        $stype:ident, $level:literal, $pdl:literal, [$($ap:ident)|+], $per:literal, $summary:literal; )+) => {
        /// A performance counter the model produces.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum Counter {
            $( #[doc = $summary] $var, )+
        }

        impl Counter {
            /// Every counter, in a fixed order (the order samples are emitted in).
            pub const ALL: &'static [Counter] = &[$(Counter::$var),+];

            /// Metadata.
            pub const fn info(self) -> CounterInfo {
                match self {
                    $( Counter::$var => CounterInfo {
                        counter: Counter::$var,
                        full_name: $full,
                        group: $group,
                        name_key: $key,
                        unit: Unit::$unit,
                        rollup: Rollup::$rollup,
                        stats_type: StatsType::$stype,
                        level: $level,
                        per_device_level: $pdl,
                        summary: $summary,
                        applies: Applies(0)$(.or(Applies::$ap))+,
                        per_vcpu: $per,
                    }, )+
                }
            }
        }
    };
}

counters! {
    CpuUsageAverage => "cpu.usage.average", "cpu", "usage", Percent, Average, Rate, 1, 3, [HOST|VM], false,
        "CPU usage as a percentage during the interval";
    CpuUsagemhzAverage => "cpu.usagemhz.average", "cpu", "usagemhz", MegaHertz, Average, Rate, 1, 3, [HOST|POOL|VM], true,
        "CPU usage in megahertz during the interval";
    CpuDemandAverage => "cpu.demand.average", "cpu", "demand", MegaHertz, Average, Absolute, 2, 3, [HOST|POOL|VM], false,
        "The amount of CPU resources a virtual machine would use if there were no CPU contention or CPU limit";
    CpuEntitlementLatest => "cpu.entitlement.latest", "cpu", "entitlement", MegaHertz, Latest, Absolute, 2, 3, [POOL|VM], false,
        "CPU resources devoted by the ESX scheduler";
    CpuReadySummation => "cpu.ready.summation", "cpu", "ready", Millisecond, Summation, Delta, 1, 3, [VM], true,
        "Time that the virtual machine was ready, but could not get scheduled to run on the physical CPU during last measurement interval";
    CpuMaxlimitedSummation => "cpu.maxlimited.summation", "cpu", "maxlimited", Millisecond, Summation, Delta, 2, 3, [VM], true,
        "Time the virtual machine is ready to run, but is not run due to maxing out its CPU limit setting";
    CpuCostopSummation => "cpu.costop.summation", "cpu", "costop", Millisecond, Summation, Delta, 2, 3, [VM], true,
        "Time the virtual machine is ready to run, but is unable to run due to co-scheduling constraints";
    CpuRunSummation => "cpu.run.summation", "cpu", "run", Millisecond, Summation, Delta, 2, 3, [VM], true,
        "Time the virtual machine is scheduled to run";
    CpuWaitSummation => "cpu.wait.summation", "cpu", "wait", Millisecond, Summation, Delta, 3, 3, [VM], true,
        "Total CPU time spent in wait state";
    CpuIdleSummation => "cpu.idle.summation", "cpu", "idle", Millisecond, Summation, Delta, 2, 3, [VM], true,
        "Total time that the CPU spent in an idle state";
    CpuUsedSummation => "cpu.used.summation", "cpu", "used", Millisecond, Summation, Delta, 3, 3, [VM], true,
        "Total CPU usage";
    CpuSwapwaitSummation => "cpu.swapwait.summation", "cpu", "swapwait", Millisecond, Summation, Delta, 3, 3, [VM], true,
        "CPU time spent waiting for swap-in";
    CpuLatencyAverage => "cpu.latency.average", "cpu", "latency", Percent, Average, Rate, 2, 3, [VM], false,
        "Percent of time the virtual machine is unable to run because it is contending for access to the physical CPU(s)";
    CpuReadinessAverage => "cpu.readiness.average", "cpu", "readiness", Percent, Average, Rate, 4, 4, [VM], false,
        "Percentage of time that the virtual machine was ready, but could not get scheduled to run on the physical CPU";
    MemGrantedAverage => "mem.granted.average", "mem", "granted", KiloBytes, Average, Absolute, 2, 3, [HOST|POOL|VM], false,
        "Amount of host physical memory or physical memory that is mapped for a virtual machine or a host";
    MemConsumedAverage => "mem.consumed.average", "mem", "consumed", KiloBytes, Average, Absolute, 1, 3, [HOST|POOL|VM], false,
        "Amount of host physical memory consumed for backing up guest physical memory pages";
    MemActiveAverage => "mem.active.average", "mem", "active", KiloBytes, Average, Absolute, 2, 3, [HOST|POOL|VM], false,
        "Amount of guest physical memory that is being actively read or written by guest";
    MemSharedAverage => "mem.shared.average", "mem", "shared", KiloBytes, Average, Absolute, 2, 3, [HOST|POOL|VM], false,
        "Amount of guest physical memory that is shared within a single virtual machine or across virtual machines";
    MemOverheadAverage => "mem.overhead.average", "mem", "overhead", KiloBytes, Average, Absolute, 1, 1, [HOST|POOL|VM], false,
        "Host physical memory consumed by ESXi data structures for running the virtual machines";
    MemEntitlementAverage => "mem.entitlement.average", "mem", "entitlement", KiloBytes, Average, Absolute, 2, 3, [VM], false,
        "Amount of host physical memory the virtual machine deserves, as determined by ESXi";
    MemVmmemctlAverage => "mem.vmmemctl.average", "mem", "vmmemctl", KiloBytes, Average, Absolute, 1, 3, [HOST|POOL|VM], false,
        "Amount of guest physical memory reclaimed from the virtual machine by the balloon driver in the guest";
    MemVmmemctltargetAverage => "mem.vmmemctltarget.average", "mem", "vmmemctltarget", KiloBytes, Average, Absolute, 2, 3, [VM], false,
        "Desired amount of guest physical memory the balloon driver needs to reclaim, as determined by ESXi";
    MemSwappedAverage => "mem.swapped.average", "mem", "swapped", KiloBytes, Average, Absolute, 2, 3, [HOST|POOL|VM], false,
        "Amount of guest physical memory that is swapped out to the swap space";
    MemSwaptargetAverage => "mem.swaptarget.average", "mem", "swaptarget", KiloBytes, Average, Absolute, 2, 3, [VM], false,
        "Amount of memory that ESXi needs to reclaim by swapping";
    MemSwapinAverage => "mem.swapin.average", "mem", "swapin", KiloBytes, Average, Absolute, 2, 3, [VM], false,
        "Amount of guest physical memory that is swapped in from the swap space since the virtual machine has been powered on";
    MemSwapoutAverage => "mem.swapout.average", "mem", "swapout", KiloBytes, Average, Absolute, 2, 3, [VM], false,
        "Amount of guest physical memory that is swapped out from the virtual machine to its swap space since it has been powered on";
    MemSwapinRateAverage => "mem.swapinRate.average", "mem", "swapinRate", KiloBytesPerSecond, Average, Rate, 1, 3, [HOST|POOL|VM], false,
        "Rate at which guest physical memory is swapped in from the swap space";
    MemSwapoutRateAverage => "mem.swapoutRate.average", "mem", "swapoutRate", KiloBytesPerSecond, Average, Rate, 1, 3, [HOST|POOL|VM], false,
        "Rate at which guest physical memory is swapped out to the swap space";
    MemCompressedAverage => "mem.compressed.average", "mem", "compressed", KiloBytes, Average, Absolute, 2, 3, [HOST|POOL|VM], false,
        "Guest physical memory pages that have undergone memory compression";
    MemZipSavedLatest => "mem.zipSaved.latest", "mem", "zipSaved", KiloBytes, Latest, Absolute, 2, 3, [VM], false,
        "Host physical memory, reclaimed from a virtual machine, by memory compression";
    MemCompressionRateAverage => "mem.compressionRate.average", "mem", "compressionRate", KiloBytesPerSecond, Average, Rate, 2, 3, [HOST|VM], false,
        "Rate of guest physical memory page compression by ESXi";
    MemDecompressionRateAverage => "mem.decompressionRate.average", "mem", "decompressionRate", KiloBytesPerSecond, Average, Rate, 2, 3, [HOST|VM], false,
        "Rate of guest physical memory decompression";
    MemLatencyAverage => "mem.latency.average", "mem", "latency", Percent, Average, Absolute, 2, 3, [VM], false,
        "Percentage of time the virtual machine spent waiting to swap in or decompress guest physical memory";
    MemUsageAverage => "mem.usage.average", "mem", "usage", Percent, Average, Absolute, 1, 3, [HOST|VM], false,
        "Memory usage as percent of total configured or available memory";
    MemStateLatest => "mem.state.latest", "mem", "state", Number, Latest, Absolute, 2, 3, [HOST], false,
        "One of five host free-memory states: 0 high, 1 clear, 2 soft, 3 hard, 4 low";
    MemLowfreethresholdAverage => "mem.lowfreethreshold.average", "mem", "lowfreethreshold", KiloBytes, Average, Absolute, 2, 3, [HOST], false,
        "Threshold of free host physical memory below which ESXi will begin reclaiming memory from virtual machines through ballooning and swapping";
}

impl Counter {
    /// vSphere's full dotted name, e.g. `cpu.ready.summation`.
    pub const fn name(self) -> &'static str {
        self.info().full_name
    }

    /// Looks a counter up by its full dotted name.
    pub fn from_name(name: &str) -> Option<Counter> {
        Counter::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// Whether entities of this kind carry the counter.
    pub const fn applies_to(self, kind: Applies) -> bool {
        self.info().applies.contains(kind)
    }
}

/// Metadata of every counter (what `PerformanceManager.perfCounter` lists).
pub fn counter_infos() -> impl Iterator<Item = CounterInfo> {
    Counter::ALL.iter().map(|c| c.info())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_dotted() {
        let mut names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        for c in Counter::ALL {
            let i = c.info();
            assert_eq!(
                i.full_name,
                format!("{}.{}.{}", i.group, i.name_key, i.rollup.name())
            );
            assert_eq!(Counter::from_name(i.full_name), Some(*c));
        }
        assert_eq!(Counter::CpuReadySummation.name(), "cpu.ready.summation");
        assert_eq!(Counter::MemVmmemctlAverage.name(), "mem.vmmemctl.average");
        assert_eq!(Counter::MemLatencyAverage.info().unit.name(), "percent");
    }
}

//! Memory: host thresholds, VM overhead, and one step of a VM's reclamation dynamics
//! (balloon → compression → swap, swap-in on touch, memory latency).
//! contention-model.md §3 and §7.2; tags [V]/[R]/[D]/[A] as there.

/// Idle memory tax rate τ (`Mem.IdleTax` = 75) [V] S39, S41.
pub const IDLE_TAX: f64 = 0.75;
/// Cost of an idle page relative to an active one, k = 1/(1 − τ) = 4 [D] S39, S42.
pub const IDLE_TAX_K: f64 = 1.0 / (1.0 - IDLE_TAX);
/// Maximum balloon as a fraction of configured memory (`Mem.CtlMaxPercent` = 65) [V] S41.
pub const BALLOON_MAX_FRACTION: f64 = 0.65;
/// Compression cache as a fraction of configured memory (default 10 %) [V] S55.
pub const COMPRESSION_CACHE_FRACTION: f64 = 0.10;
/// Pages are kept compressed only when they fit in 2 KB, i.e. ≥ 2:1 [V] S54.
pub const COMPRESSION_RATIO: f64 = 2.0;
/// Fraction of victim pages that compress to ≤ 2 KB [A].
pub const COMPRESSIBLE_FRACTION: f64 = 0.5;
/// Balloon inflation/deflation speed, MB/s per VM [A].
pub const BALLOON_RATE_MB_PER_S: f64 = 16.0;
/// Time to swap one MB back in from the VM's swap file, s (≈31 µs per 4 KB page) [A].
pub const SWAPIN_S_PER_MB: f64 = 0.008;
/// Time to decompress one MB from the compression cache, s (≈4 µs per 4 KB page) [A].
pub const DECOMPRESS_S_PER_MB: f64 = 0.001;
/// Fraction of granted memory that is shared zero pages within the VM (inter-VM sharing is
/// salted off by default, [V] S45) [A].
pub const SHARED_FRACTION: f64 = 0.01;
/// A VM is under memory pressure when its target is this far below its content, MB [A].
pub const PRESSURE_TOLERANCE_MB: f64 = 0.5;
/// Activeness is sampled over `Mem.SamplePeriod` = 60 s [V] S40, S41; the estimate rises fast and
/// decays with this time constant [A, after S40].
pub const ACTIVE_DECAY_S: f64 = 60.0;

/// minFree for a host: 6 % of the first 4 GB, 4 % of the next 8 GB, 2 % of the next 16 GB,
/// 1 % of the rest [V] S46, S47.
pub fn min_free_mb(host_mb: f64) -> f64 {
    let tiers = [(4096.0, 0.06), (8192.0, 0.04), (16384.0, 0.02)];
    let (mut left, mut free) = (host_mb, 0.0);
    for (size, pct) in tiers {
        let part = left.min(size);
        free += part * pct;
        left -= part;
    }
    free + left * 0.01
}

/// Memory the VMkernel keeps for itself, MB [A].
pub fn vmkernel_mb(host_mb: f64) -> f64 {
    (512.0 + 0.01 * host_mb).min(host_mb / 2.0)
}

/// Host free-memory state as vSphere's `mem.state`: 0 high, 1 clear, 2 soft, 3 hard, 4 low,
/// from free memory as a fraction of minFree (< 100 %, < 64 %, < 32 %, < 16 %) [V] S50.
pub fn host_state(free_mb: f64, min_free_mb: f64) -> u8 {
    let r = if min_free_mb > 0.0 {
        free_mb / min_free_mb
    } else {
        1.0
    };
    match r {
        r if r >= 1.0 => 0,
        r if r >= 0.64 => 1,
        r if r >= 0.32 => 2,
        r if r >= 0.16 => 3,
        _ => 4,
    }
}

/// Per-VM overhead memory, MB: a fit to the vSphere Resource Management guide's sample table
/// (≈ 14.4 MB + 4 MB per vCPU + 0.74 % of configured memory) [A].
pub fn overhead_mb(vcpus: u32, memory_mb: f64) -> f64 {
    14.4 + 4.0 * f64::from(vcpus) + 0.0074 * memory_mb
}

/// A VM's memory state (persisted across steps) and last step's outputs, all in MB / MB·s⁻¹.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct VmMem {
    /// Guest memory in use (the guest's own view).
    pub guest: f64,
    /// Guest-free pages that are still backed (ESXi cannot tell they are free).
    pub stale: f64,
    /// Balloon size.
    pub balloon: f64,
    /// Balloon target.
    pub balloon_target: f64,
    /// Guest pages held compressed (guest MB; they occupy half in the cache).
    pub compressed: f64,
    /// Guest pages swapped to the VM's swap file.
    pub swapped: f64,
    /// What is still to be swapped to meet the target.
    pub swap_target: f64,
    /// Swapped in since power-on.
    pub swapin_cum: f64,
    /// Swapped out since power-on.
    pub swapout_cum: f64,
    /// Last step's rates, MB/s.
    pub swapin_rate: f64,
    /// See `swapin_rate`.
    pub swapout_rate: f64,
    /// See `swapin_rate`.
    pub compression_rate: f64,
    /// See `swapin_rate`.
    pub decompression_rate: f64,
    /// Active estimate.
    pub active: f64,
    /// Target (mem.entitlement).
    pub target: f64,
    /// Host pages mapped for guest memory (mem.granted).
    pub granted: f64,
    /// Shared zero pages.
    pub shared: f64,
    /// Host memory consumed for guest memory (granted − sharing + compression cache).
    pub consumed: f64,
    /// Overhead.
    pub overhead: f64,
    /// Fraction of time waiting for swap-in / decompression, ℓ ∈ [0, 1).
    pub latency: f64,
    /// ℓ/(1 − ℓ): the swap wait per unit of run time (for cpu.swapwait).
    pub stall: f64,
}

/// Inputs of one VM's memory step besides its state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MemStepIn {
    /// Configured memory.
    pub memory_mb: f64,
    /// VM memory reservation.
    pub reservation_mb: f64,
    /// Target from the divvy (mem.entitlement).
    pub target_mb: f64,
    /// Active memory this step.
    pub active_mb: f64,
    /// Touch rate of the active set when nothing is swapped.
    pub touch_mb_per_s: f64,
    /// Step length.
    pub interval_s: f64,
    /// exp(−interval / `ACTIVE_DECAY_S`), computed once per step.
    pub active_decay: f64,
}

impl VmMem {
    /// Applies the guest's new in-use size before the divvy: growth reuses stale (backed but
    /// guest-free) pages first, shrinkage leaves freed pages backed [A]. A guest that needs
    /// memory the balloon holds takes it back (the balloon driver deflates under guest pressure) [A].
    pub fn set_guest(&mut self, guest_mb: f64, memory_mb: f64) {
        if guest_mb > self.guest {
            self.stale -= self.stale.min(guest_mb - self.guest);
        } else {
            self.stale += self.guest - guest_mb;
        }
        self.guest = guest_mb;
        self.balloon = self.balloon.min((memory_mb - guest_mb).max(0.0));
        self.stale = self
            .stale
            .min((memory_mb - guest_mb - self.balloon).max(0.0));
    }

    /// Content the host must keep (resident, compressed or swapped): in-use plus stale pages.
    #[inline]
    pub fn content(&self) -> f64 {
        self.guest + self.stale
    }

    /// One step of reclamation towards the target, then swap-in on touch (§7.2 steps 3–5).
    pub fn step(&mut self, i: &MemStepIn) {
        let t = i.interval_s;
        let m = i.memory_mb;
        let mut resident = (self.content() - self.compressed - self.swapped).max(0.0);
        let (mut swapped_out, mut compressed_now) = (0.0, 0.0);
        // Host memory charged to the VM: resident guest pages plus the compression cache [A].
        let mut excess = resident + self.compressed / COMPRESSION_RATIO - i.target_mb;
        let balloon_max = (BALLOON_MAX_FRACTION * m)
            .min(m - i.reservation_mb)
            .min(m - self.guest)
            .max(0.0); // [V] S41, S58; ≤ guest-free memory [A]
        self.swap_target = 0.0;
        // Under pressure when the target is below the content the VM holds (KB 1033115: a limit
        // below what the guest uses is treated as contention even on an idle host, [V] S18).
        let shortfall = self.content() - i.target_mb;
        if shortfall > PRESSURE_TOLERANCE_MB {
            // 1. Balloon: reclaims only the backed share η of what it takes from guest-free
            //    memory; with nothing backed there (η = 0) ESXi still drives it towards its max.
            let free_guest = (m - self.guest - self.balloon).max(0.0);
            let eta = if free_guest > 0.0 {
                self.stale / free_guest
            } else {
                0.0
            };
            let want = if eta > 0.0 {
                shortfall / eta
            } else {
                f64::INFINITY
            };
            self.balloon_target = balloon_max.min(self.balloon + want).max(self.balloon);
            let inflate =
                (self.balloon_target - self.balloon).clamp(0.0, BALLOON_RATE_MB_PER_S * t);
            // The balloon claims guest-free pages; η of them are stale (still held by the
            // host: resident, compressed or swapped alike, in proportion). All of those leave
            // the VM's content, so content + balloon stays ≤ configured (MODEL.md §5.7); only
            // the resident ones free host memory.
            let claimed = (eta * inflate).min(self.stale);
            let content = self.content();
            let (from_resident, from_zip, from_swap) = if content > 0.0 {
                (
                    claimed * resident / content,
                    claimed * self.compressed / content,
                    claimed * self.swapped / content,
                )
            } else {
                (0.0, 0.0, 0.0)
            };
            self.balloon += inflate;
            self.stale -= claimed;
            self.compressed -= from_zip;
            self.swapped -= from_swap;
            resident -= from_resident;
            excess -= from_resident + from_zip / COMPRESSION_RATIO;
            // 2. Compression, then 3. swap, of randomly chosen resident pages.
            if excess > 0.0 {
                let q = COMPRESSIBLE_FRACTION;
                let victims = excess / (1.0 - q / COMPRESSION_RATIO);
                let cache_room =
                    (COMPRESSION_CACHE_FRACTION * COMPRESSION_RATIO * m - self.compressed).max(0.0);
                let c = (q * victims).min(cache_room).min(resident);
                excess -= c / COMPRESSION_RATIO;
                resident -= c;
                let swap_room = (m - i.reservation_mb - self.swapped).max(0.0); // [V] S56
                let s = excess.max(0.0).min(swap_room).min(resident);
                excess -= s;
                resident -= s;
                self.compressed += c;
                self.swapped += s;
                // 3b. Nothing resident left but the cache itself above the target (a limit
                //     below the cache): compressed pages go to the swap file, shrinking the
                //     cache, so granted (which counts it) stays under the target [A].
                let evict = (excess.max(0.0) * COMPRESSION_RATIO)
                    .min(self.compressed)
                    .min((swap_room - s).max(0.0));
                self.compressed -= evict;
                self.swapped += evict;
                excess -= evict / COMPRESSION_RATIO;
                compressed_now = c;
                swapped_out = s + evict;
                self.swap_target = excess.max(0.0);
            }
        } else {
            // Room to spare: deflate the balloon; swapped pages only return on touch [V] S44.
            let deflate = self.balloon.min(BALLOON_RATE_MB_PER_S * t);
            self.balloon -= deflate;
            self.balloon_target = self.balloon;
        }
        // 4. Latency (closed loop): faults on non-resident active pages.
        let content = self.content();
        let nonres = self.compressed + self.swapped;
        let phi = if content > 0.0 { nonres / content } else { 0.0 };
        let (mut swapin, mut decomp) = (0.0, 0.0);
        if phi > 0.0 && i.touch_mb_per_s > 0.0 {
            let p_sw = self.swapped / nonres;
            let t_mb = p_sw * SWAPIN_S_PER_MB + (1.0 - p_sw) * DECOMPRESS_S_PER_MB;
            let x = phi * i.touch_mb_per_s * t_mb;
            self.stall = x;
            self.latency = x / (1.0 + x);
            // Fault-in volume over the interval; a page may cycle several times (thrash).
            let faults = phi * i.touch_mb_per_s * t * (1.0 - self.latency);
            swapin = p_sw * faults;
            decomp = faults - swapin;
            // Pages that fit under the target stay resident; the rest are evicted again.
            let room = (i.target_mb - resident - self.compressed / COMPRESSION_RATIO).max(0.0);
            let keep = faults.min(room).min(nonres);
            self.swapped -= p_sw * keep;
            self.compressed -= (1.0 - p_sw) * keep;
            resident += keep;
            swapped_out += p_sw * (faults - keep);
            compressed_now += (1.0 - p_sw) * (faults - keep);
        } else {
            self.stall = 0.0;
            self.latency = 0.0;
        }
        self.swapped = self.swapped.max(0.0);
        self.compressed = self.compressed.max(0.0);
        self.swapin_cum += swapin;
        self.swapout_cum += swapped_out;
        self.swapin_rate = swapin / t;
        self.swapout_rate = swapped_out / t;
        self.compression_rate = compressed_now / t;
        self.decompression_rate = decomp / t;
        // 5. Reported stocks.
        let decay = i.active_decay;
        self.active = if i.active_mb >= self.active {
            i.active_mb
        } else {
            i.active_mb + (self.active - i.active_mb) * decay
        };
        self.target = i.target_mb;
        // The compression cache holds the VM's compressed pages in host memory charged to the
        // VM: it is host memory mapped for the VM, so it is granted (and consumed), which
        // keeps consumed ≤ granted (MODEL.md §5.7).
        self.granted = resident + self.compressed / COMPRESSION_RATIO;
        self.shared = SHARED_FRACTION * resident;
        self.consumed = self.granted - self.shared;
    }

    /// Guest pages backed by host pages (granted without the compression cache).
    pub fn resident(&self) -> f64 {
        (self.granted - self.compressed / COMPRESSION_RATIO).max(0.0)
    }

    /// Reported active memory: only resident pages can be active [A].
    pub fn active_reported(&self) -> f64 {
        self.active.min(self.resident())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(target: f64) -> MemStepIn {
        MemStepIn {
            memory_mb: 4096.0,
            reservation_mb: 0.0,
            target_mb: target,
            active_mb: 528.0,
            touch_mb_per_s: 256.0,
            interval_s: 20.0,
            active_decay: (-20.0f64 / ACTIVE_DECAY_S).exp(),
        }
    }

    #[test]
    fn min_free_sliding_scale() {
        // 28 GB host: 245.76 + 327.68 + 327.68 = 901.12 MB (S48 rounds to 899).
        assert!((min_free_mb(28.0 * 1024.0) - 901.12).abs() < 1e-9);
        assert!((min_free_mb(1024.0) - 61.44).abs() < 1e-9);
        assert_eq!(host_state(2000.0, 1000.0), 0);
        assert_eq!(host_state(700.0, 1000.0), 1);
        assert_eq!(host_state(100.0, 1000.0), 4);
    }

    #[test]
    fn no_pressure_no_reclaim() {
        let mut v = VmMem::default();
        v.set_guest(576.0, 4096.0);
        v.step(&input(576.0));
        assert_eq!(
            (v.balloon, v.swapped, v.compressed, v.latency),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert!((v.granted - 576.0).abs() < 1e-9);
    }

    #[test]
    fn pressure_balloons_then_compresses_and_swaps_within_bounds() {
        let mut v = VmMem::default();
        v.set_guest(576.0, 4096.0);
        for _ in 0..20 {
            v.step(&input(300.0));
            assert!(v.balloon <= 0.65 * 4096.0 + 1e-9);
            assert!(v.swapped <= 4096.0 + 1e-9);
            assert!(v.granted <= 300.0 + 1e-6, "{v:?}");
            assert!(v.consumed <= v.granted, "{v:?}");
        }
        assert!(v.balloon > 0.0 && v.swapped > 0.0 && v.compressed > 0.0);
        assert!(v.latency > 0.1 && v.latency < 0.9, "{}", v.latency);
        assert!(v.swapin_rate > 0.0);
    }

    #[test]
    fn stale_pages_are_ballooned_first() {
        let mut v = VmMem::default();
        v.set_guest(2048.0, 4096.0);
        v.step(&input(4096.0));
        v.set_guest(512.0, 4096.0); // freed 1.5 GB stays backed
        assert_eq!(v.stale, 1536.0);
        for _ in 0..10 {
            v.step(&input(1024.0));
        }
        assert!(v.balloon > 0.0);
        assert!(v.stale < 1536.0);
    }
}

//! ContainerVM sizing from docker's resource flags (vic.md §5.3).
//!
//! - no flags: 2 vCPUs, 2048 MB;
//! - `-m`: bytes → MiB; 0 is the default, less than 512 becomes 512, then rounded **up** to a
//!   multiple of 128 (so `-m 1024`, which is 1024 *bytes*, gives 512 MB);
//! - `--cpuset-cpus N[,..]`: the first comma element is the vCPU count; `0-3` fails with
//!   `Error parsing CPU count: …`;
//! - `--cpu-count` (the Windows client's flag): the vCPU count when > 0.
//!
//! Everything else (`--cpu-shares`, `--memory-reservation`, `--cpus`, swap) is ignored, and no
//! warning is given for a container larger than the VCH pool: VIC gives none.

/// Default vCPUs.
pub const DEFAULT_CPUS: u32 = 2;
/// Default memory, MB.
pub const DEFAULT_MEMORY_MB: u64 = 2048;
/// Smallest containerVM, MB.
pub const MIN_MEMORY_MB: u64 = 512;
/// Memory granularity, MB.
pub const MEMORY_STEP_MB: u64 = 128;
/// Largest vCPU count accepted (vSphere's limit per VM).
pub const MAX_CPUS: u32 = 768;
/// Largest containerVM, MB: vSphere 6.5's limit per VM (6128 GB). A larger `-m` is refused
/// rather than sent to vSphere (or overflowing on the way).
pub const MAX_MEMORY_MB: u64 = 6128 * 1024;

/// The containerVM memory in MB for `HostConfig.Memory` bytes.
pub fn memory_mb(bytes: i64) -> u64 {
    let mb = u64::try_from(bytes).unwrap_or(0) / (1024 * 1024);
    if mb == 0 && bytes <= 0 {
        return DEFAULT_MEMORY_MB;
    }
    mb.max(MIN_MEMORY_MB).div_ceil(MEMORY_STEP_MB) * MEMORY_STEP_MB
}

/// Go's `strconv.Atoi` error text for `s`.
fn atoi_error(s: &str) -> String {
    format!("strconv.Atoi: parsing {s:?}: invalid syntax")
}

/// The vCPU count for `HostConfig.CpusetCpus` and `HostConfig.CpuCount`.
///
/// The text after `Error parsing CPU count: ` is Go's `strconv.Atoi` error, as VIC passes it
/// through (the exact tail is UNCONFIRMED in vic.md). A count of 0 or less gives 1: vSphere
/// refuses a VM without a vCPU, which would only fail later with a less useful fault.
pub fn cpu_count(cpuset: &str, cpu_count: i64) -> Result<u32, String> {
    let mut n = DEFAULT_CPUS;
    if !cpuset.is_empty() {
        let first = cpuset.split(',').next().unwrap_or("");
        let parsed: i64 = first
            .parse()
            .map_err(|_| format!("Error parsing CPU count: {}", atoi_error(first)))?;
        n = u32::try_from(parsed.clamp(1, i64::from(MAX_CPUS))).unwrap_or(1);
    }
    if cpu_count > 0 {
        n = u32::try_from(cpu_count.min(i64::from(MAX_CPUS))).unwrap_or(1);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: i64 = 1024 * 1024;

    #[test]
    fn memory_rounds_up_to_128_with_a_512_minimum() {
        assert_eq!(memory_mb(0), 2048);
        assert_eq!(memory_mb(4 * 1024 * MIB), 4096);
        assert_eq!(memory_mb(1024), 512, "-m 1024 is bytes (issue #5326)");
        assert_eq!(memory_mb(100 * MIB), 512);
        assert_eq!(memory_mb(512 * MIB), 512);
        assert_eq!(memory_mb(513 * MIB), 640);
        assert_eq!(memory_mb(1000 * MIB), 1024);
        assert_eq!(memory_mb(1025 * MIB), 1152);
        assert_eq!(memory_mb(-1), 2048);
        assert_eq!(memory_mb(i64::MAX), 8_796_093_022_208, "no overflow");
        assert!(memory_mb(i64::MAX) > MAX_MEMORY_MB);
    }

    #[test]
    fn cpuset_is_the_vcpu_count() {
        assert_eq!(cpu_count("", 0), Ok(2));
        assert_eq!(cpu_count("2", 0), Ok(2));
        assert_eq!(cpu_count("4,5", 0), Ok(4));
        assert_eq!(cpu_count("", 3), Ok(3));
        assert_eq!(cpu_count("0", 0), Ok(1));
        assert_eq!(
            cpu_count("0-3", 0),
            Err("Error parsing CPU count: strconv.Atoi: parsing \"0-3\": invalid syntax".into())
        );
    }
}

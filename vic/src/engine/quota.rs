//! The VCH-level admission limits VIC's personality checks itself (vic.md §5.3 "The only
//! admission checks VIC itself makes", §7.3 step 1.1): `--containers` (how many containers
//! may exist) and `--storage-quota` (image plus containerVM storage), both checked by
//! `POST /containers/create` before anything is made; plus their `docker info` lines.
//!
//! Accounting, as VIC's `checkContainerCount`/`checkStorageQuota` do it (`container.go`
//! in vmware/vic):
//! - count: the containers that exist plus the creates in flight, this one included (VIC's
//!   "reservation"), may not exceed the limit;
//! - storage: a containerVM counts its memory (the swap file) plus the scratch disk size;
//!   images count their size once per image id; creates in flight are reserved. The store
//!   records an in-flight create by id only, so each one other than the request being
//!   checked is counted at the default containerVM size (2048 MB) [our approximation].
//!
//! Both refusals are plain errors in VIC, which dockerd's keyword mapping turns into 500
//! (no "not found", "conflict", … in the text), so the docker CLI prints
//! `Error response from daemon: …` and exits 125.

use super::sizing;
use super::state::Store;
use crate::images::ImageConfig;
use std::collections::BTreeMap;

/// The containerVM scratch disk in KB: VIC's `storage/scratch_size`, which the testbed's
/// vic-machine always writes as 8 000 000 (`--base-image-size` default 8GB).
pub const SCRATCH_SIZE_KB: u64 = 8_000_000;
/// go-units `KB` (decimal), the unit VIC multiplies the scratch size by.
const KB: u64 = 1000;
/// go-units `MiB`.
const MIB: u64 = 1 << 20;
/// go-units `GiB`: the quota's unit.
const GIB: u64 = 1 << 30;

/// Why a create is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuotaError {
    /// `--containers` reached.
    #[error(
        "Container count exceeds limit {limit}. containers: {containers}, reservation: {reservation}"
    )]
    ContainerCount {
        /// The limit.
        limit: u32,
        /// Containers that exist.
        containers: usize,
        /// Creates in flight, this one included.
        reservation: usize,
    },
    /// `--storage-quota` reached; the sizes are in GiB, as VIC prints them.
    #[error(
        "Storage quota exceeds. Storage quota: {quota_gb}GB, image storage usage: {images_gb:.3}GB, container storage usage: {containers_gb:.3}GB, storage reservation: {reservation_gb:.3}GB"
    )]
    Storage {
        /// The quota in whole GiB.
        quota_gb: u64,
        /// Image storage.
        images_gb: f64,
        /// Existing containerVMs.
        containers_gb: f64,
        /// Creates in flight, this one included.
        reservation_gb: f64,
    },
}

/// Storage in use and reserved, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageUsage {
    /// Images, each id once.
    pub images_bytes: u64,
    /// Existing containerVMs.
    pub containers_bytes: u64,
    /// Creates in flight, the one being checked included.
    pub reservation_bytes: u64,
}

/// The storage one containerVM counts against the quota: its memory (swap) plus the scratch
/// disk.
pub fn container_storage_bytes(memory_mb: u64) -> u64 {
    memory_mb
        .saturating_mul(MIB)
        .saturating_add(SCRATCH_SIZE_KB * KB)
}

/// The storage of `images`, each id counted once (tags of one image share its layers).
pub fn image_storage_bytes<'a>(images: impl IntoIterator<Item = &'a ImageConfig>) -> u64 {
    let by_id: BTreeMap<&str, u64> = images
        .into_iter()
        .map(|i| (i.id.as_str(), i.size_bytes))
        .collect();
    by_id.values().fold(0, |a, b| a.saturating_add(*b))
}

/// The count check: `containers` exist, `others_in_flight` creates are running besides the
/// one being checked. None or 0 is unlimited.
pub fn check_container_count(
    limit: Option<u32>,
    containers: usize,
    others_in_flight: usize,
) -> Result<(), QuotaError> {
    let Some(limit) = limit.filter(|l| *l > 0) else {
        return Ok(());
    };
    let reservation = others_in_flight + 1;
    if containers + reservation > limit as usize {
        return Err(QuotaError::ContainerCount {
            limit,
            containers,
            reservation,
        });
    }
    Ok(())
}

/// The storage check: `usage` (with the request's own reservation) must fit the quota. None
/// or 0 is unlimited.
pub fn check_storage(quota_bytes: Option<u64>, usage: &StorageUsage) -> Result<(), QuotaError> {
    let Some(quota) = quota_bytes.filter(|q| *q > 0) else {
        return Ok(());
    };
    let used = usage
        .images_bytes
        .saturating_add(usage.containers_bytes)
        .saturating_add(usage.reservation_bytes);
    if used <= quota {
        return Ok(());
    }
    let gb = |b: u64| b as f64 / GIB as f64;
    Err(QuotaError::Storage {
        quota_gb: quota / GIB,
        images_gb: gb(usage.images_bytes),
        containers_gb: gb(usage.containers_bytes),
        reservation_gb: gb(usage.reservation_bytes),
    })
}

/// The storage `store`'s images and containers use (nothing reserved).
pub fn storage_in_use(store: &Store) -> StorageUsage {
    StorageUsage {
        images_bytes: image_storage_bytes(store.images.values()),
        containers_bytes: store
            .containers
            .values()
            .map(|c| container_storage_bytes(c.memory_mb))
            .fold(0, u64::saturating_add),
        reservation_bytes: 0,
    }
}

/// [`storage_in_use`] plus what a create of a `memory_mb` containerVM reserves with the
/// creates in flight (see the module docs).
pub fn storage_usage(store: &Store, memory_mb: u64) -> StorageUsage {
    let default_vm = container_storage_bytes(sizing::memory_mb(0));
    StorageUsage {
        reservation_bytes: container_storage_bytes(memory_mb)
            .saturating_add(default_vm.saturating_mul(store.creating.len() as u64)),
        ..storage_in_use(store)
    }
}

/// Both checks for a create of a `memory_mb` containerVM, count first as VIC orders them.
/// Call with the store locked, before the create is added to `store.creating`.
pub fn admit(
    container_limit: Option<u32>,
    storage_quota_bytes: Option<u64>,
    store: &Store,
    memory_mb: u64,
) -> Result<(), QuotaError> {
    check_container_count(
        container_limit,
        store.containers.len(),
        store.creating.len(),
    )?;
    check_storage(storage_quota_bytes, &storage_usage(store, memory_mb))
}

/// go-units `BytesSize` (`%.4g %s`, binary units), as VIC formats `docker info` sizes:
/// `10 GiB`, `1.5 MiB`, `0 B`.
pub fn bytes_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{} {}", super::client::render::go_g(size, 4), UNITS[unit])
}

/// `docker info` `SystemStatus` entries for the limits, placed after `" VCH memory limit"`
/// as VIC places its storage limit. `" VCH storage limit"` is VIC's label; VIC has no
/// line for the container limit, `" VCH container limit"` is [our assumption].
pub fn limit_status(
    container_limit: Option<u32>,
    storage_quota_bytes: Option<u64>,
) -> Vec<[String; 2]> {
    let mut out = Vec::new();
    if let Some(q) = storage_quota_bytes.filter(|q| *q > 0) {
        out.push([" VCH storage limit".to_owned(), bytes_size(q)]);
    }
    if let Some(n) = container_limit.filter(|n| *n > 0) {
        out.push([" VCH container limit".to_owned(), n.to_string()]);
    }
    out
}

/// `docker info` storage usage entries, placed after `" VCH memory usage"` as VIC does:
/// the total always, images and containers when non-zero.
pub fn usage_status(usage: &StorageUsage) -> Vec<[String; 2]> {
    let total = usage.images_bytes.saturating_add(usage.containers_bytes);
    let mut out = vec![[" VCH storage usage".to_owned(), bytes_size(total)]];
    if usage.images_bytes > 0 {
        out.push([
            " VCH images storage usage".to_owned(),
            bytes_size(usage.images_bytes),
        ]);
    }
    if usage.containers_bytes > 0 {
        out.push([
            " VCH containers storage usage".to_owned(),
            bytes_size(usage.containers_bytes),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, size_bytes: u64) -> ImageConfig {
        ImageConfig {
            repository: "busybox".into(),
            tag: "latest".into(),
            id: id.into(),
            entrypoint: Vec::new(),
            cmd: Vec::new(),
            env: Vec::new(),
            exposed_ports: Vec::new(),
            working_dir: String::new(),
            size_bytes,
            created: String::new(),
            workload: None,
            volumes: Vec::new(),
            labels: Default::default(),
            user: String::new(),
        }
    }

    #[test]
    fn count_limit_counts_existing_and_in_flight_and_zero_is_unlimited() {
        assert_eq!(check_container_count(None, 100, 100), Ok(()));
        assert_eq!(check_container_count(Some(0), 100, 100), Ok(()));
        assert_eq!(check_container_count(Some(2), 1, 0), Ok(()));
        assert_eq!(check_container_count(Some(2), 0, 1), Ok(()));
        let e = check_container_count(Some(2), 2, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Container count exceeds limit 2. containers: 2, reservation: 1"
        );
        let e = check_container_count(Some(2), 1, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Container count exceeds limit 2. containers: 1, reservation: 2"
        );
    }

    #[test]
    fn a_container_counts_its_memory_and_the_scratch_disk() {
        assert_eq!(container_storage_bytes(2048), 2048 * MIB + 8_000_000_000);
        assert_eq!(container_storage_bytes(0), 8_000_000_000);
    }

    #[test]
    fn images_count_once_per_id() {
        let imgs = [
            image("sha256:a", 10),
            image("sha256:a", 10),
            image("sha256:b", 5),
        ];
        assert_eq!(image_storage_bytes(&imgs), 15);
        assert_eq!(image_storage_bytes(&[]), 0);
    }

    #[test]
    fn storage_quota_fits_exactly_and_refuses_beyond_with_vics_message() {
        let quota = 10 * GIB;
        let fits = StorageUsage {
            images_bytes: GIB,
            containers_bytes: 4 * GIB,
            reservation_bytes: 5 * GIB,
        };
        assert_eq!(check_storage(Some(quota), &fits), Ok(()));
        assert_eq!(check_storage(None, &fits), Ok(()));
        assert_eq!(check_storage(Some(0), &fits), Ok(()));
        let over = StorageUsage {
            reservation_bytes: 5 * GIB + 1,
            ..fits
        };
        assert_eq!(
            check_storage(Some(quota), &over).unwrap_err().to_string(),
            "Storage quota exceeds. Storage quota: 10GB, image storage usage: 1.000GB, container storage usage: 4.000GB, storage reservation: 5.000GB"
        );
        // One default containerVM (2048 MB + 8 GB scratch) is 9.451 GiB.
        let one = StorageUsage {
            images_bytes: 0,
            containers_bytes: container_storage_bytes(2048),
            reservation_bytes: container_storage_bytes(2048),
        };
        assert_eq!(
            check_storage(Some(quota), &one).unwrap_err().to_string(),
            "Storage quota exceeds. Storage quota: 10GB, image storage usage: 0.000GB, container storage usage: 9.451GB, storage reservation: 9.451GB"
        );
    }

    #[test]
    fn admit_checks_the_count_first_then_storage() {
        let mut store = Store::default();
        store
            .images
            .insert("busybox".into(), image("sha256:a", GIB));
        assert_eq!(admit(Some(1), Some(20 * GIB), &store, 2048), Ok(()));
        store.creating.insert("x".into());
        assert!(matches!(
            admit(Some(1), Some(20 * GIB), &store, 2048),
            Err(QuotaError::ContainerCount { reservation: 2, .. })
        ));
        // 1 GiB of images, one default VM in flight and this one: 1 + 2 × 9.451 GiB.
        assert_eq!(admit(None, Some(20 * GIB), &store, 2048), Ok(()));
        let e = admit(None, Some(19 * GIB), &store, 2048).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("image storage usage: 1.000GB, container storage usage: 0.000GB, storage reservation: 18.901GB"),
            "{e}"
        );
        assert_eq!(admit(None, None, &store, 1 << 40), Ok(()));
    }

    #[test]
    fn sizes_print_as_go_units_bytes_size() {
        assert_eq!(bytes_size(0), "0 B");
        assert_eq!(bytes_size(1), "1 B");
        assert_eq!(bytes_size(1023), "1023 B");
        assert_eq!(bytes_size(1024), "1 KiB");
        assert_eq!(bytes_size(1536 * 1024), "1.5 MiB");
        assert_eq!(bytes_size(10 * GIB), "10 GiB");
        assert_eq!(bytes_size(container_storage_bytes(2048)), "9.451 GiB");
        assert_eq!(bytes_size(1024 * 1024 - 1), "1024 KiB");
        assert_eq!(bytes_size(1_234_567), "1.177 MiB");
        assert_eq!(bytes_size(u64::MAX), "16 EiB");
    }

    #[test]
    fn info_lines_appear_only_for_set_limits() {
        assert!(limit_status(None, None).is_empty());
        assert!(limit_status(Some(0), Some(0)).is_empty());
        assert_eq!(
            limit_status(Some(2), Some(10 * GIB)),
            vec![
                [" VCH storage limit".to_owned(), "10 GiB".to_owned()],
                [" VCH container limit".to_owned(), "2".to_owned()],
            ]
        );
        assert_eq!(
            usage_status(&StorageUsage::default()),
            vec![[" VCH storage usage".to_owned(), "0 B".to_owned()]]
        );
        let u = StorageUsage {
            images_bytes: GIB,
            containers_bytes: 2 * GIB,
            reservation_bytes: 7,
        };
        assert_eq!(
            usage_status(&u),
            vec![
                [" VCH storage usage".to_owned(), "3 GiB".to_owned()],
                [" VCH images storage usage".to_owned(), "1 GiB".to_owned()],
                [
                    " VCH containers storage usage".to_owned(),
                    "2 GiB".to_owned()
                ],
            ]
        );
    }
}

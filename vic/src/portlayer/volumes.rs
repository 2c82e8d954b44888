//! Volumes on datastore volume stores, over SOAP (vic.md §6.2 "Volumes", VIC's
//! `lib/portlayer/storage/vsphere`): the port layer's side of `docker volume` and `-v`.
//!
//! A volume `<name>` of a store rooted at `[ds] <path>` is the folder
//! `[ds] <path>/volumes/<name>/` holding the disk `<name>.vmdk` and VIC's metadata folder
//! `imageMetadata/`, one file per key (the personality's `DockerMetaData` JSON). So the
//! datastore *is* the volume cache: listing the stores' `volumes/` folders
//! (`HostDatastoreBrowser.SearchDatastore_Task`) and reading the metadata files rebuilds
//! every volume after an endpoint restart, and a volume is visible to any SOAP client.
//!
//! - create: `FileManager.MakeDirectory` (the store's `volumes/` with parents, then the
//!   volume's folder, whose `FileAlreadyExists` means the name is taken), then
//!   `VirtualDiskManager.CreateVirtualDisk_Task` (thin, `capacityKb`), then the metadata
//!   uploaded over the datastore's `/folder` HTTP path with the SOAP session cookie;
//! - destroy: `FileManager.DeleteDatastoreFile_Task` on the volume's folder;
//! - join: `ReconfigVM_Task` on the containerVM adding the disk (independent persistent,
//!   existing file, PVSCSI controller 100) and the `mounts|<name>/…` guestinfo keys.
//!
//! Departures from VIC, each forced by the testbed: VIC creates the disk by attaching it to
//! the VCH appliance (to `mkfs` it there) and adds it to a containerVM's create spec; here
//! the disk is made by `VirtualDiskManager` (nothing to format in an emulated guest) and
//! joined by a reconfigure right after `CreateVM_Task`, because the containerVM's spec is
//! built elsewhere. Which volumes of a containerVM are anonymous (`docker rm -v` removes
//! those) is kept under the testbed key [`ANONYMOUS_KEY`]: VIC derives it from the docker
//! config it persists, which the testbed's containerVMs do not carry.

use super::{PortLayer, PortLayerError, device_add, ov};
use crate::engine::VolumeStore;
use crate::guestinfo::{self, Keys, container as ck};
use crate::http1;
use crate::vsphere::{self, Scheme};
use std::time::Duration;
use vcsim::vmodl::{DataObject, MoRef, Value};

/// The folder of a store that holds its volumes (VIC's `constants.VolumesDir`).
pub const VOLUMES_DIR: &str = "volumes";
/// A volume's metadata folder (VIC's name, shared with the image store).
pub const METADATA_DIR: &str = "imageMetadata";
/// The metadata key (and file) of the docker personality's JSON.
pub const DOCKER_METADATA: &str = "DockerMetaData";
/// Testbed key: the container's anonymous volumes (a string slice; see the module docs).
pub const ANONYMOUS_KEY: &str = "guestinfo.vicbed.anonymous_volumes";
/// VIC's `executor.CopyNew`: copy the image's files into the volume on first mount.
const COPY_NEW: u8 = 2;
/// The controller volume disks go on (VIC hard-codes the containerVM's PVSCSI key).
const SCSI_CONTROLLER_KEY: i32 = 100;
/// Largest metadata file read back.
const MAX_METADATA_BYTES: usize = 1024 * 1024;
/// Limit for one datastore file transfer.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a volume operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A volume of that name exists (in any store).
    #[error("volume {0} already exists")]
    Exists(String),
    /// No volume store has that label.
    #[error("volume store ({0}) not found")]
    NoStore(String),
    /// A vSphere call failed.
    #[error(transparent)]
    PortLayer(#[from] PortLayerError),
    /// A metadata file could not be written or read over `/folder`.
    #[error("datastore file transfer: {0}")]
    Transfer(String),
}

impl From<vsphere::Error> for VolumeError {
    fn from(e: vsphere::Error) -> VolumeError {
        VolumeError::PortLayer(PortLayerError::Vsphere(e))
    }
}

/// A volume found on a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// The name (the folder's).
    pub name: String,
    /// The store's label.
    pub store: String,
    /// The `DockerMetaData` file, when read and present.
    pub metadata: Option<Vec<u8>>,
}

/// A volume to join to a containerVM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeMount {
    /// The volume.
    pub name: String,
    /// Its store.
    pub store: VolumeStore,
    /// The mount point in the container.
    pub dest: String,
    /// The mode flags as given (`rw`, `ro`).
    pub mode: String,
    /// Created for this container (`-v /path`), not named by the user.
    pub anonymous: bool,
}

/// A volume joined to a containerVM, read back from its guestinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountedVolume {
    /// The volume.
    pub name: String,
    /// The mount point.
    pub dest: String,
    /// The mode flags.
    pub mode: String,
    /// Anonymous (see [`ANONYMOUS_KEY`]).
    pub anonymous: bool,
}

/// `[ds] <path>`: the store's root folder.
pub fn store_root(store: &VolumeStore) -> String {
    let path = store.path.trim_matches('/');
    if path.is_empty() {
        format!("[{}]", store.datastore)
    } else {
        format!("[{}] {path}", store.datastore)
    }
}

/// The store's root and `rel` below it, as a path relative to the datastore.
fn rel_path(store: &VolumeStore, rel: &str) -> String {
    let path = store.path.trim_matches('/');
    if path.is_empty() {
        rel.to_owned()
    } else {
        format!("{path}/{rel}")
    }
}

/// `[ds] <path>/volumes`.
pub fn volumes_folder(store: &VolumeStore) -> String {
    format!("[{}] {}", store.datastore, rel_path(store, VOLUMES_DIR))
}

/// `[ds] <path>/volumes/<name>`.
pub fn volume_folder(store: &VolumeStore, name: &str) -> String {
    format!("{}/{name}", volumes_folder(store))
}

/// `[ds] <path>/volumes/<name>/<name>.vmdk`.
pub fn disk_path(store: &VolumeStore, name: &str) -> String {
    format!("{}/{name}.vmdk", volume_folder(store, name))
}

/// A volume's label, which is also its `Mountpoint`: the first 16 hex digits of the MD5 of
/// its name (VIC's `storage.Label`; e2label allows 16 characters).
pub fn volume_label(name: &str) -> String {
    md5(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..16]
        .to_owned()
}

/// The volumes joined to a containerVM, from its guestinfo (`mounts|<name>/…`).
pub fn mounts_of(extra: &Keys) -> Vec<MountedVolume> {
    let anonymous: Vec<&str> = extra
        .get_strings(ANONYMOUS_KEY)
        .ok()
        .flatten()
        .unwrap_or_default();
    extra
        .get_map_keys(&guestinfo::ro_key("mounts"))
        .unwrap_or_default()
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(|name| MountedVolume {
            name: name.to_owned(),
            dest: extra
                .get(&ck::mount_key(name, "dest"))
                .unwrap_or("")
                .to_owned(),
            mode: extra
                .get(&ck::mount_key(name, "mode"))
                .unwrap_or("")
                .to_owned(),
            anonymous: anonymous.contains(&name),
        })
        .collect()
}

/// The guestinfo keys of `mounts` (VIC's `MountSpec` under `mounts|<volume name>/`: the
/// source `label://<label>`, the destination, the mode and `copymode`).
pub fn mount_keys(mounts: &[VolumeMount]) -> Keys {
    let names: Vec<&str> = mounts.iter().map(|m| m.name.as_str()).collect();
    let anonymous: Vec<&str> = mounts
        .iter()
        .filter(|m| m.anonymous)
        .map(|m| m.name.as_str())
        .collect();
    let mut k = Keys::new().map_keys(&guestinfo::ro_key("mounts"), &names);
    for m in mounts {
        k.insert(ck::mount_key(&m.name, "source/Scheme"), "label");
        k.insert(ck::mount_key(&m.name, "source/Path"), volume_label(&m.name));
        k.insert(ck::mount_key(&m.name, "dest"), m.dest.as_str());
        k.insert(ck::mount_key(&m.name, "mode"), m.mode.as_str());
        k.insert(ck::mount_key(&m.name, "copymode"), COPY_NEW);
    }
    k.strings(ANONYMOUS_KEY, &anonymous)
}

/// Percent-encodes a URL path (segments kept) or query value.
fn encode(s: &str, keep_slash: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b'/' if keep_slash => "/".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl PortLayer {
    /// The VCH's volume stores.
    pub fn volume_stores(&self) -> &[VolumeStore] {
        &self.config.volume_stores
    }

    /// The store labelled `label`.
    pub fn volume_store(&self, label: &str) -> Option<&VolumeStore> {
        self.config.volume_stores.iter().find(|s| s.label == label)
    }

    fn file_manager(&self) -> Result<MoRef, VolumeError> {
        self.client
            .service_content()
            .file_manager
            .clone()
            .ok_or_else(|| VolumeError::Transfer("the server has no FileManager".into()))
    }

    /// `MakeDirectory`; `Ok(false)` when something is there already.
    async fn make_directory(&self, name: &str, parents: bool) -> Result<bool, VolumeError> {
        let fm = self.file_manager()?;
        match self
            .client
            .call(
                "MakeDirectory",
                &fm,
                &[
                    ("name", Value::str(name)),
                    ("datacenter", Value::moref(&self.config.datacenter)),
                    ("createParentDirectories", Value::Bool(parents)),
                ],
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_fault("FileAlreadyExists") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The datastore `name`'s browser, looked up in the VCH's datacenter.
    async fn browser(&self, name: &str) -> Result<MoRef, VolumeError> {
        let all = self
            .client
            .get_property(&self.config.datacenter, "datastore")
            .await?
            .map(|v| {
                v.items()
                    .iter()
                    .filter_map(Value::as_moref)
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let found = self
            .client
            .retrieve_properties(&all, "Datastore", &["name", "browser"])
            .await?;
        found
            .iter()
            .find(|o| o.text("name") == Some(name))
            .and_then(|o| o.get("browser").and_then(Value::as_moref).cloned())
            .ok_or_else(|| VolumeError::Transfer(format!("datastore {name:?} not found")))
    }

    /// The names of the volume folders of `store` (none when its `volumes/` is missing).
    async fn volume_names(&self, store: &VolumeStore) -> Result<Vec<String>, VolumeError> {
        let browser = self.browser(&store.datastore).await?;
        let names = self
            .client
            .datastore_files(&browser, &volumes_folder(store), Some("FolderFileQuery"))
            .await?
            .unwrap_or_default();
        Ok(names
            .into_iter()
            .map(|p| p.trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .collect())
    }

    /// Every volume of every store, by store order then name; `with_metadata` reads each
    /// one's `DockerMetaData` too.
    pub async fn volume_list(&self, with_metadata: bool) -> Result<Vec<Volume>, VolumeError> {
        let mut out = Vec::new();
        let dc_name = if with_metadata {
            self.datacenter_name().await?
        } else {
            String::new()
        };
        for store in &self.config.volume_stores {
            let mut names = self.volume_names(store).await?;
            names.sort();
            for name in names {
                let metadata = if with_metadata {
                    self.read_metadata(store, &name, &dc_name).await?
                } else {
                    None
                };
                out.push(Volume {
                    name,
                    store: store.label.clone(),
                    metadata,
                });
            }
        }
        Ok(out)
    }

    /// The volume `name` with its metadata, if any store has it.
    pub async fn volume_get(&self, name: &str) -> Result<Option<Volume>, VolumeError> {
        for store in &self.config.volume_stores {
            if self.volume_names(store).await?.iter().any(|n| n == name) {
                let dc = self.datacenter_name().await?;
                return Ok(Some(Volume {
                    name: name.to_owned(),
                    store: store.label.clone(),
                    metadata: self.read_metadata(store, name, &dc).await?,
                }));
            }
        }
        Ok(None)
    }

    /// Creates volume `name` of `capacity_kb` in store `label` with its metadata files
    /// (`(key, contents)`). [`VolumeError::Exists`] when any store has the name (checked
    /// first, as VIC's volume cache does), [`VolumeError::NoStore`] for an unknown label.
    pub async fn volume_create(
        &self,
        label: &str,
        name: &str,
        capacity_kb: i64,
        metadata: &[(&str, &[u8])],
    ) -> Result<(), VolumeError> {
        for store in &self.config.volume_stores {
            if self.volume_names(store).await?.iter().any(|n| n == name) {
                return Err(VolumeError::Exists(name.to_owned()));
            }
        }
        let store = self
            .volume_store(label)
            .cloned()
            .ok_or_else(|| VolumeError::NoStore(label.to_owned()))?;
        self.make_directory(&volumes_folder(&store), true).await?;
        // The volume's own folder, without parents: its existence is the name's.
        if !self
            .make_directory(&volume_folder(&store, name), false)
            .await?
        {
            return Err(VolumeError::Exists(name.to_owned()));
        }
        let made = self.make_volume_files(&store, name, capacity_kb, metadata);
        if let Err(e) = made.await {
            // No half-made volume: a folder without its disk would list as a volume.
            if let Err(d) = self.volume_destroy(label, name).await {
                tracing::warn!("removing the folder of a failed volume create: {d}");
            }
            return Err(e);
        }
        Ok(())
    }

    async fn make_volume_files(
        &self,
        store: &VolumeStore,
        name: &str,
        capacity_kb: i64,
        metadata: &[(&str, &[u8])],
    ) -> Result<(), VolumeError> {
        let vdm = self
            .client
            .service_content()
            .raw
            .field("virtualDiskManager")
            .and_then(Value::as_moref)
            .cloned()
            .ok_or_else(|| VolumeError::Transfer("the server has no VirtualDiskManager".into()))?;
        let spec = DataObject::new("FileBackedVirtualDiskSpec")
            .with("diskType", Value::str("thin"))
            .with("adapterType", Value::str("lsiLogic"))
            .with("capacityKb", Value::Long(capacity_kb))
            .into_value();
        self.client
            .run_task(
                "CreateVirtualDisk_Task",
                &vdm,
                &[
                    ("name", Value::str(disk_path(store, name))),
                    ("datacenter", Value::moref(&self.config.datacenter)),
                    ("spec", spec),
                ],
            )
            .await?;
        let dc = self.datacenter_name().await?;
        for (key, bytes) in metadata {
            let rel = rel_path(store, &format!("{VOLUMES_DIR}/{name}/{METADATA_DIR}/{key}"));
            let (status, _) = self
                .transfer("PUT", &store.datastore, &rel, &dc, bytes)
                .await?;
            if !(200..300).contains(&status) {
                return Err(VolumeError::Transfer(format!(
                    "uploading {rel}: HTTP {status}"
                )));
            }
        }
        Ok(())
    }

    /// Removes volume `name` of store `label` (its whole folder).
    pub async fn volume_destroy(&self, label: &str, name: &str) -> Result<(), VolumeError> {
        let store = self
            .volume_store(label)
            .ok_or_else(|| VolumeError::NoStore(label.to_owned()))?;
        let fm = self.file_manager()?;
        self.client
            .run_task(
                "DeleteDatastoreFile_Task",
                &fm,
                &[
                    ("name", Value::str(volume_folder(store, name))),
                    ("datacenter", Value::moref(&self.config.datacenter)),
                ],
            )
            .await?;
        Ok(())
    }

    /// Joins `mounts` to containerVM `vm`: one `ReconfigVM_Task` adding each volume's disk
    /// and the `mounts|…` keys (vic.md §6.4).
    pub async fn volume_join(
        &self,
        vm: &MoRef,
        mounts: &[VolumeMount],
    ) -> Result<(), PortLayerError> {
        if mounts.is_empty() {
            return Ok(());
        }
        let devices = mounts
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let backing = DataObject::new("VirtualDiskFlatVer2BackingInfo")
                    .with("fileName", Value::str(disk_path(&m.store, &m.name)))
                    .with("diskMode", Value::str("independent_persistent"));
                device_add(
                    DataObject::new("VirtualDisk")
                        .with("key", Value::Int(-100 - i as i32))
                        .with("backing", backing.into_value())
                        .with("controllerKey", Value::Int(SCSI_CONTROLLER_KEY))
                        .with("unitNumber", Value::Int(-1))
                        .with("capacityInKB", Value::Long(0))
                        .into_value(),
                )
            })
            .collect();
        let extra = mount_keys(mounts)
            .into_pairs()
            .iter()
            .map(|(k, v)| ov(k, v))
            .collect();
        let spec = DataObject::new("VirtualMachineConfigSpec")
            .with(
                "deviceChange",
                Value::array("VirtualDeviceConfigSpec", devices),
            )
            .with("extraConfig", Value::array("OptionValue", extra))
            .into_value();
        self.client
            .run_task("ReconfigVM_Task", vm, &[("spec", spec)])
            .await?;
        Ok(())
    }

    async fn datacenter_name(&self) -> Result<String, VolumeError> {
        Ok(self
            .client
            .get_property(&self.config.datacenter, "name")
            .await?
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default())
    }

    async fn read_metadata(
        &self,
        store: &VolumeStore,
        name: &str,
        dc: &str,
    ) -> Result<Option<Vec<u8>>, VolumeError> {
        let rel = rel_path(
            store,
            &format!("{VOLUMES_DIR}/{name}/{METADATA_DIR}/{DOCKER_METADATA}"),
        );
        match self
            .transfer("GET", &store.datastore, &rel, dc, &[])
            .await?
        {
            (200, body) => Ok(Some(body)),
            (404, _) => Ok(None),
            (status, _) => Err(VolumeError::Transfer(format!(
                "reading {rel}: HTTP {status}"
            ))),
        }
    }

    /// One request to the datastore's `/folder/<rel>` with the SOAP session's cookie, as
    /// govmomi's datastore upload and download make it: (status, body).
    async fn transfer(
        &self,
        method: &str,
        datastore: &str,
        rel: &str,
        dc: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), VolumeError> {
        let ep = self.client.endpoint();
        let tls = match ep.scheme {
            Scheme::Http => None,
            Scheme::Https => Some(self.transfer_tls(&ep.host)?),
        };
        let mut target = format!("/folder/{}?", encode(rel, true));
        if !dc.is_empty() {
            target.push_str(&format!("dcPath={}&", encode(dc, false)));
        }
        target.push_str(&format!("dsName={}", encode(datastore, false)));
        let cookie = self
            .client
            .session_cookie()
            .map(|c| format!("{}={c}", vsphere::SESSION_COOKIE));
        let length = body.len().to_string();
        let mut headers = vec![("User-Agent", self.client.options().user_agent.as_str())];
        if method != "GET" {
            headers.push(("Content-Length", length.as_str()));
            headers.push(("Content-Type", "application/octet-stream"));
        }
        if let Some(c) = &cookie {
            headers.push(("Cookie", c.as_str()));
        }
        let req = http1::request(method, &target, &ep.host_header(), &headers, body.to_vec())
            .map_err(|e| VolumeError::Transfer(format!("{method} {rel}: {e:?}")))?;
        let rules = http1::ReadRules {
            max_body: MAX_METADATA_BYTES,
            identity_only: true,
        };
        let work = async {
            let stream = http1::connect(&ep.host, ep.port, tls.as_ref())
                .await
                .map_err(|e| match e {
                    http1::ConnectError::Tcp(e) | http1::ConnectError::Tls(e) => e.to_string(),
                })?;
            let mut conn = http1::Conn::new(stream, false)
                .await
                .map_err(|e| format!("{e:?}"))?;
            conn.send(req, rules).await.map_err(|e| format!("{e:?}"))
        };
        let resp = tokio::time::timeout(TRANSFER_TIMEOUT, work)
            .await
            .map_err(|_| VolumeError::Transfer(format!("{method} {rel}: timed out")))?
            .map_err(|e| VolumeError::Transfer(format!("{method} {rel}: {e}")))?;
        Ok((resp.status, resp.body))
    }

    /// The TLS side of a transfer: the SOAP client's trust (a pinned thumbprint, or any
    /// certificate when the target is insecure).
    fn transfer_tls(&self, host: &str) -> Result<http1::TlsTarget, VolumeError> {
        let t = &self.config.target;
        let verifier = match (&t.thumbprint, t.insecure) {
            (Some(tp), _) => vsphere::pinned_verifier(
                vsphere::normalize_thumbprint(tp)
                    .ok_or_else(|| VolumeError::Transfer(format!("bad thumbprint {tp:?}")))?,
            ),
            (None, true) => crate::tlsverify::verifier(crate::tlsverify::AcceptAny),
            (None, false) => {
                return Err(VolumeError::Transfer(
                    "datastore transfers need the target's thumbprint".into(),
                ));
            }
        };
        let mut config = crate::tlsverify::builder()
            .map_err(|e| VolumeError::Transfer(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = rustls_pki_types::ServerName::try_from(host.to_owned())
            .map_err(|_| VolumeError::Transfer(format!("bad host {host:?}")))?;
        Ok(http1::TlsTarget::new(std::sync::Arc::new(config), name))
    }
}

/// MD5 (RFC 1321), for [`volume_label`]: VIC's labels are MD5-based.
fn md5(data: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn store(path: &str) -> VolumeStore {
        VolumeStore {
            label: "default".into(),
            datastore: "LocalDS_0".into(),
            path: path.into(),
        }
    }

    #[test]
    fn md5_matches_the_rfc_vectors() {
        assert_eq!(hex(&md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(&md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(&md5(b"The quick brown fox jumps over the lazy dog")),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
        assert_eq!(hex(&md5(&[b'a'; 200])), "887f30b43b2867f4a9accceee7d16e6c");
    }

    #[test]
    fn labels_and_paths_follow_vic() {
        assert_eq!(volume_label("v1"), "6654c734ccab8f44");
        let s = store("volumes");
        assert_eq!(store_root(&s), "[LocalDS_0] volumes");
        assert_eq!(
            disk_path(&s, "v1"),
            "[LocalDS_0] volumes/volumes/v1/v1.vmdk"
        );
        assert_eq!(volumes_folder(&store("")), "[LocalDS_0] volumes");
        assert_eq!(store_root(&store("")), "[LocalDS_0]");
        assert_eq!(encode("a b/c%", true), "a%20b/c%25");
        assert_eq!(encode("a/b", false), "a%2Fb");
    }

    #[test]
    fn mount_keys_round_trip() {
        let m = |name: &str, dest: &str, anonymous| VolumeMount {
            name: name.into(),
            store: store("volumes"),
            dest: dest.into(),
            mode: "rw".into(),
            anonymous,
        };
        let keys = mount_keys(&[m("v1", "/data", false), m("a1", "/anon", true)]);
        assert_eq!(keys.get("guestinfo.vice./mounts"), Some("v1|a1"));
        assert_eq!(
            keys.get("guestinfo.vice./mounts|v1/source/Scheme"),
            Some("label")
        );
        assert_eq!(
            keys.get("guestinfo.vice./mounts|v1/source/Path"),
            Some("6654c734ccab8f44")
        );
        assert_eq!(keys.get("guestinfo.vice./mounts|v1/copymode"), Some("2"));
        let back = mounts_of(&keys);
        assert_eq!(back.len(), 2);
        assert_eq!(
            (
                back[0].name.as_str(),
                back[0].dest.as_str(),
                back[0].anonymous
            ),
            ("v1", "/data", false)
        );
        assert_eq!((back[1].name.as_str(), back[1].anonymous), ("a1", true));
        assert!(mounts_of(&Keys::new()).is_empty());
    }
}

//! `vic-machine ls`, `inspect` and `delete` (vic.md §1.5, §6.3).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use vcsim::vmodl::{MoRef, Value};

use super::create::{self, Session};
use super::opts::{
    DEFAULT_BRIDGE_RANGE, DEFAULT_BRIDGE_WIDTH, DEFAULT_NAME, DEFAULT_PUBLIC_NETWORK, DeleteOpts,
    InspectCommand, InspectConfigOpts, InspectOpts, LsOpts, SelectOpts, TargetOpts,
};
use super::ready::show_vch;
use super::vchconfig::{VchConfig, full_version};
use super::{Failure, Ui, params};
use crate::guestinfo::{Keys, vch};
use crate::tls::{CA_CERT_FILE, CLIENT_CERT_FILE, CLIENT_KEY_FILE, ClientCertFiles};
use crate::vsphere::{Client, Kind, option_value};

/// How long delete waits for a guest shutdown before powering off (VIC: 20 s + 5 s).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(25);

/// A VM that is a VCH.
struct Found {
    vm: MoRef,
    name: String,
    pool: Option<MoRef>,
    power: String,
    keys: Keys,
}

fn no_prompt(_: &str) -> Option<String> {
    None
}

async fn session(t: &TargetOpts, ui: &mut Ui) -> Result<(Session, params::Target), Failure> {
    let target = params::target(t, &mut |p| super::prompt_password(p))?;
    let _ = no_prompt;
    if target.deep_path.is_some() {
        return Err(Failure::new(
            "--target should only specify datacenter in the path (e.g. https://addr/datacenter) - specify cluster, resource pool, or folder with --compute-resource",
        ));
    }
    // ls, inspect and delete accept the target's certificate as create did with --force only
    // when a thumbprint pins it; otherwise normal verification applies.
    let s = create::connect(&target, false, ui).await?;
    Ok((s, target))
}

fn keys_of(ec: Option<&Value>) -> Keys {
    Keys::from_pairs(
        ec.map(|ec| ec.items().to_vec())
            .unwrap_or_default()
            .iter()
            .filter_map(|ov| {
                let k = ov.field("key")?.as_str()?.to_owned();
                let v = match ov.field("value")? {
                    Value::Any(inner) => inner.as_str().map(str::to_owned),
                    other => other.as_str().map(str::to_owned),
                }
                .unwrap_or_default();
                Some((k, v))
            }),
    )
}

/// Every VCH in the inventory (vic.md §6.3 `ls`: a VM whose `init/common/id` is its own moref
/// or `CreatingVCH`).
async fn all_vchs(c: &Client) -> Result<Vec<Found>, Failure> {
    let root = c.service_content().root_folder.clone();
    let vms = c
        .view_contents(
            &root,
            &["VirtualMachine"],
            true,
            &[
                "name",
                "config.extraConfig",
                "resourcePool",
                "runtime.powerState",
            ],
        )
        .await?;
    let mut out = Vec::new();
    for vm in vms {
        let keys = keys_of(vm.get("config.extraConfig"));
        let id = keys.get(vch::ID).unwrap_or("");
        if id != vm.obj.to_string() && id != vch::ID_CREATING {
            continue;
        }
        out.push(Found {
            name: vm.text("name").unwrap_or("").to_owned(),
            pool: vm.get("resourcePool").and_then(Value::as_moref).cloned(),
            power: vm.text("runtime.powerState").unwrap_or("").to_owned(),
            vm: vm.obj,
            keys,
        });
    }
    Ok(out)
}

/// The VCH that holds `ip` as its client address: configured statically, or assigned to a
/// powered-on one.
pub(super) async fn vch_using_address(c: &Client, ip: IpAddr) -> Result<Option<String>, Failure> {
    for v in all_vchs(c).await? {
        let configured = VchConfig::from_keys(&v.keys)
            .ok()
            .and_then(|cfg| cfg.client_ip)
            .map(|(ip, _)| ip);
        let assigned = if v.power == "poweredOn" {
            v.keys
                .get(vch::CLIENT_ASSIGNED_IP)
                .and_then(super::vchconfig::decode_assigned_ip)
        } else {
            None
        };
        if configured == Some(ip) || assigned == Some(ip) {
            return Ok(Some(v.name));
        }
    }
    Ok(None)
}

/// VCH selection: `--id`, or `--name` (within `--compute-resource` when given).
async fn select(c: &Client, sel: &SelectOpts) -> Result<Found, Failure> {
    let all = all_vchs(c).await?;
    let scope = match &sel.compute_resource {
        Some(cr) => {
            let mut f = c.finder();
            let _ = f.use_datacenter(None).await;
            let path = match f.resource_pool(Some(cr)).await {
                Ok(p) => p.path,
                Err(_) => f
                    .find(Kind::ComputeResource, cr)
                    .await
                    .ok()
                    .and_then(|mut v| v.pop())
                    .map(|e| e.path)
                    .ok_or_else(|| {
                        Failure::new(format!("Failed to find compute resource {cr:?}"))
                    })?,
            };
            Some(path)
        }
        None => None,
    };
    let mut hits = Vec::new();
    for v in all {
        let matched = match &sel.id {
            Some(id) => v.vm.value == *id,
            None => v.name == sel.name,
        };
        if !matched {
            continue;
        }
        if let (Some(scope), Some(pool), None) = (&scope, &v.pool, &sel.id) {
            let path = c
                .finder()
                .entity(pool)
                .await
                .map(|e| e.path)
                .unwrap_or_default();
            if !path.starts_with(scope.as_str()) {
                continue;
            }
        }
        hits.push(v);
    }
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(Failure::new(match &sel.id {
            Some(id) => format!("Failed to get Virtual Container Host {id}: not found"),
            None => format!(
                "Failed to get Virtual Container Host {}: not found",
                sel.name
            ),
        })),
        _ => Err(Failure::new(format!(
            "Found more than one Virtual Container Host named {:?}: use --compute-resource or --id",
            sel.name
        ))),
    }
}

/// Runs `work` within `--timeout`; `what` starts the message (VIC's text is known for
/// delete only, vic.md §1.5; ls and inspect say the same in their own words). Callers box
/// `work`: these state machines are large enough to overflow a test thread's stack in debug
/// builds when nested by value.
async fn within<T>(
    timeout: Duration,
    what: &str,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(Failure::new(format!(
            "{what} timed out: use --timeout to add more time"
        ))),
    }
}

/// `vic-machine ls`.
pub async fn ls(o: &LsOpts, ui: &mut Ui) -> Result<(), Failure> {
    within(o.target.timeout, "List", Box::pin(ls_inner(o, ui))).await
}

async fn ls_inner(o: &LsOpts, ui: &mut Ui) -> Result<(), Failure> {
    let (s, _) = session(&o.target, ui).await?;
    let c = &s.client;
    let sel = SelectOpts {
        id: None,
        name: String::new(),
        compute_resource: o.compute_resource.clone(),
    };
    let mut rows = vec![[
        "ID".to_owned(),
        "PATH".to_owned(),
        "NAME".to_owned(),
        "VERSION".to_owned(),
        "UPGRADE STATUS".to_owned(),
    ]];
    let scope = match &sel.compute_resource {
        Some(cr) => {
            let mut f = c.finder();
            let _ = f.use_datacenter(None).await;
            Some(
                f.find(Kind::ComputeResource, cr)
                    .await
                    .ok()
                    .and_then(|mut v| v.pop())
                    .map(|e| e.path)
                    .ok_or_else(|| {
                        Failure::new(format!("Failed to find compute resource {cr:?}"))
                    })?,
            )
        }
        None => None,
    };
    for v in all_vchs(c).await? {
        let path = match &v.pool {
            Some(p) => c
                .finder()
                .entity(p)
                .await
                .map(|e| e.path)
                .unwrap_or_default(),
            None => String::new(),
        };
        if scope
            .as_ref()
            .is_some_and(|s| !path.starts_with(s.as_str()))
        {
            continue;
        }
        let version = VchConfig::from_keys(&v.keys)
            .map(|c| c.version)
            .unwrap_or_default();
        rows.push([
            v.vm.value.clone(),
            path,
            v.name.clone(),
            version.clone(),
            upgrade_status(&version),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    ui.info("");
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        ui.info(line.join("    ").trim_end());
    }
    let _ = c.logout().await;
    Ok(())
}

fn upgrade_status(version: &str) -> String {
    if version == full_version() {
        "Up to date".into()
    } else if version.is_empty() {
        "Unknown: no version".into()
    } else if version > full_version().as_str() {
        "VCH has newer version".into()
    } else {
        format!("Upgradeable to {}", full_version())
    }
}

fn first_cert_der(pem: &[u8]) -> Vec<Vec<u8>> {
    CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .map(|c| c.as_ref().to_vec())
        .collect()
}

/// A client certificate for the VCH in `dir`: `ca.pem` must be one of the VCH's CAs and
/// `cert.pem`/`key.pem` must exist. (VIC also verifies the certificate against the CA with
/// the client-auth usage; the testbed checks the CA match only.)
fn client_cert_in(dir: &Path, vch_cas: &[Vec<u8>]) -> Option<ClientCertFiles> {
    let ca = dir.join(CA_CERT_FILE);
    let cert = dir.join(CLIENT_CERT_FILE);
    let key = dir.join(CLIENT_KEY_FILE);
    let ca_pem = std::fs::read(&ca).ok()?;
    if !cert.is_file() || !key.is_file() {
        return None;
    }
    first_cert_der(&ca_pem)
        .iter()
        .any(|d| vch_cas.contains(d))
        .then_some(ClientCertFiles { ca, cert, key })
}

/// `vic-machine inspect` (and `inspect config`).
pub async fn inspect(o: &InspectOpts, ui: &mut Ui) -> Result<(), Failure> {
    if let Some(InspectCommand::Config(c)) = &o.command {
        return within(c.target.timeout, "Inspect", Box::pin(inspect_config(c, ui))).await;
    }
    // An explicit cert path that is not there is a typo, not "no client certificate": VIC
    // only warns `Unable to find valid client certs` and prints a command that cannot work.
    if let Some(p) = &o.tls_cert_path
        && !p.is_dir()
    {
        return Err(Failure::new(format!(
            "--tls-cert-path {:?} is not a directory: give the certificate path create used",
            p.display().to_string()
        )));
    }
    within(o.target.timeout, "Inspect", Box::pin(inspect_inner(o, ui))).await
}

async fn inspect_inner(o: &InspectOpts, ui: &mut Ui) -> Result<(), Failure> {
    let (s, _) = session(&o.target, ui).await?;
    let c = &s.client;
    let v = select(c, &o.select).await?;
    let cfg = VchConfig::from_keys(&v.keys).map_err(Failure::new)?;
    ui.info(format!("Installer version: {}", full_version()));
    ui.info(format!("VCH version: {}", cfg.version));
    ui.info("");
    ui.info("VCH upgrade status:");
    if cfg.version == full_version() {
        ui.info("Installer has same version as VCH");
        ui.info("No upgrade available with this installer version");
    } else if cfg.version.as_str() > full_version().as_str() {
        ui.info("Installer has older version than VCH");
    } else {
        ui.info("Upgrade available");
    }
    if v.power != "poweredOn" {
        return Err(Failure::new(format!(
            "VCH is not powered on, state {}",
            v.power
        )));
    }
    let ip: IpAddr = v
        .keys
        .get(vch::CLIENT_ASSIGNED_IP)
        .and_then(super::vchconfig::decode_assigned_ip)
        .ok_or_else(|| Failure::new("No client IP address assigned"))?;
    let mut m = cfg.tls_material();
    if m.mode == crate::tls::TlsMode::Mutual {
        let cas = first_cert_der(cfg.ca_pem.as_bytes());
        let dirs: Vec<PathBuf> = match &o.tls_cert_path {
            Some(p) => vec![p.clone()],
            None => {
                let mut d = vec![PathBuf::from(format!("./{}", cfg.name)), PathBuf::from(".")];
                if let Some(home) = std::env::var_os("HOME") {
                    d.push(PathBuf::from(home).join(".docker"));
                }
                d
            }
        };
        m.client_cert = dirs.iter().find_map(|d| client_cert_in(d, &cas));
    }
    show_vch(ui, &v.vm, ip, &m, cfg.bridge_range, cfg.bridge_width, false)?;
    let _ = c.logout().await;
    Ok(())
}

/// `vic-machine inspect config` (vic.md §1.5): the create options that would reproduce the
/// VCH, `verbose` (one per line) or `raw` (one line). The raw line also carries the log
/// prefix, as every line of [`Ui`] does.
async fn inspect_config(o: &InspectConfigOpts, ui: &mut Ui) -> Result<(), Failure> {
    let raw = match o.format.as_str() {
        "raw" => true,
        "verbose" => false,
        other => {
            ui.warn(format!(
                "Invalid configuration output format '{other}'. Valid options are raw, verbose."
            ));
            ui.warn("Using verbose configuration format");
            false
        }
    };
    let (s, _) = session(&o.target, ui).await?;
    let v = select(&s.client, &o.select).await?;
    let cfg = VchConfig::from_keys(&v.keys).map_err(Failure::new)?;
    let options = config_options(&cfg);
    if raw {
        ui.info(options.join(" "));
    } else {
        ui.info("");
        ui.info(format!(
            "The target VCH is configured with the following options: \n\n\t{}\n",
            options.join("\n\t")
        ));
    }
    let _ = s.client.logout().await;
    Ok(())
}

/// The create options of `cfg` in create's flag order, `--flag=value`, options equal to
/// their default left out (as VIC's `inspect config` prints them). Credentials are not
/// stored in a form to print, and the pool's CPU and memory settings are not read back.
pub fn config_options(cfg: &VchConfig) -> Vec<String> {
    let mut out = Vec::new();
    let mut opt = |flag: &str, value: String| out.push(format!("--{flag}={value}"));
    let role = |r: &str| {
        cfg.networks
            .iter()
            .find(|n| n.role == r)
            .map(|n| n.name.clone())
    };
    let base = cfg.target_url.trim_end_matches('/');
    let base = base.strip_suffix("/sdk").unwrap_or(base);
    let dc = cfg.paths.datacenter.trim_start_matches('/');
    opt(
        "target",
        if dc.is_empty() {
            base.to_owned()
        } else {
            format!("{base}/{dc}")
        },
    );
    if let Some(t) = &cfg.thumbprint {
        opt("thumbprint", t.clone());
    }
    if cfg.name != DEFAULT_NAME {
        opt("name", cfg.name.clone());
    }
    if !cfg.paths.compute.is_empty() {
        opt("compute-resource", cfg.paths.compute.clone());
    }
    let (ds, path) = &cfg.image_store;
    opt(
        "image-store",
        if path.is_empty() || *path == cfg.name {
            ds.clone()
        } else {
            format!("{ds}/{path}")
        },
    );
    for v in &cfg.volume_stores {
        opt(
            "volume-store",
            format!("{}/{}:{}", v.datastore, v.path, v.label),
        );
    }
    if let Some(cnc) = &cfg.name_convention {
        opt("container-name-convention", cnc.clone());
    }
    if let Some(b) = role(vch::ROLE_BRIDGE).filter(|b| *b != cfg.name) {
        opt("bridge-network", b);
    }
    let range = format!("{}/{}", cfg.bridge_range.0, cfg.bridge_range.1);
    if range != DEFAULT_BRIDGE_RANGE {
        opt("bridge-network-range", range);
    }
    if cfg.bridge_width.to_string() != DEFAULT_BRIDGE_WIDTH {
        opt("bridge-network-width", cfg.bridge_width.to_string());
    }
    let public = role(vch::ROLE_PUBLIC);
    let client = role(vch::ROLE_CLIENT);
    if let Some(c) = client.clone().filter(|c| Some(c) != public.as_ref()) {
        opt("client-network", c);
    }
    if let Some((ip, prefix)) = cfg.client_ip {
        opt("client-network-ip", format!("{ip}/{prefix}"));
    }
    if let Some(p) = public.filter(|p| p != DEFAULT_PUBLIC_NETWORK) {
        opt("public-network", p);
    }
    if let Some(m) = role(vch::ROLE_MANAGEMENT).filter(|m| Some(m) != client.as_ref()) {
        opt("management-network", m);
    }
    for n in &cfg.container_networks {
        opt(
            "container-network",
            if n.alias == n.portgroup_name {
                n.alias.clone()
            } else {
                format!("{}:{}", n.portgroup_name, n.alias)
            },
        );
    }
    for n in &cfg.container_networks {
        let pg = &n.portgroup_name;
        if let Some((gw, prefix)) = n.gateway {
            opt("container-network-gateway", format!("{pg}:{gw}/{prefix}"));
        }
        if let Some((first, last)) = n.ip_range {
            opt("container-network-ip-range", format!("{pg}:{first}-{last}"));
        }
        for d in &n.dns {
            opt("container-network-dns", format!("{pg}:{d}"));
        }
        if let Some(t) = n.trust {
            opt("container-network-firewall", format!("{pg}:{}", t.as_str()));
        }
    }
    if let Some(q) = cfg.storage_quota_bytes {
        opt(
            "storage-quota",
            (q / super::params::QUOTA_GB_BYTES).to_string(),
        );
    }
    if let Some(n) = cfg.containers {
        opt("containers", n.to_string());
    }
    // Booleans as bare flags: `--no-tls=true` is not a value clap's flags take.
    match cfg.tls_mode() {
        crate::tls::TlsMode::NoTls => out.push("--no-tls".into()),
        crate::tls::TlsMode::ServerOnly => out.push("--no-tlsverify".into()),
        crate::tls::TlsMode::Mutual => {}
    }
    // Registries as VIC prints them: the stored lists (the whitelist merged with the insecure
    // registries, which re-creates the same); the CA files are not printed (no path is kept).
    for r in &cfg.registries.insecure {
        out.push(format!("--insecure-registry={r}"));
    }
    for w in &cfg.registries.whitelist {
        out.push(format!("--whitelist-registry={w}"));
    }
    if cfg.debug > 0 {
        out.push(format!("--debug={}", cfg.debug));
    }
    out
}

async fn enable_destroy(c: &Client, vm: &MoRef) {
    if let Some(am) = c
        .service_content()
        .raw
        .field("authorizationManager")
        .and_then(Value::as_moref)
        .cloned()
    {
        let _ = c
            .call(
                "EnableMethods",
                &am,
                &[
                    ("entity", Value::morefs([vm])),
                    ("method", Value::strings(["Destroy_Task"])),
                    ("sourceId", Value::str("VIC")),
                ],
            )
            .await;
    }
}

/// VIC's `deleteVolumeStoreIfForced` (vic.md §1.5 delete): without `--force` the stores
/// and their volumes stay and are listed; with it each store's folder goes (only its
/// `volumes/` for the default `VIC` folder, which may hold other VIC files). Failures are
/// logged, never fatal, as in VIC.
async fn volume_stores(c: &Client, cfg: &VchConfig, force: bool, ui: &mut Ui) {
    if cfg.volume_stores.is_empty() {
        return;
    }
    if !force {
        let listed: String = cfg
            .volume_stores
            .iter()
            .map(|v| {
                format!(
                    "\t{}: {}\n",
                    v.label,
                    crate::portlayer::volumes::store_root(v)
                )
            })
            .collect();
        ui.warn(format!(
            "Since --force was not specified, the following volume stores will not be removed. Use the vSphere UI or supplied nfs targets to delete content you do not wish to keep.\n vsphere volumestores:\n{listed}\n NFS volumestores:\n\n"
        ));
        return;
    }
    ui.info("Removing volume stores");
    let Some(fm) = c.service_content().file_manager.clone() else {
        return;
    };
    for v in &cfg.volume_stores {
        let path = if v.path == super::params::DEFAULT_VOLUME_STORE_PATH {
            format!("{}/{}", v.path, crate::portlayer::volumes::VOLUMES_DIR)
        } else {
            v.path.clone()
        };
        ui.info(format!(
            "Deleting volume store {:?} on Datastore {:?} at path {path:?}",
            v.label, v.datastore
        ));
        let name = format!("[{}] {path}", v.datastore);
        if let Err(e) = c
            .run_task(
                "DeleteDatastoreFile_Task",
                &fm,
                &[
                    ("name", Value::str(name)),
                    ("datacenter", Value::moref(&cfg.datacenter)),
                ],
            )
            .await
            && !e.is_fault("FileNotFound")
        {
            ui.error(format!(
                "Failed to delete volume store {:?} on Datastore {:?} at path {path:?}",
                v.label, v.datastore
            ));
        }
    }
}

/// `vic-machine delete`.
pub async fn delete(o: &DeleteOpts, ui: &mut Ui) -> Result<(), Failure> {
    within(o.target.timeout, "Delete", Box::pin(delete_inner(o, ui))).await
}

async fn delete_inner(o: &DeleteOpts, ui: &mut Ui) -> Result<(), Failure> {
    let (s, _) = session(&o.target, ui).await?;
    let c = &s.client;
    let v = select(c, &o.select).await?;
    let cfg = VchConfig::from_keys(&v.keys).map_err(Failure::new)?;
    if cfg.version != full_version() && !o.force {
        return Err(Failure::new(format!(
            "VCH version {:?} is different than installer version {}. Upgrade VCH before deleting or specify --force to force delete",
            cfg.version,
            full_version()
        )));
    }
    ui.info("### Removing VCH ####");
    // Containers: every other VM in the VCH pool.
    let pool = v.pool.clone().unwrap_or_else(|| cfg.pool.clone());
    let children = c
        .get_property(&pool, "vm")
        .await?
        .map(|vms| {
            vms.items()
                .iter()
                .filter_map(Value::as_moref)
                .cloned()
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let containers: Vec<MoRef> = children.into_iter().filter(|m| *m != v.vm).collect();
    let props = c
        .retrieve_properties(
            &containers,
            "VirtualMachine",
            &["name", "runtime.powerState"],
        )
        .await?;
    let states: BTreeMap<MoRef, (String, String)> = props
        .into_iter()
        .map(|p| {
            (
                p.obj.clone(),
                (
                    p.text("name").unwrap_or("").to_owned(),
                    p.text("runtime.powerState").unwrap_or("").to_owned(),
                ),
            )
        })
        .collect();
    if !o.force
        && let Some((name, _)) = states.values().find(|(_, p)| p == "poweredOn")
    {
        return Err(Failure::new(format!("VM {name:?} is powered on")));
    }
    if !containers.is_empty() {
        ui.info("Removing VMs");
    }
    for vm in &containers {
        if states.get(vm).is_some_and(|(_, p)| p == "poweredOn") {
            let _ = c.run_task("PowerOffVM_Task", vm, &[]).await;
        }
        enable_destroy(c, vm).await;
        c.run_task("Destroy_Task", vm, &[]).await?;
    }
    volume_stores(c, &cfg, o.force, ui).await;
    // The appliance: guest shutdown when Tools run, else power off.
    if v.power == "poweredOn" {
        let tools = c
            .get_property(&v.vm, "guest.toolsRunningStatus")
            .await
            .ok()
            .flatten()
            .and_then(|t| t.as_str().map(str::to_owned));
        let mut off = false;
        if tools.as_deref() == Some("guestToolsRunning")
            && c.call("ShutdownGuest", &v.vm, &[]).await.is_ok()
        {
            off = c
                .wait_for_property(&v.vm, "runtime.powerState", SHUTDOWN_WAIT, |p| {
                    p.and_then(Value::as_str) == Some("poweredOff")
                })
                .await
                .is_ok();
        }
        if !off {
            c.run_task("PowerOffVM_Task", &v.vm, &[]).await?;
        }
    }
    // The ESX bridge, only if vic-machine created it.
    if cfg.create_bridge_network
        && let Some(bridge) = cfg.bridge()
    {
        let host = c
            .get_property(&v.vm, "runtime.host")
            .await?
            .and_then(|h| h.as_moref().cloned());
        if let Some(host) = host
            && let Some(ns) = c
                .get_property(&host, "configManager.networkSystem")
                .await?
                .and_then(|n| n.as_moref().cloned())
        {
            ui.info(format!("Removing Portgroup {:?}", bridge.name));
            let _ = c
                .call(
                    "RemovePortGroup",
                    &ns,
                    &[("pgName", Value::str(bridge.name.clone()))],
                )
                .await;
            let _ = c
                .call(
                    "RemoveVirtualSwitch",
                    &ns,
                    &[("vswitchName", Value::str(bridge.name.clone()))],
                )
                .await;
        }
    }
    ui.info("Removing appliance VM");
    enable_destroy(c, &v.vm).await;
    c.run_task("Destroy_Task", &v.vm, &[]).await?;
    // The VC folder, if it is the VCH's own and empty.
    if cfg.vm_folder.ty == "Folder" && c.is_vc() {
        let dc_vm_folder = c
            .get_property(&cfg.datacenter, "vmFolder")
            .await
            .ok()
            .flatten()
            .and_then(|f| f.as_moref().cloned());
        let empty = c
            .get_property(&cfg.vm_folder, "childEntity")
            .await
            .ok()
            .flatten()
            .is_none_or(|v| v.items().is_empty());
        if dc_vm_folder.as_ref() != Some(&cfg.vm_folder) && empty {
            ui.info("Removing VCH folder");
            c.run_task("Destroy_Task", &cfg.vm_folder, &[]).await?;
        }
    }
    // The pool, if empty and not the compute resource's root pool.
    let owner_root = match c.get_property(&pool, "owner").await.ok().flatten() {
        Some(owner) => match owner.as_moref() {
            Some(o) => c
                .get_property(o, "resourcePool")
                .await
                .ok()
                .flatten()
                .and_then(|p| p.as_moref().cloned()),
            None => None,
        },
        None => None,
    };
    let pool_props = c
        .retrieve_properties(
            std::slice::from_ref(&pool),
            "ResourcePool",
            &["vm", "resourcePool"],
        )
        .await?;
    let pool_empty = pool_props.first().is_none_or(|p| {
        p.get("vm").is_none_or(|v| v.items().is_empty())
            && p.get("resourcePool").is_none_or(|v| v.items().is_empty())
    });
    if owner_root.as_ref() != Some(&pool) && pool_empty {
        ui.info("Removing Resource Pool");
        c.run_task("Destroy_Task", &pool, &[]).await?;
    }
    ui.info("");
    ui.warn("Note: the ESX firewall changes made for the VCH (if any) are not reverted");
    ui.info("Completed successfully");
    let _ = c.logout().await;
    let _ = option_value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::vchconfig::{InventoryPaths, RoleNetwork, StoredContainerNetwork};
    use vcsim::vmodl::MoRef as VimRef;

    fn config() -> VchConfig {
        let pg = |v: &str| VimRef::new("DistributedVirtualPortgroup", v);
        let role = |role: &str, name: &str| RoleNetwork {
            role: role.into(),
            name: name.into(),
            moref: pg(name),
            slot: 0x4A0,
        };
        VchConfig {
            name: "vch1".into(),
            id: "VirtualMachine:vm-1".into(),
            target_url: "https://vc.example.com/sdk".into(),
            username: "admin".into(),
            password: "secret".into(),
            thumbprint: None,
            server_cert_pem: String::new(),
            server_key_pem: String::new(),
            ca_pem: String::new(),
            client_ip: Some(("127.0.1.5".parse().unwrap(), 8)),
            networks: vec![
                role("public", "VM Network"),
                role("client", "VM Network"),
                role("management", "VM Network"),
                role("bridge", "DC0_DVPG0"),
            ],
            bridge_range: ("172.16.0.0".parse().unwrap(), 12),
            bridge_width: 16,
            container_networks: vec![StoredContainerNetwork {
                alias: "net".into(),
                portgroup_name: "DC0_DVPG1".into(),
                portgroup: pg("DC0_DVPG1"),
                gateway: Some(("10.1.0.1".parse().unwrap(), 16)),
                ip_range: None,
                dns: Vec::new(),
                trust: Some(crate::firewall::TrustLevel::Open),
            }],
            name_convention: None,
            pool: VimRef::new("ResourcePool", "resgroup-1"),
            vm_folder: VimRef::new("Folder", "group-v1"),
            datacenter: VimRef::new("Datacenter", "datacenter-1"),
            paths: InventoryPaths {
                datacenter: "/DC0".into(),
                compute: "/DC0/host/DC0_C0".into(),
                pool: "/DC0/host/DC0_C0/Resources/vch1".into(),
                datastore: "/DC0/datastore/LocalDS_0".into(),
            },
            image_store: ("LocalDS_0".into(), "vch1".into()),
            volume_stores: Vec::new(),
            containers: Some(2),
            storage_quota_bytes: Some(10 << 30),
            registries: Default::default(),
            debug: 0,
            version: full_version(),
            create_bridge_network: false,
            create_options: Vec::new(),
        }
    }

    #[test]
    fn config_options_reproduce_the_vch_without_defaults() {
        assert_eq!(
            config_options(&config()),
            [
                "--target=https://vc.example.com/DC0",
                "--name=vch1",
                "--compute-resource=/DC0/host/DC0_C0",
                "--image-store=LocalDS_0",
                "--bridge-network=DC0_DVPG0",
                "--client-network-ip=127.0.1.5/8",
                "--container-network=DC0_DVPG1:net",
                "--container-network-gateway=DC0_DVPG1:10.1.0.1/16",
                "--container-network-firewall=DC0_DVPG1:open",
                "--storage-quota=10",
                "--containers=2",
                "--no-tls",
            ]
        );
    }

    #[test]
    fn volume_stores_are_kept_in_vics_keys_and_reproduced() {
        let mut c = config();
        c.volume_stores = vec![
            crate::engine::VolumeStore {
                label: "default".into(),
                datastore: "LocalDS_0".into(),
                path: "volumes".into(),
            },
            crate::engine::VolumeStore {
                label: "fast".into(),
                datastore: "LocalDS_1".into(),
                path: "VIC".into(),
            },
        ];
        let keys = c.to_keys();
        let k = "guestinfo.vice./storage/VolumeLocations";
        assert_eq!(keys.get(k), Some("default|fast"));
        assert_eq!(keys.get(&format!("{k}|default/Scheme")), Some("ds"));
        assert_eq!(keys.get(&format!("{k}|default/Host")), Some("LocalDS_0"));
        assert_eq!(
            keys.get(&format!("{k}|default/Path")),
            Some("[LocalDS_0] volumes")
        );
        let back = VchConfig::from_keys(&keys).unwrap();
        assert_eq!(back.volume_stores, c.volume_stores);
        let opts = config_options(&c);
        assert!(
            opts.contains(&"--volume-store=LocalDS_0/volumes:default".to_owned())
                && opts.contains(&"--volume-store=LocalDS_1/VIC:fast".to_owned()),
            "{opts:?}"
        );
        // No stores: no keys.
        assert!(config().to_keys().get(k).is_none());
    }

    #[test]
    fn unlimited_vchs_print_no_limits() {
        let mut c = config();
        c.containers = None;
        c.storage_quota_bytes = None;
        c.debug = 2;
        let opts = config_options(&c);
        assert!(
            !opts
                .iter()
                .any(|o| o.starts_with("--containers") || o.starts_with("--storage-quota")),
            "{opts:?}"
        );
        assert_eq!(opts.last().map(String::as_str), Some("--debug=2"));
        c.registries.insecure = vec!["reg:5000".into()];
        c.registries.whitelist = vec!["*.corp.local".into(), "reg:5000".into()];
        let opts = config_options(&c);
        assert_eq!(
            opts[opts.len() - 5..],
            [
                "--no-tls",
                "--insecure-registry=reg:5000",
                "--whitelist-registry=*.corp.local",
                "--whitelist-registry=reg:5000",
                "--debug=2",
            ]
        );
    }
}

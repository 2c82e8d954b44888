//! `vic-machine create` after `ProcessParams`: connect, validate (collecting every issue),
//! write the certificates, the dispatcher's SOAP sequence ([`super::dispatch`], vic.md §6.1
//! step 5), `CheckServiceReady` ([`super::ready`], step 6) and the output block (§1.3).
//!
//! `--timeout` is one deadline for all of that. VIC 1.2 applies it to the readiness checks
//! only (§1.1 step 7), so an unreachable or silent target took the 60 s per-request limit
//! (or longer) whatever `--timeout` said. On any failure after the first change — the
//! deadline included — [`super::rollback`] removes what this run made.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;
use vcsim::vmodl::{MoRef, Value};

use super::params::{self, CreateConfig, Target};
use super::rollback::{Made, rollback};
use super::vchconfig::full_version;
use super::{Failure, Ui, dispatch, ready};
use crate::convention::NameConvention;
use crate::engine::registry_policy::RegistryPolicy;
use crate::vsphere::{self, Client, ConnectOptions, Entity, Error, Finder, Kind};

/// Separator VIC prints around validation issues and before a failure.
pub const RULE: &str = "--------------------";

/// VIC's message when `--timeout` runs out (vic.md §1.1 step 7), now for every phase.
pub fn time_limit(timeout: Duration) -> Failure {
    Failure::new(format!(
        "Creating VCH exceeded time limit of {}. Please increase the timeout using --timeout to accommodate for a busy vSphere target",
        super::duration::format_go_duration(timeout)
    ))
}

/// Runs `create`.
pub async fn run(
    o: &super::CreateOpts,
    ui: &mut Ui,
    prompt: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<(), Failure> {
    // 1. ProcessParams (offline; nothing is written yet).
    let cfg = params::process(o, ui, OffsetDateTime::now_utc(), prompt)?;
    // 2. The arguments, censored.
    ui.info("### Installing VCH ####");
    // 3. CheckImagesFiles is skipped: the testbed has no appliance/bootstrap ISOs.
    // 4. Extra positional arguments.
    if let Some(a) = o.args.first() {
        ui.error(format!("Unknown argument: {a}"));
        return Err(Failure::new("invalid CLI arguments"));
    }
    if cfg.target.deep_path.is_some() {
        return Err(Failure::new(
            "--target should only specify datacenter in the path (e.g. https://addr/datacenter) - specify cluster, resource pool, or folder with --compute-resource",
        ));
    }
    // 5–8 under one deadline. A timeout too large to add never expires.
    let mut made = Made::new(&cfg.name);
    let deadline = Instant::now().checked_add(cfg.timeout);
    // The phases are boxed: as one inline state machine they need more stack to poll than a
    // test thread has in debug builds.
    let work = Box::pin(deploy(&cfg, deadline, &mut made, ui));
    let outcome = match deadline {
        Some(at) => tokio::time::timeout_at(at, work)
            .await
            .unwrap_or_else(|_| Err(time_limit(cfg.timeout))),
        None => work.await,
    };
    if let Err(e) = &outcome {
        if !made.is_empty() {
            ui.error(format!("Deploying VCH failed: {e}"));
            ui.info("Removing what this create made");
        }
        Box::pin(rollback(&mut made, ui)).await;
    }
    outcome
}

/// Connects, validates, writes the certificates, deploys and waits for the VCH; records
/// every change in `made`.
async fn deploy(
    cfg: &CreateConfig,
    deadline: Option<Instant>,
    made: &mut Made,
    ui: &mut Ui,
) -> Result<(), Failure> {
    // 5. Connect and validate.
    let session = Box::pin(connect(&cfg.target, cfg.force, ui)).await?;
    made.client = Some(session.client.clone());
    let plan = Box::pin(validate(&session, cfg, ui)).await?;
    // 6a. Storage-quota validation, before anything is written (vic.md §1.1 step 6).
    if let Some(quota) = cfg.storage_quota_bytes {
        ui.info("Validating storage quota");
        let free = session
            .client
            .get_property(&plan.datastore.moref, "summary.freeSpace")
            .await?
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        if let Err(e) = params::check_storage_quota(quota, free) {
            // VIC's create logs configure's words here.
            ui.error("Configuring cannot continue: storage quota validation failed");
            return Err(e);
        }
    }
    // The certificates, now that nothing offline or on the target objects.
    made.certs = cfg
        .tls_files
        .commit()
        .map_err(|e| Failure::new(e.to_string()))?;
    // 6. Dispatcher.
    let deployed = Box::pin(dispatch::dispatch(&session, cfg, &plan, made, ui)).await?;
    // 7. Readiness.
    let far = || Instant::now() + Duration::from_secs(10 * 365 * 24 * 3600);
    let ip = Box::pin(ready::check_ready(
        &session.client,
        &deployed,
        cfg,
        deadline.unwrap_or_else(far),
        ui,
    ))
    .await?;
    // 8. ShowVCH (writes the env file).
    ready::show_vch(
        ui,
        &deployed.vm,
        ip,
        &cfg.tls,
        cfg.bridge_range,
        cfg.bridge_width,
        true,
    )?;
    ui.info("Installer completed successfully");
    made.client = None;
    let _ = session.client.logout().await;
    Ok(())
}

/// A logged-in client with its target thumbprint.
pub struct Session {
    /// The client.
    pub client: Client,
    /// The certificate thumbprint of an https target (given or probed).
    pub thumbprint: Option<String>,
}

/// Connects and logs in as VIC's session does (vic.md §6.1 steps 1–2).
pub async fn connect(t: &Target, force: bool, ui: &mut Ui) -> Result<Session, Failure> {
    let opts = ConnectOptions {
        thumbprint: t.thumbprint.clone(),
        insecure: force && t.thumbprint.is_none(),
        user_agent: format!("vic-machine/{}", full_version()),
        timeout: Duration::from_secs(60),
        wait_timeout: Duration::from_secs(600),
        ..ConnectOptions::default()
    };
    let client = Client::connect(&t.sdk_url, opts).await.map_err(|e| {
        if let Error::Untrusted {
            host, thumbprint, ..
        } = &e
        {
            ui.error(format!(
                "Failed to verify certificate for target={host} (thumbprint={thumbprint})"
            ));
        }
        Failure::from(e)
    })?;
    client.login(&t.user, &t.password).await?;
    let about = client.about().clone();
    ui.info(format!(
        "vSphere API Test: {} ({})",
        about.full_name, about.api_type
    ));
    // The appliance pins the target's certificate the way vic-machine saw it.
    let thumbprint = match (&t.thumbprint, t.https) {
        (Some(tp), _) => vsphere::normalize_thumbprint(tp),
        (None, true) => vsphere::fetch_thumbprint(&client.endpoint().addr())
            .await
            .ok(),
        (None, false) => None,
    };
    Ok(Session { client, thumbprint })
}

/// What validation found: where everything goes.
pub struct Plan {
    pub(super) finder: Finder,
    pub(super) vc: bool,
    pub(super) dc: vsphere::Datacenter,
    /// The pool the VCH pool goes under (or the VCH pool itself when DRS is off).
    pub(super) parent_pool: Entity,
    pub(super) compute: Entity,
    pub(super) host: Option<MoRef>,
    pub(super) drs: bool,
    pub(super) datastore: Entity,
    pub(super) public: Entity,
    pub(super) client: Entity,
    pub(super) management: Entity,
    /// `None`: the ESX bridge port group must be created.
    pub(super) bridge: Option<Entity>,
    pub(super) container_networks: Vec<(params::ContainerNetworkSpec, Entity)>,
    /// The registry configuration as the VCH stores it (whitelist merged).
    pub(super) registries: RegistryPolicy,
}

/// Finds one entity or records an issue.
async fn find_network(f: &Finder, name: &str) -> Result<Entity, Error> {
    f.network(Some(name)).await
}

fn is_distributed(e: &Entity) -> bool {
    matches!(
        e.moref.ty.as_ref(),
        "DistributedVirtualPortgroup" | "OpaqueNetwork"
    )
}

/// `Validate` (vic.md §6.1 step 4): every issue is collected; any issue fails with
/// `validation of configuration failed`.
async fn validate(s: &Session, cfg: &CreateConfig, ui: &mut Ui) -> Result<Plan, Failure> {
    let c = &s.client;
    let vc = c.is_vc();
    let mut f = c.finder();
    // 1. Datacenter: nothing else can be checked without one.
    let dc = match f.use_datacenter(cfg.target.datacenter.as_deref()).await {
        Ok(dc) => dc,
        Err(e) => {
            let issue = match (&cfg.target.datacenter, &e) {
                (Some(name), _) => vec![format!("Datacenter {name:?} in --target is not found")],
                (None, Error::DefaultMultiple { .. }) => {
                    let mut v = vec![
                        "Datacenter must be specified in --target (e.g. https://addr/datacenter)"
                            .to_owned(),
                    ];
                    if let Ok(all) = f.find(Kind::Datacenter, "*").await {
                        v.push("Suggested datacenters:".into());
                        v.extend(all.into_iter().map(|d| format!("  {:?}", d.name)));
                    }
                    v
                }
                _ => vec![e.to_string()],
            };
            return Err(fail_validation(ui, &issue));
        }
    };
    let mut issues: Vec<String> = Vec::new();
    // 2. Basics: the name convention.
    if let Some(cnc) = &cfg.name_convention {
        for i in NameConvention::validate(cnc) {
            issues.push(i.to_string());
        }
    }
    // 5. Compute: a pool path first, then a compute resource (its root pool).
    let compute_found = compute(c, &f, cfg.compute_resource.as_deref()).await;
    let mut compute_parts = None;
    match compute_found {
        Ok(parts) => compute_parts = Some(parts),
        Err(lines) => issues.extend(lines),
    }
    // 6. Storage.
    let mut datastore = None;
    match &cfg.image_store {
        Some((ds, _)) => match f.datastore(Some(ds)).await {
            Ok(d) => datastore = Some(d),
            Err(e) => issues.push(format!("Error checking --image-store: {e}")),
        },
        None => match f.datastore(None).await {
            Ok(d) => {
                ui.info(format!("Using default datastore: {}", d.name));
                datastore = Some(d);
            }
            Err(_) => {
                issues.push("datastore empty".into());
                if let Ok(all) = f.datastores(None).await {
                    issues.push("Suggested values for --image-store:".into());
                    issues.extend(all.into_iter().map(|d| format!("  {:?}", d.name)));
                }
            }
        },
    }
    // Volume stores: their datastores must exist (VIC's validator, `--volume-store`).
    for vs in cfg.volume_stores.iter().filter(|v| !v.datastore.is_empty()) {
        if let Err(e) = f.datastore(Some(&vs.datastore)).await {
            issues.push(e.to_string());
            if let Ok(all) = f.datastores(None).await {
                issues.push("Suggested values for --volume-store:".into());
                issues.extend(
                    all.into_iter()
                        .map(|d| format!("  {:?}", format!("{}:{}", d.name, vs.label))),
                );
            }
        }
    }
    // 7. Networks.
    let mut role_net = |flag: &str, name: &str, found: Result<Entity, Error>| match found {
        Ok(e) => Some(e),
        Err(_) => {
            issues.push(format!(
                "Error checking network for --{flag}: network '{name}' not found"
            ));
            None
        }
    };
    let public = role_net(
        "public-network",
        &cfg.public_network,
        find_network(&f, &cfg.public_network).await,
    );
    let client = role_net(
        "client-network",
        &cfg.client_network,
        find_network(&f, &cfg.client_network).await,
    );
    let management = role_net(
        "management-network",
        &cfg.management_network,
        find_network(&f, &cfg.management_network).await,
    );
    let bridge = match find_network(&f, &cfg.bridge_network).await {
        Ok(e) if vc && !is_distributed(&e) => {
            issues.push(format!(
                "An existing distributed port group or opaque network must be specified for bridge network on vCenter: {:?} is not a distributed port group",
                cfg.bridge_network
            ));
            None
        }
        Ok(e) => Some(e),
        Err(e) if vc => {
            issues.push(format!(
                "An existing distributed port group or opaque network must be specified for bridge network on vCenter: {e}"
            ));
            None
        }
        // ESXi: created by the dispatcher.
        Err(_) => None,
    };
    for (role, name) in [
        ("public", &cfg.public_network),
        ("client", &cfg.client_network),
        ("management", &cfg.management_network),
    ] {
        if *name == cfg.bridge_network {
            issues.push(format!(
                "the bridge network must not be shared with another network role - {role} also uses {name:?}"
            ));
        }
    }
    // The client address. Not in VIC, whose appliance then fails to come up after everything
    // is created; vic.md has no text, so the message is ours.
    if let Some((ip, _)) = cfg.client_ip {
        match super::manage::vch_using_address(c, ip).await {
            Ok(Some(other)) => issues.push(format!(
                "--client-network-ip {ip} is already in use by VCH {other:?}"
            )),
            Ok(None) => {}
            Err(e) => issues.push(format!("Error checking --client-network-ip: {e}")),
        }
    }
    let mut container_networks = Vec::new();
    for cn in &cfg.container_networks {
        if cn.alias == "bridge" {
            issues.push("Cannot use reserved name \"bridge\" for container network".into());
        }
        if cn.ip_range.is_some() && cn.gateway.is_none() {
            issues.push(format!(
                "IP range specified without gateway for container network {:?}",
                cn.portgroup
            ));
        }
        if let (Some((first, last)), Some((gw, prefix))) = (cn.ip_range, cn.gateway)
            && (!params::in_subnet(first, gw, prefix) || !params::in_subnet(last, gw, prefix))
        {
            issues.push(format!(
                "IP range \"{first}-{last}\" is not in subnet \"{}/{prefix}\"",
                params::network_of(gw, prefix)
            ));
        }
        if cn.portgroup == cfg.bridge_network {
            issues.push(format!(
                "the bridge network must not be shared with another network role - {:?} also mapped as container network {:?}",
                cfg.bridge_network, cn.alias
            ));
        }
        match find_network(&f, &cn.portgroup).await {
            Ok(e) if vc && !is_distributed(&e) => issues.push(format!(
                "Error adding container network {:?}: {:?} is not a distributed port group or opaque network",
                cn.portgroup, cn.portgroup
            )),
            Ok(e) => container_networks.push((cn.clone(), e)),
            Err(e) => issues.push(format!(
                "Error adding container network {:?}: {e}",
                cn.portgroup
            )),
        }
    }
    // 14. Registries (VIC's order puts them after DRS; they need no target, and VIC's
    // reachability probes are not made, see `engine::registry_policy`).
    let registries = registries(cfg, ui, &mut issues);
    // 11. DRS: without it the pool options are ignored (vic.md §5.1).
    let (parent_pool, compute, host, drs) = match compute_parts {
        Some(p) => p,
        None => return Err(fail_validation(ui, &issues)),
    };
    if !drs && vc {
        ui.warn("DRS is recommended, but is disabled:");
        ui.warn("Provided VCH Resource Pool options are ignored:");
        for (what, set) in [
            ("CPU Limit", cfg.cpu.limit.is_some()),
            ("CPU Reservation", cfg.cpu.reservation.is_some()),
            ("CPU Shares", cfg.cpu.shares.is_some()),
            ("Memory Limit", cfg.memory.limit.is_some()),
            ("Memory Reservation", cfg.memory.reservation.is_some()),
            ("Memory Shares", cfg.memory.shares.is_some()),
        ] {
            if set {
                ui.warn(format!("  {what}"));
            }
        }
    }
    if !issues.is_empty() {
        return Err(fail_validation(ui, &issues));
    }
    let (Some(datastore), Some(public), Some(client), Some(management)) =
        (datastore, public, client, management)
    else {
        return Err(fail_validation(
            ui,
            &["incomplete configuration".to_owned()],
        ));
    };
    f.set_datacenter(dc.clone());
    Ok(Plan {
        finder: f,
        vc,
        dc,
        parent_pool,
        compute,
        host,
        drs: drs || !vc,
        datastore,
        public,
        client,
        management,
        bridge,
        container_networks,
        registries,
    })
}

/// VIC's `registries` check: the first issue is noted, else the lists are logged as VIC logs
/// them and the policy to store is returned.
fn registries(cfg: &CreateConfig, ui: &mut Ui, issues: &mut Vec<String>) -> RegistryPolicy {
    match cfg.registries.validated() {
        Ok(p) => {
            if !p.insecure.is_empty() {
                ui.info(format!("Insecure registries = {}", p.insecure.join(", ")));
            }
            if !p.whitelist.is_empty() {
                ui.info(format!("Whitelist registries = {}", p.whitelist.join(", ")));
            }
            p
        }
        Err(e) => {
            issues.push(e.to_string());
            RegistryPolicy::default()
        }
    }
}

/// VIC's `createVolumeStores` (vic.md §6.1 step 5.6): each store's folder made with its
/// parents by `FileManager.MakeDirectory`; one that exists already is kept, with its volumes.
pub(super) async fn create_volume_stores(
    c: &Client,
    datacenter: &MoRef,
    stores: &[crate::engine::VolumeStore],
) -> Result<(), Failure> {
    let Some(fm) = c.service_content().file_manager.clone() else {
        return Err(Failure::new(
            "Exiting because we could not create volume stores due to error: the target has no FileManager",
        ));
    };
    for vs in stores {
        let made = c
            .call(
                "MakeDirectory",
                &fm,
                &[
                    (
                        "name",
                        Value::str(crate::portlayer::volumes::store_root(vs)),
                    ),
                    ("datacenter", Value::moref(datacenter)),
                    ("createParentDirectories", Value::Bool(true)),
                ],
            )
            .await;
        match made {
            Ok(_) => {}
            Err(e) if e.is_fault("FileAlreadyExists") => {}
            Err(e) => {
                return Err(Failure::new(format!(
                    "Exiting because we could not create volume stores due to error: {e}"
                )));
            }
        }
    }
    Ok(())
}

/// Logs the issues as VIC does and returns the overall failure.
fn fail_validation(ui: &mut Ui, issues: &[String]) -> Failure {
    ui.error(RULE);
    for i in issues {
        ui.error(i);
    }
    ui.error(RULE);
    ui.error("Create cannot continue: configuration validation failed");
    Failure::new("validation of configuration failed")
}

/// Resolves `--compute-resource`: (parent pool, compute resource, a host, DRS enabled).
async fn compute(
    c: &Client,
    f: &Finder,
    path: Option<&str>,
) -> Result<(Entity, Entity, Option<MoRef>, bool), Vec<String>> {
    let pool = match path {
        Some(p) => match f.resource_pool(Some(p)).await {
            Ok(pool) => pool,
            Err(_) => match f.compute_resource(Some(p)).await {
                Ok(cr) => root_pool(c, &cr).await.map_err(|e| vec![e.to_string()])?,
                Err(e) => {
                    return Err(vec![format!("Failed to find compute resource {p:?}: {e}")]);
                }
            },
        },
        None => match f.compute_resource(None).await {
            Ok(cr) => root_pool(c, &cr).await.map_err(|e| vec![e.to_string()])?,
            Err(_) => {
                let mut v = vec![
                    "No unambiguous default compute resource available: --compute-resource must be specified"
                        .to_owned(),
                ];
                if let Ok(all) = f.find(Kind::ComputeResource, "*").await {
                    v.push("Suggested values for --compute-resource:".into());
                    v.extend(all.into_iter().map(|e| format!("  {:?}", e.name)));
                }
                return Err(v);
            }
        },
    };
    let owner = c
        .get_property(&pool.moref, "owner")
        .await
        .map_err(|e| vec![e.to_string()])?
        .and_then(|v| v.as_moref().cloned())
        .ok_or_else(|| vec![format!("{} has no owner", pool.moref)])?;
    let compute = f.entity(&owner).await.map_err(|e| vec![e.to_string()])?;
    let props = c
        .retrieve_properties(std::slice::from_ref(&owner), "ComputeResource", &["host"])
        .await
        .map_err(|e| vec![e.to_string()])?;
    let host = props
        .first()
        .and_then(|p| p.get("host"))
        .and_then(|h| h.items().first())
        .and_then(Value::as_moref)
        .cloned();
    let drs = if owner.ty == "ClusterComputeResource" {
        c.get_property(&owner, "configurationEx")
            .await
            .ok()
            .flatten()
            .and_then(|v| {
                v.field("drsConfig")
                    .and_then(|d| d.field("enabled"))
                    .and_then(Value::as_bool)
            })
            .unwrap_or(false)
    } else {
        true
    };
    Ok((pool, compute, host, drs))
}

async fn root_pool(c: &Client, cr: &Entity) -> Result<Entity, Error> {
    let pool = c
        .get_property(&cr.moref, "resourcePool")
        .await?
        .and_then(|v| v.as_moref().cloned())
        .ok_or_else(|| Error::Protocol(format!("{} has no resource pool", cr.moref)))?;
    Ok(Entity {
        moref: pool,
        name: "Resources".into(),
        path: format!("{}/Resources", cr.path),
    })
}

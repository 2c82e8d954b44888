//! Inventory lookups by path, as govmomi's `find.Finder` (which VIC uses) resolves them.
//!
//! - An absolute path (`/DC0/host/DC0_C0/Resources`) starts at the root folder.
//! - A relative path with a `/` (`DC0_C0/Resources`) starts at the datacenter folder of the
//!   kind looked up: `host` for compute resources, hosts and pools, `vm` for VMs,
//!   `datastore`, `network`; the datacenter itself for folders; the root for datacenters.
//! - A bare name (`DC0_C0`, `LocalDS_*`) is searched for at any depth below that folder.
//! - `*` and `?` match within one path segment; without them a path is resolved with one
//!   `SearchIndex.FindByInventoryPath`. Otherwise (and for bare names) the tree below the
//!   starting folder is read in one `RetrieveProperties` with traversal specs (`name` and
//!   `parent` of each entity) and matched locally.
//! - Defaults (a `None` path) are the unique match of `*` (`*/Resources` for pools);
//!   several matches are [`Error::DefaultMultiple`], as govmomi's `…OrDefault`.

use super::property::{filter_spec, object_spec, property_spec, selection_spec, traversal_spec};
use super::{Client, Error};
use std::collections::BTreeMap;
use vcsim::vmodl::{MoRef, Value, is_a};

/// Deepest inventory walked when computing paths.
const MAX_DEPTH: usize = 128;

/// What a lookup is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `Datacenter`.
    Datacenter,
    /// `Folder`.
    Folder,
    /// `ComputeResource` (clusters included).
    ComputeResource,
    /// `HostSystem`.
    HostSystem,
    /// `ResourcePool` (vApps included).
    ResourcePool,
    /// `VirtualMachine`.
    VirtualMachine,
    /// `Datastore`.
    Datastore,
    /// `Network` (port groups and opaque networks included).
    Network,
}

impl Kind {
    /// The managed type matched (subtypes included).
    pub fn managed_type(self) -> &'static str {
        match self {
            Kind::Datacenter => "Datacenter",
            Kind::Folder => "Folder",
            Kind::ComputeResource => "ComputeResource",
            Kind::HostSystem => "HostSystem",
            Kind::ResourcePool => "ResourcePool",
            Kind::VirtualMachine => "VirtualMachine",
            Kind::Datastore => "Datastore",
            Kind::Network => "Network",
        }
    }

    /// The word govmomi uses in its messages.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Datacenter => "datacenter",
            Kind::Folder => "folder",
            Kind::ComputeResource => "compute resource",
            Kind::HostSystem => "host",
            Kind::ResourcePool => "resource pool",
            Kind::VirtualMachine => "vm",
            Kind::Datastore => "datastore",
            Kind::Network => "network",
        }
    }

    fn default_path(self) -> &'static str {
        match self {
            Kind::ResourcePool => "*/Resources",
            _ => "*",
        }
    }
}

/// A found inventory object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    /// Its reference.
    pub moref: MoRef,
    /// Its name.
    pub name: String,
    /// Its inventory path (`/DC0/host/DC0_C0/Resources`).
    pub path: String,
}

/// A datacenter with its four folders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datacenter {
    /// The datacenter.
    pub entity: Entity,
    /// `vmFolder`.
    pub vm_folder: MoRef,
    /// `hostFolder`.
    pub host_folder: MoRef,
    /// `datastoreFolder`.
    pub datastore_folder: MoRef,
    /// `networkFolder`.
    pub network_folder: MoRef,
}

impl Datacenter {
    fn folder(&self, moref: &MoRef, name: &str) -> Entity {
        Entity {
            moref: moref.clone(),
            name: name.to_owned(),
            path: format!("{}/{name}", self.entity.path),
        }
    }

    /// The VM folder, where VMs (and VIC's VCH folders) are created.
    pub fn vm_folder(&self) -> Entity {
        self.folder(&self.vm_folder, "vm")
    }

    /// The host folder (compute resources and their pools).
    pub fn host_folder(&self) -> Entity {
        self.folder(&self.host_folder, "host")
    }

    /// The datastore folder.
    pub fn datastore_folder(&self) -> Entity {
        self.folder(&self.datastore_folder, "datastore")
    }

    /// The network folder.
    pub fn network_folder(&self) -> Entity {
        self.folder(&self.network_folder, "network")
    }
}

/// Inventory lookups against one client, relative to a chosen datacenter.
#[derive(Clone, Debug)]
pub struct Finder {
    client: Client,
    dc: Option<Datacenter>,
}

impl Client {
    /// `SearchIndex.FindByInventoryPath`: the entity at an inventory path, or `None`.
    pub async fn find_by_inventory_path(&self, path: &str) -> Result<Option<MoRef>, Error> {
        let si = self
            .service_content()
            .search_index
            .clone()
            .ok_or_else(|| Error::Protocol("the server has no SearchIndex".into()))?;
        Ok(self
            .call(
                "FindByInventoryPath",
                &si,
                &[("inventoryPath", Value::str(path))],
            )
            .await?
            .and_then(|v| v.as_moref().cloned()))
    }
}

/// One entity of a tree read by [`Finder::tree`].
struct Node {
    moref: MoRef,
    name: String,
    parent: Option<MoRef>,
}

impl Finder {
    /// A finder with no datacenter chosen.
    pub fn new(client: Client) -> Finder {
        Finder { client, dc: None }
    }

    /// The chosen datacenter.
    pub fn current_datacenter(&self) -> Option<&Datacenter> {
        self.dc.as_ref()
    }

    /// Makes relative lookups start in `dc`.
    pub fn set_datacenter(&mut self, dc: Datacenter) {
        self.dc = Some(dc);
    }

    /// Finds a datacenter (`None`: the only one) and makes it the current one.
    pub async fn use_datacenter(&mut self, path: Option<&str>) -> Result<Datacenter, Error> {
        let dc = self.datacenter(path).await?;
        self.dc = Some(dc.clone());
        Ok(dc)
    }

    /// A datacenter by path or name; `None` for the only one there is.
    pub async fn datacenter(&self, path: Option<&str>) -> Result<Datacenter, Error> {
        let entity = self.one(Kind::Datacenter, path).await?;
        let props = self
            .client
            .retrieve_properties(
                std::slice::from_ref(&entity.moref),
                "Datacenter",
                &["vmFolder", "hostFolder", "datastoreFolder", "networkFolder"],
            )
            .await?;
        let oc = props
            .into_iter()
            .next()
            .ok_or_else(|| Error::Protocol(format!("{} has no properties", entity.moref)))?;
        let folder = |name: &str| {
            oc.get(name)
                .and_then(Value::as_moref)
                .cloned()
                .ok_or_else(|| Error::Protocol(format!("{} has no {name}", entity.moref)))
        };
        Ok(Datacenter {
            vm_folder: folder("vmFolder")?,
            host_folder: folder("hostFolder")?,
            datastore_folder: folder("datastoreFolder")?,
            network_folder: folder("networkFolder")?,
            entity,
        })
    }

    /// The current datacenter's VM folder.
    pub fn vm_folder(&self) -> Result<Entity, Error> {
        Ok(self.dc.as_ref().ok_or(Error::NoDatacenter)?.vm_folder())
    }

    /// A compute resource (cluster or standalone host's); `None` for the only one.
    pub async fn compute_resource(&self, path: Option<&str>) -> Result<Entity, Error> {
        self.one(Kind::ComputeResource, path).await
    }

    /// A resource pool (`DC0_C0/Resources`, `/DC0/host/DC0_C0/Resources/vch`, or a bare
    /// pool name); `None` for the only `*/Resources`.
    pub async fn resource_pool(&self, path: Option<&str>) -> Result<Entity, Error> {
        self.one(Kind::ResourcePool, path).await
    }

    /// A host; `None` for the only one.
    pub async fn host_system(&self, path: Option<&str>) -> Result<Entity, Error> {
        self.one(Kind::HostSystem, path).await
    }

    /// A VM by path or name.
    pub async fn virtual_machine(&self, path: &str) -> Result<Entity, Error> {
        self.one(Kind::VirtualMachine, Some(path)).await
    }

    /// A datastore; `None` for the only one.
    pub async fn datastore(&self, path: Option<&str>) -> Result<Entity, Error> {
        self.one(Kind::Datastore, path).await
    }

    /// Datastores matching `path` (`None`: all of the datacenter's).
    pub async fn datastores(&self, path: Option<&str>) -> Result<Vec<Entity>, Error> {
        self.find(Kind::Datastore, path.unwrap_or("*")).await
    }

    /// A network (port group); `None` for the only one.
    pub async fn network(&self, path: Option<&str>) -> Result<Entity, Error> {
        self.one(Kind::Network, path).await
    }

    /// Networks matching `path` (`None`: all of the datacenter's).
    pub async fn networks(&self, path: Option<&str>) -> Result<Vec<Entity>, Error> {
        self.find(Kind::Network, path.unwrap_or("*")).await
    }

    /// Exactly one object of `kind` at `path`, or the default when `path` is `None`.
    pub async fn one(&self, kind: Kind, path: Option<&str>) -> Result<Entity, Error> {
        let (pattern, default) = match path.map(str::trim) {
            Some(p) if !p.is_empty() => (p, false),
            _ => (kind.default_path(), true),
        };
        let mut found = match self.find(kind, pattern).await {
            Err(Error::NotFound { .. }) if default => {
                return Err(Error::DefaultNotFound { kind: kind.label() });
            }
            other => other?,
        };
        match (found.len(), default) {
            (1, _) => Ok(found.remove(0)),
            (_, true) => Err(Error::DefaultMultiple { kind: kind.label() }),
            (_, false) => Err(Error::MultipleFound {
                kind: kind.label(),
                path: pattern.to_owned(),
            }),
        }
    }

    /// Every object of `kind` matching `path` ([`Error::NotFound`] when none does).
    pub async fn find(&self, kind: Kind, path: &str) -> Result<Vec<Entity>, Error> {
        let not_found = || Error::NotFound {
            kind: kind.label(),
            path: path.to_owned(),
        };
        let text = path.trim();
        let absolute = text.starts_with('/');
        let segs: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
        if segs.contains(&"..") {
            return Err(Error::Config("cannot traverse up a tree".into()));
        }
        let (root, root_path) = self.root(kind, absolute)?;
        if segs.is_empty() {
            return Err(not_found());
        }
        let search = !absolute && !text.contains('/');
        if !search && !segs.iter().any(|s| is_pattern(s)) {
            let rel = segs.join("/");
            let full = if root_path.is_empty() {
                rel
            } else {
                format!("{}/{rel}", root_path.trim_start_matches('/'))
            };
            let found = self.client.find_by_inventory_path(&full).await?;
            return match found {
                Some(m) if is_a(&m.ty, kind.managed_type()) => Ok(vec![Entity {
                    moref: m,
                    name: segs.last().copied().unwrap_or("").to_owned(),
                    path: format!("/{full}"),
                }]),
                _ => Err(not_found()),
            };
        }
        let nodes = self.tree(&root, kind, absolute).await?;
        let by_ref: BTreeMap<&MoRef, &Node> = nodes.iter().map(|n| (&n.moref, n)).collect();
        let mut hits = Vec::new();
        for n in &nodes {
            if n.moref == root || !is_a(&n.moref.ty, kind.managed_type()) {
                continue;
            }
            let Some(rel) = rel_path(n, &root, &by_ref) else {
                continue;
            };
            let matched = if search {
                glob(segs[0], &n.name)
            } else {
                rel.len() == segs.len() && segs.iter().zip(&rel).all(|(p, s)| glob(p, s))
            };
            if matched {
                hits.push(Entity {
                    moref: n.moref.clone(),
                    name: n.name.clone(),
                    path: format!("{root_path}/{}", rel.join("/")),
                });
            }
        }
        if hits.is_empty() {
            return Err(not_found());
        }
        Ok(hits)
    }

    /// Where a lookup of `kind` starts, and that object's inventory path.
    fn root(&self, kind: Kind, absolute: bool) -> Result<(MoRef, String), Error> {
        if absolute || kind == Kind::Datacenter {
            return Ok((
                self.client.service_content().root_folder.clone(),
                String::new(),
            ));
        }
        let dc = self.dc.as_ref().ok_or(Error::NoDatacenter)?;
        let e = match kind {
            Kind::Datacenter | Kind::Folder => dc.entity.clone(),
            Kind::ComputeResource | Kind::HostSystem | Kind::ResourcePool => dc.host_folder(),
            Kind::VirtualMachine => dc.vm_folder(),
            Kind::Datastore => dc.datastore_folder(),
            Kind::Network => dc.network_folder(),
        };
        Ok((e.moref, e.path))
    }

    /// `name` and `parent` of `root` and every entity below it that a lookup of `kind` can
    /// reach, in one `RetrieveProperties`.
    async fn tree(&self, root: &MoRef, kind: Kind, absolute: bool) -> Result<Vec<Node>, Error> {
        // Datacenters' folders are followed only when the path can pass through a
        // datacenter: absolute paths, and folders (looked up from the datacenter itself).
        let all = absolute || kind == Kind::Folder;
        let mut folder_next = vec![selection_spec("folder")];
        let mut specs = Vec::new();
        if all {
            for (name, path) in [
                ("dcVm", "vmFolder"),
                ("dcHost", "hostFolder"),
                ("dcDs", "datastoreFolder"),
                ("dcNet", "networkFolder"),
            ] {
                folder_next.push(selection_spec(name));
                specs.push(traversal_spec(
                    name,
                    "Datacenter",
                    path,
                    vec![selection_spec("folder")],
                ));
            }
        }
        let compute = all || matches!(kind, Kind::HostSystem | Kind::ResourcePool);
        if compute {
            folder_next.push(selection_spec("crHost"));
            folder_next.push(selection_spec("crPool"));
            specs.push(traversal_spec(
                "crHost",
                "ComputeResource",
                "host",
                Vec::new(),
            ));
            specs.push(traversal_spec(
                "crPool",
                "ComputeResource",
                "resourcePool",
                vec![selection_spec("pool")],
            ));
            specs.push(traversal_spec(
                "pool",
                "ResourcePool",
                "resourcePool",
                vec![selection_spec("pool")],
            ));
        }
        specs.insert(
            0,
            traversal_spec("folder", "Folder", "childEntity", folder_next),
        );
        let spec = filter_spec(
            vec![property_spec("ManagedEntity", &["name", "parent"])],
            vec![object_spec(root, false, specs)],
        );
        let contents = self.client.retrieve(spec).await?;
        Ok(contents
            .into_iter()
            .map(|oc| Node {
                name: oc.text("name").unwrap_or("").to_owned(),
                parent: oc.get("parent").and_then(Value::as_moref).cloned(),
                moref: oc.obj,
            })
            .collect())
    }

    /// An entity with its inventory path, read in one call through the `parent` chain.
    pub async fn entity(&self, moref: &MoRef) -> Result<Entity, Error> {
        let spec = filter_spec(
            vec![property_spec("ManagedEntity", &["name", "parent"])],
            vec![object_spec(
                moref,
                false,
                vec![traversal_spec(
                    "up",
                    "ManagedEntity",
                    "parent",
                    vec![selection_spec("up")],
                )],
            )],
        );
        let contents = self.client.retrieve(spec).await?;
        let nodes: BTreeMap<MoRef, (String, Option<MoRef>)> = contents
            .into_iter()
            .map(|oc| {
                let name = oc.text("name").unwrap_or("").to_owned();
                let parent = oc.get("parent").and_then(Value::as_moref).cloned();
                (oc.obj, (name, parent))
            })
            .collect();
        let root = &self.client.service_content().root_folder;
        let mut names = Vec::new();
        let mut cur = Some(moref.clone());
        for _ in 0..MAX_DEPTH {
            let Some(m) = cur.take() else { break };
            if &m == root {
                break;
            }
            let Some((name, parent)) = nodes.get(&m) else {
                return Err(Error::Protocol(format!("{m} is not in the inventory tree")));
            };
            names.push(name.clone());
            cur = parent.clone();
        }
        names.reverse();
        Ok(Entity {
            moref: moref.clone(),
            name: nodes.get(moref).map(|(n, _)| n.clone()).unwrap_or_default(),
            path: format!("/{}", names.join("/")),
        })
    }

    /// The direct children of `parent` with their names: a folder's entities, a
    /// datacenter's four folders, a compute resource's hosts and root pool, a pool's child
    /// pools and VMs.
    pub async fn children(&self, parent: &Entity) -> Result<Vec<Entity>, Error> {
        let specs = [
            ("Folder", "childEntity"),
            ("Datacenter", "vmFolder"),
            ("Datacenter", "hostFolder"),
            ("Datacenter", "datastoreFolder"),
            ("Datacenter", "networkFolder"),
            ("ComputeResource", "host"),
            ("ComputeResource", "resourcePool"),
            ("ResourcePool", "resourcePool"),
            ("ResourcePool", "vm"),
        ]
        .iter()
        .enumerate()
        .map(|(i, (ty, path))| traversal_spec(&format!("c{i}"), ty, path, Vec::new()))
        .collect();
        let spec = filter_spec(
            vec![property_spec("ManagedEntity", &["name"])],
            vec![object_spec(&parent.moref, true, specs)],
        );
        let base = parent.path.trim_end_matches('/');
        Ok(self
            .client
            .retrieve(spec)
            .await?
            .into_iter()
            .map(|oc| {
                let name = oc.text("name").unwrap_or("").to_owned();
                Entity {
                    path: format!("{base}/{name}"),
                    name,
                    moref: oc.obj,
                }
            })
            .collect())
    }

    /// The direct child of `parent` named `name` (optionally of managed type `ty`).
    pub async fn child(
        &self,
        parent: &Entity,
        name: &str,
        ty: Option<&str>,
    ) -> Result<Option<Entity>, Error> {
        Ok(self
            .children(parent)
            .await?
            .into_iter()
            .find(|e| e.name == name && ty.is_none_or(|t| is_a(&e.moref.ty, t))))
    }
}

/// The names from below `root` down to `n`, or `None` when `n` is not under `root`.
fn rel_path(n: &Node, root: &MoRef, by_ref: &BTreeMap<&MoRef, &Node>) -> Option<Vec<String>> {
    let mut names = vec![n.name.clone()];
    let mut cur = n.parent.as_ref()?;
    for _ in 0..MAX_DEPTH {
        if cur == root {
            names.reverse();
            return Some(names);
        }
        let p = by_ref.get(cur)?;
        names.push(p.name.clone());
        cur = p.parent.as_ref()?;
    }
    None
}

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Shell-style matching of one path segment: `*` any run, `?` any one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    // Each turn advances `ti` or moves back to the last star with a larger `ti`, so the
    // loop runs at most len(p) * len(t) times.
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing_one_segment() {
        assert!(glob("*", "DC0"));
        assert!(glob("DC?", "DC0"));
        assert!(glob("LocalDS_*", "LocalDS_0"));
        assert!(glob("*_C0", "DC0_C0"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(!glob("DC0", "DC01"));
        assert!(glob("", ""));
        assert!(!glob("", "x"));
    }

    #[test]
    fn relative_paths_follow_parents_to_the_root() {
        let root = MoRef::new("Folder", "group-h4");
        let cr = Node {
            moref: MoRef::new("ClusterComputeResource", "domain-c1"),
            name: "DC0_C0".into(),
            parent: Some(root.clone()),
        };
        let rp = Node {
            moref: MoRef::new("ResourcePool", "resgroup-2"),
            name: "Resources".into(),
            parent: Some(cr.moref.clone()),
        };
        let orphan = Node {
            moref: MoRef::new("ResourcePool", "resgroup-3"),
            name: "x".into(),
            parent: Some(MoRef::new("Folder", "elsewhere")),
        };
        let nodes = [cr, rp, orphan];
        let by_ref: BTreeMap<&MoRef, &Node> = nodes.iter().map(|n| (&n.moref, n)).collect();
        assert_eq!(
            rel_path(&nodes[1], &root, &by_ref).unwrap(),
            ["DC0_C0", "Resources"]
        );
        assert_eq!(rel_path(&nodes[2], &root, &by_ref), None);
    }
}

//! The storage policies themselves: vCenter's four defaults, and `PbmCreate`, `PbmUpdate`,
//! `PbmDelete` over them. Every collection is bounded: at most [`MAX_PROFILES`] policies,
//! each name or description at most 4 KiB and its constraints at most
//! [`MAX_CONSTRAINTS_BYTES`].

use super::ids_in;
use crate::endpoints::SideCall;
use crate::soap::Element;
use crate::vmodl::{DataObject, Fault, Value};

/// Most storage policies kept (defaults included); a create beyond answers a fault.
pub const MAX_PROFILES: usize = 1024;
/// Longest policy name or description accepted, in bytes.
const MAX_TEXT_BYTES: usize = 4096;
/// Largest policy constraints accepted (names, attributes and text, in bytes), so that
/// [`MAX_PROFILES`] policies stay within tens of MiB.
pub const MAX_CONSTRAINTS_BYTES: usize = 64 * 1024;
/// vCenter's name for the creator of its system policies.
const SYSTEM_USER: &str = "Temporary user handle";

/// One storage policy.
#[derive(Clone, Debug)]
pub struct Profile {
    /// `profileId.uniqueId`.
    pub id: String,
    /// Display name (unique).
    pub name: String,
    /// Description.
    pub description: String,
    /// `REQUIREMENT`, `RESOURCE`, `DATA_SERVICE_POLICY`.
    pub category: String,
    /// `PbmCapabilityConstraints` (or a subtype) as stored.
    pub constraints: Value,
    /// Creation and last-update times (virtual clock, ms) and users.
    pub created_ms: i64,
    /// Who created it.
    pub created_by: String,
    /// Last update time.
    pub updated_ms: i64,
    /// Who last updated it.
    pub updated_by: String,
    /// Bumped by each update.
    pub generation: i64,
    /// `systemCreatedProfileType` of vCenter's own policies.
    pub system_type: Option<&'static str>,
}

impl Profile {
    pub(super) fn to_value(&self) -> Value {
        DataObject::new("PbmCapabilityProfile")
            .with("profileId", profile_id(&self.id))
            .with("name", Value::str(self.name.clone()))
            .with_opt(
                "description",
                (!self.description.is_empty()).then(|| Value::str(self.description.clone())),
            )
            .with("creationTime", Value::DateTime(self.created_ms))
            .with("createdBy", Value::str(self.created_by.clone()))
            .with("lastUpdatedTime", Value::DateTime(self.updated_ms))
            .with("lastUpdatedBy", Value::str(self.updated_by.clone()))
            .with("profileCategory", Value::str(self.category.clone()))
            .with("resourceType", resource_type("STORAGE"))
            .with("constraints", self.constraints.clone())
            .with("generationId", Value::Long(self.generation))
            .with("isDefault", Value::Bool(false))
            .with_opt("systemCreatedProfileType", self.system_type.map(Value::str))
            .into_value()
    }

    /// The datastore type (`summary.type`) the policy needs, or `None` for any.
    pub(super) fn hub_type(&self) -> Option<&'static str> {
        match self.system_type {
            Some("VsanDefaultProfile") => return Some("vsan"),
            Some("VVolDefaultProfile") => return Some("VVOL"),
            Some("PmemDefaultProfile") => return Some("PMEM"),
            _ => {}
        }
        let mut namespaces = Vec::new();
        namespaces_in(&self.constraints, &mut namespaces, 0);
        namespaces.iter().find_map(|n| match n.as_str() {
            "VSAN" | "vSANDirect" => Some("vsan"),
            "PMem" => Some("PMEM"),
            _ => None,
        })
    }
}

/// Collects every capability `namespace` in a constraints tree (depth-bounded like the
/// parser that built it).
fn namespaces_in(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > crate::soap::MAX_DEPTH {
        return;
    }
    match v {
        Value::Data(d) => {
            for (n, f) in &d.fields {
                match f.as_str() {
                    Some(s) if n == "namespace" => out.push(s.to_owned()),
                    _ => namespaces_in(f, out, depth + 1),
                }
            }
        }
        Value::Array(a) => a
            .items
            .iter()
            .for_each(|i| namespaces_in(i, out, depth + 1)),
        Value::Any(i) => namespaces_in(i, out, depth + 1),
        _ => {}
    }
}

/// The storage policies.
#[derive(Debug, Default)]
pub struct PbmStore {
    profiles: Vec<Profile>,
    seeded: bool,
}

impl PbmStore {
    /// The policies, seeded with vCenter's defaults on first use.
    pub fn profiles(&mut self, now_ms: i64) -> &mut Vec<Profile> {
        if !self.seeded {
            self.seeded = true;
            self.profiles = default_profiles(now_ms);
        }
        &mut self.profiles
    }
}

pub(super) fn profile_id(id: &str) -> Value {
    DataObject::new("PbmProfileId")
        .with("uniqueId", Value::str(id))
        .into_value()
}

pub(super) fn resource_type(t: &str) -> Value {
    DataObject::new("PbmProfileResourceType")
        .with("resourceType", Value::str(t))
        .into_value()
}

/// One capability with one property value, as vCenter's default policies hold them.
fn capability(namespace: &str, id: &str, value: Value) -> Value {
    DataObject::new("PbmCapabilityInstance")
        .with(
            "id",
            DataObject::new("PbmCapabilityMetadataUniqueId")
                .with("namespace", Value::str(namespace))
                .with("id", Value::str(id))
                .into_value(),
        )
        .with(
            "constraint",
            Value::array(
                "PbmCapabilityConstraintInstance",
                vec![
                    DataObject::new("PbmCapabilityConstraintInstance")
                        .with(
                            "propertyInstance",
                            Value::array(
                                "PbmCapabilityPropertyInstance",
                                vec![
                                    DataObject::new("PbmCapabilityPropertyInstance")
                                        .with("id", Value::str(id))
                                        .with("value", Value::any(value))
                                        .into_value(),
                                ],
                            ),
                        )
                        .into_value(),
                ],
            ),
        )
        .into_value()
}

fn sub_profiles(name: &str, caps: Vec<Value>, force: Option<bool>) -> Value {
    DataObject::new("PbmCapabilitySubProfileConstraints")
        .with(
            "subProfiles",
            Value::array(
                "PbmCapabilitySubProfile",
                vec![
                    DataObject::new("PbmCapabilitySubProfile")
                        .with("name", Value::str(name))
                        .with("capability", Value::array("PbmCapabilityInstance", caps))
                        .with_opt("forceProvision", force.map(Value::Bool))
                        .into_value(),
                ],
            ),
        )
        .into_value()
}

fn default_profiles(now_ms: i64) -> Vec<Profile> {
    let p = |id: &str, name: &str, description: &str, constraints, system_type| Profile {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        category: "REQUIREMENT".into(),
        constraints,
        created_ms: now_ms,
        created_by: SYSTEM_USER.into(),
        updated_ms: now_ms,
        updated_by: SYSTEM_USER.into(),
        generation: 0,
        system_type,
    };
    vec![
        p(
            "aa6d5a82-1c88-45da-85d3-3d74b91a5bad",
            "vSAN Default Storage Policy",
            "Storage policy used as default for vSAN datastores",
            sub_profiles(
                "VSAN sub-profile",
                vec![
                    capability("VSAN", "hostFailuresToTolerate", Value::Int(1)),
                    capability("VSAN", "stripeWidth", Value::Int(1)),
                    capability("VSAN", "forceProvisioning", Value::Bool(false)),
                    capability("VSAN", "proportionalCapacity", Value::Int(0)),
                    capability("VSAN", "cacheReservation", Value::Int(0)),
                ],
                None,
            ),
            Some("VsanDefaultProfile"),
        ),
        p(
            "f4e5bade-15a2-4805-bf8e-52318c4ce443",
            "VVol No Requirements Policy",
            "Allow the datastore to determine the best placement strategy for storage objects",
            DataObject::new("PbmCapabilityConstraints").into_value(),
            Some("VVolDefaultProfile"),
        ),
        p(
            "4d5f673c-536f-11e6-beb8-9e71128cae77",
            "VM Encryption Policy",
            "Sample storage policy for VMware's VM and virtual disk encryption",
            sub_profiles(
                "sp-1",
                vec![capability(
                    "com.vmware.storageprofile.dataservice",
                    "ad5a249d-cbc2-43af-9366-694d7664fa52",
                    Value::str("ad5a249d-cbc2-43af-9366-694d7664fa52"),
                )],
                Some(false),
            ),
            None,
        ),
        p(
            "c268da1b-b343-49f7-a468-b1deeb7078e0",
            "Host-local PMem Default Storage Policy",
            "Storage policy used as default for Host-local PMem datastores",
            sub_profiles(
                "PMem sub-profile",
                vec![capability("PMem", "PMemType", Value::str("LocalPMem"))],
                None,
            ),
            Some("PmemDefaultProfile"),
        ),
    ]
}

/// The spec's `constraints`, refused (`InvalidArgument`) past [`MAX_CONSTRAINTS_BYTES`].
fn bounded_constraints(spec: &Element) -> Result<Option<Value>, Fault> {
    let Some(c) = spec.child("constraints") else {
        return Ok(None);
    };
    if element_bytes(c, 0) > MAX_CONSTRAINTS_BYTES {
        return Err(Fault::invalid_argument("constraints"));
    }
    Ok(Some(crate::soap::decode::value(c)))
}

/// About how many bytes an element tree keeps: names, attributes and text (the parser
/// bounded its depth; the sum stops growing once past the cap).
fn element_bytes(e: &Element, depth: usize) -> usize {
    let own = e.name.len()
        + e.text.len()
        + e.xsi_type.as_ref().map_or(0, String::len)
        + e.attrs
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    if depth > crate::soap::MAX_DEPTH {
        return own;
    }
    e.children.iter().fold(own, |sum, c| {
        if sum > MAX_CONSTRAINTS_BYTES {
            sum
        } else {
            sum.saturating_add(element_bytes(c, depth + 1))
        }
    })
}

fn bounded_text(spec: &Element, name: &str) -> Result<Option<String>, Fault> {
    match spec.child_text(name) {
        Some(t) if t.len() > MAX_TEXT_BYTES => Err(Fault::invalid_argument(name)),
        Some(t) => Ok(Some(t.to_owned())),
        None => Ok(None),
    }
}

/// `PbmCreate`: the new policy's id, drawn by `new_id` only once the spec is found valid
/// (a refused create leaves the policies and the id sequence as they were).
pub(super) fn create(
    profiles: &mut Vec<Profile>,
    call: &SideCall,
    new_id: impl FnOnce() -> String,
    user: &str,
    now: i64,
) -> Result<Value, Fault> {
    let spec = call
        .args
        .child("createSpec")
        .ok_or_else(|| Fault::invalid_argument("createSpec"))?;
    let name = bounded_text(spec, "name")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Fault::invalid_argument("createSpec.name"))?;
    let rt = spec
        .child("resourceType")
        .and_then(|r| r.child_text("resourceType"));
    if rt != Some("STORAGE") {
        return Err(Fault::invalid_argument("createSpec.resourceType"));
    }
    if profiles.iter().any(|p| p.name == name) {
        return Err(Fault::new(
            "PbmDuplicateName",
            format!("A storage policy named {name} already exists"),
        )
        .with("name", Value::str(name)));
    }
    if profiles.len() >= MAX_PROFILES {
        return Err(Fault::new(
            "PbmFault",
            format!("at most {MAX_PROFILES} storage policies are kept"),
        ));
    }
    let constraints = bounded_constraints(spec)?
        .unwrap_or_else(|| DataObject::new("PbmCapabilityConstraints").into_value());
    let description = bounded_text(spec, "description")?.unwrap_or_default();
    let category = bounded_text(spec, "category")?
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "REQUIREMENT".into());
    let id = new_id();
    profiles.push(Profile {
        id: id.clone(),
        name,
        description,
        category,
        constraints,
        created_ms: now,
        created_by: user.to_owned(),
        updated_ms: now,
        updated_by: user.to_owned(),
        generation: 0,
        system_type: None,
    });
    Ok(profile_id(&id))
}

pub(super) fn update(
    profiles: &mut [Profile],
    call: &SideCall,
    user: &str,
    now: i64,
) -> Result<(), Fault> {
    let id = ids_in(&call.args, "profileId")
        .pop()
        .ok_or_else(|| Fault::invalid_argument("profileId"))?;
    let spec = call
        .args
        .child("updateSpec")
        .ok_or_else(|| Fault::invalid_argument("updateSpec"))?;
    let name = bounded_text(spec, "name")?.filter(|n| !n.is_empty());
    if let Some(n) = &name
        && profiles.iter().any(|p| p.name == *n && p.id != id)
    {
        return Err(Fault::new(
            "PbmDuplicateName",
            format!("A storage policy named {n} already exists"),
        )
        .with("name", Value::str(n.clone())));
    }
    let description = bounded_text(spec, "description")?;
    let constraints = bounded_constraints(spec)?;
    let p = profiles
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| Fault::invalid_argument("profileId"))?;
    if let Some(n) = name {
        p.name = n;
    }
    if let Some(d) = description {
        p.description = d;
    }
    if let Some(c) = constraints {
        p.constraints = c;
    }
    p.generation += 1;
    p.updated_ms = now;
    p.updated_by = user.to_owned();
    Ok(())
}

/// Deletes the policies named; the outcomes list only the ones that could not be deleted
/// (unknown ids, and vCenter's own policies, which it refuses to delete).
pub(super) fn delete(profiles: &mut Vec<Profile>, call: &SideCall) -> Value {
    let mut outcomes = Vec::new();
    for id in ids_in(&call.args, "profileId") {
        let fault = match profiles.iter().position(|p| p.id == id) {
            None => Some(Fault::not_found_plain(format!(
                "The storage policy {id} does not exist"
            ))),
            Some(i) if profiles[i].system_type.is_some() => Some(Fault::new(
                "PbmFault",
                format!(
                    "The system storage policy {} cannot be deleted",
                    profiles[i].name
                ),
            )),
            Some(i) => {
                profiles.remove(i);
                None
            }
        };
        if let Some(f) = fault {
            outcomes.push(
                DataObject::new("PbmProfileOperationOutcome")
                    .with("profileId", profile_id(&id))
                    .with("fault", f.to_localized())
                    .into_value(),
            );
        }
    }
    Value::array("PbmProfileOperationOutcome", outcomes)
}

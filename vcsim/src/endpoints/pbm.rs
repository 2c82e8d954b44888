//! Storage policy based management (`/pbm`, `/pbm/sdk`, namespace `urn:pbm`): the service
//! content, the profile manager (query, retrieve, create, update, delete, associations)
//! and the placement solver (matching hubs, compatibility, requirements).
//!
//! The policies start as the four vCenter ships (the set govmomi's vcsim captured from
//! vCenter 6.7, with their well-known ids): "vSAN Default Storage Policy", "VVol No
//! Requirements Policy", "VM Encryption Policy" and "Host-local PMem Default Storage
//! Policy". A policy's hubs are datastores: the vSAN, VVol and PMem policies (and created
//! policies with capabilities in the `VSAN` or `PMem` namespaces) match only datastores of
//! that type, as vCenter's placement solver does; others match every datastore. No entity
//! is ever associated with a policy here (VMs are not placed by policy).
//!
//! This file dispatches the calls and answers the read-only ones; the policies and their
//! create/update/delete are in `profiles`, the placement solver in `placement`.

mod placement;
mod profiles;

use super::{SideCall, SideContext, expect_this, method_not_found};
use crate::emulator::Emulator;
use crate::soap::Element;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use placement::{datastores, placement};
pub use profiles::{MAX_PROFILES, PbmStore, Profile};
use profiles::{create, delete, profile_id, resource_type, update};

const PROFILE_MANAGER: &str = "PbmProfileProfileManager";
const PLACEMENT_SOLVER: &str = "PbmPlacementSolver";
const COMPLIANCE_MANAGER: &str = "PbmComplianceManager";

fn service_content(emu: &Emulator) -> Value {
    // PBM reports the vCenter instance it runs in.
    let instance = emu
        .inv
        .prop(&emu.refs.service_instance, "content")
        .and_then(|c| c.field("about"))
        .and_then(|a| a.field("instanceUuid"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let r = |ty: &'static str, v: &str| Value::moref(&MoRef::new(ty, v));
    DataObject::new("PbmServiceInstanceContent")
        .with(
            "aboutInfo",
            DataObject::new("PbmAboutInfo")
                .with("name", Value::str("PBM"))
                .with("version", Value::str("2.0"))
                .with("instanceUuid", Value::str(instance))
                .into_value(),
        )
        .with("sessionManager", r("PbmSessionManager", "SessionManager"))
        .with(
            "capabilityMetadataManager",
            r("PbmCapabilityMetadataManager", "CapabilityMetadataManager"),
        )
        .with("profileManager", r(PROFILE_MANAGER, "ProfileManager"))
        .with(
            "complianceManager",
            r(COMPLIANCE_MANAGER, "complianceManager"),
        )
        .with("placementSolver", r(PLACEMENT_SOLVER, "placementSolver"))
        .with(
            "replicationManager",
            r("PbmReplicationManager", "ReplicationManager"),
        )
        .into_value()
}

/// Answers one PBM call.
pub fn dispatch(
    emu: &mut Emulator,
    ctx: &SideContext,
    call: &SideCall,
) -> Result<Option<Value>, Fault> {
    let now = emu.clock.now_ms();
    let start = emu.clock.start_ms();
    let user = ctx.user.clone().unwrap_or_default();
    match call.method.as_str() {
        "PbmRetrieveServiceContent" => {
            expect_this(call, "PbmServiceInstance")?;
            Ok(Some(service_content(emu)))
        }
        "PbmQueryProfile" => {
            expect_this(call, PROFILE_MANAGER)?;
            let rt = call
                .args
                .child("resourceType")
                .and_then(|r| r.child_text("resourceType"))
                .ok_or_else(|| Fault::invalid_argument("resourceType"))?;
            let category = call
                .args
                .child_text("profileCategory")
                .filter(|c| !c.is_empty());
            let ids = if rt == "STORAGE" {
                emu.side
                    .pbm
                    .profiles(start)
                    .iter()
                    .filter(|p| category.is_none_or(|c| c == p.category))
                    .map(|p| profile_id(&p.id))
                    .collect()
            } else {
                Vec::new()
            };
            Ok(Some(Value::array("PbmProfileId", ids)))
        }
        "PbmRetrieveContent" => {
            expect_this(call, PROFILE_MANAGER)?;
            let ids = ids_in(&call.args, "profileIds");
            if ids.is_empty() {
                return Err(Fault::new("InvalidRequest", "profileIds is empty"));
            }
            let profiles = emu.side.pbm.profiles(start);
            let out = ids
                .iter()
                .map(|id| {
                    profiles
                        .iter()
                        .find(|p| p.id == *id)
                        .map(Profile::to_value)
                        .ok_or_else(|| Fault::invalid_argument("profileId"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Value::array("PbmProfile", out)))
        }
        "PbmCreate" => {
            expect_this(call, PROFILE_MANAGER)?;
            let idgen = &mut emu.idgen;
            create(
                emu.side.pbm.profiles(start),
                call,
                || idgen.uuid(),
                &user,
                now,
            )
            .map(Some)
        }
        "PbmUpdate" => {
            expect_this(call, PROFILE_MANAGER)?;
            update(emu.side.pbm.profiles(start), call, &user, now).map(|_| None)
        }
        "PbmDelete" => {
            expect_this(call, PROFILE_MANAGER)?;
            Ok(Some(delete(emu.side.pbm.profiles(start), call)))
        }
        "PbmQueryAssociatedEntity" | "PbmQueryAssociatedEntities" => {
            expect_this(call, PROFILE_MANAGER)?;
            let field = if call.method == "PbmQueryAssociatedEntity" {
                "profile"
            } else {
                "profiles"
            };
            let profiles = emu.side.pbm.profiles(start);
            for id in ids_in(&call.args, field) {
                if !profiles.iter().any(|p| p.id == id) {
                    return Err(Fault::invalid_argument(field));
                }
            }
            // No entity is associated with a policy here.
            let item = if field == "profile" {
                "PbmServerObjectRef"
            } else {
                "PbmQueryProfileResult"
            };
            Ok(Some(Value::array(item, vec![])))
        }
        "PbmQueryAssociatedProfile" => {
            expect_this(call, PROFILE_MANAGER)?;
            Ok(Some(Value::array("PbmProfileId", vec![])))
        }
        "PbmQueryAssociatedProfiles" => {
            expect_this(call, PROFILE_MANAGER)?;
            let out = call
                .args
                .children_named("entities")
                .take(MAX_PROFILES)
                .map(|e| {
                    DataObject::new("PbmQueryProfileResult")
                        .with("object", server_object_ref(e))
                        .into_value()
                })
                .collect();
            Ok(Some(Value::array("PbmQueryProfileResult", out)))
        }
        "PbmFetchResourceType" => {
            expect_this(call, PROFILE_MANAGER)?;
            Ok(Some(Value::array(
                "PbmProfileResourceType",
                vec![resource_type("STORAGE")],
            )))
        }
        "PbmFetchCapabilityMetadata" | "PbmFetchCapabilitySchema" | "PbmFetchVendorInfo" => {
            expect_this(call, PROFILE_MANAGER)?;
            Ok(Some(Value::array(
                "PbmCapabilityMetadataPerCategory",
                vec![],
            )))
        }
        "PbmQueryDefaultRequirementProfile" => {
            expect_this(call, PROFILE_MANAGER)?;
            let hub = call
                .args
                .child("hub")
                .and_then(|h| h.child_text("hubId"))
                .ok_or_else(|| Fault::invalid_argument("hub"))?;
            let ty = datastores(emu)
                .into_iter()
                .find(|(id, _, _)| id == hub)
                .map(|(_, _, ty)| ty)
                .ok_or_else(|| Fault::invalid_argument("hub"))?;
            let profiles = emu.side.pbm.profiles(start);
            Ok(profiles
                .iter()
                .find(|p| p.system_type.is_some() && p.hub_type() == Some(ty.as_str()))
                .map(|p| profile_id(&p.id)))
        }
        "PbmQueryMatchingHub" | "PbmCheckCompatibility" | "PbmCheckRequirements" => {
            expect_this(call, PLACEMENT_SOLVER)?;
            placement(emu, call, start)
        }
        "PbmFetchComplianceResult"
        | "PbmCheckCompliance"
        | "PbmFetchRollupComplianceResult"
        | "PbmCheckRollupCompliance" => {
            expect_this(call, COMPLIANCE_MANAGER)?;
            Ok(Some(Value::array("PbmComplianceResult", vec![])))
        }
        _ => Err(method_not_found(call)),
    }
}

/// The `uniqueId`s of the `PbmProfileId` children named `name`.
fn ids_in(args: &Element, name: &str) -> Vec<String> {
    args.children_named(name)
        .take(MAX_PROFILES)
        .filter_map(|e| e.child_text("uniqueId").map(str::to_owned))
        .collect()
}

fn server_object_ref(e: &Element) -> Value {
    let t = |n: &str| Value::str(e.child_text(n).unwrap_or(""));
    DataObject::new("PbmServerObjectRef")
        .with("objectType", t("objectType"))
        .with("key", t("key"))
        .into_value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use profiles::MAX_CONSTRAINTS_BYTES;

    pub(super) fn call(body: &str) -> SideCall {
        let env = format!(
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><e:Body>{body}</e:Body></e:Envelope>"#
        );
        super::super::read_side_call(&env).unwrap()
    }

    pub(super) fn ctx() -> SideContext {
        SideContext {
            user: Some("user".into()),
            base_url: "http://127.0.0.1".into(),
        }
    }

    const PM: &str = r#"<_this type="PbmProfileProfileManager">ProfileManager</_this>"#;

    #[test]
    fn defaults_are_vcenters_four_policies() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let ids = dispatch(
            &mut emu,
            &ctx(),
            &call(&format!(
                r#"<PbmQueryProfile xmlns="urn:pbm">{PM}<resourceType><resourceType>STORAGE</resourceType></resourceType><profileCategory>REQUIREMENT</profileCategory></PbmQueryProfile>"#
            )),
        )
        .unwrap()
        .unwrap();
        assert_eq!(ids.items().len(), 4);
        let names: Vec<String> = emu
            .side
            .pbm
            .profiles(0)
            .iter()
            .map(|p| p.name.clone())
            .collect();
        assert!(names.contains(&"vSAN Default Storage Policy".to_owned()));
        assert!(names.contains(&"Host-local PMem Default Storage Policy".to_owned()));
    }

    #[test]
    fn create_duplicate_and_delete() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let create = format!(
            r#"<PbmCreate xmlns="urn:pbm">{PM}<createSpec><name>gold</name><resourceType><resourceType>STORAGE</resourceType></resourceType><constraints xsi:type="PbmCapabilityConstraints"/></createSpec></PbmCreate>"#
        );
        let id = dispatch(&mut emu, &ctx(), &call(&create)).unwrap().unwrap();
        let id = id
            .field("uniqueId")
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        let dup = dispatch(&mut emu, &ctx(), &call(&create)).unwrap_err();
        assert_eq!(dup.ty, "PbmDuplicateName");
        let del = dispatch(
            &mut emu,
            &ctx(),
            &call(&format!(
                r#"<PbmDelete xmlns="urn:pbm">{PM}<profileId><uniqueId>{id}</uniqueId></profileId><profileId><uniqueId>aa6d5a82-1c88-45da-85d3-3d74b91a5bad</uniqueId></profileId></PbmDelete>"#
            )),
        )
        .unwrap()
        .unwrap();
        // Only the system policy's refusal is reported.
        assert_eq!(del.items().len(), 1);
        assert_eq!(emu.side.pbm.profiles(0).len(), 4);
    }

    #[test]
    fn vsan_policy_matches_no_vmfs_datastore_and_encryption_matches_all() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let all = placement::datastores(&emu).len();
        assert!(all > 0);
        let q = |id: &str| {
            call(&format!(
                r#"<PbmQueryMatchingHub xmlns="urn:pbm"><_this type="PbmPlacementSolver">placementSolver</_this><profile><uniqueId>{id}</uniqueId></profile></PbmQueryMatchingHub>"#
            ))
        };
        let vsan = dispatch(&mut emu, &ctx(), &q("aa6d5a82-1c88-45da-85d3-3d74b91a5bad"))
            .unwrap()
            .unwrap();
        assert_eq!(vsan.items().len(), 0);
        let enc = dispatch(&mut emu, &ctx(), &q("4d5f673c-536f-11e6-beb8-9e71128cae77"))
            .unwrap()
            .unwrap();
        assert_eq!(enc.items().len(), all);
        let bad = dispatch(&mut emu, &ctx(), &q("nope")).unwrap_err();
        assert_eq!(bad.ty, "InvalidArgument");
    }

    #[test]
    fn a_refused_create_changes_nothing_and_constraints_are_bounded() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let spec = |name: &str, constraints: &str| {
            call(&format!(
                r#"<PbmCreate xmlns="urn:pbm">{PM}<createSpec><name>{name}</name><resourceType><resourceType>STORAGE</resourceType></resourceType>{constraints}</createSpec></PbmCreate>"#
            ))
        };
        let big = format!(
            r#"<constraints xsi:type="PbmCapabilityConstraints"><x>{}</x></constraints>"#,
            "a".repeat(MAX_CONSTRAINTS_BYTES + 1)
        );
        let next_id = emu.idgen.clone().uuid();
        let f = dispatch(&mut emu, &ctx(), &spec("big", &big)).unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        let long = "d".repeat(5000);
        let f = dispatch(
            &mut emu,
            &ctx(),
            &spec("long", &format!("<description>{long}</description>")),
        )
        .unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        assert_eq!(emu.side.pbm.profiles(0).len(), 4);
        let id = dispatch(&mut emu, &ctx(), &spec("small", ""))
            .unwrap()
            .unwrap();
        assert_eq!(
            id.field("uniqueId").and_then(Value::as_str),
            Some(next_id.as_str()),
            "refused creates drew no id"
        );
        let update = call(&format!(
            r#"<PbmUpdate xmlns="urn:pbm">{PM}<profileId><uniqueId>{next_id}</uniqueId></profileId><updateSpec><name>renamed</name>{big}</updateSpec></PbmUpdate>"#
        ));
        assert_eq!(
            dispatch(&mut emu, &ctx(), &update).unwrap_err().ty,
            "InvalidArgument"
        );
        let names: Vec<String> = emu
            .side
            .pbm
            .profiles(0)
            .iter()
            .map(|p| p.name.clone())
            .collect();
        assert!(
            names.contains(&"small".to_owned()),
            "a refused update renames nothing"
        );
    }
}

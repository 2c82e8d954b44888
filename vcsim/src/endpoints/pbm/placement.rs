//! The placement solver: which datastores (hubs) a policy fits. The vSAN, VVol and PMem
//! policies (and created ones with `VSAN` or `PMem` capabilities) fit only datastores of
//! that type, as vCenter's solver has it; the others fit every datastore.

use super::ids_in;
use crate::emulator::Emulator;
use crate::endpoints::SideCall;
use crate::vmodl::{DataObject, Fault, Value};

/// Every datastore: (MoRef value, name, `summary.type`).
pub(super) fn datastores(emu: &Emulator) -> Vec<(String, String, String)> {
    emu.inv
        .of_type("Datastore")
        .iter()
        .filter_map(|r| emu.inv.get(r).ok())
        .map(|o| {
            let ty = o
                .get("summary")
                .and_then(|s| s.field("type"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            (o.moref.value.clone(), o.name().to_owned(), ty)
        })
        .collect()
}

fn hub(id: &str) -> Value {
    DataObject::new("PbmPlacementHub")
        .with("hubType", Value::str("Datastore"))
        .with("hubId", Value::str(id))
        .into_value()
}

/// `PbmQueryMatchingHub` (hubs that satisfy the policy), `PbmCheckCompatibility` and
/// `PbmCheckRequirements` (one result per hub, with an error for the hubs that do not).
pub(super) fn placement(
    emu: &mut Emulator,
    call: &SideCall,
    start: i64,
) -> Result<Option<Value>, Fault> {
    let wanted: Vec<String> = call
        .args
        .children_named("hubsToSearch")
        .filter(|h| h.child_text("hubType") == Some("Datastore"))
        .filter_map(|h| h.child_text("hubId").map(str::to_owned))
        .collect();
    let searched = call.args.child("hubsToSearch").is_some();
    let hubs: Vec<(String, String, String)> = datastores(emu)
        .into_iter()
        .filter(|(id, _, _)| !searched || wanted.contains(id))
        .collect();
    let profile_id = if call.method == "PbmCheckRequirements" {
        call.args
            .children_named("placementSubjectRequirement")
            .find_map(|r| r.child("profileId").and_then(|p| p.child_text("uniqueId")))
            .map(str::to_owned)
    } else {
        Some(
            ids_in(&call.args, "profile")
                .pop()
                .ok_or_else(|| Fault::invalid_argument("profile"))?,
        )
    };
    let need = match &profile_id {
        Some(id) => {
            let profiles = emu.side.pbm.profiles(start);
            let p = profiles
                .iter()
                .find(|p| p.id == *id)
                .ok_or_else(|| Fault::invalid_argument("profile"))?;
            p.hub_type()
        }
        None => None,
    };
    let fits = |ty: &str| need.is_none_or(|n| n == ty);
    if call.method == "PbmQueryMatchingHub" {
        let out = hubs
            .iter()
            .filter(|(_, _, ty)| fits(ty))
            .map(|(id, _, _)| hub(id))
            .collect();
        return Ok(Some(Value::array("PbmPlacementHub", out)));
    }
    let out = hubs
        .iter()
        .map(|(id, name, ty)| {
            let mut r = DataObject::new("PbmPlacementCompatibilityResult").with("hub", hub(id));
            if !fits(ty) {
                let f = Fault::new(
                    "PbmFault",
                    format!(
                        "Datastore {name} ({ty}) does not satisfy the storage policy: it needs a {} datastore",
                        need.unwrap_or("")
                    ),
                );
                r = r.with(
                    "error",
                    Value::array("LocalizedMethodFault", vec![f.to_localized()]),
                );
            }
            r.into_value()
        })
        .collect();
    Ok(Some(Value::array("PbmPlacementCompatibilityResult", out)))
}

//! vSAN health and performance (`/vsanHealth`, namespace `urn:vsan`): the calls govmomi's
//! `vsan` client and govc's `vsan.*` commands make, answered for clusters that do not run
//! vSAN (the emulator's datastores are VMFS): `VsanClusterGetConfig` says vSAN is
//! disabled, `VsanPerfQueryPerf` has no samples, `VsanQueryVcClusterHealthSummary` is a
//! summary without findings, `VsanQueryObjectIdentities` has no objects. Other methods
//! answer `MethodNotFound`.

use super::{SideCall, SideContext, method_not_found};
use crate::emulator::Emulator;
use crate::soap::decode::moref;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// The cluster argument `name`, which must name a cluster of the inventory.
fn cluster(emu: &Emulator, call: &SideCall, name: &str) -> Result<Option<MoRef>, Fault> {
    let Some(c) = call.args.child(name) else {
        return Ok(None);
    };
    let c = moref(c).ok_or_else(|| Fault::invalid_argument(name))?;
    // The type first: a fault must not tell whether some other object (another session's
    // view, say) exists.
    if c.ty != "ClusterComputeResource" {
        return Err(Fault::invalid_argument(name));
    }
    emu.inv.get(&c)?;
    Ok(Some(c))
}

/// Answers one vSAN health call.
pub fn dispatch(
    emu: &mut Emulator,
    _ctx: &SideContext,
    call: &SideCall,
) -> Result<Option<Value>, Fault> {
    let this = call.this.ty.as_ref();
    match (this, call.method.as_str()) {
        ("VsanVcClusterConfigSystem", "VsanClusterGetConfig") => {
            cluster(emu, call, "cluster")?.ok_or_else(|| Fault::invalid_argument("cluster"))?;
            Ok(Some(
                DataObject::new("VsanConfigInfoEx")
                    .with("enabled", Value::Bool(false))
                    .with(
                        "defaultConfig",
                        DataObject::new("VsanClusterConfigInfoHostDefaultInfo")
                            .with("autoClaimStorage", Value::Bool(false))
                            .with("checksumEnabled", Value::Bool(false))
                            .into_value(),
                    )
                    .into_value(),
            ))
        }
        ("VsanPerformanceManager", "VsanPerfQueryPerf") => {
            cluster(emu, call, "cluster")?;
            Ok(Some(Value::array("VsanPerfEntityMetricCSV", vec![])))
        }
        ("VsanPerformanceManager", "VsanPerfGetSupportedEntityTypes") => {
            Ok(Some(Value::array("VsanPerfEntityType", vec![])))
        }
        ("VsanPerformanceManager", "VsanPerfQueryNodeInformation") => {
            cluster(emu, call, "cluster")?;
            Ok(Some(Value::array("VsanPerfNodeInformation", vec![])))
        }
        ("VsanVcClusterHealthSystem", "VsanQueryVcClusterHealthSummary") => {
            cluster(emu, call, "cluster")?;
            Ok(Some(
                DataObject::new("VsanClusterHealthSummary")
                    .with("timestamp", Value::DateTime(emu.clock.now_ms()))
                    .with("overallHealth", Value::str("green"))
                    .with(
                        "overallHealthDescription",
                        Value::str("vSAN is not enabled on this cluster"),
                    )
                    .into_value(),
            ))
        }
        ("VsanObjectSystem", "VsanQueryObjectIdentities") => {
            cluster(emu, call, "cluster")?;
            Ok(Some(
                DataObject::new("VsanObjectIdentityAndHealth").into_value(),
            ))
        }
        _ => Err(method_not_found(call)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn call(body: &str) -> SideCall {
        let env = format!(
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>{body}</e:Body></e:Envelope>"#
        );
        super::super::read_side_call(&env).unwrap()
    }

    #[test]
    fn config_of_a_cluster_and_faults() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let cl = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "ClusterComputeResource")
            .unwrap()
            .moref
            .value
            .clone();
        let ctx = SideContext {
            user: Some("u".into()),
            base_url: String::new(),
        };
        let ok = dispatch(
            &mut emu,
            &ctx,
            &call(&format!(
                r#"<VsanClusterGetConfig xmlns="urn:vsan"><_this type="VsanVcClusterConfigSystem">vsan-cluster-config-system</_this><cluster type="ClusterComputeResource">{cl}</cluster></VsanClusterGetConfig>"#
            )),
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok.field("enabled"), Some(&Value::Bool(false)));
        let gone = dispatch(
            &mut emu,
            &ctx,
            &call(r#"<VsanClusterGetConfig xmlns="urn:vsan"><_this type="VsanVcClusterConfigSystem">vsan-cluster-config-system</_this><cluster type="ClusterComputeResource">domain-c999</cluster></VsanClusterGetConfig>"#),
        )
        .unwrap_err();
        assert_eq!(gone.ty, "ManagedObjectNotFound");
        let unknown = dispatch(
            &mut emu,
            &ctx,
            &call(r#"<VsanClusterReconfig xmlns="urn:vsan"><_this type="VsanVcClusterConfigSystem">vsan-cluster-config-system</_this></VsanClusterReconfig>"#),
        )
        .unwrap_err();
        assert_eq!(unknown.ty, "MethodNotFound");
    }
}

//! The SSO lookup service (`/lookupservice/sdk`, namespace `urn:lookup`, version 2.0):
//! `RetrieveServiceContent` on `LookupServiceInstance`, and `List`, `Get` and `GetSiteId`
//! on `LookupServiceRegistration`.
//!
//! The registrations are the ones clients look up to find a vCenter's endpoints: the SSO
//! security token service (registered twice, as `cs.identity` and under the obsolete
//! `sso:sts` type PowerCLI still asks for), the vCenter server's vim25 endpoint, and the
//! vAPI endpoint; every URL is the server's own as the client reached it.

use super::{SideCall, SideContext, expect_this, method_not_found};
use crate::emulator::Emulator;
use crate::soap::Element;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// The lookup service's site (vCenter's default SSO site name).
pub const SITE_ID: &str = "default-site";
/// The lookup service API version.
const LOOKUP_VERSION: &str = "2.0";
/// The SSO domain vCenter installs by default.
const SSO_DOMAIN: &str = "vsphere.local";

fn service_instance() -> MoRef {
    MoRef::new("LookupServiceInstance", "ServiceInstance")
}

fn registration() -> MoRef {
    MoRef::new("LookupServiceRegistration", "ServiceRegistration")
}

/// Answers one lookup-service call.
pub fn dispatch(
    emu: &mut Emulator,
    ctx: &SideContext,
    call: &SideCall,
) -> Result<Option<Value>, Fault> {
    match call.method.as_str() {
        "RetrieveServiceContent" => {
            if call.this != service_instance() {
                return Err(method_not_found(call));
            }
            Ok(Some(content()))
        }
        "GetSiteId" => {
            expect_this(call, "LookupServiceRegistration")?;
            Ok(Some(Value::str(SITE_ID)))
        }
        "List" => {
            expect_this(call, "LookupServiceRegistration")?;
            // A real PSC answers a List without criteria with this fault (as vcsim notes).
            let filter = call.args.child("filterCriteria").ok_or_else(|| {
                Fault::new("SystemError", "LookupFaultServiceFault")
                    .with("reason", Value::str("Invalid fault"))
            })?;
            let items: Vec<Value> = registrations(emu, ctx)
                .into_iter()
                .filter_map(|r| r.matching(filter))
                .map(|r| r.to_value())
                .collect();
            Ok(Some(Value::array("LookupServiceRegistrationInfo", items)))
        }
        "Get" => {
            expect_this(call, "LookupServiceRegistration")?;
            let id = super::required_text(call, "serviceId")?;
            registrations(emu, ctx)
                .into_iter()
                .find(|r| r.service_id == id)
                .map(|r| Some(r.to_value()))
                .ok_or_else(|| {
                    Fault::new("LookupFaultEntryNotFoundFault", format!("{id} not found"))
                        .with("name", Value::str(id))
                })
        }
        _ => Err(method_not_found(call)),
    }
}

fn content() -> Value {
    DataObject::new("LookupServiceContent")
        .with(
            "lookupService",
            Value::moref(&MoRef::new("LookupLookupService", "lookupService")),
        )
        .with("serviceRegistration", Value::moref(&registration()))
        .with(
            "deploymentInformationService",
            Value::moref(&MoRef::new(
                "LookupDeploymentInformationService",
                "deploymentInformationService",
            )),
        )
        .with("l10n", Value::moref(&MoRef::new("LookupL10n", "l10n")))
        .into_value()
}

/// One endpoint of a registration.
#[derive(Clone, Debug)]
struct Endpoint {
    url: String,
    protocol: &'static str,
    ty: &'static str,
}

/// One service registration.
#[derive(Clone, Debug)]
struct Registration {
    service_id: String,
    node_id: String,
    owner: String,
    product: &'static str,
    ty: &'static str,
    version: String,
    endpoints: Vec<Endpoint>,
    attributes: Vec<(&'static str, String)>,
}

impl Registration {
    /// The registration as the filter keeps it (endpoints narrowed by `endpointType`), or
    /// `None` when it does not match.
    fn matching(mut self, filter: &Element) -> Option<Registration> {
        let text =
            |e: &Element, n: &str| e.child_text(n).filter(|t| !t.is_empty()).map(str::to_owned);
        if text(filter, "siteId").is_some_and(|s| s != SITE_ID) {
            return None;
        }
        if text(filter, "nodeId").is_some_and(|n| n != self.node_id) {
            return None;
        }
        if let Some(st) = filter.child("serviceType")
            && (text(st, "product").is_some_and(|p| p != self.product)
                || text(st, "type").is_some_and(|t| t != self.ty))
        {
            return None;
        }
        if let Some(et) = filter.child("endpointType") {
            let protocol = text(et, "protocol");
            let ty = text(et, "type");
            self.endpoints.retain(|e| {
                protocol.as_deref().is_none_or(|p| p == e.protocol)
                    && ty.as_deref().is_none_or(|t| t == e.ty)
            });
            if self.endpoints.is_empty() {
                return None;
            }
        }
        Some(self)
    }

    fn to_value(&self) -> Value {
        let attr = |k: &str, v: &str| {
            DataObject::new("LookupServiceRegistrationAttribute")
                .with("key", Value::str(k))
                .with("value", Value::str(v))
                .into_value()
        };
        let endpoints = self
            .endpoints
            .iter()
            .map(|e| {
                DataObject::new("LookupServiceRegistrationEndpoint")
                    .with("url", Value::str(e.url.clone()))
                    .with(
                        "endpointType",
                        DataObject::new("LookupServiceRegistrationEndpointType")
                            .with("protocol", Value::str(e.protocol))
                            .with("type", Value::str(e.ty))
                            .into_value(),
                    )
                    .with(
                        "endpointAttributes",
                        Value::array(
                            "LookupServiceRegistrationAttribute",
                            vec![attr("cis.common.ep.localurl", &e.url)],
                        ),
                    )
                    .into_value()
            })
            .collect();
        let mut d = DataObject::new("LookupServiceRegistrationInfo")
            .with("serviceVersion", Value::str(self.version.clone()))
            .with("vendorNameResourceKey", Value::str("AboutInfo.vendor"))
            .with("vendorNameDefault", Value::str("VMware, Inc."))
            .with(
                "serviceEndpoints",
                Value::array("LookupServiceRegistrationEndpoint", endpoints),
            );
        if !self.attributes.is_empty() {
            d = d.with(
                "serviceAttributes",
                Value::array(
                    "LookupServiceRegistrationAttribute",
                    self.attributes.iter().map(|(k, v)| attr(k, v)).collect(),
                ),
            );
        }
        d.with("ownerId", Value::str(self.owner.clone()))
            .with(
                "serviceType",
                DataObject::new("LookupServiceRegistrationServiceType")
                    .with("product", Value::str(self.product))
                    .with("type", Value::str(self.ty))
                    .into_value(),
            )
            .with("nodeId", Value::str(self.node_id.clone()))
            .with("serviceId", Value::str(self.service_id.clone()))
            .with("siteId", Value::str(SITE_ID))
            .into_value()
    }
}

/// The registrations, built from the server's identity (instance UUID, API version) and the
/// URL the client used.
fn registrations(emu: &Emulator, ctx: &SideContext) -> Vec<Registration> {
    let about = emu.inv.prop(&emu.refs.service_instance, "content");
    let about = about.and_then(|c| c.field("about"));
    let about_str = |f: &str| {
        about
            .and_then(|a| a.field(f))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let instance = about_str("instanceUuid");
    let api = about_str("apiVersion");
    let base = &ctx.base_url;
    // vCenter's SSO administrator (as vcsim's `config.vpxd.sso.default.admin`), never the
    // configured login name: this service answers anyone, before any login, and must not
    // hand out half of the credentials.
    let admin = format!("Administrator@{SSO_DOMAIN}");
    let sts = Registration {
        service_id: format!("{SITE_ID}:{instance}-sts"),
        node_id: instance.clone(),
        owner: admin.clone(),
        product: "com.vmware.cis",
        ty: "cs.identity",
        version: LOOKUP_VERSION.to_owned(),
        endpoints: vec![Endpoint {
            url: format!("{base}/sts/STSService/{SSO_DOMAIN}"),
            protocol: "wsTrust",
            ty: "com.vmware.cis.cs.identity.sso",
        }],
        attributes: vec![],
    };
    let mut legacy_sts = sts.clone();
    legacy_sts.service_id = format!("{SITE_ID}:{instance}-sso-sts");
    legacy_sts.ty = "sso:sts";
    let solution_user = format!("vpxd-{instance}@{SSO_DOMAIN}");
    vec![
        sts,
        legacy_sts,
        Registration {
            service_id: instance.clone(),
            node_id: instance.clone(),
            owner: solution_user.clone(),
            product: "com.vmware.cis",
            ty: "vcenterserver",
            version: api,
            endpoints: vec![Endpoint {
                url: format!("{base}/sdk"),
                protocol: "vmomi",
                ty: "com.vmware.vim",
            }],
            attributes: vec![
                (
                    "com.vmware.cis.cm.GroupInternalId",
                    "com.vmware.vim.vcenter".to_owned(),
                ),
                ("com.vmware.vim.vcenter.instanceName", "vicbed".to_owned()),
            ],
        },
        Registration {
            service_id: format!("{instance}-vapi"),
            node_id: instance,
            owner: solution_user,
            product: "com.vmware.cis",
            ty: "cs.vapi",
            version: "2.0".to_owned(),
            endpoints: vec![Endpoint {
                url: format!("{base}/api"),
                protocol: "vapi.json.https.public",
                ty: "com.vmware.vapi.endpoint",
            }],
            attributes: vec![],
        },
    ]
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

    fn ctx() -> SideContext {
        SideContext {
            user: None,
            base_url: "https://vc.example:8989".into(),
        }
    }

    #[test]
    fn list_filters_by_service_and_endpoint_type() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let r = dispatch(
            &mut emu,
            &ctx(),
            &call(
                r#"<List xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this><filterCriteria><serviceType><product>com.vmware.cis</product><type>vcenterserver</type></serviceType><endpointType><protocol>vmomi</protocol></endpointType></filterCriteria></List>"#,
            ),
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.items().len(), 1);
        let ep = &r.items()[0].field("serviceEndpoints").unwrap().items()[0];
        assert_eq!(
            ep.field("url").and_then(Value::as_str),
            Some("https://vc.example:8989/sdk")
        );
        let all = dispatch(
            &mut emu,
            &ctx(),
            &call(
                r#"<List xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this><filterCriteria/></List>"#,
            ),
        )
        .unwrap()
        .unwrap();
        assert_eq!(all.items().len(), 4);
    }

    #[test]
    fn anonymous_lookups_do_not_name_the_configured_user() {
        let mut emu = Emulator::new(Config {
            username: "secret-admin".into(),
            ..Config::default()
        })
        .unwrap();
        let all = dispatch(
            &mut emu,
            &ctx(),
            &call(
                r#"<List xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this><filterCriteria/></List>"#,
            ),
        )
        .unwrap()
        .unwrap();
        let owners: Vec<&str> = all
            .items()
            .iter()
            .filter_map(|r| r.field("ownerId").and_then(Value::as_str))
            .collect();
        assert_eq!(owners.len(), 4);
        assert!(
            owners.contains(&"Administrator@vsphere.local"),
            "{owners:?}"
        );
        assert!(
            !owners.iter().any(|o| o.contains("secret-admin")),
            "{owners:?}"
        );
    }

    #[test]
    fn list_without_criteria_and_unknown_methods_fault() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let f = dispatch(
            &mut emu,
            &ctx(),
            &call(
                r#"<List xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this></List>"#,
            ),
        )
        .unwrap_err();
        assert_eq!(f.ty, "SystemError");
        let f = dispatch(
            &mut emu,
            &ctx(),
            &call(
                r#"<Delete xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this></Delete>"#,
            ),
        )
        .unwrap_err();
        assert_eq!(f.ty, "MethodNotFound");
    }
}

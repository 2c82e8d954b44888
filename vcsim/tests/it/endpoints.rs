//! The side SOAP services (`/lookupservice/sdk`, `/pbm`, `/vsanHealth`) over the router
//! in-process, and the vCenter behaviours of Destroy_Task on a folder, CreateVM_Task with a
//! bad hardware version and QueryConfigOptionEx with a foreign host.

use crate::support::{Sim, envelope, fault, first, named, returnval, task, vim};
use axum::http::StatusCode;

fn cluster_pool(sim: &Sim) -> String {
    sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| {
                o.moref.ty == "ResourcePool"
                    && o.parent().is_some_and(|p| p.ty == "ClusterComputeResource")
            })
            .unwrap()
            .moref
            .value
            .clone()
    })
}

fn vm_folder(sim: &Sim) -> String {
    sim.vc.with(|e| {
        let dc = e.inv.iter().find(|o| o.moref.ty == "Datacenter").unwrap();
        dc.get("vmFolder")
            .and_then(|v| v.as_moref())
            .unwrap()
            .value
            .clone()
    })
}

fn create_vm(folder: &str, pool: &str, name: &str, version: &str) -> String {
    let version = if version.is_empty() {
        String::new()
    } else {
        format!("<version>{version}</version>")
    };
    vim(
        "CreateVM_Task",
        &format!(
            r#"<_this type="Folder">{folder}</_this><config><name>{name}</name>{version}<numCPUs>1</numCPUs><memoryMB>64</memoryMB><files><vmPathName>[LocalDS_0]</vmPathName></files></config><pool type="ResourcePool">{pool}</pool>"#
        ),
    )
}

async fn side(sim: &Sim, path: &str, body: &str) -> crate::support::Reply {
    sim.request("POST", path, envelope(body)).await
}

#[tokio::test]
async fn lookup_service_answers_anonymously_with_the_servers_urls() {
    let sim = Sim::new();
    let r = side(
        &sim,
        "/lookupservice/sdk",
        r#"<RetrieveServiceContent xmlns="urn:lookup"><_this type="LookupServiceInstance">ServiceInstance</_this></RetrieveServiceContent>"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains(r#"<RetrieveServiceContentResponse xmlns="urn:lookup">"#)
    );
    assert!(r.body.contains(
        r#"<serviceRegistration type="LookupServiceRegistration">ServiceRegistration</serviceRegistration>"#
    ));
    let r = side(
        &sim,
        "/lookupservice/sdk",
        r#"<List xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this><filterCriteria><serviceType><product>com.vmware.cis</product><type>cs.identity</type></serviceType></filterCriteria></List>"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.matches("<returnval").count(), 1, "{}", r.body);
    assert!(
        r.body
            .contains("<url>http://127.0.0.1/sts/STSService/vsphere.local</url>"),
        "{}",
        r.body
    );
    let site = side(
        &sim,
        "/lookupservice/sdk",
        r#"<GetSiteId xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this></GetSiteId>"#,
    )
    .await;
    assert_eq!(first(&site.body, "returnval"), Some("default-site"));
}

#[tokio::test]
async fn pbm_needs_the_vim25_session_and_faults_unknown_methods() {
    let mut sim = Sim::new();
    let content = r#"<PbmRetrieveServiceContent xmlns="urn:pbm"><_this type="PbmServiceInstance">ServiceInstance</_this></PbmRetrieveServiceContent>"#;
    let r = side(&sim, "/pbm/sdk", content).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.body.contains(r#"xsi:type="NotAuthenticated""#),
        "{}",
        r.body
    );
    sim.login().await;
    for path in ["/pbm", "/pbm/sdk"] {
        let r = side(&sim, path, content).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains("<profileManager type=\"PbmProfileProfileManager\">")
        );
    }
    let r = side(
        &sim,
        "/pbm",
        r#"<PbmNoSuchCall xmlns="urn:pbm"><_this type="PbmProfileProfileManager">ProfileManager</_this></PbmNoSuchCall>"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.body
            .contains(r#"<MethodNotFoundFault xmlns="urn:pbm" xsi:type="MethodNotFound">"#),
        "{}",
        r.body
    );
    let r = side(
        &sim,
        "/pbm",
        r#"<PbmRetrieveContent xmlns="urn:pbm"><_this type="PbmProfileProfileManager">ProfileManager</_this><profileIds><uniqueId>aa6d5a82-1c88-45da-85d3-3d74b91a5bad</uniqueId></profileIds></PbmRetrieveContent>"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains(r#"<returnval xsi:type="PbmCapabilityProfile">"#)
    );
    assert!(r.body.contains("<name>vSAN Default Storage Policy</name>"));
    assert!(r.body.contains(r#"<value xsi:type="xsd:int">1</value>"#));
}

#[tokio::test]
async fn side_services_bound_and_check_their_requests() {
    let sim = Sim::logged_in().await;
    let r = sim.request("GET", "/vsanHealth", String::new()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = sim.request("POST", "/pbm", "<not-soap".to_owned()).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("InvalidRequest"), "{}", r.body);
    let huge = "x".repeat(vcsim::endpoints::MAX_SIDE_BODY_BYTES + 1);
    let r = sim.request("POST", "/lookupservice/sdk", huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn vsan_health_answers_for_a_cluster() {
    let sim = Sim::logged_in().await;
    let cluster = crate::support::find(&sim, "ClusterComputeResource");
    let r = side(
        &sim,
        "/vsanHealth",
        &format!(
            r#"<VsanQueryVcClusterHealthSummary xmlns="urn:vsan"><_this type="VsanVcClusterHealthSystem">vsan-cluster-health-system</_this><cluster type="ClusterComputeResource">{cluster}</cluster><includeObjUuids>false</includeObjUuids></VsanQueryVcClusterHealthSummary>"#
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<overallHealth>green</overallHealth>"));
    let r = side(
        &sim,
        "/vsanHealth",
        r#"<VsanPerfQueryPerf xmlns="urn:vsan"><_this type="VsanPerformanceManager">vsan-performance-manager</_this><querySpecs><entityRefId>cluster-domclient:*</entityRefId></querySpecs></VsanPerfQueryPerf>"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn destroying_a_folder_destroys_its_contents() {
    let sim = Sim::logged_in().await;
    let root = vm_folder(&sim);
    let pool = cluster_pool(&sim);
    let top = returnval(
        &sim,
        &vim(
            "CreateFolder",
            &format!(r#"<_this type="Folder">{root}</_this><name>top</name>"#),
        ),
    )
    .await;
    let sub = returnval(
        &sim,
        &vim(
            "CreateFolder",
            &format!(r#"<_this type="Folder">{top}</_this><name>sub</name>"#),
        ),
    )
    .await;
    let (state, vm) = task(&sim, &create_vm(&sub, &pool, "inner", "")).await;
    assert_eq!(state, "success");
    let vm = vm.unwrap();
    let on = vim(
        "PowerOnVM_Task",
        &format!(r#"<_this type="VirtualMachine">{vm}</_this>"#),
    );
    assert_eq!(task(&sim, &on).await.0, "success");
    let destroy = vim(
        "Destroy_Task",
        &format!(r#"<_this type="Folder">{top}</_this>"#),
    );
    let (state, err) = task(&sim, &destroy).await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some("InvalidPowerState"))
    );
    // Nothing was removed by the failed destroy.
    assert_eq!(named(&sim, "Folder", "sub"), sub);
    let off = vim(
        "PowerOffVM_Task",
        &format!(r#"<_this type="VirtualMachine">{vm}</_this>"#),
    );
    assert_eq!(task(&sim, &off).await.0, "success");
    assert_eq!(task(&sim, &destroy).await.0, "success");
    sim.vc.with(|e| {
        for (ty, v) in [("Folder", &top), ("Folder", &sub), ("VirtualMachine", &vm)] {
            assert!(
                e.inv
                    .lookup(&vcsim::vmodl::MoRef::new(ty, v.clone()))
                    .is_none(),
                "{ty} {v} survived"
            );
        }
    });
    // The root folder is not destroyable.
    let root_folder = sim.vc.with(|e| e.root_folder().value.clone());
    let (state, err) = task(
        &sim,
        &vim(
            "Destroy_Task",
            &format!(r#"<_this type="Folder">{root_folder}</_this>"#),
        ),
    )
    .await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some("NotSupported"))
    );
}

#[tokio::test]
async fn create_vm_checks_the_hardware_version() {
    let sim = Sim::logged_in().await;
    let folder = vm_folder(&sim);
    let pool = cluster_pool(&sim);
    let (state, err) = task(&sim, &create_vm(&folder, &pool, "v99", "vmx-99")).await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some("VirtualHardwareVersionNotSupported"))
    );
    let (state, err) = task(&sim, &create_vm(&folder, &pool, "vbad", "garbage")).await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some("NotSupported"))
    );
    let (state, vm) = task(&sim, &create_vm(&folder, &pool, "v15", "vmx-15")).await;
    assert_eq!(state, "success");
    let version =
        crate::support::prop(&sim, "VirtualMachine", &vm.unwrap(), &["config", "version"]);
    assert_eq!(version.as_ref().and_then(|v| v.as_str()), Some("vmx-15"));
}

#[tokio::test]
async fn config_option_with_a_host_outside_the_compute_resource_is_invalid() {
    let sim = Sim::logged_in().await;
    let (browser, foreign) = sim.vc.with(|e| {
        let cluster = e
            .inv
            .iter()
            .find(|o| o.moref.ty == "ClusterComputeResource")
            .unwrap();
        let browser = cluster
            .get("environmentBrowser")
            .and_then(|v| v.as_moref())
            .unwrap()
            .value
            .clone();
        let inside = e.inv.refs(&cluster.moref, "host");
        let foreign = e
            .inv
            .iter()
            .find(|o| o.moref.ty == "HostSystem" && !inside.contains(&o.moref))
            .unwrap()
            .moref
            .value
            .clone();
        (browser, foreign)
    });
    fault(
        &sim,
        &vim(
            "QueryConfigOptionEx",
            &format!(
                r#"<_this type="EnvironmentBrowser">{browser}</_this><spec><host type="HostSystem">{foreign}</host></spec>"#
            ),
        ),
        "InvalidArgument",
    )
    .await;
    fault(
        &sim,
        &vim(
            "QueryConfigOption",
            &format!(
                r#"<_this type="EnvironmentBrowser">{browser}</_this><host type="HostSystem">{foreign}</host>"#
            ),
        ),
        "InvalidArgument",
    )
    .await;
}

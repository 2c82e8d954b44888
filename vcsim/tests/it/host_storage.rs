//! Host storage, firewall, search, privilege and Storage DRS faults over the wire: the
//! session and receiver checks, disconnected hosts, bad paths and names, unknown rulesets,
//! and certificate login without a certificate.

use crate::support::{Sim, fault, named, ok, prop_ref, returnval, task, vim};

fn this(ty: &str, v: &str) -> String {
    format!(r#"<_this type="{ty}">{v}</_this>"#)
}

fn mo(tag: &str, ty: &str, v: &str) -> String {
    format!(r#"<{tag} type="{ty}">{v}</{tag}>"#)
}

/// The host DC0_H0 and its datastore, storage and firewall systems.
fn managers(sim: &Sim) -> (String, String, String, String) {
    let host = named(sim, "HostSystem", "DC0_H0");
    let m = |f: &str| prop_ref(sim, "HostSystem", &host, &["configManager", f]);
    (
        host.clone(),
        m("datastoreSystem"),
        m("storageSystem"),
        m("firewallSystem"),
    )
}

#[tokio::test]
async fn session_and_receiver_checks() {
    let mut sim = Sim::new();
    let (_, dss, _, fw) = managers(&sim);
    let create = vim(
        "CreateLocalDatastore",
        &format!(
            "{}<name>x</name><path>/tmp/x</path>",
            this("HostDatastoreSystem", &dss)
        ),
    );
    fault(&sim, &create, "NotAuthenticated").await;
    // Certificate login needs no session, and no certificate reaches the SOAP layer.
    let login = vim(
        "LoginExtensionByCertificate",
        &format!(
            "{}<extensionKey>com.example.ext</extensionKey>",
            this("SessionManager", "SessionManager")
        ),
    );
    fault(&sim, &login, "NoClientCertificate").await;
    sim.login().await;
    let wrong = vim(
        "EnableRuleset",
        &format!("{}<id>dns</id>", this("HostDatastoreSystem", &dss)),
    );
    fault(&sim, &wrong, "MethodNotFound").await;
    let gone = vim(
        "EnableRuleset",
        &format!(
            "{}<id>dns</id>",
            this("HostFirewallSystem", "firewallSystem-none")
        ),
    );
    fault(&sim, &gone, "ManagedObjectNotFound").await;
    let unknown = vim(
        "DisableRuleset",
        &format!("{}<id>noSuchRuleset</id>", this("HostFirewallSystem", &fw)),
    );
    fault(&sim, &unknown, "NotFound").await;
    ok(&sim, &create).await;
    fault(&sim, &create, "DuplicateName").await;
    let relative = vim(
        "CreateLocalDatastore",
        &format!(
            "{}<name>rel</name><path>tmp/rel</path>",
            this("HostDatastoreSystem", &dss)
        ),
    );
    fault(&sim, &relative, "HostConfigFault").await;
    let nas_no_remote = vim(
        "CreateNasDatastore",
        &format!(
            "{}<spec><remoteHost></remoteHost><remotePath>/e</remotePath><localPath>n</localPath><accessMode>readWrite</accessMode></spec>",
            this("HostDatastoreSystem", &dss)
        ),
    );
    fault(&sim, &nas_no_remote, "InvalidArgument").await;
}

#[tokio::test]
async fn a_disconnected_host_answers_host_not_connected() {
    let sim = Sim::logged_in().await;
    let (host, dss, ss, fw) = managers(&sim);
    let rescan = vim("RescanAllHba", &this("HostStorageSystem", &ss));
    ok(&sim, &rescan).await;
    let (state, _) = task(
        &sim,
        &vim("DisconnectHost_Task", &this("HostSystem", &host)),
    )
    .await;
    assert_eq!(state, "success");
    fault(&sim, &rescan, "HostNotConnected").await;
    let refresh = vim("RefreshStorageSystem", &this("HostStorageSystem", &ss));
    fault(&sim, &refresh, "HostNotConnected").await;
    let enable = vim(
        "EnableRuleset",
        &format!("{}<id>dns</id>", this("HostFirewallSystem", &fw)),
    );
    fault(&sim, &enable, "HostNotConnected").await;
    let create = vim(
        "CreateLocalDatastore",
        &format!(
            "{}<name>y</name><path>/tmp/y</path>",
            this("HostDatastoreSystem", &dss)
        ),
    );
    fault(&sim, &create, "HostNotConnected").await;
}

#[tokio::test]
async fn search_and_privilege_faults() {
    let sim = Sim::logged_in().await;
    let dc = named(&sim, "Datacenter", "DC0");
    let si = this("SearchIndex", "SearchIndex");
    let bad_path = vim(
        "FindByDatastorePath",
        &format!(
            "{si}{}<path>no brackets</path>",
            mo("datacenter", "Datacenter", &dc)
        ),
    );
    fault(&sim, &bad_path, "InvalidDatastorePath").await;
    let no_dc = vim(
        "FindByDatastorePath",
        &format!(
            "{si}{}<path>[LocalDS_0] a/a.vmx</path>",
            mo("datacenter", "Datacenter", "datacenter-999")
        ),
    );
    fault(&sim, &no_dc, "ManagedObjectNotFound").await;
    let no_flag = vim("FindAllByIp", &format!("{si}<ip>10.0.0.1</ip>"));
    fault(&sim, &no_flag, "InvalidArgument").await;
    let empty = returnval(
        &sim,
        &vim(
            "FindAllByIp",
            &format!("{si}<ip>127.0.0.1</ip><vmSearch>false</vmSearch>"),
        ),
    )
    .await;
    assert!(!empty.is_empty());
    let am = this("AuthorizationManager", "AuthorizationManager");
    let gone = vim(
        "FetchUserPrivilegeOnEntities",
        &format!(
            "{am}{}<userName>user</userName>",
            mo("entities", "VirtualMachine", "vm-99999")
        ),
    );
    fault(&sim, &gone, "ManagedObjectNotFound").await;
    let none = vim(
        "HasUserPrivilegeOnEntities",
        &format!("{am}<userName>user</userName><privId>System.View</privId>"),
    );
    fault(&sim, &none, "InvalidArgument").await;
    let srm = this("StorageResourceManager", "StorageResourceManager");
    let no_pod = vim(
        "RecommendDatastores",
        &format!(
            "{srm}<storageSpec><type>relocate</type>{}<podSelectionSpec/></storageSpec>",
            mo(
                "vm",
                "VirtualMachine",
                &named(&sim, "VirtualMachine", "DC0_H0_VM0")
            )
        ),
    );
    fault(&sim, &no_pod, "InvalidArgument").await;
    let not_pod = vim(
        "ConfigureStorageDrsForPod_Task",
        &format!(
            "{srm}{}<spec/><modify>true</modify>",
            mo("pod", "Folder", "group-s5")
        ),
    );
    let r = sim.call(&not_pod).await;
    assert_eq!(r.status.as_u16(), 500, "{}", r.body);
}

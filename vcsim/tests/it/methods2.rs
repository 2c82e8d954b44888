//! Wave 2's SOAP methods over the wire, their fault paths especially: customization specs
//! and CustomizeVM_Task, IP pools, PostEvent, UpgradeVM_Task, SetVirtualDiskUuid and
//! MoveVirtualDisk_Task. (The happy paths run through govmomi in `govmomi_methods2.rs`.)

use crate::support::{Sim, fault, find, named, ok, prop, returnval, task, vim};
use vcsim::vmodl::Value;
use vcsim::{Config, Flavor};

const CSM: &str = r#"<_this type="CustomizationSpecManager">CustomizationSpecManager</_this>"#;
const IPM: &str = r#"<_this type="IpPoolManager">IpPoolManager</_this>"#;

fn spec_item(name: &str, spec: &str) -> String {
    format!(
        r#"{CSM}<item><info><name>{name}</name><description></description><type>Linux</type></info><spec>{spec}</spec></item>"#
    )
}

const LINUX: &str = r#"<identity xsi:type="CustomizationLinuxPrep"><hostName xsi:type="CustomizationFixedName"><name>web</name></hostName><domain>example.com</domain></identity><globalIPSettings></globalIPSettings>"#;

fn nic(ip: &str) -> String {
    format!(
        r#"<nicSettingMap><adapter><ip xsi:type="CustomizationFixedIp"><ipAddress>{ip}</ipAddress></ip><subnetMask>255.255.255.0</subnetMask></adapter></nicSettingMap>"#
    )
}

fn vm_this(vm: &str) -> String {
    format!(r#"<_this type="VirtualMachine">{vm}</_this>"#)
}

async fn power(sim: &Sim, vm: &str, on: bool) {
    let want = if on { "poweredOn" } else { "poweredOff" };
    let state = prop(sim, "VirtualMachine", vm, &["runtime", "powerState"])
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap();
    if state != want {
        let m = if on {
            "PowerOnVM_Task"
        } else {
            "PowerOffVM_Task"
        };
        let (s, _) = task(sim, &vim(m, &vm_this(vm))).await;
        assert_eq!(s, "success");
    }
}

fn assert_schema_clean(sim: &Sim) {
    let problems = sim.vc.with(|e| crate::schema::problems(e));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn customization_spec_faults() {
    let sim = Sim::logged_in().await;
    // No identity: InvalidArgument; a field the schema lacks: CustomizationFault.
    let no_identity = vim(
        "CreateCustomizationSpec",
        &spec_item("s", "<globalIPSettings></globalIPSettings>"),
    );
    fault(&sim, &no_identity, "InvalidArgument").await;
    let unknown = vim(
        "CreateCustomizationSpec",
        &spec_item("s", &format!("{LINUX}<bogus>1</bogus>")),
    );
    fault(&sim, &unknown, "CustomizationFault").await;
    let empty_name = vim("CreateCustomizationSpec", &spec_item("", LINUX));
    fault(&sim, &empty_name, "InvalidArgument").await;

    ok(
        &sim,
        &vim("CreateCustomizationSpec", &spec_item("a", LINUX)),
    )
    .await;
    ok(
        &sim,
        &vim("CreateCustomizationSpec", &spec_item("b", LINUX)),
    )
    .await;
    fault(
        &sim,
        &vim("CreateCustomizationSpec", &spec_item("a", LINUX)),
        "AlreadyExists",
    )
    .await;
    let names = |sim: &Sim| -> Vec<String> {
        prop(
            sim,
            "CustomizationSpecManager",
            "CustomizationSpecManager",
            &["info"],
        )
        .unwrap()
        .items()
        .iter()
        .filter_map(|i| i.field("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
    };
    assert_eq!(names(&sim), ["a", "b"]);

    let two =
        |m: &str, a: &str, b: &str| vim(m, &format!("{CSM}<name>{a}</name><newName>{b}</newName>"));
    fault(
        &sim,
        &two("RenameCustomizationSpec", "a", "b"),
        "AlreadyExists",
    )
    .await;
    fault(&sim, &two("RenameCustomizationSpec", "x", "y"), "NotFound").await;
    fault(
        &sim,
        &two("DuplicateCustomizationSpec", "x", "y"),
        "NotFound",
    )
    .await;
    fault(
        &sim,
        &two("DuplicateCustomizationSpec", "a", "b"),
        "AlreadyExists",
    )
    .await;
    for m in ["GetCustomizationSpec", "DeleteCustomizationSpec"] {
        fault(&sim, &vim(m, &format!("{CSM}<name>x</name>")), "NotFound").await;
    }
    let overwrite_missing = vim("OverwriteCustomizationSpec", &spec_item("x", LINUX));
    fault(&sim, &overwrite_missing, "NotFound").await;
    let stale = vim(
        "OverwriteCustomizationSpec",
        &format!(
            r#"{CSM}<item><info><name>a</name><description></description><type>Linux</type><changeVersion>999</changeVersion></info><spec>{LINUX}</spec></item>"#
        ),
    );
    fault(&sim, &stale, "ConcurrentAccess").await;
    ok(&sim, &two("RenameCustomizationSpec", "a", "c")).await;
    assert_eq!(names(&sim), ["c", "b"]);
    let got = ok(
        &sim,
        &vim("GetCustomizationSpec", &format!("{CSM}<name>c</name>")),
    )
    .await;
    assert!(
        got.contains(r#"xsi:type="CustomizationLinuxPrep""#),
        "{got}"
    );
    assert!(got.contains("<globalIPSettings"), "{got}");
    assert_schema_clean(&sim);
}

#[tokio::test]
async fn managers_are_vcenter_only_and_need_a_session() {
    let esx = Sim::with_config(Config {
        flavor: Flavor::HostAgent,
        ..Config::default()
    });
    let content = ok(
        &esx,
        &vim(
            "RetrieveServiceContent",
            r#"<_this type="ServiceInstance">ServiceInstance</_this>"#,
        ),
    )
    .await;
    assert!(!content.contains("customizationSpecManager") && !content.contains("ipPoolManager"));
    let mut esx = esx;
    let r = esx
        .call(&vim(
            "Login",
            r#"<_this type="SessionManager">ha-sessionmgr</_this><userName>user</userName><password>pass</password>"#,
        ))
        .await;
    let cookie = r.set_cookie.expect("Login sets the session cookie");
    esx.cookie = cookie.split('"').nth(1).map(str::to_owned);
    let vm = find(&esx, "VirtualMachine");
    fault(
        &esx,
        &vim(
            "CustomizeVM_Task",
            &format!("{}<spec>{LINUX}</spec>", vm_this(&vm)),
        ),
        "NotSupported",
    )
    .await;

    let anon = Sim::new();
    fault(
        &anon,
        &vim(
            "DoesCustomizationSpecExist",
            &format!("{CSM}<name>a</name>"),
        ),
        "NotAuthenticated",
    )
    .await;
}

#[tokio::test]
async fn customize_vm_checks_power_nics_and_pending() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", "DC0_C0_RP0_VM0");
    power(&sim, &vm, false).await;
    let nics = sim.vc.with(|e| {
        e.inv
            .prop(
                &vcsim::vmodl::MoRef::new("VirtualMachine", vm.clone()),
                "config",
            )
            .and_then(|c| c.field("hardware"))
            .and_then(|h| h.field("device"))
            .map(|d| {
                d.items()
                    .iter()
                    .filter(|x| x.field("macAddress").is_some())
                    .count()
            })
            .unwrap()
    });
    let spec = |n: usize, host: &str| {
        let nics: String = (0..n).map(|i| nic(&format!("10.1.0.{}", 10 + i))).collect();
        vim(
            "CustomizeVM_Task",
            &format!(
                r#"{}<spec><identity xsi:type="CustomizationLinuxPrep"><hostName xsi:type="CustomizationPrefixName"><base>{host}</base></hostName><domain>lab</domain></identity><globalIPSettings><dnsSuffixList>lab</dnsSuffixList></globalIPSettings>{nics}</spec>"#,
                vm_this(&vm)
            ),
        )
    };
    let (s, f) = task(&sim, &spec(nics + 1, "n")).await;
    assert_eq!(
        (s.as_str(), f.as_deref()),
        ("error", Some("NicSettingMismatch"))
    );
    let (s, _) = task(&sim, &spec(nics, "node")).await;
    assert_eq!(s, "success");
    let (s, f) = task(&sim, &spec(nics, "node")).await;
    assert_eq!(
        (s.as_str(), f.as_deref()),
        ("error", Some("CustomizationPending"))
    );

    power(&sim, &vm, true).await;
    let host = prop(&sim, "VirtualMachine", &vm, &["guest", "hostName"]);
    assert_eq!(host.as_ref().and_then(Value::as_str), Some("node-1"));
    assert!(nics > 0, "the default VMs have a NIC");
    {
        let ip = prop(&sim, "VirtualMachine", &vm, &["guest", "ipAddress"]);
        assert_eq!(ip.as_ref().and_then(Value::as_str), Some("10.1.0.10"));
        let summary = prop(
            &sim,
            "VirtualMachine",
            &vm,
            &["summary", "guest", "ipAddress"],
        );
        assert_eq!(summary.as_ref().and_then(Value::as_str), Some("10.1.0.10"));
    }
    let (s, f) = task(&sim, &spec(nics, "node")).await;
    assert_eq!(
        (s.as_str(), f.as_deref()),
        ("error", Some("InvalidPowerState"))
    );
    let events = ok(
        &sim,
        &vim(
            "QueryEvents",
            r#"<_this type="EventManager">EventManager</_this><filter><type>CustomizationSucceeded</type></filter>"#,
        ),
    )
    .await;
    assert!(
        events.contains(r#"xsi:type="CustomizationSucceeded""#),
        "{events}"
    );
    assert_schema_clean(&sim);
}

fn pool(name: &str, range: &str) -> String {
    format!(
        r#"<pool><name>{name}</name><ipv4Config><subnetAddress>192.168.5.0</subnetAddress><netmask>255.255.255.0</netmask><range>{range}</range></ipv4Config></pool>"#
    )
}

#[tokio::test]
async fn ip_pool_faults_and_datacenters() {
    let sim = Sim::logged_in().await;
    let dc = find(&sim, "Datacenter");
    let dc_arg = format!(r#"<dc type="Datacenter">{dc}</dc>"#);
    let create = |p: String| vim("CreateIpPool", &format!("{IPM}{dc_arg}{p}"));
    for bad in [
        "192.168.5.10",
        "192.168.5.10#0",
        "192.168.5.250#10",
        "192.168.6.1#2",
        "192.168.5.10#5,192.168.5.12#1",
        "not-an-ip#2",
    ] {
        fault(&sim, &create(pool("p", bad)), "InvalidArgument").await;
    }
    fault(
        &sim,
        &vim(
            "CreateIpPool",
            &format!("{IPM}{dc_arg}<pool><ipv4Config/></pool>"),
        ),
        "InvalidArgument",
    )
    .await;
    let host = find(&sim, "HostSystem");
    fault(
        &sim,
        &vim(
            "QueryIpPools",
            &format!(r#"{IPM}<dc type="HostSystem">{host}</dc>"#),
        ),
        "InvalidArgument",
    )
    .await;

    let id = returnval(&sim, &create(pool("p", "192.168.5.10#1"))).await;
    fault(
        &sim,
        &create(pool("p", "192.168.5.20#1")),
        "InvalidArgument",
    )
    .await;
    let alloc = |aid: &str, pid: &str| {
        vim(
            "AllocateIpv4Address",
            &format!("{IPM}{dc_arg}<poolId>{pid}</poolId><allocationId>{aid}</allocationId>"),
        )
    };
    assert_eq!(returnval(&sim, &alloc("x", &id)).await, "192.168.5.10");
    // Exhausted: the empty string, as documented.
    let body = ok(&sim, &alloc("y", &id)).await;
    assert!(
        body.contains("<returnval></returnval>") || body.contains("<returnval/>"),
        "{body}"
    );
    fault(&sim, &alloc("x", "999"), "InvalidArgument").await;
    // IPv6 from a pool without an IPv6 range: the empty string.
    let v6 = ok(
        &sim,
        &vim(
            "AllocateIpv6Address",
            &format!("{IPM}{dc_arg}<poolId>{id}</poolId><allocationId>x</allocationId>"),
        ),
    )
    .await;
    assert!(!v6.contains("192.168"), "{v6}");

    // Another datacenter sees none of this one's pools and may reuse the name.
    let folder = sim.vc.with(|e| e.refs.root_folder.value.clone());
    let dc2 = returnval(
        &sim,
        &vim(
            "CreateDatacenter",
            &format!(r#"<_this type="Folder">{folder}</_this><name>DC-m2</name>"#),
        ),
    )
    .await;
    let dc2_arg = format!(r#"<dc type="Datacenter">{dc2}</dc>"#);
    let listed = ok(&sim, &vim("QueryIpPools", &format!("{IPM}{dc2_arg}"))).await;
    assert!(!listed.contains("<returnval"), "{listed}");
    ok(
        &sim,
        &vim(
            "CreateIpPool",
            &format!("{IPM}{dc2_arg}{}", pool("p", "192.168.5.10#1")),
        ),
    )
    .await;
    fault(
        &sim,
        &vim(
            "DestroyIpPool",
            &format!("{IPM}{dc_arg}<id>{id}</id><force>false</force>"),
        ),
        "InvalidState",
    )
    .await;
    ok(
        &sim,
        &vim(
            "DestroyIpPool",
            &format!("{IPM}{dc_arg}<id>{id}</id><force>true</force>"),
        ),
    )
    .await;
}

#[tokio::test]
async fn post_event_faults_and_schema() {
    let sim = Sim::logged_in().await;
    let em = r#"<_this type="EventManager">EventManager</_this>"#;
    fault(
        &sim,
        &vim(
            "PostEvent",
            &format!(r#"{em}<eventToPost xsi:type="VirtualMachineConfigSpec"><name>x</name></eventToPost>"#),
        ),
        "InvalidEvent",
    )
    .await;
    let vm = named(&sim, "VirtualMachine", "DC0_C0_RP0_VM0");
    ok(
        &sim,
        &vim(
            "PostEvent",
            &format!(
                r#"{em}<eventToPost xsi:type="EventEx"><key>0</key><chainId>0</chainId><createdTime>2020-01-01T00:00:00Z</createdTime><userName>someone</userName><vm><name>x</name><vm type="VirtualMachine">{vm}</vm></vm><fullFormattedMessage>custom</fullFormattedMessage><eventTypeId>com.example.m2</eventTypeId><severity>info</severity><arguments><key>k</key><value xsi:type="xsd:string">v</value></arguments></eventToPost>"#
            ),
        ),
    )
    .await;
    let found = ok(
        &sim,
        &vim(
            "QueryEvents",
            &format!(
                r#"{em}<filter><entity><entity type="VirtualMachine">{vm}</entity><recursion>self</recursion></entity><eventTypeId>com.example.m2</eventTypeId></filter>"#
            ),
        ),
    )
    .await;
    assert!(
        found.contains("<fullFormattedMessage>custom</fullFormattedMessage>"),
        "{found}"
    );
    assert!(
        !found.contains("someone"),
        "the server sets the user: {found}"
    );
    assert!(
        found.contains(r#"<host xsi:type="HostEventArgument">"#),
        "the VM's host is named: {found}"
    );
    assert_schema_clean(&sim);
}

#[tokio::test]
async fn upgrade_vm_faults() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", "DC0_C0_RP0_VM0");
    let upgrade = |v: &str| {
        vim(
            "UpgradeVM_Task",
            &format!("{}<version>{v}</version>", vm_this(&vm)),
        )
    };
    for bad in ["garbage", "vmx-99", "vmx-"] {
        fault(&sim, &upgrade(bad), "InvalidArgument").await;
    }
    power(&sim, &vm, true).await;
    let (s, f) = task(&sim, &upgrade("vmx-19")).await;
    assert_eq!(
        (s.as_str(), f.as_deref()),
        ("error", Some("InvalidPowerState"))
    );
    power(&sim, &vm, false).await;
    let (s, _) = task(&sim, &upgrade("vmx-19")).await;
    assert_eq!(s, "success");
    let (s, f) = task(&sim, &upgrade("vmx-14")).await;
    assert_eq!(
        (s.as_str(), f.as_deref()),
        ("error", Some("AlreadyUpgraded"))
    );
    let version = prop(&sim, "VirtualMachine", &vm, &["config", "version"]);
    assert_eq!(version.as_ref().and_then(Value::as_str), Some("vmx-19"));
    assert_schema_clean(&sim);
}

#[tokio::test]
async fn virtual_disk_move_and_uuid_faults() {
    let sim = Sim::logged_in().await;
    let vdm = r#"<_this type="VirtualDiskManager">VirtualDiskManager</_this>"#;
    let set = |name: &str, uuid: &str| {
        vim(
            "SetVirtualDiskUuid",
            &format!("{vdm}<name>{name}</name><uuid>{uuid}</uuid>"),
        )
    };
    let uuid = "6000C29B692F5B1E8F1000C055FF08A9";
    fault(&sim, &set("[LocalDS_0] none.vmdk", uuid), "FileNotFound").await;
    fault(&sim, &set("[NoSuchDS] none.vmdk", uuid), "InvalidDatastore").await;
    fault(&sim, &set("[LocalDS_0] x.txt", uuid), "InvalidArgument").await;

    // A running VM's disk is locked; a powered-off VM's disk moves with the VM only.
    let vm = named(&sim, "VirtualMachine", "DC0_C0_RP0_VM0");
    let disk = sim.vc.with(|e| {
        e.inv
            .prop(
                &vcsim::vmodl::MoRef::new("VirtualMachine", vm.clone()),
                "config",
            )
            .and_then(|c| c.field("hardware"))
            .and_then(|h| h.field("device"))
            .and_then(|d| {
                d.items().iter().find_map(|x| {
                    x.field("backing")?
                        .field("fileName")?
                        .as_str()
                        .filter(|f| f.ends_with(".vmdk"))
                        .map(str::to_owned)
                })
            })
    });
    let disk = disk.expect("the VM has a disk");
    let mv = vim(
        "MoveVirtualDisk_Task",
        &format!("{vdm}<sourceName>{disk}</sourceName><destName>[LocalDS_0] moved.vmdk</destName>"),
    );
    power(&sim, &vm, true).await;
    let (s, f) = task(&sim, &mv).await;
    assert_eq!((s.as_str(), f.as_deref()), ("error", Some("FileLocked")));
    fault(&sim, &set(&disk, uuid), "FileLocked").await;
    let mv = vim(
        "MoveVirtualDisk_Task",
        &format!(
            "{vdm}<sourceName>[LocalDS_0] a.txt</sourceName><destName>[LocalDS_0] b.vmdk</destName>"
        ),
    );
    fault(&sim, &mv, "InvalidArgument").await;
}

#[tokio::test]
async fn vcsim_model_starts_with_vcsims_specs_and_pool() {
    let mut sim = Sim::with_config(Config {
        vcsim_model: Some(vcsim::config::VcsimModel::vpx()),
        ..Config::default()
    });
    sim.login().await;
    for name in ["vcsim-linux", "vcsim-linux-static"] {
        let exists = returnval(
            &sim,
            &vim(
                "DoesCustomizationSpecExist",
                &format!("{CSM}<name>{name}</name>"),
            ),
        )
        .await;
        assert_eq!(exists, "true", "{name}");
    }
    let dc = find(&sim, "Datacenter");
    let dc_arg = format!(r#"<dc type="Datacenter">{dc}</dc>"#);
    let pools = ok(&sim, &vim("QueryIpPools", &format!("{IPM}{dc_arg}"))).await;
    assert!(pools.contains("<name>ip-pool</name>"), "{pools}");
    let ip = returnval(
        &sim,
        &vim(
            "AllocateIpv4Address",
            &format!("{IPM}{dc_arg}<poolId>1</poolId><allocationId>a</allocationId>"),
        ),
    )
    .await;
    assert_eq!(ip, "10.10.10.2");
    assert_schema_clean(&sim);

    // `vicbed serve`'s vCenter starts with none, as vCenter does.
    let plain = Sim::logged_in().await;
    let exists = returnval(
        &plain,
        &vim(
            "DoesCustomizationSpecExist",
            &format!("{CSM}<name>vcsim-linux</name>"),
        ),
    )
    .await;
    assert_eq!(exists, "false");
}

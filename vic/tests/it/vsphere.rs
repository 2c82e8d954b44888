//! `vic::vsphere` against the emulator served in-process over real HTTP(S).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tokio::sync::oneshot;
use vcsim::vmodl::{DataObject, MoRef, Value};
use vic::vsphere::{Client, ConnectOptions, Error, Kind, fetch_thumbprint, option_value};

/// A running emulator; dropping it stops the listener.
struct Sim {
    vc: vcsim::Vcsim,
    url: String,
    addr: String,
    _stop: oneshot::Sender<()>,
}

async fn start(tls: bool) -> Sim {
    start_with(vcsim::Config::default(), tls).await
}

async fn start_with(config: vcsim::Config, tls: bool) -> Sim {
    let emu = vcsim::Emulator::new(config).expect("inventory builds");
    let vc = vcsim::Vcsim::new(emu);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = tls.then(|| vcsim::tls::self_signed(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = vc.clone();
    tokio::spawn(async move {
        let _ = server
            .serve(listener, config, async {
                let _ = stopped.await;
            })
            .await;
    });
    let scheme = if tls { "https" } else { "http" };
    Sim {
        vc,
        url: format!("{scheme}://{addr}/sdk"),
        addr,
        _stop: stop,
    }
}

/// Returns once a property-collector wait on `obj` has received its first update set, so a
/// change made after this is seen as a change.
async fn until_waiting(sim: &Sim, obj: &MoRef) {
    for _ in 0..1000 {
        let ready = sim.vc.with(|e| {
            e.collectors.filters.values().any(|f| {
                let prefix = format!("{}/", f.collector.value);
                f.spec.objects.iter().any(|o| o.obj == *obj)
                    && e.collectors
                        .collectors
                        .iter()
                        .any(|(k, c)| k.starts_with(&prefix) && c.version >= 1)
            })
        });
        if ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no wait on {obj} started");
}

fn opts() -> ConnectOptions {
    ConnectOptions {
        timeout: Duration::from_secs(20),
        wait_timeout: Duration::from_secs(20),
        ..ConnectOptions::default()
    }
}

async fn logged_in(sim: &Sim) -> Client {
    let c = Client::connect(&sim.url, opts()).await.expect("connect");
    c.login("user", "pass").await.expect("login");
    c
}

#[tokio::test]
async fn login_with_good_and_bad_credentials() {
    let sim = start(false).await;
    let c = Client::connect(&sim.url, opts()).await.unwrap();
    assert!(c.is_vc());
    assert_eq!(c.about().api_type, "VirtualCenter");
    assert_eq!(c.service_content().root_folder.ty, "Folder");

    let err = c.login("user", "wrong").await.unwrap_err();
    let f = err.fault().expect("a fault");
    assert_eq!(f.ty, "InvalidLogin");
    assert_eq!(f.code.as_deref(), Some("ServerFaultCode"));
    assert_eq!(
        err.to_string(),
        "ServerFaultCode: Cannot complete login due to an incorrect user name or password."
    );

    // Without a session, calls are refused.
    let pc = c.service_content().property_collector.clone();
    let err = c
        .retrieve_properties(
            &[c.service_content().root_folder.clone()],
            "Folder",
            &["name"],
        )
        .await
        .unwrap_err();
    assert!(err.is_fault("NotAuthenticated"), "{err}");

    let session = c.login("user", "pass").await.unwrap();
    assert_eq!(
        session.field("userName").and_then(Value::as_str),
        Some("user")
    );
    let cookie = c.session_cookie().expect("a session cookie");
    assert!(!cookie.is_empty());
    // The session is live and the same cookie keeps being used.
    let current = c
        .get_property(
            &c.service_content().session_manager.clone().unwrap(),
            "currentSession",
        )
        .await
        .unwrap()
        .expect("currentSession");
    assert_eq!(
        current.field("userName").and_then(Value::as_str),
        Some("user")
    );
    assert_eq!(c.session_cookie(), Some(cookie));

    c.logout().await.unwrap();
    assert_eq!(c.session_cookie(), None);
    let err = c
        .call("CreatePropertyCollector", &pc, &[])
        .await
        .unwrap_err();
    assert!(err.is_fault("NotAuthenticated"), "{err}");
}

#[tokio::test]
async fn a_session_the_server_ended_is_logged_in_again() {
    let sim = start_with(
        vcsim::Config {
            session_idle_timeout_s: 1,
            ..vcsim::Config::default()
        },
        false,
    )
    .await;
    let c = logged_in(&sim).await;
    let first = c.session_cookie().expect("a session");
    // Idle past the server's timeout: the server ends the session; the next call logs in
    // again with the same credentials, as VIC's keepalive handler does.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let sm = c.service_content().session_manager.clone().unwrap();
    let current = c
        .get_property(&sm, "currentSession")
        .await
        .expect("the call succeeds after a fresh login")
        .expect("currentSession");
    assert_eq!(
        current.field("userName").and_then(Value::as_str),
        Some("user")
    );
    assert_ne!(c.session_cookie(), Some(first), "a new session");
    assert!(
        sim.vc.with(|e| e.sessions.len()) == 1,
        "the old session is gone"
    );
    // After an explicit logout nothing logs in behind the caller's back.
    c.logout().await.unwrap();
    let err = c.get_property(&sm, "currentSession").await.unwrap_err();
    assert!(err.is_fault("NotAuthenticated"), "{err}");
}

#[tokio::test]
async fn generic_calls_decode_results_and_faults() {
    let sim = start(false).await;
    let c = logged_in(&sim).await;
    let si = MoRef::new("ServiceInstance", "ServiceInstance");
    let now = c.call("CurrentTime", &si, &[]).await.unwrap().unwrap();
    assert!(matches!(now, Value::DateTime(_)), "{now:?}");

    let err = c.call("NoSuchMethod", &si, &[]).await.unwrap_err();
    let f = err.fault().unwrap();
    assert_eq!(f.ty, "MethodNotFound");
    assert_eq!(
        f.field("method").and_then(Value::as_str),
        Some("NoSuchMethod")
    );

    let ghost = MoRef::new("VirtualMachine", "vm-999999");
    let err = c.get_property(&ghost, "name").await.unwrap_err();
    let f = err.fault().unwrap();
    assert_eq!(f.ty, "ManagedObjectNotFound");
    assert_eq!(f.field("obj"), Some(&Value::MoRef(ghost)));
}

#[tokio::test]
async fn finder_resolves_paths_defaults_and_children() {
    let sim = start(false).await;
    let c = logged_in(&sim).await;
    let mut f = c.finder();

    // Relative lookups need a datacenter.
    assert!(matches!(
        f.compute_resource(Some("DC0_C0")).await,
        Err(Error::NoDatacenter)
    ));

    let dc = f.use_datacenter(None).await.unwrap();
    assert_eq!(dc.entity.name, "DC0");
    assert_eq!(dc.entity.path, "/DC0");
    assert_eq!(f.datacenter(Some("DC0")).await.unwrap(), dc);
    assert_eq!(
        f.datacenter(Some("/DC0")).await.unwrap().entity.moref,
        dc.entity.moref
    );
    let err = f.datacenter(Some("DC9")).await.unwrap_err();
    assert_eq!(err.to_string(), "datacenter 'DC9' not found");

    let by_path = c
        .find_by_inventory_path("/DC0/host/DC0_C0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_path.ty, "ClusterComputeResource");
    assert_eq!(
        c.find_by_inventory_path("/DC0/host/nope").await.unwrap(),
        None
    );

    let cr = f.compute_resource(Some("DC0_C0")).await.unwrap();
    assert_eq!(cr.moref, by_path);
    assert_eq!(cr.path, "/DC0/host/DC0_C0");
    // A cluster and a standalone host: no default compute resource.
    let err = f.compute_resource(None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "default compute resource resolves to multiple instances, please specify"
    );

    let pool = f.resource_pool(Some("DC0_C0/Resources")).await.unwrap();
    assert_eq!(pool.moref.ty, "ResourcePool");
    assert_eq!(pool.path, "/DC0/host/DC0_C0/Resources");
    let same = f
        .resource_pool(Some("/DC0/host/DC0_C0/Resources"))
        .await
        .unwrap();
    assert_eq!(same.moref, pool.moref);
    assert_eq!(
        c.get_property(&cr.moref, "resourcePool").await.unwrap(),
        Some(Value::MoRef(pool.moref.clone()))
    );
    let globbed = f.find(Kind::ResourcePool, "*/Resources").await.unwrap();
    assert_eq!(globbed.len(), 2, "{globbed:?}");
    let err = f.resource_pool(Some("*/Resources")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "path '*/Resources' resolves to multiple resource pools"
    );
    let err = f.resource_pool(Some("DC0_C0")).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");

    let vm_folder = f.vm_folder().unwrap();
    assert_eq!(vm_folder.moref, dc.vm_folder);
    assert_eq!(vm_folder.path, "/DC0/vm");
    assert_eq!(
        c.find_by_inventory_path("DC0/vm").await.unwrap(),
        Some(dc.vm_folder.clone())
    );

    let datastores = f.datastores(None).await.unwrap();
    assert!(
        datastores.iter().any(|d| d.name == "LocalDS_0"),
        "{datastores:?}"
    );
    let ds = f.datastore(Some("LocalDS_*")).await.unwrap();
    assert_eq!(ds.path, "/DC0/datastore/LocalDS_0");
    let nets = f.networks(None).await.unwrap();
    assert!(nets.iter().any(|n| n.name == "VM Network"), "{nets:?}");
    let net = f.network(Some("VM Network")).await.unwrap();
    assert_eq!(net.moref.ty, "Network");

    let hosts = f.find(Kind::HostSystem, "DC0_C0/*").await.unwrap();
    assert_eq!(hosts.len(), 3, "{hosts:?}");
    assert!(
        hosts
            .iter()
            .all(|h| h.path.starts_with("/DC0/host/DC0_C0/"))
    );

    // Children: the pool's VMs, by name; the datacenter's folders.
    let kids = f.children(&pool).await.unwrap();
    let vm0 = kids
        .iter()
        .find(|k| k.name == "DC0_C0_RP0_VM0")
        .unwrap_or_else(|| panic!("{kids:?}"));
    assert_eq!(vm0.moref.ty, "VirtualMachine");
    assert_eq!(vm0.path, "/DC0/host/DC0_C0/Resources/DC0_C0_RP0_VM0");
    assert_eq!(
        f.child(&pool, "DC0_C0_RP0_VM0", Some("VirtualMachine"))
            .await
            .unwrap()
            .map(|e| e.moref),
        Some(vm0.moref.clone())
    );
    assert_eq!(f.child(&pool, "nope", None).await.unwrap(), None);
    let dc_kids = f.children(&dc.entity).await.unwrap();
    let names: Vec<&str> = dc_kids.iter().map(|e| e.name.as_str()).collect();
    for want in ["vm", "host", "datastore", "network"] {
        assert!(names.contains(&want), "{names:?}");
    }

    // A VM by name anywhere below the VM folder, and back from its reference to its path.
    let vm = f.virtual_machine("DC0_C0_RP0_VM0").await.unwrap();
    assert_eq!(vm.moref, vm0.moref);
    let lifted = f.entity(&vm.moref).await.unwrap();
    assert_eq!(lifted.path, vm.path);
    assert_eq!(lifted.name, "DC0_C0_RP0_VM0");
    let lifted_pool = f.entity(&pool.moref).await.unwrap();
    assert_eq!(lifted_pool.path, "/DC0/host/DC0_C0/Resources");
}

#[tokio::test]
async fn retrieves_vm_properties_directly_and_through_a_view() {
    let sim = start(false).await;
    let c = logged_in(&sim).await;
    let root = c.service_content().root_folder.clone();
    let vms = c
        .view_contents(&root, &["VirtualMachine"], true, &["name"])
        .await
        .unwrap();
    assert!(vms.len() >= 6, "{}", vms.len());
    let refs: Vec<MoRef> = vms.iter().map(|o| o.obj.clone()).collect();
    let props = c
        .retrieve_properties(
            &refs,
            "VirtualMachine",
            &[
                "name",
                "runtime.powerState",
                "config.hardware.numCPU",
                "config.extraConfig",
            ],
        )
        .await
        .unwrap();
    assert_eq!(props.len(), refs.len());
    for p in &props {
        assert!(
            p.text("name").is_some_and(|n| n.starts_with("DC0_")),
            "{p:?}"
        );
        assert_eq!(
            p.get("runtime.powerState"),
            Some(&Value::Enum(
                "VirtualMachinePowerState".into(),
                "poweredOn".into()
            ))
        );
        assert!(matches!(p.get("config.hardware.numCPU"), Some(Value::Int(n)) if *n >= 1));
    }
    let name = c.get_property(&refs[0], "name").await.unwrap();
    assert_eq!(name.as_ref().and_then(Value::as_str), vms[0].text("name"));
    // An invalid path is the server's InvalidProperty fault.
    let err = c.get_property(&refs[0], "no.such.thing").await.unwrap_err();
    assert!(err.is_fault("InvalidProperty"), "{err}");
}

/// `VirtualMachineConfigSpec` as VIC sends it: name, sizing, files, typed extraConfig.
fn config_spec(name: &str) -> Value {
    let ov = |k: &str, v: Value| {
        DataObject::new("OptionValue")
            .with("key", Value::str(k))
            .with("value", Value::any(v))
            .into_value()
    };
    DataObject::new("VirtualMachineConfigSpec")
        .with("name", Value::str(name))
        .with("guestId", Value::str("otherGuest64"))
        .with("numCPUs", Value::Int(2))
        .with("memoryMB", Value::Long(2048))
        .with(
            "files",
            DataObject::new("VirtualMachineFileInfo")
                .with("vmPathName", Value::str("[LocalDS_0]"))
                .into_value(),
        )
        .with(
            "extraConfig",
            Value::array(
                "OptionValue",
                vec![
                    ov("guestinfo.vice./common/id", Value::str("abc <&> def")),
                    ov("guestinfo.vice./diagnostics/debug", Value::Int(0)),
                ],
            ),
        )
        .into_value()
}

#[tokio::test]
async fn creates_powers_on_and_waits_like_vic() {
    let sim = start(false).await;
    let c = logged_in(&sim).await;
    let mut f = c.finder();
    let dc = f.use_datacenter(Some("DC0")).await.unwrap();
    let pool = f.resource_pool(Some("DC0_C0/Resources")).await.unwrap();

    let task = c
        .call(
            "CreateVM_Task",
            &dc.vm_folder,
            &[
                ("config", config_spec("vch-test")),
                ("pool", Value::moref(&pool.moref)),
            ],
        )
        .await
        .unwrap()
        .and_then(|v| v.as_moref().cloned())
        .expect("a task");
    assert_eq!(task.ty, "Task");
    let vm = c
        .wait_for_task(&task)
        .await
        .unwrap()
        .and_then(|v| v.as_moref().cloned())
        .expect("the new VM");
    assert_eq!(vm.ty, "VirtualMachine");
    // Waiting again on a finished task gives the same result; any timeout is accepted.
    assert_eq!(
        c.wait_for_task_within(&task, Duration::MAX).await.unwrap(),
        Some(Value::MoRef(vm.clone()))
    );

    let props = c
        .retrieve_properties(
            std::slice::from_ref(&vm),
            "VirtualMachine",
            &[
                "name",
                "config.hardware.numCPU",
                "config.hardware.memoryMB",
                "config.extraConfig",
                "resourcePool",
            ],
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(props.text("name"), Some("vch-test"));
    assert_eq!(props.get("config.hardware.numCPU"), Some(&Value::Int(2)));
    assert_eq!(
        props.get("config.hardware.memoryMB"),
        Some(&Value::Int(2048))
    );
    assert_eq!(
        props.get("resourcePool"),
        Some(&Value::MoRef(pool.moref.clone()))
    );
    let ec = props.get("config.extraConfig").unwrap();
    assert_eq!(
        option_value(ec, "guestinfo.vice./common/id").and_then(Value::as_str),
        Some("abc <&> def")
    );
    assert_eq!(
        option_value(ec, "guestinfo.vice./diagnostics/debug").and_then(Value::as_i64),
        Some(0)
    );
    assert_eq!(
        f.child(&pool, "vch-test", Some("VirtualMachine"))
            .await
            .unwrap()
            .map(|e| e.moref),
        Some(vm.clone())
    );

    // Power on and wait for the state through the property collector.
    let on = c.run_task("PowerOnVM_Task", &vm, &[]).await.unwrap();
    assert_eq!(on, None);
    let state = c
        .wait_for_property(&vm, "runtime.powerState", Duration::from_secs(10), |v| {
            v.and_then(Value::as_str) == Some("poweredOn")
        })
        .await
        .unwrap();
    assert_eq!(state.as_ref().and_then(Value::as_str), Some("poweredOn"));

    // Powering on twice: the task fails with InvalidPowerState.
    let err = c.run_task("PowerOnVM_Task", &vm, &[]).await.unwrap_err();
    let fault = err.fault().expect("a task fault");
    assert_eq!(fault.ty, "InvalidPowerState");
    assert_eq!(fault.code, None);
    assert!(fault.is("InvalidState"));
    assert_eq!(
        fault.field("existingState").and_then(Value::as_str),
        Some("poweredOn")
    );
    assert!(!fault.msg.is_empty());
}

#[tokio::test]
async fn waits_wake_on_changes_and_time_out() {
    let sim = start(false).await;
    let c = logged_in(&sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.unwrap();
    let vm = f.virtual_machine("DC0_H0_VM0").await.unwrap().moref;
    let key = "guestinfo.vice..init.networks|client.assigned.IP";

    // A waiter on an extraConfig key, woken by a reconfigure from another client.
    let waiter = {
        let c = c.clone();
        let vm = vm.clone();
        tokio::spawn(async move {
            c.wait_for_property(&vm, "config.extraConfig", Duration::from_secs(10), |v| {
                v.and_then(|ec| option_value(ec, key))
                    .and_then(Value::as_str)
                    .is_some_and(|ip| !ip.is_empty())
            })
            .await
        })
    };
    until_waiting(&sim, &vm).await;
    let other = logged_in(&sim).await;
    let spec = DataObject::new("VirtualMachineConfigSpec")
        .with(
            "extraConfig",
            Value::array(
                "OptionValue",
                vec![
                    DataObject::new("OptionValue")
                        .with("key", Value::str(key))
                        .with("value", Value::any(Value::str("10.0.0.5")))
                        .into_value(),
                ],
            ),
        )
        .into_value();
    other
        .run_task("ReconfigVM_Task", &vm, &[("spec", spec)])
        .await
        .unwrap();
    let ec = waiter.await.unwrap().unwrap().expect("extraConfig");
    assert_eq!(
        option_value(&ec, key).and_then(Value::as_str),
        Some("10.0.0.5")
    );

    // A condition that never holds runs into the deadline, and the client stays usable.
    let err = c
        .wait_for_property(&vm, "runtime.powerState", Duration::from_millis(400), |v| {
            v.and_then(Value::as_str) == Some("suspended")
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(c.get_property(&vm, "name").await.unwrap().is_some());

    // A power-off seen through the wait (VIC's abort condition for readiness waits).
    let powered_off = {
        let c = c.clone();
        let vm = vm.clone();
        tokio::spawn(async move {
            c.wait_for_property(&vm, "runtime.powerState", Duration::from_secs(10), |v| {
                v.and_then(Value::as_str) == Some("poweredOff")
            })
            .await
        })
    };
    until_waiting(&sim, &vm).await;
    other.run_task("PowerOffVM_Task", &vm, &[]).await.unwrap();
    let state = powered_off.await.unwrap().unwrap();
    assert_eq!(state.as_ref().and_then(Value::as_str), Some("poweredOff"));

    // A change made inside the emulator (as a guest agent makes them) wakes a waiter too.
    let renamed = {
        let c = c.clone();
        let vm = vm.clone();
        tokio::spawn(async move {
            c.wait_for_property(&vm, "name", Duration::from_secs(10), |v| {
                v.and_then(Value::as_str) == Some("renamed")
            })
            .await
        })
    };
    until_waiting(&sim, &vm).await;
    sim.vc
        .with(|emu| emu.inv.set(&vm, "name", Value::str("renamed")))
        .unwrap();
    let name = renamed.await.unwrap().unwrap();
    assert_eq!(name.as_ref().and_then(Value::as_str), Some("renamed"));

    // The object of a wait going away ends the wait.
    let gone = {
        let c = c.clone();
        let vm = vm.clone();
        tokio::spawn(async move {
            c.wait_for_property(&vm, "runtime.powerState", Duration::from_secs(10), |_| {
                false
            })
            .await
        })
    };
    until_waiting(&sim, &vm).await;
    other.run_task("Destroy_Task", &vm, &[]).await.unwrap();
    let err = gone.await.unwrap().unwrap_err();
    assert!(matches!(&err, Error::Deleted(m) if *m == vm), "{err}");
}

#[tokio::test]
async fn tls_with_thumbprint_wrong_thumbprint_insecure_and_default() {
    let sim = start(true).await;
    let thumbprint = fetch_thumbprint(&sim.addr).await.unwrap();
    assert_eq!(thumbprint.len(), 59, "{thumbprint}");
    assert!(
        thumbprint
            .chars()
            .all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    let probe = vic::vsphere::probe_certificate(
        &format!("https://{}/sdk", sim.addr),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(probe.thumbprint, thumbprint);
    assert_eq!(vic::vsphere::thumbprint_of(&probe.der), thumbprint);
    assert!(
        probe.verify_error.is_some(),
        "a self-signed certificate does not verify"
    );

    // The right thumbprint (in any case) connects and logs in.
    let c = Client::connect(
        &sim.url,
        ConnectOptions {
            thumbprint: Some(thumbprint.to_lowercase()),
            ..opts()
        },
    )
    .await
    .unwrap();
    c.login("user", "pass").await.unwrap();
    let mut f = c.finder();
    assert_eq!(f.use_datacenter(None).await.unwrap().entity.name, "DC0");

    // A wrong thumbprint is refused with VIC's message.
    let wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33";
    let err = Client::connect(
        &sim.url,
        ConnectOptions {
            thumbprint: Some(wrong.into()),
            ..opts()
        },
    )
    .await
    .unwrap_err();
    match &err {
        Error::ThumbprintMismatch { actual, .. } => assert_eq!(actual, &thumbprint),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "Host \"{}\" thumbprint does not match \"{wrong}\"",
            sim.addr
        )
    );
    let err = Client::connect(
        &sim.url,
        ConnectOptions {
            thumbprint: Some("not-a-thumbprint".into()),
            ..opts()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");

    // Insecure mode accepts the self-signed certificate.
    let c = Client::connect(
        &sim.url,
        ConnectOptions {
            insecure: true,
            ..opts()
        },
    )
    .await
    .unwrap();
    c.login("user", "pass").await.unwrap();

    // Default verification refuses it, naming the thumbprint as VIC does.
    let err = Client::connect(&sim.url, opts()).await.unwrap_err();
    match &err {
        Error::Untrusted { thumbprint: t, .. } => assert_eq!(t, &thumbprint),
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string().starts_with(&format!(
            "Failed to verify certificate for target=127.0.0.1 (thumbprint={thumbprint})"
        )),
        "{err}"
    );
    // Trusting the certificate as a root makes default verification pass (the emulator's
    // certificate names 127.0.0.1 in its SANs).
    let c = Client::connect(
        &sim.url,
        ConnectOptions {
            root_certificates: vec![probe.der.clone()],
            ..opts()
        },
    )
    .await;
    c.expect("trusting the emulator's certificate")
        .login("user", "pass")
        .await
        .unwrap();
}

#[tokio::test]
async fn connection_errors_are_typed() {
    // Nothing listens on a just-closed port.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let err = Client::connect(&format!("http://{addr}/sdk"), opts())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    // A server that accepts and never answers runs into the timeout.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let (_s, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let err = Client::connect(
        &format!("http://{addr}/sdk"),
        ConnectOptions {
            timeout: Duration::from_millis(300),
            ..opts()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    hold.abort();
    // An HTTP server that is not an SDK endpoint.
    let sim = start(false).await;
    let err = Client::connect(&format!("http://{}/about", sim.addr), opts())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http { status: 405, .. }), "{err}");
}

#[tokio::test]
async fn finder_defaults_on_esxi() {
    let config = vcsim::Config {
        flavor: vcsim::Flavor::HostAgent,
        ..vcsim::Config::default()
    };
    let sim = start_with(config, false).await;
    let c = logged_in(&sim).await;
    assert!(!c.is_vc());
    let mut f = c.finder();
    let dc = f.use_datacenter(None).await.unwrap();
    assert_eq!(dc.entity.name, "ha-datacenter");
    // One host, one compute resource, one root pool: every default is unambiguous.
    let cr = f.compute_resource(None).await.unwrap();
    let pool = f.resource_pool(None).await.unwrap();
    assert_eq!(pool.path, format!("{}/Resources", cr.path));
    let host = f.host_system(None).await.unwrap();
    assert_eq!(host.moref.ty, "HostSystem");
    let ds = f.datastore(None).await.unwrap();
    assert_eq!(ds.moref.ty, "Datastore");
}

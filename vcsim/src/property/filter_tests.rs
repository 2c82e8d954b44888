//! The incremental poll against the full one: after every kind of change, what each filter
//! has reported equals what a new filter evaluating the whole spec reports, and the
//! changes that cannot move a filter's set of objects are read without walking the spec.

use super::*;
use crate::config::{Config, ModelCounts};
use crate::methods::{CallContext, Outcome, dispatch};
use crate::property::spec::{ObjSpec, PropSpec, Traversal};
use crate::vmodl::PropertyPath;

fn envelope(body: &str) -> String {
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

struct H {
    emu: Emulator,
    ctx: CallContext,
    session: String,
    collector: MoRef,
}

impl H {
    fn new() -> H {
        let config = Config {
            counts: ModelCounts {
                datacenters: 1,
                clusters: 1,
                hosts_per_cluster: 2,
                vms_per_host: 4,
                standalone_hosts: 1,
            },
            ..Config::default()
        };
        let mut h = H {
            emu: Emulator::new(config).expect("builds"),
            ctx: CallContext::default(),
            session: String::new(),
            collector: MoRef::new("PropertyCollector", "propertyCollector"),
        };
        h.call(r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>"#)
            .expect("login");
        h.session = h.ctx.session.clone().expect("a session");
        h
    }

    fn call(&mut self, body: &str) -> Result<Option<Value>, Fault> {
        let call = crate::soap::read_call(&envelope(body)).expect("parses");
        match dispatch(&mut self.emu, &mut self.ctx, &call) {
            Outcome::Done(r) => r,
            Outcome::Wait(_) => panic!("no waits here"),
        }
    }

    fn on(&mut self, method: &str, this: &MoRef, args: &str) -> Option<Value> {
        self.call(&format!(
            r#"<{method} xmlns="urn:vim25"><_this type="{}">{}</_this>{args}</{method}>"#,
            this.ty, this.value
        ))
        .unwrap_or_else(|f| panic!("{method}: {f:?}"))
    }

    fn vms(&self) -> Vec<MoRef> {
        self.emu
            .inv
            .iter()
            .filter(|o| o.moref.ty == "VirtualMachine")
            .map(|o| o.moref.clone())
            .collect()
    }

    fn add_filter(&mut self, key: &str, spec: FilterSpec) {
        let f = Filter::new(self.collector.clone(), self.session.clone(), spec, false);
        self.emu.collectors.filters.insert(key.to_owned(), f);
    }

    /// Polls, then checks each filter's reported state against a new filter's full
    /// evaluation; returns the full polls each filter made.
    fn poll_and_check(&mut self, keys: &[&str]) -> Vec<u64> {
        let _ = poll_updates(&mut self.emu, &self.session, &self.collector, None).expect("polls");
        let mut full = Vec::new();
        for key in keys {
            let f = self.emu.collectors.filters[*key].clone();
            let probe = format!("{key}-probe");
            self.add_filter(&probe, f.spec.clone());
            // Only the probe is behind: a poll evaluates it alone, in full.
            let _ = poll_updates(&mut self.emu, &self.session, &self.collector, None);
            let fresh = self.emu.collectors.filters.remove(&probe).expect("probe");
            let seen = |f: &Filter| -> Vec<(String, PropValues)> {
                f.reported
                    .iter()
                    .map(|(k, r)| (k.clone(), r.values.clone()))
                    .collect()
            };
            assert_eq!(
                seen(&f),
                seen(&fresh),
                "filter {key} drifted from a full evaluation"
            );
            full.push(f.full_polls);
        }
        full
    }
}

fn props(paths: &[&str]) -> Vec<PropSpec> {
    vec![PropSpec {
        ty: "VirtualMachine".into(),
        all: false,
        paths: paths
            .iter()
            .map(|p| PropertyPath::parse(p).expect("a path"))
            .collect(),
    }]
}

fn traversal(name: &str, ty: &str, path: &str, select: Vec<Selection>) -> Selection {
    Selection::Traversal(Traversal {
        name: Some(name.into()),
        ty: ty.into(),
        path: path.into(),
        skip: false,
        select,
    })
}

#[test]
fn incremental_polls_agree_with_full_evaluations() {
    let mut h = H::new();
    let vms = h.vms();
    let root = h.emu.refs.root_folder.clone();
    // The inventory walk govc and the SDK samples use: folders, datacenters' vmFolder.
    let walk = FilterSpec {
        props: props(&["name", "runtime.powerState", "parent"]),
        objects: vec![ObjSpec {
            obj: root.clone(),
            skip: true,
            select: vec![
                traversal(
                    "f",
                    "Folder",
                    "childEntity",
                    vec![Selection::Named("f".into()), Selection::Named("d".into())],
                ),
                traversal(
                    "d",
                    "Datacenter",
                    "vmFolder",
                    vec![Selection::Named("f".into())],
                ),
            ],
        }],
        report_missing: false,
    };
    h.add_filter("walk", walk);
    let view = h
        .on(
            "CreateContainerView",
            &h.emu.refs.view_manager.clone(),
            &format!(
                r#"<container type="Folder">{}</container><type>VirtualMachine</type><recursive>true</recursive>"#,
                root.value
            ),
        )
        .and_then(|v| v.as_moref().cloned())
        .expect("a view");
    let through_view = |view: &MoRef| FilterSpec {
        props: props(&["runtime.powerState", "name"]),
        objects: vec![ObjSpec {
            obj: view.clone(),
            skip: true,
            select: vec![Selection::Traversal(Traversal {
                name: None,
                ty: view.ty.to_string(),
                path: "view".into(),
                skip: false,
                select: Vec::new(),
            })],
        }],
        report_missing: false,
    };
    h.add_filter("view", through_view(&view));
    let list = h
        .on(
            "CreateListView",
            &h.emu.refs.view_manager.clone(),
            &format!(
                r#"<obj type="VirtualMachine">{}</obj><obj type="VirtualMachine">{}</obj>"#,
                vms[0].value, vms[1].value
            ),
        )
        .and_then(|v| v.as_moref().cloned())
        .expect("a list view");
    h.add_filter("list", through_view(&list));
    h.add_filter(
        "one",
        FilterSpec {
            props: props(&["runtime.powerState", "summary.quickStats.overallCpuUsage"]),
            objects: vec![ObjSpec {
                obj: vms[2].clone(),
                skip: false,
                select: Vec::new(),
            }],
            report_missing: false,
        },
    );
    let keys = ["walk", "view", "list", "one"];
    let first = h.poll_and_check(&keys);
    assert_eq!(first, vec![1, 1, 1, 1], "the first poll evaluates in full");

    // Power changes, quick stats, tasks: no filter walks its spec again.
    h.on("PowerOffVM_Task", &vms[2], "");
    h.on("PowerOffVM_Task", &vms[0], "");
    assert_eq!(h.poll_and_check(&keys), first);
    h.emu.advance(60_000);
    h.on("PowerOnVM_Task", &vms[2], "");
    assert_eq!(h.poll_and_check(&keys), first);

    // A rename changes the VM's reference properties as far as the inventory knows: the
    // walk does not follow a VM's, so nothing walks; the values still arrive.
    h.on("Rename_Task", &vms[3], "<newName>renamed</newName>");
    assert_eq!(h.poll_and_check(&keys), first);
    assert!(
        h.emu.collectors.filters["walk"].reported[&vms[3].value]
            .values
            .iter()
            .any(|(n, v)| n == "name" && v.as_str() == Some("renamed"))
    );

    // A new folder and a move change folders' children: the walk and the container view
    // walk again, the list view and the single VM do not.
    let vm_folder = h
        .emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "Datacenter")
        .and_then(|o| o.get("vmFolder").and_then(Value::as_moref).cloned())
        .expect("a vm folder");
    let sub = h
        .on("CreateFolder", &vm_folder, "<name>sub</name>")
        .and_then(|v| v.as_moref().cloned())
        .expect("a folder");
    h.on(
        "MoveIntoFolder_Task",
        &sub,
        &format!(r#"<list type="VirtualMachine">{}</list>"#, vms[4].value),
    );
    let moved = h.poll_and_check(&keys);
    assert!(moved[0] > first[0] && moved[1] > first[1], "{moved:?}");
    assert_eq!((moved[2], moved[3]), (first[2], first[3]));

    // A list view's membership changes with no inventory reference behind it.
    h.on(
        "ModifyListView",
        &list,
        &format!(
            r#"<add type="VirtualMachine">{}</add><remove type="VirtualMachine">{}</remove>"#,
            vms[5].value, vms[0].value
        ),
    );
    let listed = h.poll_and_check(&keys);
    assert!(listed[2] > moved[2]);
    assert!(
        h.emu.collectors.filters["list"]
            .reported
            .contains_key(&vms[5].value)
    );
    assert!(
        !h.emu.collectors.filters["list"]
            .reported
            .contains_key(&vms[0].value)
    );

    // A destroyed VM leaves every filter that reported it.
    h.on("PowerOffVM_Task", &vms[1], "");
    h.on("Destroy_Task", &vms[1], "");
    h.poll_and_check(&keys);
    for key in ["walk", "view"] {
        assert!(
            !h.emu.collectors.filters[key]
                .reported
                .contains_key(&vms[1].value)
        );
    }
    // After all that, power changes are cheap again.
    let settled = h.poll_and_check(&keys);
    h.on("PowerOffVM_Task", &vms[6], "");
    assert_eq!(h.poll_and_check(&keys), settled);
}

#[test]
fn filters_reading_computed_properties_evaluate_in_full() {
    let mut h = H::new();
    let si = MoRef::new("ServiceInstance", "ServiceInstance");
    h.add_filter(
        "clock",
        FilterSpec {
            props: vec![PropSpec {
                ty: "ServiceInstance".into(),
                all: false,
                paths: vec![PropertyPath::parse("serverClock").expect("a path")],
            }],
            objects: vec![ObjSpec {
                obj: si,
                skip: false,
                select: Vec::new(),
            }],
            report_missing: false,
        },
    );
    assert!(h.emu.collectors.filters["clock"].volatile);
    let before = h.poll_and_check(&["clock"]);
    // Only the clock moves: the filter still sees it.
    h.emu.advance(20_000);
    let set = poll_updates(&mut h.emu, &h.session, &h.collector, None).expect("polls");
    assert!(set.is_some(), "the server clock's change is reported");
    assert!(h.emu.collectors.filters["clock"].full_polls > before[0]);
}

//! WaitForUpdatesEx latency at estate scale, in-process: the server's work from a
//! `PowerOffVM_Task` (or `PowerOnVM_Task`) call to the update set that reports the new
//! power state, at 1 024, 4 096 and 10 000 VMs. Two watchers are set up as clients do:
//! pyvmomi's peer client watches one VM's `runtime.powerState` (an ObjectSpec on the VM), and
//! a govmomi `view.ContainerView` over the root folder watches every VM's power state. Each
//! iteration toggles one VM and polls both watchers until each has reported it, as the
//! server does when a change wakes its waiters. Criterion's time is per toggle.
//!
//! Issue 17's goal: PowerOff → update p50 ≤ 2 ms at 10 000 VMs, cost proportional to the
//! change. Measured at 1 024 / 4 096 / 10 016 VMs: 2.6 ms / 30 ms / 163 ms per toggle before
//! (every poll re-walked both specs, and a leave check compared every reported object with
//! every reached one), 46 µs / 97 µs / 428 µs with incremental polls (the rest was
//! `pool_usage` summing every VM of the root pool after each call), 40 µs / 42 µs / 43 µs with
//! both: flat in the inventory's size.
//!
//! `cargo bench -p vcsim --bench updates`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use vcsim::methods::{CallContext, Outcome, WaitRequest, dispatch, poll_wait};
use vcsim::vmodl::{MoRef, Value};
use vcsim::{Config, Emulator, ModelCounts};

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

fn call(emu: &mut Emulator, ctx: &mut CallContext, body: &str) -> Outcome {
    let call = vcsim::soap::read_call(&envelope(body)).expect("parses");
    dispatch(emu, ctx, &call)
}

fn done(outcome: Outcome) -> Option<Value> {
    match outcome {
        Outcome::Done(Ok(v)) => v,
        Outcome::Done(Err(f)) => panic!("fault: {f:?}"),
        Outcome::Wait(_) => None,
    }
}

/// A logged-in session on an emulator with `hosts` × 32 VMs in one cluster.
fn emulator(hosts: u32) -> (Emulator, CallContext) {
    let config = Config {
        counts: ModelCounts {
            datacenters: 1,
            clusters: 1,
            hosts_per_cluster: hosts,
            vms_per_host: 32,
            standalone_hosts: 0,
        },
        ..Config::default()
    };
    let mut emu = Emulator::new(config).expect("inventory builds");
    let mut ctx = CallContext::default();
    done(call(
        &mut emu,
        &mut ctx,
        r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>"#,
    ));
    (emu, ctx)
}

/// A new collector with one filter; its first WaitForUpdatesEx taken.
fn watcher(emu: &mut Emulator, ctx: &mut CallContext, spec: &str) -> WaitRequest {
    let pc = done(call(
        emu,
        ctx,
        r#"<CreatePropertyCollector xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this></CreatePropertyCollector>"#,
    ))
    .and_then(|v| v.as_moref().cloned())
    .expect("a collector");
    done(call(
        emu,
        ctx,
        &format!(
            r#"<CreateFilter xmlns="urn:vim25"><_this type="PropertyCollector">{}</_this><spec>{spec}</spec><partialUpdates>false</partialUpdates></CreateFilter>"#,
            pc.value
        ),
    ));
    done(call(
        emu,
        ctx,
        &format!(
            r#"<WaitForUpdatesEx xmlns="urn:vim25"><_this type="PropertyCollector">{}</_this><version></version><options><maxWaitSeconds>0</maxWaitSeconds></options></WaitForUpdatesEx>"#,
            pc.value
        ),
    ))
    .expect("the initial update set");
    WaitRequest {
        collector: pc,
        session: ctx.session.clone().expect("logged in"),
        max_wait_ms: Some(0),
        max_objects: None,
        legacy: false,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("updates");
    g.sample_size(20);
    for hosts in [32u32, 128, 313] {
        let (mut emu, mut ctx) = emulator(hosts);
        let vms: Vec<MoRef> = emu
            .inv
            .iter()
            .filter(|o| o.moref.ty == "VirtualMachine")
            .map(|o| o.moref.clone())
            .collect();
        let vm = vms[vms.len() / 2].clone();
        let one = watcher(
            &mut emu,
            &mut ctx,
            &format!(
                r#"<propSet><type>VirtualMachine</type><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="VirtualMachine">{}</obj><skip>false</skip></objectSet>"#,
                vm.value
            ),
        );
        let view = done(call(
            &mut emu,
            &mut ctx,
            r#"<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this><container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>"#,
        ))
        .and_then(|v| v.as_moref().cloned())
        .expect("a view");
        let all = watcher(
            &mut emu,
            &mut ctx,
            &format!(
                r#"<propSet><type>VirtualMachine</type><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="ContainerView">{}</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet>"#,
                view.value
            ),
        );
        let mut on = true;
        g.bench_function(BenchmarkId::new("toggle+2 watchers/vms", vms.len()), |b| {
            b.iter(|| {
                let method = if on { "PowerOffVM_Task" } else { "PowerOnVM_Task" };
                on = !on;
                done(call(
                    &mut emu,
                    &mut ctx,
                    &format!(
                        r#"<{method} xmlns="urn:vim25"><_this type="VirtualMachine">{}</_this></{method}>"#,
                        vm.value
                    ),
                ));
                for w in [&one, &all] {
                    let Some(Ok(Some(set))) = poll_wait(&mut emu, w) else {
                        panic!("no update after the power change");
                    };
                    std::hint::black_box(set);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

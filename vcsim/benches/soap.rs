//! SOAP codec, property-collector and QueryPerf throughput, in-process.
//!
//! `cargo bench -p vcsim --bench soap`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vcsim::methods::{CallContext, Outcome, dispatch};
use vcsim::{Config, Emulator, ModelCounts};

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

/// An emulator with `hosts` × `vms_per_host` VMs in one cluster, and a logged-in context.
fn emulator(hosts: u32, vms_per_host: u32) -> (Emulator, CallContext) {
    let config = Config {
        counts: ModelCounts {
            datacenters: 1,
            clusters: 1,
            hosts_per_cluster: hosts,
            vms_per_host,
            standalone_hosts: 0,
        },
        ..Config::default()
    };
    let mut emu = Emulator::new(config).expect("inventory builds");
    let mut ctx = CallContext::default();
    let login = vcsim::soap::read_call(&envelope(
        r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>"#,
    ))
    .expect("login parses");
    let Outcome::Done(Ok(_)) = dispatch(&mut emu, &mut ctx, &login) else {
        panic!("login failed")
    };
    (emu, ctx)
}

const RETRIEVE_ALL_VMS: &str = r#"<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet><pathSet>summary.quickStats.overallCpuUsage</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>f</name><type>Folder</type><path>childEntity</path><skip>false</skip><selectSet><name>f</name></selectSet><selectSet><name>d</name></selectSet></selectSet><selectSet xsi:type="TraversalSpec"><name>d</name><type>Datacenter</type><path>vmFolder</path><skip>false</skip><selectSet><name>f</name></selectSet></selectSet></objectSet></specSet><options><maxObjects>5000</maxObjects></options></RetrievePropertiesEx>"#;

fn codec(c: &mut Criterion) {
    let body = envelope(RETRIEVE_ALL_VMS);
    let mut g = c.benchmark_group("soap");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("parse RetrievePropertiesEx envelope", |b| {
        b.iter(|| vcsim::soap::read_call(black_box(&body)).expect("parses"))
    });
    let (mut emu, mut ctx) = emulator(32, 32);
    let call = vcsim::soap::read_call(&body).expect("parses");
    let Outcome::Done(Ok(Some(result))) = dispatch(&mut emu, &mut ctx, &call) else {
        panic!("retrieve failed")
    };
    let encoded = vcsim::soap::response("RetrievePropertiesEx", Some(&result));
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    g.bench_function("encode RetrievePropertiesEx response (1024 VMs)", |b| {
        b.iter(|| vcsim::soap::response("RetrievePropertiesEx", Some(black_box(&result))))
    });
    g.finish();
}

fn retrieve(c: &mut Criterion) {
    let (mut emu, mut ctx) = emulator(32, 32);
    let call = vcsim::soap::read_call(&envelope(RETRIEVE_ALL_VMS)).expect("parses");
    let mut g = c.benchmark_group("property_collector");
    g.throughput(Throughput::Elements(1024));
    g.bench_function(
        "RetrievePropertiesEx 1024 VMs, 3 paths (dispatch + encode)",
        |b| {
            b.iter(|| {
                let Outcome::Done(Ok(r)) = dispatch(&mut emu, &mut ctx, &call) else {
                    panic!("retrieve failed")
                };
                vcsim::soap::response("RetrievePropertiesEx", r.as_ref())
            })
        },
    );
    g.finish();
}

fn startup(c: &mut Criterion) {
    let mut g = c.benchmark_group("startup");
    g.sample_size(10);
    g.bench_function("build inventory with 1024 VMs", |b| {
        b.iter(|| emulator(32, 32))
    });
    g.finish();
}

/// QueryPerf as collectors ask it (one VM, the newest 10 realtime samples) on an estate that
/// holds its realtime hour: one counter, as a chart asks, and every series of the VM (no
/// metricId), as an exporter asks. Dispatch and encoding, as the server pays per call.
fn query_perf(c: &mut Criterion) {
    let (mut emu, mut ctx) = emulator(32, 32);
    emu.prefill_history(3600);
    let vm = emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "VirtualMachine")
        .map(|o| o.moref.value.clone())
        .expect("a VM");
    let usage = vcsim::perf::catalogue::key_of("cpu.usagemhz.average").expect("counter");
    let mut g = c.benchmark_group("query_perf");
    for (name, metric) in [
        (
            "1 VM, 1 counter, maxSample 10",
            format!("<metricId><counterId>{usage}</counterId><instance></instance></metricId>"),
        ),
        ("1 VM, all series, maxSample 10", String::new()),
    ] {
        let body = envelope(&format!(
            r#"<QueryPerf xmlns="urn:vim25"><_this type="PerformanceManager">PerfMgr</_this><querySpec><entity type="VirtualMachine">{vm}</entity><maxSample>10</maxSample>{metric}<intervalId>20</intervalId></querySpec></QueryPerf>"#
        ));
        let call = vcsim::soap::read_call(&body).expect("parses");
        g.bench_function(name, |b| {
            b.iter(|| {
                let Outcome::Done(Ok(r)) = dispatch(&mut emu, &mut ctx, &call) else {
                    panic!("QueryPerf failed")
                };
                assert!(r.is_some(), "QueryPerf answered nothing");
                vcsim::soap::response("QueryPerf", r.as_ref())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, codec, retrieve, startup, query_perf);
criterion_main!(benches);

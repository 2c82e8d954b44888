//! Does a large request hold up a small one? Latency of a small call (RetrieveProperties of
//! one VM's name) over loopback HTTP alone, and while other clients keep sending
//! `ReconfigVM_Task`s at the extraConfig bound (8 192 keys, accepted) or far beyond it
//! (100 000 keys, 8 MB, refused before the emulator's lock). And the cost of an accepted
//! reconfigure at three sizes, in-process, to show it grows linearly.
//!
//! `cargo bench -p vcsim --bench contention`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use vcsim::methods::{CallContext, Outcome, dispatch};
use vcsim::{Config, Emulator, Vcsim};

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

const LOGIN: &str = r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>"#;

/// One request on a fresh connection (`Connection: close`); the whole response.
fn post(addr: SocketAddr, cookie: &str, body: &str) -> String {
    let env = envelope(body);
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nCookie: {cookie}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        env.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(env.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

fn reconfigure_body(vm: &str, keys: usize, prefix: &str) -> String {
    let mut spec = String::with_capacity(keys * 90);
    for i in 0..keys {
        spec.push_str(&format!(
            r#"<extraConfig><key>guestinfo.{prefix}{i}</key><value xsi:type="xsd:string">v{i}</value></extraConfig>"#
        ));
    }
    format!(
        r#"<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">{vm}</_this><spec>{spec}</spec></ReconfigVM_Task>"#
    )
}

struct Served {
    addr: SocketAddr,
    cookie: String,
    vm: String,
}

fn serve() -> Served {
    let emu = Emulator::new(Config::default()).expect("inventory");
    let vm = emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "VirtualMachine" && o.name() == "DC0_C0_RP0_VM0")
        .expect("a VM")
        .moref
        .value
        .clone();
    let vc = Vcsim::new(emu);
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(l.local_addr().expect("addr")).expect("send");
            let _ = vc.serve(l, None, std::future::pending()).await;
        });
    });
    let addr = rx.recv().expect("address");
    let login = post(addr, "", LOGIN);
    let key = login
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split('"').nth(1))
        .expect("cookie")
        .to_owned();
    Served {
        addr,
        cookie: format!("vmware_soap_session=\"{key}\""),
        vm,
    }
}

fn small_under_large(c: &mut Criterion) {
    let srv = serve();
    let small = format!(
        r#"<RetrieveProperties xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="VirtualMachine">{}</obj></objectSet></specSet></RetrieveProperties>"#,
        srv.vm
    );
    let mut g = c.benchmark_group("small_request_latency");
    g.sample_size(30);
    g.bench_function("alone", |b| {
        b.iter(|| assert!(post(srv.addr, &srv.cookie, &small).contains("DC0_C0_RP0_VM0")))
    });
    let at_limit = Arc::new(reconfigure_body(
        &srv.vm,
        vcsim::methods::EXTRA_CONFIG_MAX - 16,
        "a",
    ));
    let over = Arc::new(reconfigure_body(&srv.vm, 100_000, "b"));
    for (name, large) in [
        ("while 8176-key reconfigures run (accepted)", at_limit),
        ("while 100000-key reconfigures arrive (refused)", over),
    ] {
        let stop = Arc::new(AtomicBool::new(false));
        let loader = {
            let (stop, addr, cookie) = (stop.clone(), srv.addr, srv.cookie.clone());
            thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    post(addr, &cookie, &large);
                    n += 1;
                }
                n
            })
        };
        g.bench_function(name, |b| {
            b.iter(|| assert!(post(srv.addr, &srv.cookie, &small).contains("DC0_C0_RP0_VM0")))
        });
        stop.store(true, Ordering::Relaxed);
        let sent = loader.join().expect("loader");
        eprintln!("  ({sent} large requests sent meanwhile)");
    }
    g.finish();
}

fn reconfigure_sizes(c: &mut Criterion) {
    let mut g = c.benchmark_group("reconfigure_extra_config");
    g.sample_size(20);
    for keys in [1024usize, 4096, 8192] {
        let mut emu = Emulator::new(Config::default()).expect("inventory");
        let vm = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "VirtualMachine" && o.name() == "DC0_C0_RP0_VM0")
            .expect("a VM")
            .moref
            .value
            .clone();
        let mut ctx = CallContext::default();
        let login = vcsim::soap::read_call(&envelope(LOGIN)).expect("login");
        let Outcome::Done(Ok(_)) = dispatch(&mut emu, &mut ctx, &login) else {
            panic!("login")
        };
        // Leave room for the VM's own keys.
        let n = keys - 16;
        let call =
            vcsim::soap::read_call(&envelope(&reconfigure_body(&vm, n, "k"))).expect("parses");
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(
            BenchmarkId::new("dispatch (keys replaced in place)", n),
            &call,
            |b, call| {
                b.iter(|| {
                    let Outcome::Done(Ok(_)) = dispatch(&mut emu, &mut ctx, call) else {
                        panic!("reconfigure failed")
                    };
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, small_under_large, reconfigure_sizes);
criterion_main!(benches);

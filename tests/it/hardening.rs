//! Issue 10 (hardening) through the binary: pyvmomi against names, oversized specs, forged
//! and idle sessions; and the 64-client mixed load (RetrievePropertiesEx, create/power/
//! destroy, QueryPerf, WaitForUpdatesEx, Login/Logout) with zero errors, bounded in count.

use crate::support::{Server, read_response, roundtrip, run_script, soap_request};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

const LOGIN: &str = r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>"#;

/// Logs in with a raw SOAP call; the `Cookie` header line to send back.
fn login(addr: SocketAddr) -> String {
    let res = roundtrip(addr, &soap_request(addr, LOGIN, ""));
    assert_eq!(res.status, 200, "Login: {}", res.text());
    let set = res
        .headers
        .get("set-cookie")
        .unwrap_or_else(|| panic!("Login sets a cookie: {:?}", res.headers));
    let key = set.split('"').nth(1).expect("quoted cookie value");
    format!("vmware_soap_session=\"{key}\"")
}

#[test]
fn pyvmomi_names_specs_and_foreign_sessions() {
    // Two fresh servers with the same seed: the first one's session key must mean nothing
    // to the second.
    let other = Server::start(&["--seed", "7"]);
    let foreign = login(other.addr);
    other.stop();
    let server = Server::start(&["--seed", "7"]);
    run_script(
        &server,
        "hardening.py",
        &[&format!("--foreign-cookie={foreign}")],
    );
    server.stop();
}

#[test]
fn pyvmomi_idle_sessions_expire() {
    // 2 s, not 1: the busy session calls every 0.25 s, and a loaded machine (the 64-client
    // test may run beside this one) must not stretch a gap past the timeout.
    let server = Server::start(&["--session-idle-timeout", "2"]);
    run_script(&server, "hardening.py", &["--idle-timeout=2"]);
    server.stop();
}

/// One SOAP call on a fresh connection; the body, which must be a 200 without a fault.
fn call(addr: SocketAddr, cookie: &str, body: &str, what: &str) -> Result<String, String> {
    let req = soap_request(addr, body, &format!("Cookie: {cookie}\r\n"));
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("{what}: connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut stream, &req).map_err(|e| format!("{what}: write: {e}"))?;
    let res = read_response(&mut stream).map_err(|e| format!("{what}: {e}"))?;
    let text = res.text();
    if res.status != 200 || text.contains("Fault>") {
        return Err(format!(
            "{what}: HTTP {}: {}",
            res.status,
            &text[..text.len().min(600)]
        ));
    }
    Ok(text)
}

fn find_by_path(addr: SocketAddr, cookie: &str, path: &str) -> String {
    let body = format!(
        r#"<FindByInventoryPath xmlns="urn:vim25"><_this type="SearchIndex">SearchIndex</_this><inventoryPath>{path}</inventoryPath></FindByInventoryPath>"#
    );
    let text = call(addr, cookie, &body, path).unwrap_or_else(|e| panic!("{e}"));
    returnval(&text).unwrap_or_else(|| panic!("{path} not found: {text}"))
}

/// The first `<returnval …>` text in a response.
fn returnval(text: &str) -> Option<String> {
    let start = text.find("<returnval")?;
    let gt = start + text[start..].find('>')?;
    let end = gt + text[gt..].find("</returnval>")?;
    Some(text[gt + 1..end].to_owned())
}

fn task_state(addr: SocketAddr, cookie: &str, task: &str) -> Result<String, String> {
    let body = format!(
        r#"<RetrieveProperties xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>Task</type><pathSet>info.state</pathSet><pathSet>info.result</pathSet></propSet><objectSet><obj type="Task">{task}</obj></objectSet></specSet></RetrieveProperties>"#
    );
    for _ in 0..200 {
        let text = call(addr, cookie, &body, "task info")?;
        if text.contains(">success<") {
            let result = text
                .split("<name>info.result</name>")
                .nth(1)
                .and_then(|r| r.find('>').map(|i| &r[i + 1..]))
                .and_then(|r| r.find('<').map(|i| r[..i].to_owned()))
                .unwrap_or_default();
            return Ok(result);
        }
        if text.contains(">error<") {
            return Err(format!("task {task} failed: {text}"));
        }
        thread::sleep(Duration::from_millis(10));
    }
    Err(format!("task {task} did not finish"))
}

fn run_task(addr: SocketAddr, cookie: &str, body: &str, what: &str) -> Result<String, String> {
    let text = call(addr, cookie, body, what)?;
    let task = returnval(&text).ok_or_else(|| format!("{what}: no task in {text}"))?;
    task_state(addr, cookie, &task)
}

/// What one client does each round, by its number.
fn client(
    addr: SocketAddr,
    n: usize,
    rounds: usize,
    folder: &str,
    pool: &str,
    vm: &str,
) -> Result<usize, String> {
    let mut cookie = login(addr);
    let mut calls = 1;
    for r in 0..rounds {
        match n % 4 {
            0 => {
                let body = r#"<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>f</name><type>Folder</type><path>childEntity</path><skip>false</skip><selectSet><name>f</name></selectSet><selectSet><name>d</name></selectSet></selectSet><selectSet xsi:type="TraversalSpec"><name>d</name><type>Datacenter</type><path>vmFolder</path><skip>false</skip><selectSet><name>f</name></selectSet></selectSet></objectSet></specSet><options><maxObjects>1000</maxObjects></options></RetrievePropertiesEx>"#;
                let text = call(addr, &cookie, body, "RetrievePropertiesEx")?;
                if !text.contains("DC0_C0_RP0_VM0") {
                    return Err(format!("RetrievePropertiesEx lacks DC0_C0_RP0_VM0: {text}"));
                }
                calls += 1;
            }
            1 => {
                let create = format!(
                    r#"<CreateVM_Task xmlns="urn:vim25"><_this type="Folder">{folder}</_this><config><name>load-{n}-{r}</name><numCPUs>1</numCPUs><memoryMB>64</memoryMB><files><vmPathName>[LocalDS_0]</vmPathName></files></config><pool type="ResourcePool">{pool}</pool></CreateVM_Task>"#
                );
                let new_vm = run_task(addr, &cookie, &create, "CreateVM_Task")?;
                if !new_vm.starts_with("vm-") {
                    return Err(format!("CreateVM_Task result {new_vm:?}"));
                }
                for m in ["PowerOnVM_Task", "PowerOffVM_Task", "Destroy_Task"] {
                    let body = format!(
                        r#"<{m} xmlns="urn:vim25"><_this type="VirtualMachine">{new_vm}</_this></{m}>"#
                    );
                    run_task(addr, &cookie, &body, m)?;
                }
                calls += 8;
            }
            2 => {
                let body = format!(
                    r#"<QueryPerf xmlns="urn:vim25"><_this type="PerformanceManager">PerfMgr</_this><querySpec><entity type="VirtualMachine">{vm}</entity><maxSample>5</maxSample><metricId><counterId>6</counterId><instance></instance></metricId><intervalId>20</intervalId></querySpec></QueryPerf>"#
                );
                call(addr, &cookie, &body, "QueryPerf")?;
                calls += 1;
            }
            _ => {
                let create = format!(
                    r#"<CreateFilter xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><spec><propSet><type>VirtualMachine</type><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="VirtualMachine">{vm}</obj></objectSet></spec><partialUpdates>false</partialUpdates></CreateFilter>"#
                );
                let text = call(addr, &cookie, &create, "CreateFilter")?;
                let filter = returnval(&text).ok_or("CreateFilter returned nothing")?;
                let wait = r#"<WaitForUpdatesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><version></version><options><maxWaitSeconds>1</maxWaitSeconds></options></WaitForUpdatesEx>"#;
                let text = call(addr, &cookie, wait, "WaitForUpdatesEx")?;
                if !text.contains("runtime.powerState") {
                    return Err(format!("WaitForUpdatesEx: no initial update: {text}"));
                }
                let destroy = format!(
                    r#"<DestroyPropertyFilter xmlns="urn:vim25"><_this type="PropertyFilter">{filter}</_this></DestroyPropertyFilter>"#
                );
                call(addr, &cookie, &destroy, "DestroyPropertyFilter")?;
                calls += 3;
            }
        }
        // Every other round, every client churns its session.
        if r % 2 == 1 {
            let logout = r#"<Logout xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Logout>"#;
            call(addr, &cookie, logout, "Logout")?;
            cookie = login(addr);
            calls += 2;
        }
    }
    Ok(calls)
}

#[test]
fn sixty_four_clients_mixed_load_has_no_errors() {
    const CLIENTS: usize = 64;
    const ROUNDS: usize = 6;
    let server = Server::start(&["--speed", "60"]);
    let addr = server.addr;
    let cookie = login(addr);
    let folder = find_by_path(addr, &cookie, "DC0/vm");
    let pool = find_by_path(addr, &cookie, "DC0/host/DC0_C0/Resources");
    let vm = find_by_path(addr, &cookie, "DC0/vm/DC0_C0_RP0_VM0");
    let handles: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (folder, pool, vm) = (folder.clone(), pool.clone(), vm.clone());
            thread::spawn(move || client(addr, n, ROUNDS, &folder, &pool, &vm))
        })
        .collect();
    let mut errors = Vec::new();
    let mut calls = 0;
    for h in handles {
        match h.join() {
            Ok(Ok(n)) => calls += n,
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a client thread panicked".into()),
        }
    }
    assert!(
        errors.is_empty(),
        "{} of {CLIENTS} clients failed: {errors:#?}",
        errors.len()
    );
    assert!(calls > CLIENTS * ROUNDS, "{calls} calls");
    // Nothing left behind: every load VM was destroyed.
    let left = call(
        addr,
        &cookie,
        r#"<FindByInventoryPath xmlns="urn:vim25"><_this type="SearchIndex">SearchIndex</_this><inventoryPath>DC0/vm/load-1-0</inventoryPath></FindByInventoryPath>"#,
        "FindByInventoryPath",
    )
    .expect("search");
    assert!(
        returnval(&left).is_none(),
        "load-1-0 is still there: {left}"
    );
    server.stop();
}

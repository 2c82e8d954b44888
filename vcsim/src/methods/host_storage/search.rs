//! SearchIndex `FindAllByIp`, `FindAllByDnsName` and `FindByDatastorePath`.
//!
//! The attribute matches are `FindByIp`/`FindByDnsName`'s (the same helpers of
//! `methods/search_index.rs`), answering every hit instead of the first. Hosts also match
//! by the addresses of their VMkernel NICs (`config.network.vnic[].spec.ip.ipAddress`), the
//! management addresses vCenter indexes them by.

use crate::emulator::Emulator;
use crate::inventory::ManagedObject;
use crate::methods::Args;
use crate::methods::parse_datastore_path;
use crate::methods::search_index::{answer, scope, search, text_at, vm_has_ip, vm_search};
use crate::vmodl::{Fault, Value};

/// Whether one of host `o`'s VMkernel NICs has address `ip`.
fn host_has_ip(emu: &Emulator, o: &ManagedObject, ip: &str) -> bool {
    if o.name() == ip {
        return true;
    }
    let Some(ns) = o
        .get("configManager")
        .and_then(|c| c.field("networkSystem"))
        .and_then(Value::as_moref)
    else {
        return false;
    };
    emu.inv
        .prop(ns, "networkInfo")
        .and_then(|n| n.field("vnic"))
        .is_some_and(|v| {
            v.items().iter().any(|nic| {
                nic.field("spec")
                    .and_then(|s| s.field("ip"))
                    .and_then(|i| i.field("ipAddress"))
                    .and_then(Value::as_str)
                    == Some(ip)
            })
        })
}

/// `FindAllByIp(datacenter?, ip, vmSearch)`: every VM whose guest reports the address, or
/// every host with it (by name or VMkernel NIC).
pub(super) fn find_all_by_ip(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let dc = scope(emu, args)?;
    let ip = args.text("ip")?.trim();
    let vms = vm_search(args)?;
    if ip.is_empty() {
        return Ok(answer(Vec::new(), true));
    }
    let found = if vms {
        search(emu, "VirtualMachine", dc.as_ref(), |o| vm_has_ip(o, ip))
    } else {
        search(emu, "HostSystem", dc.as_ref(), |o| host_has_ip(emu, o, ip))
    };
    Ok(answer(found, true))
}

/// `FindAllByDnsName(datacenter?, dnsName, vmSearch)`: every VM whose guest reports the host
/// name, or every host by name; names compare case-insensitively, a trailing dot ignored.
pub(super) fn find_all_by_dns_name(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let dc = scope(emu, args)?;
    let name = args.text("dnsName")?.trim().trim_end_matches('.');
    let vms = vm_search(args)?;
    if name.is_empty() {
        return Ok(answer(Vec::new(), true));
    }
    let same = |v: &str| v.trim_end_matches('.').eq_ignore_ascii_case(name);
    let found = if vms {
        search(emu, "VirtualMachine", dc.as_ref(), |o| {
            text_at(o, "guest", "hostName").is_some_and(same)
        })
    } else {
        search(emu, "HostSystem", dc.as_ref(), |o| same(o.name()))
    };
    Ok(answer(found, true))
}

/// `FindByDatastorePath(datacenter, path)`: the VM (or template) whose `.vmx` is at
/// `[ds] dir/vm.vmx` in the datacenter. `InvalidDatastorePath` for a malformed path,
/// `InvalidDatastore` for a datastore the datacenter does not have, nothing for no VM.
pub(super) fn find_by_datastore_path(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let dc = args.moref("datacenter")?;
    emu.inv.get(&dc)?;
    if dc.ty != "Datacenter" {
        return Err(Fault::invalid_argument("datacenter"));
    }
    let raw = args.text("path")?;
    let Some((ds_name, rel)) = parse_datastore_path(raw).filter(|(_, rel)| !rel.is_empty()) else {
        return Err(Fault::new(
            "InvalidDatastorePath",
            format!("Invalid datastore path '{raw}'."),
        )
        .with("datastorePath", Value::str(raw)));
    };
    let known = emu
        .inv
        .refs(&dc, "datastore")
        .iter()
        .any(|d| emu.inv.lookup(d).is_some_and(|o| o.name() == ds_name));
    if !known {
        return Err(Fault::new(
            "InvalidDatastore",
            format!("The datastore {ds_name} is not in the datacenter"),
        )
        .with("name", Value::str(ds_name)));
    }
    let at = |o: &ManagedObject| {
        o.get("config")
            .and_then(|c| c.field("files"))
            .and_then(|f| f.field("vmPathName"))
            .and_then(Value::as_str)
            .and_then(parse_datastore_path)
            .is_some_and(|(d, r)| d == ds_name && r == rel)
    };
    let found = search(emu, "VirtualMachine", Some(&dc), at);
    Ok(found.first().map(Value::moref))
}

#[cfg(test)]
mod tests {
    use crate::config::Flavor;
    use crate::methods::search_index::harness::{H, mo};
    use crate::vmodl::Value;

    #[test]
    fn all_hits_by_ip_and_dns_name() {
        let mut h = H::new(Flavor::VirtualCenter);
        let si = h.emu.refs.search_index.clone();
        let (a, b) = (
            h.find("VirtualMachine", "DC0_H0_VM0"),
            h.find("VirtualMachine", "DC0_H0_VM1"),
        );
        for vm in [&a, &b] {
            h.emu
                .inv
                .update(vm, |o| {
                    let g = o
                        .props
                        .get_mut("guest")
                        .and_then(Value::as_data_mut)
                        .unwrap();
                    g.set("ipAddress", Value::str("10.1.1.1"));
                    g.set("hostName", Value::str("twin.example.com"));
                })
                .unwrap();
        }
        let hits = |v: Option<Value>| v.unwrap().items().to_vec();
        let r = h.call(
            "FindAllByIp",
            &si,
            "<ip>10.1.1.1</ip><vmSearch>true</vmSearch>",
        );
        assert_eq!(hits(r.unwrap()), vec![Value::moref(&a), Value::moref(&b)]);
        let r = h.call(
            "FindAllByDnsName",
            &si,
            "<dnsName>TWIN.example.com.</dnsName><vmSearch>true</vmSearch>",
        );
        assert_eq!(hits(r.unwrap()).len(), 2);
        let r = h.call(
            "FindAllByIp",
            &si,
            "<ip>10.9.9.9</ip><vmSearch>true</vmSearch>",
        );
        assert!(hits(r.unwrap()).is_empty());
        // Hosts named by name answer for their management NIC's address.
        let r = h.call(
            "FindAllByIp",
            &si,
            "<ip>127.0.0.1</ip><vmSearch>false</vmSearch>",
        );
        assert_eq!(hits(r.unwrap()).len(), h.all("HostSystem").len());
        let r = h.call(
            "FindAllByDnsName",
            &si,
            "<dnsName>DC0_H0</dnsName><vmSearch>false</vmSearch>",
        );
        assert_eq!(
            hits(r.unwrap()),
            vec![Value::moref(&h.find("HostSystem", "DC0_H0"))]
        );
    }

    #[test]
    fn datastore_paths_name_vms() {
        let mut h = H::new(Flavor::VirtualCenter);
        let si = h.emu.refs.search_index.clone();
        let dc = h.find("Datacenter", "DC0");
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let path = h
            .emu
            .inv
            .prop(&vm, "config")
            .and_then(|c| c.field("files"))
            .and_then(|f| f.field("vmPathName"))
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        let body = |p: &str| format!("{}<path>{p}</path>", mo("datacenter", &dc));
        assert_eq!(
            h.call("FindByDatastorePath", &si, &body(&path)).unwrap(),
            Some(Value::moref(&vm))
        );
        let missing = path.replace(".vmx", "-gone.vmx");
        assert_eq!(
            h.call("FindByDatastorePath", &si, &body(&missing)).unwrap(),
            None
        );
        let err = h.call("FindByDatastorePath", &si, &body("not a path"));
        assert_eq!(err.unwrap_err().ty, "InvalidDatastorePath");
        let err = h.call("FindByDatastorePath", &si, &body("[NoSuchDS] a/a.vmx"));
        assert_eq!(err.unwrap_err().ty, "InvalidDatastore");
    }
}

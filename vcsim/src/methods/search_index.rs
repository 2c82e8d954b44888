//! SearchIndex: FindByInventoryPath, FindChild, FindByUuid / FindAllByUuid, FindByIp and
//! FindByDnsName.
//!
//! Searches walk the inventory as vCenter's index would see it: inventory paths follow the
//! same parent → child lists the API exposes (`children`), and the attribute searches read
//! the very properties a client could read (`config.uuid`, `guest.ipAddress`, …), so what
//! the index finds is always consistent with what RetrieveProperties shows.

use super::Args;
use crate::emulator::Emulator;
use crate::vmodl::{Fault, MoRef, Value};

/// Longest inventory path accepted; deeper than any real inventory, and a bound on the walk.
pub const MAX_INVENTORY_PATH: usize = 8192;

/// Most path segments walked (inventories are a handful of levels deep).
const MAX_SEGMENTS: usize = 256;

/// The non-empty segments of an inventory path (`/DC0//vm/x` → `DC0`, `vm`, `x`), or `None`
/// when the path is too long to be a real inventory path.
///
/// vCenter keeps a `/` inside an entity name escaped as `%2f`, so splitting on every `/`
/// matches how names are stored; empty segments (leading, trailing or doubled slashes) are
/// skipped as govc and vCenter do.
pub fn path_segments(path: &str) -> Option<Vec<&str>> {
    if path.len() > MAX_INVENTORY_PATH {
        return None;
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    (segs.len() <= MAX_SEGMENTS).then_some(segs)
}

/// `FindByInventoryPath(inventoryPath)`: the entity at a path below the root folder
/// (`DC0/vm/DC0_H0_VM0`, `/DC0/host/DC0_C0/Resources`), or nothing.
pub fn find_by_inventory_path(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let path = args.text("inventoryPath")?;
    let root = emu.root_folder().clone();
    // `/` names the root folder itself; an empty path names nothing (both as govmomi's vcsim
    // and vCenter answer).
    if path.trim() == "/" {
        return Ok(Some(Value::moref(&root)));
    }
    let Some(segs) = path_segments(path) else {
        return Ok(None);
    };
    if segs.is_empty() {
        return Ok(None);
    }
    Ok(walk(emu, &root, &segs).map(|r| Value::moref(&r)))
}

/// Follows `segs` from `from`, one child name at a time.
fn walk(emu: &Emulator, from: &MoRef, segs: &[&str]) -> Option<MoRef> {
    let mut cur = from.clone();
    for seg in segs {
        cur = emu.inv.child_named(&cur, seg)?;
    }
    Some(cur)
}

/// `FindChild(entity, name)`: the direct child of `entity` named `name`, or nothing.
pub fn find_child(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let entity = args.moref("entity")?;
    let name = args.text("name")?;
    emu.inv.get(&entity)?;
    Ok(emu.inv.child_named(&entity, name).map(|r| Value::moref(&r)))
}

/// The optional `datacenter` scope of a search: it must exist when given.
pub(crate) fn scope(emu: &Emulator, args: &Args<'_>) -> Result<Option<MoRef>, Fault> {
    match args.opt_moref("datacenter") {
        Some(dc) => {
            emu.inv.get(&dc)?;
            Ok(Some(dc))
        }
        None => Ok(None),
    }
}

/// The required `vmSearch` flag.
pub(crate) fn vm_search(args: &Args<'_>) -> Result<bool, Fault> {
    args.opt_bool("vmSearch")?
        .ok_or_else(|| Fault::invalid_argument("vmSearch"))
}

/// Objects of type `ty` (inside datacenter `dc` when given) for which `hit` holds, in
/// inventory order.
pub(crate) fn search(
    emu: &Emulator,
    ty: &str,
    dc: Option<&MoRef>,
    mut hit: impl FnMut(&crate::inventory::ManagedObject) -> bool,
) -> Vec<MoRef> {
    emu.inv
        .iter()
        .filter(|o| o.moref.ty == ty)
        .filter(|o| dc.is_none_or(|d| emu.datacenter_of(&o.moref).as_ref() == Some(d)))
        .filter(|o| hit(o))
        .map(|o| o.moref.clone())
        .collect()
}

/// The text at `prop.field` of an object.
pub(crate) fn text_at<'a>(
    o: &'a crate::inventory::ManagedObject,
    prop: &str,
    field: &str,
) -> Option<&'a str> {
    o.get(prop)
        .and_then(|v| v.field(field))
        .and_then(Value::as_str)
}

/// `FindByUuid` / `FindAllByUuid(datacenter?, uuid, vmSearch, instanceUuid?)`: VMs by BIOS
/// UUID (`config.uuid`) or, with `instanceUuid`, by vCenter instance UUID; hosts by
/// `summary.hardware.uuid`. UUIDs compare case-insensitively: the same UUID reaches clients
/// both ways (SMBIOS tools print upper case, vSphere stores lower case).
pub fn find_by_uuid(
    emu: &mut Emulator,
    args: &Args<'_>,
    all: bool,
) -> Result<Option<Value>, Fault> {
    let dc = scope(emu, args)?;
    let uuid = args.text("uuid")?.trim();
    let vms = vm_search(args)?;
    let instance = args.opt_bool("instanceUuid")?.unwrap_or(false);
    let same = |v: Option<&str>| v.is_some_and(|v| v.trim().eq_ignore_ascii_case(uuid));
    let found = if vms {
        let field = if instance { "instanceUuid" } else { "uuid" };
        search(emu, "VirtualMachine", dc.as_ref(), |o| {
            same(text_at(o, "config", field))
        })
    } else {
        search(emu, "HostSystem", dc.as_ref(), |o| {
            let hw = o.get("summary").and_then(|s| s.field("hardware"));
            let system_info = o.get("hardware").and_then(|h| h.field("systemInfo"));
            same(hw.and_then(|h| h.field("uuid")).and_then(Value::as_str))
                || same(
                    system_info
                        .and_then(|s| s.field("uuid"))
                        .and_then(Value::as_str),
                )
        })
    };
    Ok(answer(found, all))
}

/// The first hit, or all of them as `ManagedEntity[]`.
pub(crate) fn answer(found: Vec<MoRef>, all: bool) -> Option<Value> {
    if all {
        Some(Value::morefs(&found))
    } else {
        found.first().map(Value::moref)
    }
}

/// Whether a VM's guest reports `ip` (its primary address or any NIC address).
pub(crate) fn vm_has_ip(o: &crate::inventory::ManagedObject, ip: &str) -> bool {
    let Some(guest) = o.get("guest") else {
        return false;
    };
    if guest.field("ipAddress").and_then(Value::as_str) == Some(ip) {
        return true;
    }
    // `guest.net[].ipAddress[]`: every address of every NIC.
    guest.field("net").is_some_and(|nets| {
        nets.items().iter().any(|n| {
            n.field("ipAddress")
                .is_some_and(|a| a.items().iter().any(|x| x.as_str() == Some(ip)))
        })
    })
}

/// `FindByIp(datacenter?, ip, vmSearch)`: a VM whose guest reports the address; a host
/// whose name is the address (hosts are added to vCenter by address or DNS name, and the
/// emulator models no VMkernel NICs to search).
pub fn find_by_ip(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let dc = scope(emu, args)?;
    let ip = args.text("ip")?.trim();
    let vms = vm_search(args)?;
    if ip.is_empty() {
        return Ok(None);
    }
    let found = if vms {
        search(emu, "VirtualMachine", dc.as_ref(), |o| vm_has_ip(o, ip))
    } else {
        search(emu, "HostSystem", dc.as_ref(), |o| o.name() == ip)
    };
    Ok(answer(found, false))
}

/// `FindByDnsName(datacenter?, dnsName, vmSearch)`: a VM whose guest reports the host name
/// (`guest.hostName`), or a host by name; DNS names compare case-insensitively.
pub fn find_by_dns_name(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let dc = scope(emu, args)?;
    let name = args.text("dnsName")?.trim().trim_end_matches('.');
    let vms = vm_search(args)?;
    if name.is_empty() {
        return Ok(None);
    }
    let same = |v: &str| v.trim_end_matches('.').eq_ignore_ascii_case(name);
    let found = if vms {
        search(emu, "VirtualMachine", dc.as_ref(), |o| {
            text_at(o, "guest", "hostName").is_some_and(same)
        })
    } else {
        search(emu, "HostSystem", dc.as_ref(), |o| same(o.name()))
    };
    Ok(answer(found, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_paths_split_on_slashes_and_skip_empty_segments() {
        assert_eq!(
            path_segments("DC0/vm/DC0_H0_VM0"),
            Some(vec!["DC0", "vm", "DC0_H0_VM0"])
        );
        assert_eq!(
            path_segments("/DC0/host/DC0_C0/Resources/"),
            Some(vec!["DC0", "host", "DC0_C0", "Resources"])
        );
        assert_eq!(path_segments("//DC0//vm"), Some(vec!["DC0", "vm"]));
        assert_eq!(path_segments(""), Some(vec![]));
        // An escaped slash stays inside its segment, as vCenter stores such names.
        assert_eq!(
            path_segments("DC0/vm/a%2fb"),
            Some(vec!["DC0", "vm", "a%2fb"])
        );
    }

    #[test]
    fn overlong_paths_are_refused() {
        assert_eq!(path_segments(&"a/".repeat(MAX_SEGMENTS + 1)), None);
        assert_eq!(path_segments(&"x".repeat(MAX_INVENTORY_PATH + 1)), None);
    }

    use super::harness::{H, mo};
    use crate::config::Flavor;

    fn path(h: &mut H, p: &str) -> Option<MoRef> {
        let si = h.emu.refs.search_index.clone();
        let r = h
            .call(
                "FindByInventoryPath",
                &si,
                &format!("<inventoryPath>{p}</inventoryPath>"),
            )
            .unwrap();
        r.as_ref().and_then(Value::as_moref).cloned()
    }

    #[test]
    fn inventory_paths_resolve_through_the_api_child_lists() {
        let mut h = H::new(Flavor::VirtualCenter);
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let dc = h.find("Datacenter", "DC0");
        let host = h.find("HostSystem", "DC0_C0_H0");
        let root = h.emu.root_folder().clone();
        assert_eq!(path(&mut h, "DC0/vm/DC0_H0_VM0"), Some(vm));
        assert_eq!(path(&mut h, "/DC0/host/DC0_C0/DC0_C0_H0"), Some(host));
        assert_eq!(path(&mut h, "DC0"), Some(dc));
        assert_eq!(path(&mut h, "/"), Some(root));
        let pool = path(&mut h, "/DC0/host/DC0_C0/Resources").expect("the cluster's root pool");
        assert_eq!(pool.ty, "ResourcePool");
        assert_eq!(path(&mut h, "DC0/vm/no-such-vm"), None);
        assert_eq!(path(&mut h, ""), None);
    }

    #[test]
    fn find_child_and_uuid_searches() {
        let mut h = H::new(Flavor::VirtualCenter);
        let si = h.emu.refs.search_index.clone();
        let vm = h.find("VirtualMachine", "DC0_C0_RP0_VM0");
        let folder = h.emu.inv.get(&vm).unwrap().parent().unwrap().clone();
        let body = format!("{}<name>DC0_C0_RP0_VM0</name>", mo("entity", &folder));
        assert_eq!(
            h.call("FindChild", &si, &body).unwrap(),
            Some(Value::moref(&vm))
        );
        let body = format!("{}<name>nope</name>", mo("entity", &folder));
        assert_eq!(h.call("FindChild", &si, &body).unwrap(), None);
        let gone = MoRef::new("Folder", "group-v999999");
        let body = format!("{}<name>x</name>", mo("entity", &gone));
        assert_eq!(
            h.call("FindChild", &si, &body).unwrap_err().ty,
            "ManagedObjectNotFound"
        );

        let config = h.emu.inv.prop(&vm, "config").unwrap().clone();
        let uuid = config
            .field("uuid")
            .and_then(Value::as_str)
            .unwrap()
            .to_uppercase();
        let instance = config
            .field("instanceUuid")
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        let body = format!("<uuid>{uuid}</uuid><vmSearch>true</vmSearch>");
        assert_eq!(
            h.call("FindByUuid", &si, &body).unwrap(),
            Some(Value::moref(&vm))
        );
        let body = format!(
            "<uuid>{instance}</uuid><vmSearch>true</vmSearch><instanceUuid>true</instanceUuid>"
        );
        assert_eq!(
            h.call("FindByUuid", &si, &body).unwrap(),
            Some(Value::moref(&vm))
        );
        let body = format!("<uuid>{instance}</uuid><vmSearch>true</vmSearch>");
        assert_eq!(h.call("FindByUuid", &si, &body).unwrap(), None);
        let all = h
            .call(
                "FindAllByUuid",
                &si,
                &format!("<uuid>{uuid}</uuid><vmSearch>true</vmSearch>"),
            )
            .unwrap();
        assert_eq!(all.unwrap().items(), &[Value::moref(&vm)]);
        let none = h.call(
            "FindAllByUuid",
            &si,
            "<uuid>00000000-0000-0000-0000-000000000000</uuid><vmSearch>true</vmSearch>",
        );
        assert!(none.unwrap().unwrap().items().is_empty());

        let host = h.find("HostSystem", "DC0_H0");
        let host_uuid = h
            .emu
            .inv
            .prop(&host, "summary")
            .and_then(|s| s.field("hardware"))
            .and_then(|hw| hw.field("uuid"));
        let host_uuid = host_uuid.and_then(Value::as_str).unwrap().to_owned();
        let body = format!("<uuid>{host_uuid}</uuid><vmSearch>false</vmSearch>");
        assert_eq!(
            h.call("FindByUuid", &si, &body).unwrap(),
            Some(Value::moref(&host))
        );
        // The datacenter scope must exist; vmSearch is required.
        let body = format!(
            "{}<uuid>{uuid}</uuid><vmSearch>true</vmSearch>",
            mo("datacenter", &MoRef::new("Datacenter", "datacenter-0"))
        );
        assert_eq!(
            h.call("FindByUuid", &si, &body).unwrap_err().ty,
            "ManagedObjectNotFound"
        );
        assert_eq!(
            h.call("FindByUuid", &si, "<uuid>x</uuid>").unwrap_err().ty,
            "InvalidArgument"
        );
    }

    #[test]
    fn ip_and_dns_searches_read_guest_and_host_names() {
        let mut h = H::new(Flavor::VirtualCenter);
        let si = h.emu.refs.search_index.clone();
        let vm = h.find("VirtualMachine", "DC0_H0_VM1");
        h.emu
            .inv
            .update(&vm, |o| {
                let g = o
                    .props
                    .get_mut("guest")
                    .and_then(Value::as_data_mut)
                    .unwrap();
                g.set("ipAddress", Value::str("10.0.0.7"));
                g.set("hostName", Value::str("web-1.example.com"));
            })
            .unwrap();
        let body = "<ip>10.0.0.7</ip><vmSearch>true</vmSearch>";
        assert_eq!(
            h.call("FindByIp", &si, body).unwrap(),
            Some(Value::moref(&vm))
        );
        assert_eq!(
            h.call(
                "FindByIp",
                &si,
                "<ip>10.0.0.8</ip><vmSearch>true</vmSearch>"
            )
            .unwrap(),
            None
        );
        let body = "<dnsName>WEB-1.example.com.</dnsName><vmSearch>true</vmSearch>";
        assert_eq!(
            h.call("FindByDnsName", &si, body).unwrap(),
            Some(Value::moref(&vm))
        );
        let host = h.find("HostSystem", "DC0_C0_H1");
        let body = "<dnsName>dc0_c0_h1</dnsName><vmSearch>false</vmSearch>";
        assert_eq!(
            h.call("FindByDnsName", &si, body).unwrap(),
            Some(Value::moref(&host))
        );
    }
}

/// A small end-to-end harness for the method-family tests in this directory: an emulator
/// with the default model, a logged-in session, and calls made through `dispatch` exactly
/// as the SOAP front makes them (followed by the event-collector refresh the server runs
/// after every call).
#[cfg(test)]
pub(crate) mod harness {
    use crate::config::{Config, Flavor};
    use crate::emulator::Emulator;
    use crate::methods::{CallContext, Outcome, dispatch, refresh_event_collectors};
    use crate::soap::{Call, parse_document};
    use crate::vmodl::{Fault, MoRef, Value};

    /// An emulator and a session.
    pub struct H {
        pub emu: Emulator,
        pub ctx: CallContext,
    }

    impl H {
        /// The default model of `flavor`, logged in.
        pub fn new(flavor: Flavor) -> H {
            let emu = Emulator::new(Config {
                flavor,
                ..Config::default()
            })
            .expect("the default model builds");
            let mut h = H {
                emu,
                ctx: CallContext::default(),
            };
            let sm = h.emu.refs.session_manager.clone();
            h.call(
                "Login",
                &sm,
                "<userName>user</userName><password>pass</password>",
            )
            .expect("login");
            h
        }

        /// Calls `method` on `this` with the parameter XML `body`.
        pub fn call(
            &mut self,
            method: &str,
            this: &MoRef,
            body: &str,
        ) -> Result<Option<Value>, Fault> {
            let xml = format!(
                "<{method} xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                 xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><_this type=\"{}\">{}</_this>{body}</{method}>",
                this.ty, this.value
            );
            let call = Call {
                method: method.to_owned(),
                this: this.clone(),
                args: parse_document(&xml).expect("test XML"),
            };
            let out = match dispatch(&mut self.emu, &mut self.ctx, &call) {
                Outcome::Done(r) => r,
                Outcome::Wait(_) => panic!("{method} waited"),
            };
            refresh_event_collectors(&mut self.emu);
            out
        }

        /// Calls a `*_Task` method and returns the task's result, or the type of the fault
        /// in its `info.error`.
        pub fn task(
            &mut self,
            method: &str,
            this: &MoRef,
            body: &str,
        ) -> Result<Option<Value>, String> {
            let task = self
                .call(method, this, body)
                .map_err(|f| format!("{} (not a task)", f.ty))?;
            let task = task
                .as_ref()
                .and_then(Value::as_moref)
                .expect("a task reference")
                .clone();
            let info = self.emu.inv.prop(&task, "info").expect("task info").clone();
            match info.field("state").and_then(Value::as_str) {
                Some("success") => Ok(info.field("result").cloned()),
                Some("error") => Err(info
                    .field("error")
                    .and_then(|e| e.field("fault"))
                    .map(|f| f.xsi_type().into_owned())
                    .unwrap_or_default()),
                other => panic!("task state {other:?}"),
            }
        }

        /// The first object of type `ty` named `name`.
        pub fn find(&self, ty: &str, name: &str) -> MoRef {
            self.emu
                .inv
                .iter()
                .find(|o| o.moref.ty == ty && o.name() == name)
                .map(|o| o.moref.clone())
                .unwrap_or_else(|| panic!("no {ty} named {name}"))
        }

        /// All objects of type `ty`.
        pub fn all(&self, ty: &str) -> Vec<MoRef> {
            self.emu
                .inv
                .iter()
                .filter(|o| o.moref.ty == ty)
                .map(|o| o.moref.clone())
                .collect()
        }
    }

    /// A MoRef parameter element.
    pub fn mo(tag: &str, r: &MoRef) -> String {
        format!("<{tag} type=\"{}\">{}</{tag}>", r.ty, r.value)
    }
}

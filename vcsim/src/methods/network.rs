//! HostNetworkSystem: AddVirtualSwitch, RemoveVirtualSwitch, AddPortGroup and
//! RemovePortGroup on a host's standard switches (`networkInfo.vswitch` /
//! `networkInfo.portgroup`).
//!
//! A standard port group is what VMs attach to, so each one is also a `Network` entity in
//! the host's datacenter (`network-N` on vCenter, `HaNetwork-<name>` on ESXi), linked both
//! ways with the host (`host.network`, `network.host`) and listed in `datacenter.network`,
//! its compute resource's `network` and the network folder. As on vCenter, port groups of
//! the same name on several hosts share one `Network`, which goes away with the last of
//! them. VIC creates its ESXi bridge this way: `AddVirtualSwitch(name, numPorts=1024)`, then
//! `AddPortGroup(name, vlanId, vswitch=name)`.

use super::{Args, CallContext, run_task};
use crate::config::Flavor;
use crate::emulator::Emulator;
use crate::soap::{Call, Element};
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Most standard switches per host (ESXi's configuration maximum is in this range).
pub const VSWITCHES_MAX: usize = 512;

/// Most port groups per host.
pub const PORTGROUPS_MAX: usize = 1024;

/// Longest switch or port group name.
const NAME_MAX: usize = 80;

/// Ports of a switch made without a spec, and the most a spec may ask for.
const DEFAULT_NUM_PORTS: i32 = 128;
const NUM_PORTS_MAX: i32 = 4096;

/// MTU bounds ESXi accepts, and its default.
const MTU_MIN: i32 = 1280;
const MTU_MAX: i32 = 9000;
const DEFAULT_MTU: i32 = 1500;

/// `HostVirtualSwitch.key` of a switch.
fn vswitch_key(name: &str) -> String {
    format!("key-vim.host.VirtualSwitch-{name}")
}

/// `HostPortGroup.key` of a port group.
fn portgroup_key(name: &str) -> String {
    format!("key-vim.host.PortGroup-{name}")
}

/// `HostNetworkSecurityPolicy` overrides read from a client's policy (only the three
/// booleans the type has; anything else a client sends is not echoed back).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Security {
    allow_promiscuous: Option<bool>,
    mac_changes: Option<bool>,
    forged_transmits: Option<bool>,
}

impl Security {
    fn parse(policy: Option<&Element>) -> Result<Security, Fault> {
        let Some(sec) = policy.and_then(|p| p.child("security")) else {
            return Ok(Security::default());
        };
        let b = |name: &str| -> Result<Option<bool>, Fault> {
            match sec.child_text(name) {
                None => Ok(None),
                Some("true" | "1") => Ok(Some(true)),
                Some("false" | "0") => Ok(Some(false)),
                Some(_) => Err(Fault::invalid_argument(&format!("policy.security.{name}"))),
            }
        };
        Ok(Security {
            allow_promiscuous: b("allowPromiscuous")?,
            mac_changes: b("macChanges")?,
            forged_transmits: b("forgedTransmits")?,
        })
    }

    fn is_empty(&self) -> bool {
        *self == Security::default()
    }

    fn to_value(self) -> Value {
        DataObject::new("HostNetworkSecurityPolicy")
            .with_opt("allowPromiscuous", self.allow_promiscuous.map(Value::Bool))
            .with_opt("macChanges", self.mac_changes.map(Value::Bool))
            .with_opt("forgedTransmits", self.forged_transmits.map(Value::Bool))
            .into_value()
    }

    /// These overrides on top of ESXi's switch defaults (no promiscuous mode, MAC changes
    /// and forged transmits allowed).
    fn effective(self) -> Security {
        Security {
            allow_promiscuous: Some(self.allow_promiscuous.unwrap_or(false)),
            mac_changes: Some(self.mac_changes.unwrap_or(true)),
            forged_transmits: Some(self.forged_transmits.unwrap_or(true)),
        }
    }
}

/// A full `HostNetworkPolicy` as ESXi reports a standard switch's (and a port group's
/// computed policy): the security settings, source-port load balancing, offloads on, no
/// traffic shaping.
fn full_policy(sec: Security) -> Value {
    DataObject::new("HostNetworkPolicy")
        .with("security", sec.effective().to_value())
        .with(
            "nicTeaming",
            DataObject::new("HostNicTeamingPolicy")
                .with("policy", Value::str("loadbalance_srcid"))
                .with("reversePolicy", Value::Bool(true))
                .with("notifySwitches", Value::Bool(true))
                .with("rollingOrder", Value::Bool(false))
                .into_value(),
        )
        .with(
            "offloadPolicy",
            DataObject::new("HostNetOffloadCapabilities")
                .with("csumOffload", Value::Bool(true))
                .with("tcpSegmentation", Value::Bool(true))
                .with("zeroCopyXmit", Value::Bool(true))
                .into_value(),
        )
        .with(
            "shapingPolicy",
            DataObject::new("HostNetworkTrafficShapingPolicy")
                .with("enabled", Value::Bool(false))
                .into_value(),
        )
        .into_value()
}

/// A port group's own policy: only what it overrides (an empty policy inherits the
/// switch's, as ESXi shows a new port group).
fn override_policy(sec: Security) -> Value {
    let mut p = DataObject::new("HostNetworkPolicy");
    if !sec.is_empty() {
        p.set("security", sec.to_value());
    }
    p.into_value()
}

/// A `HostVirtualSwitch`.
fn vswitch_value(
    name: &str,
    num_ports: i32,
    mtu: i32,
    sec: Security,
    portgroups: Vec<String>,
) -> Value {
    let spec = DataObject::new("HostVirtualSwitchSpec")
        .with("numPorts", Value::Int(num_ports))
        .with("policy", full_policy(sec))
        .with("mtu", Value::Int(mtu))
        .into_value();
    DataObject::new("HostVirtualSwitch")
        .with("name", Value::str(name))
        .with("key", Value::str(vswitch_key(name)))
        .with("numPorts", Value::Int(num_ports))
        .with("numPortsAvailable", Value::Int(num_ports))
        .with("mtu", Value::Int(mtu))
        .with("portgroup", Value::strings(portgroups))
        .with("spec", spec)
        .into_value()
}

/// A `HostPortGroup` on switch `vswitch`.
fn portgroup_value(name: &str, vlan: i32, vswitch: &str, sec: Security) -> Value {
    let spec = DataObject::new("HostPortGroupSpec")
        .with("name", Value::str(name))
        .with("vlanId", Value::Int(vlan))
        .with("vswitchName", Value::str(vswitch))
        .with("policy", override_policy(sec))
        .into_value();
    DataObject::new("HostPortGroup")
        .with("key", Value::str(portgroup_key(name)))
        .with("vswitch", Value::str(vswitch_key(vswitch)))
        .with("computedPolicy", full_policy(sec))
        .with("spec", spec)
        .into_value()
}

/// A `HostNetworkInfo` with `vSwitch0` carrying the given port groups (VLAN 0), as a fresh
/// ESXi host has (`VM Network`, `Management Network`). For building the inventory.
pub fn seed_network_info(port_groups: &[&str]) -> Value {
    let keys = port_groups.iter().map(|p| portgroup_key(p)).collect();
    let vs = vswitch_value(
        "vSwitch0",
        DEFAULT_NUM_PORTS,
        DEFAULT_MTU,
        Security::default(),
        keys,
    );
    let pgs = port_groups
        .iter()
        .map(|p| portgroup_value(p, 0, "vSwitch0", Security::default()))
        .collect();
    DataObject::new("HostNetworkInfo")
        .with("vswitch", Value::array("HostVirtualSwitch", vec![vs]))
        .with("portgroup", Value::array("HostPortGroup", pgs))
        .into_value()
}

/// The name of a switch or port group entry.
fn vswitch_name(v: &Value) -> Option<&str> {
    v.field("name").and_then(Value::as_str)
}

fn portgroup_name(v: &Value) -> Option<&str> {
    v.field("spec")
        .and_then(|s| s.field("name"))
        .and_then(Value::as_str)
}

fn portgroup_vswitch(v: &Value) -> Option<&str> {
    v.field("spec")
        .and_then(|s| s.field("vswitchName"))
        .and_then(Value::as_str)
}

/// A host network system's switches and port groups, and its host.
struct NetState {
    host: MoRef,
    vswitches: Vec<Value>,
    portgroups: Vec<Value>,
}

/// Reads the state behind a HostNetworkSystem call.
fn load(emu: &Emulator, call: &Call) -> Result<NetState, Fault> {
    if call.this.ty != "HostNetworkSystem" {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    let info = emu.inv.get(&call.this)?.get("networkInfo").cloned();
    let host = emu
        .inv
        .iter()
        .find(|o| {
            o.moref.ty == "HostSystem"
                && o.get("configManager")
                    .and_then(|c| c.field("networkSystem"))
                    .and_then(Value::as_moref)
                    .is_some_and(|m| m.value == call.this.value)
        })
        .map(|o| o.moref.clone())
        .ok_or_else(|| Fault::new("HostConfigFault", "The network system belongs to no host."))?;
    let list = |f: &str| {
        info.as_ref()
            .and_then(|i| i.field(f))
            .map(|v| v.items().to_vec())
            .unwrap_or_default()
    };
    Ok(NetState {
        host,
        vswitches: list("vswitch"),
        portgroups: list("portgroup"),
    })
}

/// Writes the switches and port groups back, keeping the rest of `networkInfo`.
fn store(emu: &mut Emulator, call: &Call, st: NetState) -> Result<(), Fault> {
    emu.inv.update(&call.this, |o| {
        let info = o
            .props
            .entry("networkInfo".into())
            .or_insert_with(|| DataObject::new("HostNetworkInfo").into_value());
        if let Some(d) = info.as_data_mut() {
            d.set("vswitch", Value::array("HostVirtualSwitch", st.vswitches));
            d.set("portgroup", Value::array("HostPortGroup", st.portgroups));
        }
    })
}

/// A name parameter: non-empty and bounded.
fn name_arg<'a>(text: Option<&'a str>, field: &str) -> Result<&'a str, Fault> {
    match text {
        Some(n) if !n.is_empty() && n.len() <= NAME_MAX => Ok(n),
        _ => Err(Fault::invalid_argument(field)),
    }
}

/// An optional int child within bounds.
fn bounded_int(
    el: &Element,
    name: &str,
    range: std::ops::RangeInclusive<i32>,
    field: &str,
) -> Result<Option<i32>, Fault> {
    match el.child_text(name) {
        None => Ok(None),
        Some(t) => match t.parse::<i32>() {
            Ok(v) if range.contains(&v) => Ok(Some(v)),
            _ => Err(Fault::invalid_argument(field)),
        },
    }
}

/// `AlreadyExists { name }`.
fn already_exists(name: &str) -> Fault {
    Fault::new(
        "AlreadyExists",
        format!("The specified key, name, or identifier '{name}' already exists."),
    )
    .with("name", Value::str(name))
}

/// `ResourceInUse { type, name }`.
fn in_use(ty: &str, name: &str) -> Fault {
    Fault::new("ResourceInUse", format!("The resource '{name}' is in use."))
        .with("type", Value::str(ty))
        .with("name", Value::str(name))
}

/// `AddVirtualSwitch(vswitchName, spec?)`.
pub fn add_virtual_switch(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let mut st = load(emu, call)?;
    let name = name_arg(args.opt_text("vswitchName"), "vswitchName")?;
    let (num_ports, mtu, sec) = match args.element("spec") {
        Some(spec) => (
            bounded_int(spec, "numPorts", 1..=NUM_PORTS_MAX, "spec.numPorts")?
                .unwrap_or(DEFAULT_NUM_PORTS),
            bounded_int(spec, "mtu", MTU_MIN..=MTU_MAX, "spec.mtu")?.unwrap_or(DEFAULT_MTU),
            Security::parse(spec.child("policy"))?,
        ),
        None => (DEFAULT_NUM_PORTS, DEFAULT_MTU, Security::default()),
    };
    if st.vswitches.iter().any(|v| vswitch_name(v) == Some(name)) {
        return Err(already_exists(name));
    }
    if st.vswitches.len() >= VSWITCHES_MAX {
        return Err(Fault::new(
            "HostConfigFault",
            "The host has reached its limit of virtual switches.",
        ));
    }
    // The switch has no uplinks: the emulated host has no physical NICs to bond.
    st.vswitches
        .push(vswitch_value(name, num_ports, mtu, sec, Vec::new()));
    store(emu, call, st)?;
    Ok(None)
}

/// `RemoveVirtualSwitch(vswitchName)`: `NotFound` when absent; its port groups go with it
/// unless a VM on the host uses one (`ResourceInUse`).
pub fn remove_virtual_switch(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let mut st = load(emu, call)?;
    let name = name_arg(args.opt_text("vswitchName"), "vswitchName")?;
    if !st.vswitches.iter().any(|v| vswitch_name(v) == Some(name)) {
        return Err(Fault::not_found_plain(format!(
            "The virtual switch '{name}' was not found."
        )));
    }
    let pgs: Vec<String> = st
        .portgroups
        .iter()
        .filter(|p| portgroup_vswitch(p) == Some(name))
        .filter_map(portgroup_name)
        .map(str::to_owned)
        .collect();
    for pg in &pgs {
        if network_in_use(emu, &st.host, pg) {
            return Err(in_use("HostVirtualSwitch", name));
        }
    }
    for pg in &pgs {
        unlink_network(emu, &st.host, pg)?;
    }
    st.portgroups.retain(|p| portgroup_vswitch(p) != Some(name));
    st.vswitches.retain(|v| vswitch_name(v) != Some(name));
    store(emu, call, st)?;
    Ok(None)
}

/// `AddPortGroup(portgrp)`: `AlreadyExists` for a duplicate name, `NotFound` without the
/// switch; creates or joins the datacenter's `Network` of that name.
pub fn add_port_group(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let mut st = load(emu, call)?;
    let pg = args
        .element("portgrp")
        .ok_or_else(|| Fault::invalid_argument("portgrp"))?;
    let name = name_arg(pg.child_text("name"), "portgrp.name")?;
    let vswitch = name_arg(pg.child_text("vswitchName"), "portgrp.vswitchName")?;
    // 0: no VLAN; 4095: all VLANs (guest tagging).
    let vlan = bounded_int(pg, "vlanId", 0..=4095, "portgrp.vlanId")?.unwrap_or(0);
    let sec = Security::parse(pg.child("policy"))?;
    if st
        .portgroups
        .iter()
        .any(|p| portgroup_name(p) == Some(name))
    {
        return Err(already_exists(name));
    }
    let Some(vs) = st
        .vswitches
        .iter_mut()
        .find(|v| vswitch_name(v) == Some(vswitch))
    else {
        return Err(Fault::not_found_plain(format!(
            "The virtual switch '{vswitch}' was not found."
        )));
    };
    if st.portgroups.len() >= PORTGROUPS_MAX {
        return Err(Fault::new(
            "HostConfigFault",
            "The host has reached its limit of port groups.",
        ));
    }
    if let Some(keys) = vs
        .as_data_mut()
        .and_then(|d| d.get_mut("portgroup"))
        .and_then(Value::items_mut)
    {
        keys.push(Value::str(portgroup_key(name)));
    }
    st.portgroups
        .push(portgroup_value(name, vlan, vswitch, sec));
    link_network(emu, &st.host, name)?;
    store(emu, call, st)?;
    Ok(None)
}

/// `RemovePortGroup(pgName)`: `NotFound` when absent, `ResourceInUse` while a VM on the
/// host is attached to it.
pub fn remove_port_group(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let mut st = load(emu, call)?;
    let name = name_arg(args.opt_text("pgName"), "pgName")?;
    let Some(vswitch) = st
        .portgroups
        .iter()
        .find(|p| portgroup_name(p) == Some(name))
        .map(|p| portgroup_vswitch(p).unwrap_or("").to_owned())
    else {
        return Err(Fault::not_found_plain(format!(
            "The port group '{name}' was not found."
        )));
    };
    if network_in_use(emu, &st.host, name) {
        return Err(in_use("Network", name));
    }
    unlink_network(emu, &st.host, name)?;
    st.portgroups.retain(|p| portgroup_name(p) != Some(name));
    let key = portgroup_key(name);
    if let Some(vs) = st
        .vswitches
        .iter_mut()
        .find(|v| vswitch_name(v) == Some(vswitch.as_str()))
        && let Some(keys) = vs
            .as_data_mut()
            .and_then(|d| d.get_mut("portgroup"))
            .and_then(Value::items_mut)
    {
        keys.retain(|k| k.as_str() != Some(key.as_str()));
    }
    store(emu, call, st)?;
    Ok(None)
}

/// The datacenter of a host and its network folder.
fn datacenter_folder(emu: &Emulator, host: &MoRef) -> Result<(MoRef, MoRef), Fault> {
    let dc = emu
        .datacenter_of(host)
        .ok_or_else(|| Fault::new("HostConfigFault", "The host is in no datacenter."))?;
    let folder = emu
        .inv
        .prop(&dc, "networkFolder")
        .and_then(Value::as_moref)
        .cloned()
        .ok_or_else(|| Fault::new("HostConfigFault", "The datacenter has no network folder."))?;
    Ok((dc, folder))
}

/// The datacenter's entity named `name` among its networks.
fn network_named(emu: &Emulator, dc: &MoRef, name: &str) -> Option<MoRef> {
    emu.inv
        .refs(dc, "network")
        .into_iter()
        .find(|n| emu.inv.lookup(n).is_some_and(|o| o.name() == name))
}

/// The standard-switch `Network` of that name the host is linked to.
fn host_network(emu: &Emulator, host: &MoRef, name: &str) -> Option<MoRef> {
    emu.inv
        .refs(host, "network")
        .into_iter()
        .find(|n| n.ty == "Network" && emu.inv.lookup(n).is_some_and(|o| o.name() == name))
}

/// Whether a VM on `host` is attached to its network `name`.
fn network_in_use(emu: &Emulator, host: &MoRef, name: &str) -> bool {
    let Some(net) = host_network(emu, host, name) else {
        return false;
    };
    let on_host = emu.inv.refs(host, "vm");
    emu.inv
        .refs(&net, "vm")
        .iter()
        .any(|vm| on_host.contains(vm))
}

/// Creates (or joins) the `Network` behind a new port group and links it with the host.
fn link_network(emu: &mut Emulator, host: &MoRef, name: &str) -> Result<MoRef, Fault> {
    let (dc, folder) = datacenter_folder(emu, host)?;
    let net = match network_named(emu, &dc, name) {
        Some(n) if n.ty == "Network" => n,
        // A distributed port group or switch of that name: the name is taken.
        Some(_) => return Err(already_exists(name)),
        None => {
            if emu.inv.child_named(&folder, name).is_some() {
                return Err(already_exists(name));
            }
            let value = match emu.flavor {
                Flavor::HostAgent => format!("HaNetwork-{name}"),
                Flavor::VirtualCenter => emu.inv.alloc("network-"),
            };
            let n = MoRef::new("Network", value);
            emu.inv
                .insert(crate::inventory::network(n.clone(), name, &folder));
            emu.inv.push_ref(&folder, "childEntity", &n)?;
            emu.inv.push_ref(&dc, "network", &n)?;
            n
        }
    };
    emu.inv.push_ref(&net, "host", host)?;
    emu.inv.push_ref(host, "network", &net)?;
    if let Some(cr) = emu.inv.get(host)?.parent().cloned() {
        emu.inv.push_ref(&cr, "network", &net)?;
    }
    Ok(net)
}

/// Unlinks the host from the `Network` of a removed port group; the network goes when no
/// host has it and no VM uses it.
fn unlink_network(emu: &mut Emulator, host: &MoRef, name: &str) -> Result<(), Fault> {
    let Some(net) = host_network(emu, host, name) else {
        return Ok(());
    };
    emu.inv.pull_ref(&net, "host", host)?;
    emu.inv.pull_ref(host, "network", &net)?;
    if let Some(cr) = emu.inv.get(host)?.parent().cloned() {
        let still = emu
            .inv
            .refs(&cr, "host")
            .iter()
            .any(|h| emu.inv.refs(h, "network").contains(&net));
        if !still {
            let _ = emu.inv.pull_ref(&cr, "network", &net);
        }
    }
    if emu.inv.refs(&net, "host").is_empty() && emu.inv.refs(&net, "vm").is_empty() {
        let (dc, _) = datacenter_folder(emu, host)?;
        if let Some(parent) = emu.inv.get(&net)?.parent().cloned() {
            let _ = emu.inv.pull_ref(&parent, "childEntity", &net);
        }
        let _ = emu.inv.pull_ref(&dc, "network", &net);
        emu.inv.remove(&net);
    }
    Ok(())
}

/// A synthetic parameter element (to reuse the single-change handlers for
/// UpdateNetworkConfig's entries).
fn param(name: &str, children: Vec<Element>, text: &str) -> Element {
    Element {
        name: name.to_owned(),
        ns: None,
        xsi_type: None,
        xsi_primitive: false,
        attrs: Vec::new(),
        children,
        text: text.to_owned(),
    }
}

/// Most entries one UpdateNetworkConfig applies.
const NETWORK_CONFIG_MAX: usize = 256;

/// `UpdateNetworkConfig(config, changeMode)`, minimally: the `vswitch` and `portgroup`
/// entries with `changeOperation` `add` or `remove` (and `edit`, which replaces), applied
/// in order through AddVirtualSwitch / AddPortGroup / Remove*; other sections are ignored.
/// Returns an empty `HostNetworkConfigResult`.
pub fn update_network_config(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    load(emu, call)?;
    let config = args
        .element("config")
        .ok_or_else(|| Fault::invalid_argument("config"))?;
    let mode = args.opt_text("changeMode").unwrap_or("modify");
    if !matches!(mode, "modify" | "replace") {
        return Err(Fault::invalid_argument("changeMode"));
    }
    let n = config.children_named("vswitch").count() + config.children_named("portgroup").count();
    if n > NETWORK_CONFIG_MAX {
        return Err(Fault::invalid_argument("config"));
    }
    for vs in config.children_named("vswitch") {
        let op = vs.child_text("changeOperation").unwrap_or("add");
        let name = name_arg(vs.child_text("name"), "config.vswitch.name")?;
        let name_el = param("vswitchName", Vec::new(), name);
        if matches!(op, "remove" | "edit") {
            let el = param("r", vec![name_el.clone()], "");
            remove_virtual_switch(emu, call, &Args::new(&el))?;
        }
        if matches!(op, "add" | "edit") {
            let mut children = vec![name_el];
            if let Some(spec) = vs.child("spec") {
                children.push(spec.clone());
            }
            let el = param("a", children, "");
            add_virtual_switch(emu, call, &Args::new(&el))?;
        } else if op != "remove" {
            return Err(Fault::invalid_argument("config.vswitch.changeOperation"));
        }
    }
    for pg in config.children_named("portgroup") {
        let op = pg.child_text("changeOperation").unwrap_or("add");
        let spec = pg
            .child("spec")
            .ok_or_else(|| Fault::invalid_argument("config.portgroup.spec"))?;
        let name = name_arg(spec.child_text("name"), "config.portgroup.spec.name")?;
        if matches!(op, "remove" | "edit") {
            let el = param("r", vec![param("pgName", Vec::new(), name)], "");
            remove_port_group(emu, call, &Args::new(&el))?;
        }
        if matches!(op, "add" | "edit") {
            let mut portgrp = spec.clone();
            portgrp.name = "portgrp".into();
            let el = param("a", vec![portgrp], "");
            add_port_group(emu, call, &Args::new(&el))?;
        } else if op != "remove" {
            return Err(Fault::invalid_argument("config.portgroup.changeOperation"));
        }
    }
    Ok(Some(
        DataObject::new("HostNetworkConfigResult").into_value(),
    ))
}

/// `QueryNetworkHint(device[])`: one empty hint per physical NIC asked for (the emulated
/// hosts observe no traffic); `NotFound` for a device the host lacks.
pub fn query_network_hint(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    load(emu, call)?;
    let known = ["vmnic0", "vmnic1"];
    let asked: Vec<&str> = args.texts("device");
    if asked.len() > 64 {
        return Err(Fault::invalid_argument("device"));
    }
    let devices: Vec<&str> = if asked.is_empty() {
        known.to_vec()
    } else {
        asked
    };
    let mut out = Vec::new();
    for d in devices {
        if !known.contains(&d) {
            return Err(Fault::not_found_plain(format!(
                "The physical NIC '{d}' was not found."
            )));
        }
        out.push(
            DataObject::new("PhysicalNicHintInfo")
                .with("device", Value::str(d))
                .into_value(),
        );
    }
    Ok(Some(Value::array("PhysicalNicHintInfo", out)))
}

fn dvs_only(call: &Call) -> Result<(), Fault> {
    if crate::vmodl::is_a(&call.this.ty, "DistributedVirtualSwitch") {
        Ok(())
    } else {
        Err(Fault::method_not_found(&call.this, &call.method))
    }
}

/// `ConcurrentAccess` when a spec's `configVersion` is stale.
fn check_version(current: Option<&str>, sent: Option<&str>) -> Result<(), Fault> {
    match (current, sent) {
        (Some(c), Some(s)) if !s.is_empty() && c != s => Err(Fault::new(
            "ConcurrentAccess",
            "The object has been modified since the configVersion was read",
        )),
        _ => Ok(()),
    }
}

fn bump_version(cfg: &mut DataObject) {
    let next = cfg
        .get("configVersion")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        + 1;
    cfg.set("configVersion", Value::str(next.to_string()));
}

/// A reconfigure spec's `name`, checked as a new name.
fn spec_name(spec: &Element) -> Result<Option<String>, Fault> {
    match spec.child_text("name") {
        Some(n) => Ok(Some(name_arg(Some(n), "spec.name")?.to_owned())),
        None => Ok(None),
    }
}

/// A reconfigure spec's `description` (at most 4096 bytes).
fn spec_description(spec: &Element) -> Result<Option<String>, Fault> {
    let description = spec.child_text("description").map(str::to_owned);
    if description.as_ref().is_some_and(|d| d.len() > 4096) {
        return Err(Fault::invalid_argument("spec.description"));
    }
    Ok(description)
}

/// What ReconfigureDvs_Task and ReconfigureDVPortgroup_Task share: a task on the receiver
/// that faults `ConcurrentAccess` when the spec's `configVersion` is stale, renames it
/// (`DuplicateName` for a taken name), then sets in `config` the name, what `apply` sets,
/// the description and a bumped `configVersion`, and the name in `summary`.
fn reconfigure_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    spec: &Element,
    name: Option<String>,
    description: Option<String>,
    apply: impl FnOnce(&mut DataObject),
) -> Result<Option<Value>, Fault> {
    let version = spec.child_text("configVersion").map(str::to_owned);
    let obj = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        let current = emu
            .inv
            .prop(&obj, "config")
            .and_then(|c| c.field("configVersion"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        check_version(current.as_deref(), version.as_deref())?;
        if let Some(n) = &name {
            emu.rename(&obj, n)?;
        }
        emu.inv.update(&obj, |o| {
            if let Some(cfg) = o.props.get_mut("config").and_then(Value::as_data_mut) {
                if let Some(n) = &name {
                    cfg.set("name", Value::str(n.clone()));
                }
                apply(cfg);
                if let Some(d) = description {
                    cfg.set("description", Value::str(d));
                }
                bump_version(cfg);
            }
            if let (Some(n), Some(s)) = (
                name,
                o.props.get_mut("summary").and_then(Value::as_data_mut),
            ) {
                s.set("name", Value::str(n));
            }
        })?;
        Ok(None)
    })
}

/// `ReconfigureDvs_Task(spec)`: name, description, maxPorts and numStandalonePorts
/// (`configVersion` must match when sent; `DuplicateName` for a taken name).
pub fn reconfigure_dvs_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    dvs_only(call)?;
    let spec = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let name = spec_name(spec)?;
    let max_ports = bounded_int(spec, "maxPorts", 0..=i32::MAX, "spec.maxPorts")?;
    let standalone = bounded_int(
        spec,
        "numStandalonePorts",
        0..=8192,
        "spec.numStandalonePorts",
    )?;
    let description = spec_description(spec)?;
    reconfigure_task(emu, ctx, call, spec, name, description, |cfg| {
        if let Some(m) = max_ports {
            cfg.set("maxPorts", Value::Int(m));
        }
        if let Some(s) = standalone {
            cfg.set("numStandalonePorts", Value::Int(s));
        }
    })
}

/// `ReconfigureDVPortgroup_Task(spec)`: name, numPorts, description and type
/// (`configVersion` must match when sent; `DuplicateName` for a taken name). As vCenter
/// (and vcsim) do, a port-group name is taken when another port group or network of the
/// switch's folder has it, whichever switch that port group belongs to; switches in other
/// network folders of the datacenter may reuse it.
pub fn reconfigure_dv_portgroup_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    if call.this.ty != "DistributedVirtualPortgroup" {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    let spec = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let name = spec_name(spec)?;
    let num_ports = bounded_int(spec, "numPorts", 0..=8192, "spec.numPorts")?;
    let ty = spec.child_text("type").map(str::to_owned);
    if ty
        .as_deref()
        .is_some_and(|t| !matches!(t, "earlyBinding" | "lateBinding" | "ephemeral"))
    {
        return Err(Fault::invalid_argument("spec.type"));
    }
    let description = spec_description(spec)?;
    reconfigure_task(emu, ctx, call, spec, name, description, |cfg| {
        if let Some(p) = num_ports {
            cfg.set("numPorts", Value::Int(p));
        }
        if let Some(t) = ty {
            cfg.set("type", Value::str(t));
        }
    })
}

/// Most ports one FetchDVPorts returns.
pub const FETCH_PORTS_MAX: usize = 4096;

/// `FetchDVPorts(criteria?)`: the ports of the switch's port groups (`numPorts` each, keyed
/// consecutively across port groups in order), filtered by `portgroupKey`, `portKey`,
/// `uplinkPort` and `inside`; at most [`FETCH_PORTS_MAX`].
pub fn fetch_dv_ports(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    dvs_only(call)?;
    let criteria = args.element("criteria");
    let keys_of = |f: &str| -> Vec<String> {
        criteria
            .map(|c| c.child_texts(f).take(10_000).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let pg_keys = keys_of("portgroupKey");
    let port_keys = keys_of("portKey");
    let flag = |f: &str| {
        criteria
            .and_then(|c| c.child_text(f))
            .map(|t| t == "true" || t == "1")
    };
    let uplink = flag("uplinkPort");
    let inside = flag("inside").unwrap_or(true);
    let uuid = emu
        .inv
        .prop(&call.this, "uuid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut out = Vec::new();
    let now = emu.clock.now_ms();
    // The same numbering as each port group's `portKeys`.
    for (pg, first, n) in crate::inventory::dv_port_ranges(&emu.inv, &call.this) {
        let is_uplink = emu
            .inv
            .prop(&pg, "config")
            .and_then(|c| c.field("uplink"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let in_pg = pg_keys.is_empty() || pg_keys.contains(&pg.value);
        for k in first..first + n {
            let key = k.to_string();
            if out.len() >= FETCH_PORTS_MAX {
                break;
            }
            if (!pg_keys.is_empty() && in_pg != inside)
                || (pg_keys.is_empty() && !inside)
                || (!port_keys.is_empty() && !port_keys.contains(&key))
                || uplink.is_some_and(|u| u != is_uplink)
            {
                continue;
            }
            out.push(
                DataObject::new("DistributedVirtualPort")
                    .with("key", Value::str(key))
                    .with(
                        "config",
                        DataObject::new("DVPortConfigInfo")
                            .with("configVersion", Value::str("0"))
                            .into_value(),
                    )
                    .with("dvsUuid", Value::str(uuid.clone()))
                    .with("portgroupKey", Value::str(pg.value.clone()))
                    .with("conflict", Value::Bool(false))
                    .with("lastStatusChange", Value::DateTime(now))
                    .into_value(),
            );
        }
    }
    Ok(Some(Value::array("DistributedVirtualPort", out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_info_links_switch_and_port_groups_by_key() {
        let info = seed_network_info(&["VM Network", "Management Network"]);
        assert_eq!(info.xsi_type(), "HostNetworkInfo");
        let vs = &info.field("vswitch").unwrap().items()[0];
        assert_eq!(vswitch_name(vs), Some("vSwitch0"));
        let keys: Vec<&str> = vs
            .field("portgroup")
            .unwrap()
            .items()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            keys,
            vec![
                "key-vim.host.PortGroup-VM Network",
                "key-vim.host.PortGroup-Management Network"
            ]
        );
        let pg = &info.field("portgroup").unwrap().items()[0];
        assert_eq!(portgroup_name(pg), Some("VM Network"));
        assert_eq!(portgroup_vswitch(pg), Some("vSwitch0"));
        assert_eq!(
            pg.field("vswitch").and_then(Value::as_str),
            Some("key-vim.host.VirtualSwitch-vSwitch0")
        );
    }

    #[test]
    fn policies_default_like_esxi_and_keep_overrides() {
        let sec = Security {
            allow_promiscuous: Some(true),
            ..Security::default()
        };
        let full = full_policy(sec);
        let s = full.field("security").unwrap();
        assert_eq!(s.field("allowPromiscuous"), Some(&Value::Bool(true)));
        assert_eq!(s.field("forgedTransmits"), Some(&Value::Bool(true)));
        let own = override_policy(sec);
        assert_eq!(
            own.field("security")
                .and_then(|s| s.field("allowPromiscuous")),
            Some(&Value::Bool(true))
        );
        assert!(
            own.field("security")
                .and_then(|s| s.field("macChanges"))
                .is_none()
        );
        assert!(
            override_policy(Security::default())
                .field("security")
                .is_none()
        );
    }

    #[test]
    fn security_parses_only_booleans() {
        let el = crate::soap::parse_document(
            "<policy><security><macChanges>false</macChanges></security></policy>",
        )
        .unwrap();
        assert_eq!(Security::parse(Some(&el)).unwrap().mac_changes, Some(false));
        let bad = crate::soap::parse_document(
            "<policy><security><macChanges>maybe</macChanges></security></policy>",
        )
        .unwrap();
        assert!(Security::parse(Some(&bad)).is_err());
    }

    use super::super::search_index::harness::H;

    /// A host and its HostNetworkSystem.
    fn with_system(h: &H, host: MoRef) -> (MoRef, MoRef) {
        let ns = h
            .emu
            .inv
            .prop(&host, "configManager")
            .and_then(|c| c.field("networkSystem"))
            .and_then(Value::as_moref)
            .unwrap()
            .clone();
        (host, ns)
    }

    fn system(h: &H) -> (MoRef, MoRef) {
        with_system(h, h.all("HostSystem")[0].clone())
    }

    fn pg(name: &str, vswitch: &str) -> String {
        format!(
            "<portgrp><name>{name}</name><vlanId>1</vlanId><vswitchName>{vswitch}</vswitchName>\
             <policy><security><allowPromiscuous>true</allowPromiscuous></security></policy></portgrp>"
        )
    }

    #[test]
    fn vic_creates_and_removes_its_esx_bridge() {
        let mut h = H::new(Flavor::HostAgent);
        let (host, ns) = system(&h);
        let body = "<vswitchName>bridge</vswitchName><spec><numPorts>1024</numPorts></spec>";
        h.call("AddVirtualSwitch", &ns, body).unwrap();
        assert_eq!(
            h.call("AddVirtualSwitch", &ns, body).unwrap_err().ty,
            "AlreadyExists"
        );
        assert_eq!(
            h.call("AddPortGroup", &ns, &pg("bridge", "nope"))
                .unwrap_err()
                .ty,
            "NotFound"
        );
        h.call("AddPortGroup", &ns, &pg("bridge", "bridge"))
            .unwrap();
        assert_eq!(
            h.call("AddPortGroup", &ns, &pg("bridge", "bridge"))
                .unwrap_err()
                .ty,
            "AlreadyExists"
        );

        let info = h.emu.inv.prop(&ns, "networkInfo").unwrap().clone();
        // vSwitch0 is the host's own; the bridge switch comes after it.
        let vs = info
            .field("vswitch")
            .unwrap()
            .items()
            .iter()
            .find(|v| v.field("name").and_then(Value::as_str) == Some("bridge"))
            .expect("the bridge vSwitch");
        assert_eq!(vs.field("numPorts"), Some(&Value::Int(1024)));
        assert_eq!(
            vs.field("portgroup").unwrap().items(),
            &[Value::str("key-vim.host.PortGroup-bridge")]
        );
        let p = info
            .field("portgroup")
            .unwrap()
            .items()
            .iter()
            .find(|p| {
                p.field("spec")
                    .and_then(|s| s.field("name"))
                    .and_then(Value::as_str)
                    == Some("bridge")
            })
            .expect("the bridge port group");
        assert_eq!(
            p.field("spec").and_then(|s| s.field("vlanId")),
            Some(&Value::Int(1))
        );

        let net = MoRef::new("Network", "HaNetwork-bridge");
        assert_eq!(h.emu.inv.get(&net).unwrap().name(), "bridge");
        assert!(h.emu.inv.refs(&host, "network").contains(&net));
        assert_eq!(h.emu.inv.refs(&net, "host"), vec![host.clone()]);
        let dc = h.emu.datacenter_of(&host).unwrap();
        assert!(h.emu.inv.refs(&dc, "network").contains(&net));

        // A VM on the port group keeps it.
        let vm = h.all("VirtualMachine")[0].clone();
        h.emu.inv.push_ref(&net, "vm", &vm).unwrap();
        assert_eq!(
            h.call("RemovePortGroup", &ns, "<pgName>bridge</pgName>")
                .unwrap_err()
                .ty,
            "ResourceInUse"
        );
        assert_eq!(
            h.call(
                "RemoveVirtualSwitch",
                &ns,
                "<vswitchName>bridge</vswitchName>"
            )
            .unwrap_err()
            .ty,
            "ResourceInUse"
        );
        h.emu.inv.pull_ref(&net, "vm", &vm).unwrap();

        h.call("RemovePortGroup", &ns, "<pgName>bridge</pgName>")
            .unwrap();
        assert!(!h.emu.inv.contains(&net));
        assert!(!h.emu.inv.refs(&dc, "network").contains(&net));
        assert_eq!(
            h.call("RemovePortGroup", &ns, "<pgName>bridge</pgName>")
                .unwrap_err()
                .ty,
            "NotFound"
        );
        h.call(
            "RemoveVirtualSwitch",
            &ns,
            "<vswitchName>bridge</vswitchName>",
        )
        .unwrap();
        assert_eq!(
            h.call(
                "RemoveVirtualSwitch",
                &ns,
                "<vswitchName>bridge</vswitchName>"
            )
            .unwrap_err()
            .ty,
            "NotFound"
        );
        let info = h.emu.inv.prop(&ns, "networkInfo").unwrap();
        let names: Vec<&str> = info
            .field("vswitch")
            .unwrap()
            .items()
            .iter()
            .filter_map(|v| v.field("name").and_then(Value::as_str))
            .collect();
        assert_eq!(names, ["vSwitch0"], "only the host's own switch is left");
    }

    #[test]
    fn port_groups_of_one_name_share_a_network_on_vcenter() {
        let mut h = H::new(Flavor::VirtualCenter);
        let hosts: Vec<(MoRef, MoRef)> = h
            .all("HostSystem")
            .into_iter()
            .take(2)
            .map(|host| with_system(&h, host))
            .collect();
        for (_, ns) in &hosts {
            h.call("AddVirtualSwitch", ns, "<vswitchName>vs1</vswitchName>")
                .unwrap();
            h.call("AddPortGroup", ns, &pg("shared", "vs1")).unwrap();
        }
        let nets: Vec<MoRef> = h
            .all("Network")
            .into_iter()
            .filter(|n| h.emu.inv.get(n).unwrap().name() == "shared")
            .collect();
        assert_eq!(nets.len(), 1);
        assert!(nets[0].value.starts_with("network-"));
        assert_eq!(h.emu.inv.refs(&nets[0], "host").len(), 2);
        h.call("RemovePortGroup", &hosts[0].1, "<pgName>shared</pgName>")
            .unwrap();
        assert_eq!(h.emu.inv.refs(&nets[0], "host"), vec![hosts[1].0.clone()]);
        // The name of a distributed port group is taken.
        assert_eq!(
            h.call("AddPortGroup", &hosts[0].1, &pg("DC0_DVPG0", "vs1"))
                .unwrap_err()
                .ty,
            "AlreadyExists"
        );
    }
}

//! Distributed port groups: created on a switch, visible to every host of its datacenter.

use super::Emulator;
use crate::inventory::dv_portgroup;
use crate::vmodl::{Fault, MoRef, Value};

impl Emulator {
    /// Adds a port group named `name` to distributed switch `dvs`.
    pub fn add_dv_portgroup(
        &mut self,
        dvs: &MoRef,
        name: &str,
        num_ports: i32,
    ) -> Result<MoRef, Fault> {
        let name = &crate::inventory::entity_name(name, "spec.name")?;
        let folder = self
            .inv
            .get(dvs)?
            .parent()
            .cloned()
            .ok_or_else(|| Fault::invalid_state("switch without folder"))?;
        if let Some(existing) = self.inv.child_named(&folder, name) {
            return Err(Fault::duplicate_name(name, &existing));
        }
        let dc = self
            .datacenter_of(dvs)
            .ok_or_else(|| Fault::invalid_state("switch outside a datacenter"))?;
        let pg = MoRef::new(
            "DistributedVirtualPortgroup",
            self.inv.alloc("dvportgroup-"),
        );
        let mut obj = dv_portgroup(pg.clone(), name, &folder, dvs, false);
        if let Some(cfg) = obj.props.get_mut("config").and_then(Value::as_data_mut) {
            cfg.set("numPorts", Value::Int(num_ports.clamp(0, 8192)));
        }
        self.inv.insert(obj);
        self.inv.push_ref(&folder, "childEntity", &pg)?;
        self.inv.push_ref(&dc, "network", &pg)?;
        self.inv.push_ref(dvs, "portgroup", &pg)?;
        // Every host of the datacenter is a member of the switch in this model.
        let hosts: Vec<MoRef> = self
            .inv
            .iter()
            .filter(|o| o.moref.ty == "HostSystem")
            .map(|o| o.moref.clone())
            .filter(|h| self.datacenter_of(h).as_ref() == Some(&dc))
            .collect();
        for h in &hosts {
            self.inv.push_ref(h, "network", &pg)?;
            self.inv.push_ref(&pg, "host", h)?;
            if let Some(cr) = self.inv.get(h)?.parent().cloned() {
                self.inv.push_ref(&cr, "network", &pg)?;
            }
        }
        Ok(pg)
    }

    /// Destroys a distributed port group no VM uses.
    pub fn destroy_dv_portgroup(&mut self, pg: &MoRef) -> Result<(), Fault> {
        if !self.inv.refs(pg, "vm").is_empty() {
            return Err(Fault::new(
                "ResourceInUse",
                "The port group is in use by virtual machines",
            ));
        }
        let obj = self.inv.get(pg)?.clone();
        let dvs = obj
            .get("config")
            .and_then(|c| c.field("distributedVirtualSwitch"))
            .and_then(Value::as_moref)
            .cloned();
        if let Some(d) = dvs {
            self.inv.pull_ref(&d, "portgroup", pg)?;
        }
        if let Some(f) = obj.parent() {
            self.inv.pull_ref(f, "childEntity", pg)?;
        }
        if let Some(dc) = self.datacenter_of(pg) {
            self.inv.pull_ref(&dc, "network", pg)?;
        }
        for h in self.inv.refs(pg, "host") {
            self.inv.pull_ref(&h, "network", pg)?;
            if let Some(cr) = self.inv.get(&h)?.parent().cloned() {
                self.inv.pull_ref(&cr, "network", pg)?;
            }
        }
        self.inv.remove(pg);
        Ok(())
    }
}

//! The OVF descriptor `CreateDescriptor` writes for an exported VM ([`descriptor_for_vm`]):
//! OVF 1.0 with VMware's namespaces, one file and disk per exported disk, one network per
//! distinct NIC network, CPU, memory, one LSI Logic controller and the NICs as E1000s.

use crate::soap::{escape_attr, escape_text};

/// What [`descriptor_for_vm`] writes about one disk.
pub struct ExportDisk {
    /// The file name in the package (`disk-0.vmdk`).
    pub path: String,
    /// Bytes of that file.
    pub size: i64,
    pub capacity_bytes: i64,
}

/// What [`descriptor_for_vm`] writes about a VM.
pub struct ExportVm<'a> {
    pub name: &'a str,
    pub annotation: &'a str,
    pub guest_id: &'a str,
    pub version: &'a str,
    pub num_cpu: i64,
    pub memory_mb: i64,
    pub disks: &'a [ExportDisk],
    /// Network names of the VM's NICs, in device order.
    pub nics: &'a [String],
}

fn esc(s: &str) -> String {
    let mut out = String::new();
    escape_text(&mut out, s);
    out
}

fn esc_attr(s: &str) -> String {
    let mut out = String::new();
    escape_attr(&mut out, s);
    out
}

/// An OVF 1.0 descriptor for a VM, as `CreateDescriptor` writes it.
pub fn descriptor_for_vm(vm: &ExportVm<'_>) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Envelope vmw:buildId=\"build-24022515\" \
         xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" \
         xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\" \
         xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" \
         xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\" \
         xmlns:vmw=\"http://www.vmware.com/schema/ovf\" \
         xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n  <References>\n",
    );
    for (i, d) in vm.disks.iter().enumerate() {
        s.push_str(&format!(
            "    <File ovf:href=\"{}\" ovf:id=\"file{}\" ovf:size=\"{}\"/>\n",
            esc_attr(&d.path),
            i + 1,
            d.size
        ));
    }
    s.push_str("  </References>\n  <DiskSection>\n    <Info>Virtual disk information</Info>\n");
    for (i, d) in vm.disks.iter().enumerate() {
        s.push_str(&format!(
            "    <Disk ovf:capacity=\"{}\" ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"vmdisk{n}\" \
             ovf:fileRef=\"file{n}\" ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/>\n",
            d.capacity_bytes,
            n = i + 1
        ));
    }
    s.push_str(
        "  </DiskSection>\n  <NetworkSection>\n    <Info>The list of logical networks</Info>\n",
    );
    let mut nets: Vec<&String> = Vec::new();
    for n in vm.nics {
        if !nets.contains(&n) {
            nets.push(n);
        }
    }
    for n in &nets {
        s.push_str(&format!(
            "    <Network ovf:name=\"{}\">\n      <Description>The {} network</Description>\n    </Network>\n",
            esc_attr(n),
            esc(n)
        ));
    }
    s.push_str(&format!(
        "  </NetworkSection>\n  <VirtualSystem ovf:id=\"{}\">\n    <Info>A virtual machine</Info>\n    <Name>{}</Name>\n",
        esc_attr(vm.name),
        esc(vm.name)
    ));
    if !vm.annotation.is_empty() {
        s.push_str(&format!(
            "    <AnnotationSection>\n      <Info>A human-readable annotation</Info>\n      <Annotation>{}</Annotation>\n    </AnnotationSection>\n",
            esc(vm.annotation)
        ));
    }
    s.push_str(&format!(
        "    <OperatingSystemSection ovf:id=\"1\" vmw:osType=\"{}\" ovf:osType=\"{}\">\n      <Info>The kind of installed guest operating system</Info>\n    </OperatingSystemSection>\n",
        esc_attr(vm.guest_id),
        esc_attr(vm.guest_id)
    ));
    s.push_str(&format!(
        "    <VirtualHardwareSection>\n      <Info>Virtual hardware requirements</Info>\n      <System>\n        \
         <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n        <vssd:InstanceID>0</vssd:InstanceID>\n        \
         <vssd:VirtualSystemIdentifier>{}</vssd:VirtualSystemIdentifier>\n        <vssd:VirtualSystemType>{}</vssd:VirtualSystemType>\n      </System>\n",
        esc(vm.name),
        esc(vm.version)
    ));
    let mut id = 1;
    let mut item = |s: &mut String, name: &str, rt: i64, extra: &str| {
        s.push_str(&format!(
            "      <Item>\n        <rasd:ElementName>{}</rasd:ElementName>\n        <rasd:InstanceID>{id}</rasd:InstanceID>\n{extra}        <rasd:ResourceType>{rt}</rasd:ResourceType>\n      </Item>\n",
            esc(name)
        ));
        id += 1;
        id - 1
    };
    item(
        &mut s,
        &format!("{} virtual CPU(s)", vm.num_cpu),
        3,
        &format!(
            "        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n        <rasd:VirtualQuantity>{}</rasd:VirtualQuantity>\n",
            vm.num_cpu
        ),
    );
    item(
        &mut s,
        &format!("{}MB of memory", vm.memory_mb),
        4,
        &format!(
            "        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n        <rasd:VirtualQuantity>{}</rasd:VirtualQuantity>\n",
            vm.memory_mb
        ),
    );
    let ctl = item(
        &mut s,
        "SCSI Controller 0",
        6,
        "        <rasd:Address>0</rasd:Address>\n        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>\n",
    );
    for (i, _) in vm.disks.iter().enumerate() {
        let extra = format!(
            "        <rasd:AddressOnParent>{i}</rasd:AddressOnParent>\n        <rasd:HostResource>ovf:/disk/vmdisk{}</rasd:HostResource>\n        <rasd:Parent>{ctl}</rasd:Parent>\n",
            i + 1
        );
        item(&mut s, &format!("Hard Disk {}", i + 1), 17, &extra);
    }
    for (i, n) in vm.nics.iter().enumerate() {
        let extra = format!(
            "        <rasd:AddressOnParent>{}</rasd:AddressOnParent>\n        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n        \
             <rasd:Connection>{}</rasd:Connection>\n        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>\n",
            7 + i,
            esc(n)
        );
        item(&mut s, &format!("Network adapter {}", i + 1), 10, &extra);
    }
    s.push_str("    </VirtualHardwareSection>\n  </VirtualSystem>\n</Envelope>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::vapp::ovf::Envelope;

    #[test]
    fn an_exported_descriptor_reads_back() {
        let disks = [ExportDisk {
            path: "disk-0.vmdk".into(),
            size: 10,
            capacity_bytes: 1 << 30,
        }];
        let text = descriptor_for_vm(&ExportVm {
            name: "a<b",
            annotation: "",
            guest_id: "otherGuest",
            version: "vmx-13",
            num_cpu: 2,
            memory_mb: 128,
            disks: &disks,
            nics: &["VM Network".to_owned()],
        });
        let env = Envelope::parse(&text).unwrap();
        assert_eq!(env.name, "a<b");
        assert_eq!(env.disks[0].capacity_bytes, 1 << 30);
        assert_eq!(env.items.len(), 5);
    }
}

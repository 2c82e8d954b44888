"""Whole-inventory walk under pyvmomi's strict deserializer, names, MoRefs, SearchIndex.

usage: inventory.py GOVC_URL [--datacenters=N --clusters=N --hosts=N --vms=N --standalone=N]

The counts are the `vicbed serve` flags the server was started with (--datacenter,
--cluster, --host per cluster, --vm per host, --standalone-host); the defaults match
`--datacenter 1 --cluster 1 --host 3 --vm 2 --standalone-host 1`.
"""

import re
import uuid

from common import (
    check,
    check_vicbed,
    collect,
    connect,
    content_managers,
    datacenter,
    disconnect,
    fetch_every_property,
    find,
    ok,
    retrieve_one,
    run,
    strict_walk,
    vim,
)

MOREF_FORMATS = {
    vim.VirtualMachine: r"vm-\d+",
    vim.HostSystem: r"host-\d+",
    vim.ClusterComputeResource: r"domain-c\d+",
    vim.ResourcePool: r"resgroup-\d+",
}


def expected_names(n):
    """Names as govmomi's vcsim gives them, per type."""
    names = {t: set() for t in ("Datacenter", "Cluster", "Host", "ComputeResource", "VM")}
    for d in range(n["datacenters"]):
        dc = "DC%d" % d
        names["Datacenter"].add(dc)
        for c in range(n["clusters"]):
            cl = "%s_C%d" % (dc, c)
            names["Cluster"].add(cl)
            for h in range(n["hosts"]):
                names["Host"].add("%s_H%d" % (cl, h))
            for v in range(n["hosts"] * n["vms"]):
                names["VM"].add("%s_RP0_VM%d" % (cl, v))
        for h in range(n["standalone"]):
            host = "%s_H%d" % (dc, h)
            names["Host"].add(host)
            names["ComputeResource"].add(host)
            for v in range(n["vms"]):
                names["VM"].add("%s_VM%d" % (host, v))
    return names


def main(t, opts):
    counts = {
        key: int(opts.get(key, default))
        for key, default in (("datacenters", 1), ("clusters", 1), ("hosts", 3), ("vms", 2), ("standalone", 1))
    }
    si = connect(t)
    version = si._stub.version
    content = si.content

    # 1. Everything, all properties, one RetrievePropertiesEx (+ Continue if paged).
    objects = strict_walk(si)
    by_type = {}
    for obj, props in objects.items():
        by_type.setdefault(type(obj), []).append((obj, props))
    summary = ", ".join("%d %s" % (len(v), k._wsdlName) for k, v in sorted(by_type.items(), key=lambda kv: kv[0]._wsdlName))
    ok("RetrievePropertiesEx all=True over %d objects (%s)" % (len(objects), summary))
    for t_ in (vim.VirtualMachine, vim.HostSystem, vim.ClusterComputeResource, vim.ResourcePool, vim.Datastore,
               vim.Datacenter, vim.Folder, vim.dvs.DistributedVirtualPortgroup,
               vim.Network, vim.ComputeResource):
        check(t_ in by_type, "no %s in the inventory walk (got %s)" % (t_._wsdlName, summary))

    check_vicbed(vim.dvs.VmwareDistributedVirtualSwitch in by_type, "DVS0 is not a VmwareDistributedVirtualSwitch")

    # 2. Every property of one object of each type through pyvmomi's accessors (Fetch).
    errors = []
    for t_, items in sorted(by_type.items(), key=lambda kv: kv[0]._wsdlName):
        errors += fetch_every_property(items[0][0], version)
    check(not errors, "Fetch failed for %d properties:\n  %s" % (len(errors), "\n  ".join(errors)))
    ok("Fetch of every property of one object per type (%d types)" % len(by_type))

    # 3. Every ServiceContent manager: all=True and every property through Fetch.
    managers = content_managers(si)
    errors = []
    for name, mgr in managers:
        try:
            retrieve_one(si, mgr)
        except Exception as err:  # noqa: BLE001
            errors.append("content.%s (%s) all=True: %s: %s" % (name, mgr._moId, type(err).__name__, err))
        errors += fetch_every_property(mgr, version)
    check(not errors, "%d manager property reads failed:\n  %s" % (len(errors), "\n  ".join(errors)))
    ok("every property of the %d ServiceContent managers" % len(managers))

    perf = content.perfManager
    check(len(perf.perfCounter) >= 500, "perfManager.perfCounter has %d counters, want >= 500" % len(perf.perfCounter))
    check_vicbed(len(perf.historicalInterval) == 4, "perfManager.historicalInterval has %d entries" % len(perf.historicalInterval))
    ok("perfManager: %d counters, %d historical intervals" % (len(perf.perfCounter), len(perf.historicalInterval)))

    # 4. Names and MoRefs as govmomi's vcsim makes them.
    check(content.rootFolder._moId == "group-d1", "rootFolder is %s, want group-d1" % content.rootFolder._moId)
    for t_, pattern in MOREF_FORMATS.items():
        for obj, _ in by_type.get(t_, []):
            check_vicbed(re.fullmatch(pattern, obj._moId), "%s MoRef %r does not match %s" % (t_._wsdlName, obj._moId, pattern))
    want = expected_names(counts)
    got = {
        "Datacenter": {p["name"] for _, p in by_type[vim.Datacenter]},
        "Cluster": {p["name"] for _, p in by_type[vim.ClusterComputeResource]},
        "Host": {p["name"] for _, p in by_type[vim.HostSystem]},
        "ComputeResource": {p["name"] for _, p in by_type.get(vim.ComputeResource, [])},
        "VM": {p["name"] for _, p in by_type[vim.VirtualMachine]},
    }
    for kind in want:
        check(got[kind] == want[kind], "%s names: got %s, want %s" % (kind, sorted(got[kind]), sorted(want[kind])))
    check(len(by_type[vim.VirtualMachine]) == len(want["VM"]), "duplicate VM names")
    ds_names = {p["name"] for _, p in by_type[vim.Datastore]}
    check("LocalDS_0" in ds_names, "datastores %s lack LocalDS_0" % sorted(ds_names))
    net_names = {p["name"] for t_, items in by_type.items() if issubclass(t_, vim.Network) for _, p in items}
    check({"VM Network", "DC0_DVPG0"} <= net_names, "networks %s lack 'VM Network'/DC0_DVPG0" % sorted(net_names))
    dvs_names = {p["name"] for t_, items in by_type.items() if issubclass(t_, vim.DistributedVirtualSwitch)
                 for _, p in items}
    check("DVS0" in dvs_names, "switches %s lack DVS0" % sorted(dvs_names))
    pools = {p["name"] for _, p in by_type[vim.ResourcePool]}
    check("Resources" in pools, "no root pool named Resources in %s" % sorted(pools))
    ok("names: %d VMs, %d hosts, datastores %s" % (len(got["VM"]), len(got["Host"]), sorted(ds_names)))

    # 5. Shape of the tree.
    dc = datacenter(si)
    check([dc.vmFolder.name, dc.hostFolder.name, dc.datastoreFolder.name, dc.networkFolder.name]
          == ["vm", "host", "datastore", "network"], "DC0's folders are misnamed")
    check(dc.parent == content.rootFolder, "DC0.parent is %s" % dc.parent)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    check(cluster.parent == dc.hostFolder, "DC0_C0.parent is %s" % cluster.parent)
    check(cluster.resourcePool.name == "Resources", "DC0_C0's root pool is %r" % cluster.resourcePool.name)
    check(len(cluster.host) == counts["hosts"], "DC0_C0 has %d hosts" % len(cluster.host))
    host0 = find(si, vim.HostSystem, "DC0_C0_H0")
    check(host0.parent == cluster, "DC0_C0_H0.parent is %s" % host0.parent)
    hw = host0.hardware
    check(hw.cpuInfo.numCpuCores > 0 and hw.cpuInfo.hz > 0 and hw.memorySize > 0, "host hardware is empty: %r" % hw.cpuInfo)
    vms = collect(si, vim.VirtualMachine, ["name", "runtime.powerState", "runtime.host", "resourcePool", "config.uuid",
                                           "config.instanceUuid"])
    for vm, props in vms.items():
        check(props["runtime.powerState"] == "poweredOn", "%s is %s" % (props["name"], props["runtime.powerState"]))
        check(props.get("runtime.host") is not None, "%s has no runtime.host" % props["name"])
    vm0 = find(si, vim.VirtualMachine, "DC0_C0_RP0_VM0")
    check(vm0.resourcePool == cluster.resourcePool, "DC0_C0_RP0_VM0 is in pool %s" % vm0.resourcePool)
    check(vm0.runtime.host in cluster.host, "DC0_C0_RP0_VM0 runs on %s, not a DC0_C0 host" % vm0.runtime.host)
    uuids = [p["config.uuid"] for p in vms.values()]
    check(len(set(uuids)) == len(uuids), "VM uuids are not unique")
    ok("tree: DC0 -> folders, DC0_C0 -> hosts and Resources, VMs powered on")

    # 6. SearchIndex.
    index = content.searchIndex
    if counts["standalone"] > 0:
        hit = index.FindByInventoryPath("DC0/vm/DC0_H0_VM0")
        check(hit is not None and hit.name == "DC0_H0_VM0", "FindByInventoryPath(DC0/vm/DC0_H0_VM0) -> %s" % hit)
    hit = index.FindByInventoryPath("DC0/host/DC0_C0/DC0_C0_H0")
    check(hit == host0, "FindByInventoryPath(DC0/host/DC0_C0/DC0_C0_H0) -> %s" % hit)
    hit = index.FindByInventoryPath("DC0")
    check(hit == dc, "FindByInventoryPath(DC0) -> %s" % hit)
    check(index.FindByInventoryPath("DC0/vm/no-such-vm") is None, "FindByInventoryPath of a missing VM is not None")
    check(index.FindChild(dc.vmFolder, "DC0_C0_RP0_VM0") == vm0, "FindChild(vm folder, DC0_C0_RP0_VM0)")
    check(index.FindChild(content.rootFolder, "DC0") == dc, "FindChild(rootFolder, DC0)")
    check(index.FindChild(content.rootFolder, "nope") is None, "FindChild of a missing name is not None")
    hit = index.FindByUuid(uuid=vms[vm0]["config.uuid"], vmSearch=True)
    check(hit == vm0, "FindByUuid(bios uuid of DC0_C0_RP0_VM0) -> %s" % hit)
    hit = index.FindByUuid(uuid=vms[vm0]["config.instanceUuid"], vmSearch=True, instanceUuid=True)
    check(hit == vm0, "FindByUuid(instance uuid of DC0_C0_RP0_VM0) -> %s" % hit)
    hit = index.FindByUuid(uuid=host0.hardware.systemInfo.uuid, vmSearch=False)
    check(hit == host0, "FindByUuid(host uuid) -> %s" % hit)
    check(index.FindByUuid(uuid=str(uuid.uuid4()), vmSearch=True) is None, "FindByUuid(random) is not None")
    ok("SearchIndex FindByInventoryPath / FindChild / FindByUuid")

    disconnect(si)


if __name__ == "__main__":
    run(main)

"""The ESXi (HostAgent) flavour: `vicbed serve --esx`.

usage: esx.py GOVC_URL
"""

from common import (
    check,
    collect,
    connect,
    content_managers,
    disconnect,
    fetch_every_property,
    ok,
    retrieve_one,
    run,
    strict_walk,
    vim,
)


def main(t, opts):
    si = connect(t)
    content = si.content
    version = si._stub.version
    about = content.about
    check(about.apiType == "HostAgent", "about.apiType %r, want HostAgent" % about.apiType)
    check(about.productLineId == "embeddedEsx", "about.productLineId %r" % about.productLineId)
    check(about.apiVersion.startswith("8.0"), "about.apiVersion %r" % about.apiVersion)
    ok("about: %s" % about.fullName)

    root = content.rootFolder
    check(root._moId == "ha-folder-root", "rootFolder %r, want ha-folder-root" % root._moId)
    dcs = [e for e in root.childEntity if isinstance(e, vim.Datacenter)]
    check(len(dcs) == 1 and dcs[0]._moId == "ha-datacenter", "datacenters %s, want [ha-datacenter]" % dcs)
    dc = dcs[0]
    check(dc.name == "ha-datacenter", "datacenter name %r" % dc.name)
    check(dc.vmFolder._moId == "ha-folder-vm", "vmFolder %r" % dc.vmFolder._moId)
    hosts = list(collect(si, vim.HostSystem, ["name"]))
    check([h._moId for h in hosts] == ["ha-host"], "hosts %s, want [ha-host]" % hosts)
    compute = [e for e in dc.hostFolder.childEntity if isinstance(e, vim.ComputeResource)]
    check(len(compute) == 1 and compute[0]._moId == "ha-compute-res", "compute resources %s" % compute)
    check(compute[0].resourcePool._moId == "ha-root-pool", "root pool %r" % compute[0].resourcePool._moId)
    check(not any(isinstance(e, vim.ClusterComputeResource) for e in dc.hostFolder.childEntity), "a cluster on ESX")
    ok("ha-folder-root / ha-datacenter / ha-host / ha-compute-res / ha-root-pool")

    # Strict wire check of the ESX inventory and managers too.
    objects = strict_walk(si)
    vms = [o for o in objects if isinstance(o, vim.VirtualMachine)]
    check(vms, "no VMs on the ESX host")
    by_type = {}
    for obj in objects:
        by_type.setdefault(type(obj), obj)
    errors = []
    for obj in by_type.values():
        errors += fetch_every_property(obj, version)
    for name, mgr in content_managers(si):
        try:
            retrieve_one(si, mgr)
        except Exception as err:  # noqa: BLE001
            errors.append("content.%s all=True: %s: %s" % (name, type(err).__name__, err))
        errors += fetch_every_property(mgr, version)
    check(not errors, "%d property reads failed:\n  %s" % (len(errors), "\n  ".join(errors)))
    ok("strict walk: %d objects, %d VMs, every property of each type and manager" % (len(objects), len(vms)))

    # The managers a pyvmomi/govc user of a host needs are there.
    for name in ("perfManager", "searchIndex", "propertyCollector", "viewManager", "sessionManager", "fileManager",
                 "licenseManager", "taskManager", "eventManager"):
        check(getattr(content, name) is not None, "ESX ServiceContent lacks %s" % name)
    ok("ESX ServiceContent managers")
    disconnect(si)


if __name__ == "__main__":
    run(main)

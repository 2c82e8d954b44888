"""`vicbed serve --inventory FILE`: the inventory the server shows matches the TOML file.

usage: toml_inventory.py GOVC_URL --inventory=PATH
"""

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

from common import (
    check,
    collect,
    connect,
    disconnect,
    find,
    ok,
    run,
    strict_walk,
    vim,
)

# Pool shares as vSphere resolves levels (ResourcePool: CPU 2000/4000/8000, memory 81920/163840/327680).
CPU_SHARES = {"low": 2000, "normal": 4000, "high": 8000}
MEM_SHARES = {"low": 81920, "normal": 163840, "high": 327680}


def expand(name, count):
    return [name] if count <= 1 else ["%s-%02d" % (name, i) for i in range(1, count + 1)]


def check_host(host, spec):
    hw = host.hardware
    cores, mhz, mem = spec.get("cores", 8), spec.get("mhz", 2200), spec.get("memory_mb", 65536)
    threads = cores * (2 if spec.get("hyperthreading", False) else 1)
    check(hw.cpuInfo.numCpuCores == cores, "%s: %d cores, want %d" % (host.name, hw.cpuInfo.numCpuCores, cores))
    check(hw.cpuInfo.numCpuThreads == threads, "%s: %d threads, want %d" % (host.name, hw.cpuInfo.numCpuThreads,
                                                                            threads))
    check(abs(hw.cpuInfo.hz - mhz * 1_000_000) < 1_000_000, "%s: %d Hz, want %d MHz" % (host.name, hw.cpuInfo.hz, mhz))
    check(host.summary.hardware.cpuMhz == mhz, "%s: summary cpuMhz %d" % (host.name, host.summary.hardware.cpuMhz))
    check(hw.memorySize == mem * 1024 * 1024, "%s: memorySize %d, want %d MB" % (host.name, hw.memorySize, mem))


def check_shares(info, spec, table, what):
    if spec is None:
        check(info.level == "normal", "%s: shares level %s, want normal" % (what, info.level))
    elif isinstance(spec, str):
        check(info.level == spec and info.shares == table[spec], "%s: shares %s/%d, want %s/%d"
              % (what, info.level, info.shares, spec, table[spec]))
    else:
        check(info.level == "custom" and info.shares == spec, "%s: shares %s/%d, want custom/%d"
              % (what, info.level, info.shares, spec))


def main(t, opts):
    path = opts.get("inventory")
    check(isinstance(path, str), "--inventory=PATH is required")
    with open(path, "rb") as f:
        spec = tomllib.load(f)

    si = connect(t)
    objects = strict_walk(si)  # every property still passes pyvmomi's strict decoder
    ok("strict walk over %d objects" % len(objects))

    dc = find(si, vim.Datacenter, spec.get("datacenter", "DC0"))
    vms = {p["name"]: vm for vm, p in collect(si, vim.VirtualMachine, ["name"], container=dc).items()}
    want_vms = set()

    for cspec in spec.get("cluster", []):
        cluster = find(si, vim.ClusterComputeResource, cspec["name"])
        check(cluster.parent == dc.hostFolder, "%s is not in %s's host folder" % (cspec["name"], dc.name))
        hosts = {h.name: h for h in cluster.host}
        want_hosts = {}
        for hspec in cspec["hosts"]:
            for name in expand(hspec["name"], hspec.get("count", 1)):
                want_hosts[name] = hspec
        check(sorted(hosts) == sorted(want_hosts), "%s hosts %s, want %s" % (cspec["name"], sorted(hosts),
                                                                            sorted(want_hosts)))
        for name, hspec in want_hosts.items():
            check_host(hosts[name], hspec)
        ok("cluster %s: hosts %s with their cores, MHz and memory" % (cspec["name"], sorted(hosts)))

        pools = {"Resources": cluster.resourcePool}
        for pspec in cspec.get("pools", []):
            parent = pools[pspec.get("parent", "Resources")]
            matches = [p for p in parent.resourcePool if p.name == pspec["name"]]
            check(len(matches) == 1, "pool %s not found under %s" % (pspec["name"], parent.name))
            pool = pools[pspec["name"]] = matches[0]
            cfg = pool.config
            what = "pool %s" % pspec["name"]
            check(cfg.cpuAllocation.limit == pspec.get("cpu_limit_mhz", -1), "%s: cpu limit %s" % (what, cfg.cpuAllocation.limit))
            check(cfg.cpuAllocation.reservation == pspec.get("cpu_reservation_mhz", 0), "%s: cpu reservation %s"
                  % (what, cfg.cpuAllocation.reservation))
            check(cfg.memoryAllocation.limit == pspec.get("mem_limit_mb", -1), "%s: mem limit %s" % (what, cfg.memoryAllocation.limit))
            check(cfg.memoryAllocation.reservation == pspec.get("mem_reservation_mb", 0), "%s: mem reservation %s"
                  % (what, cfg.memoryAllocation.reservation))
            expandable = pspec.get("expandable", True)
            check(cfg.cpuAllocation.expandableReservation == expandable, "%s: cpu expandable %s"
                  % (what, cfg.cpuAllocation.expandableReservation))
            check(cfg.memoryAllocation.expandableReservation == expandable, "%s: mem expandable %s"
                  % (what, cfg.memoryAllocation.expandableReservation))
            check_shares(cfg.cpuAllocation.shares, pspec.get("cpu_shares"), CPU_SHARES, what + " cpu")
            check_shares(cfg.memoryAllocation.shares, pspec.get("mem_shares"), MEM_SHARES, what + " mem")
        ok("cluster %s: pools %s with limits, reservations, shares" % (cspec["name"], sorted(pools)))

        for vspec in cspec.get("vms", []):
            for name in expand(vspec["name"], vspec.get("count", 1)):
                want_vms.add(name)
                check(name in vms, "VM %s missing (have %s)" % (name, sorted(vms)))
                vm = vms[name]
                check(vm.resourcePool == pools[vspec.get("pool", "Resources")], "%s in pool %s" % (name, vm.resourcePool.name))
                check(vm.runtime.host in cluster.host, "%s runs outside %s" % (name, cspec["name"]))
                if "host" in vspec:
                    check(vm.runtime.host.name == vspec["host"], "%s on %s, want %s" % (name, vm.runtime.host.name,
                                                                                       vspec["host"]))
                check_vm(vm, vspec)
        ok("cluster %s: VMs placed with their sizes and power states" % cspec["name"])

    for hspec in spec.get("host", []):
        for name in expand(hspec["name"], hspec.get("count", 1)):
            compute = find(si, vim.ComputeResource, name)
            check(not isinstance(compute, vim.ClusterComputeResource), "%s is a cluster" % name)
            check(len(compute.host) == 1 and compute.host[0].name == name, "%s hosts %s" % (name, compute.host))
            check_host(compute.host[0], hspec)
    for vspec in spec.get("vm", []):
        for name in expand(vspec["name"], vspec.get("count", 1)):
            want_vms.add(name)
            check(name in vms, "VM %s missing" % name)
            vm = vms[name]
            check(vm.runtime.host.name == vspec["host"], "%s on %s, want %s" % (name, vm.runtime.host.name,
                                                                               vspec["host"]))
            check(vm.resourcePool == vm.runtime.host.parent.resourcePool, "%s not in its host's root pool" % name)
            check_vm(vm, vspec)
    ok("standalone hosts and their VMs")

    check(set(vms) == want_vms, "VMs %s, want exactly %s" % (sorted(vms), sorted(want_vms)))
    ok("exactly the %d VMs of the file" % len(want_vms))
    disconnect(si)


def check_vm(vm, vspec):
    hw = vm.config.hardware
    check(hw.numCPU == vspec.get("vcpus", 1), "%s: %d vCPUs, want %d" % (vm.name, hw.numCPU, vspec.get("vcpus", 1)))
    check(hw.memoryMB == vspec.get("memory_mb", 1024), "%s: %d MB" % (vm.name, hw.memoryMB))
    want = "poweredOn" if vspec.get("power_on", True) else "poweredOff"
    check(vm.runtime.powerState == want, "%s is %s, want %s" % (vm.name, vm.runtime.powerState, want))


if __name__ == "__main__":
    run(main)

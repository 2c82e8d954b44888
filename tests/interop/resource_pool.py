"""Resource pools: CreateResourcePool, UpdateConfig, allocation info, runtime, Destroy_Task.

usage: resource_pool.py GOVC_URL
"""

from common import (
    PEER,
    check,
    check_vicbed,
    connect,
    disconnect,
    expect_fault,
    find,
    ok,
    run,
    vim,
    vmodl,
    wait,
)


def allocation(limit, reservation=0, level="normal", expandable=True):
    return vim.ResourceAllocationInfo(
        reservation=reservation,
        limit=limit,
        expandableReservation=expandable,
        shares=vim.SharesInfo(level=level, shares=0),
    )


def pool_spec(cpu_limit_mhz, mem_limit_mb, cpu_level="normal"):
    return vim.ResourceConfigSpec(
        cpuAllocation=allocation(cpu_limit_mhz, level=cpu_level),
        memoryAllocation=allocation(mem_limit_mb),
    )


def main(t, opts):
    si = connect(t)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    root = cluster.resourcePool
    check(root.name == "Resources", "cluster root pool is named %r" % root.name)
    check(root.owner == cluster, "root pool owner %s" % root.owner)
    root_cfg = root.config
    check(root_cfg.cpuAllocation.limit is not None and root_cfg.memoryAllocation.limit is not None,
          "root pool allocation is incomplete: %s" % root_cfg)
    ok("root pool %s: cpu limit %s MHz, mem limit %s MB" % (root._moId, root_cfg.cpuAllocation.limit,
                                                         root_cfg.memoryAllocation.limit))

    # Create with limits.
    pool = root.CreateResourcePool(name="interop-pool", spec=pool_spec(500, 500, cpu_level="high"))
    check(isinstance(pool, vim.ResourcePool), "CreateResourcePool returned %r" % pool)
    check(pool.name == "interop-pool", "new pool named %r" % pool.name)
    check(pool.parent == root, "new pool's parent is %s" % pool.parent)
    check(pool in root.resourcePool, "new pool is not among the root's child pools")
    check(pool.owner == cluster, "new pool's owner is %s" % pool.owner)
    cfg = pool.config
    check(cfg.cpuAllocation.limit == 500, "cpuAllocation.limit %s, want 500" % cfg.cpuAllocation.limit)
    check(cfg.memoryAllocation.limit == 500, "memoryAllocation.limit %s, want 500" % cfg.memoryAllocation.limit)
    check(cfg.cpuAllocation.shares.level == "high", "cpu shares level %s" % cfg.cpuAllocation.shares.level)
    check_vicbed(cfg.cpuAllocation.shares.shares == 8000, "high cpu shares of a pool resolved to %s, want 8000" % cfg.cpuAllocation.shares.shares)
    ok("CreateResourcePool cpu 500 MHz / mem 500 MB, shares high = %d" % cfg.cpuAllocation.shares.shares)

    # Runtime usage and summary are present and typed.
    rt = pool.runtime
    check(rt.cpu is not None and rt.memory is not None, "pool.runtime is incomplete: %s" % rt)
    check(rt.cpu.maxUsage is not None and rt.memory.maxUsage is not None, "runtime maxUsage unset")
    check(pool.summary.name == "interop-pool", "pool.summary.name %r" % pool.summary.name)
    ok("pool runtime: cpu maxUsage %s, mem maxUsage %s" % (rt.cpu.maxUsage, rt.memory.maxUsage))

    # Duplicate name under the same parent.
    expect_fault(vim.fault.DuplicateName, root.CreateResourcePool, name="interop-pool",
                 spec=pool_spec(500, 500))
    ok("duplicate pool name -> DuplicateName")

    # A child pool, then UpdateConfig on the parent.
    child = pool.CreateResourcePool(name="interop-child", spec=pool_spec(-1, -1))
    check(child.parent == pool, "child's parent %s" % child.parent)
    pool.UpdateConfig(name="interop-pool-2", config=pool_spec(1000, 2048, cpu_level="low"))
    cfg = pool.config
    check(pool.name == "interop-pool-2", "UpdateConfig did not rename: %r" % pool.name)
    check(cfg.cpuAllocation.limit == 1000, "cpu limit after UpdateConfig %s" % cfg.cpuAllocation.limit)
    check(cfg.memoryAllocation.limit == 2048, "mem limit after UpdateConfig %s" % cfg.memoryAllocation.limit)
    check(cfg.cpuAllocation.shares.level == "low", "cpu shares level after UpdateConfig %s"
          % cfg.cpuAllocation.shares.level)
    # Unset fields of an allocation mean "leave as is".
    pool.UpdateConfig(config=vim.ResourceConfigSpec(cpuAllocation=vim.ResourceAllocationInfo(limit=750),
                                                    memoryAllocation=vim.ResourceAllocationInfo()))
    check(pool.config.cpuAllocation.limit == 750, "partial UpdateConfig: cpu limit %s" % pool.config.cpuAllocation.limit)
    check(pool.config.memoryAllocation.limit == 2048, "partial UpdateConfig changed the memory limit")
    ok("UpdateConfig (rename, limits, shares; partial spec)")

    # Destroy_Task removes the pool; its child pools (and VMs) move up to the parent, as vSphere does.
    wait(pool.Destroy_Task(), "ResourcePool.Destroy_Task")
    expect_fault(vmodl.fault.ManagedObjectNotFound, lambda: pool.name)
    check(all(p.name != "interop-pool-2" for p in root.resourcePool), "destroyed pool still listed under root")
    check_vicbed(child.parent == root, "the destroyed pool's child now has parent %s, want the root pool" % child.parent)
    check(child in root.resourcePool, "the destroyed pool's child is not listed under the root pool")
    if not PEER:  # govmomi's vcsim 0.24 leaves the child's parent stale and crashes here
        wait(child.Destroy_Task(), "child ResourcePool.Destroy_Task")
        expect_fault(vmodl.fault.ManagedObjectNotFound, lambda: child.name)
    ok("Destroy_Task (pool gone, child moved to the parent)")

    # The root pool of a cluster cannot be destroyed.
    expect_fault(vmodl.fault.InvalidArgument, lambda: wait(root.Destroy_Task(), "root pool Destroy_Task"))
    check(cluster.resourcePool.name == "Resources", "root pool gone after a refused Destroy")
    ok("root pool Destroy_Task -> InvalidArgument")
    disconnect(si)


if __name__ == "__main__":
    run(main)

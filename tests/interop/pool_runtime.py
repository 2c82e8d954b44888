"""ResourcePool.runtime follows the model (issue 12 item 1): reservation state as soon as an
allocation changes (a child pool created, a VM with reservations powered on and off), usage
after the model's steps; `summary.runtime` says the same.

usage: pool_runtime.py GOVC_URL   (the server runs at --speed 600)
"""

import time

from common import check, connect, datacenter, find, ok, run, vim, wait

MB = 1024 * 1024


def allocation(reservation, limit=-1, expandable=False):
    return vim.ResourceAllocationInfo(
        reservation=reservation,
        limit=limit,
        expandableReservation=expandable,
        shares=vim.SharesInfo(level="normal", shares=0),
    )


def vm_spec(name):
    return vim.vm.ConfigSpec(
        name=name,
        guestId="otherGuest64",
        numCPUs=1,
        memoryMB=1024,
        files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
        cpuAllocation=vim.ResourceAllocationInfo(reservation=500),
        memoryAllocation=vim.ResourceAllocationInfo(reservation=512),
    )


def main(t, opts):
    si = connect(t)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    root = cluster.resourcePool
    before = root.runtime
    pool = root.CreateResourcePool(
        name="runtime-pool",
        spec=vim.ResourceConfigSpec(cpuAllocation=allocation(2000), memoryAllocation=allocation(2048)),
    )
    rt = pool.runtime
    check(rt.cpu.reservationUsed == 0 and rt.memory.reservationUsed == 0,
          "an empty pool uses no reservation: %s" % rt)
    check(rt.cpu.unreservedForVm == 2000 and rt.cpu.unreservedForPool == 2000,
          "unreserved CPU of a 2000 MHz pool: %s" % rt.cpu)
    check(rt.memory.unreservedForVm == 2048 * MB, "unreserved memory of a 2048 MB pool: %s" % rt.memory)
    check(rt.cpu.maxUsage > 0 and rt.memory.maxUsage > 0, "maxUsage of an unlimited pool: %s" % rt)
    after = root.runtime
    check(after.cpu.reservationUsed - before.cpu.reservationUsed == 2000,
          "the root's CPU reservationUsed grew by %d, want 2000"
          % (after.cpu.reservationUsed - before.cpu.reservationUsed))
    check(before.cpu.unreservedForPool - after.cpu.unreservedForPool == 2000,
          "the root's unreservedForPool fell by %d, want 2000"
          % (before.cpu.unreservedForPool - after.cpu.unreservedForPool))
    ok("a child pool's reservation shows in its parent at once")

    vm = wait(datacenter(si).vmFolder.CreateVM_Task(config=vm_spec("runtime-vm"), pool=pool), "CreateVM_Task")
    check(pool.runtime.cpu.reservationUsed == 0, "a powered-off VM holds no reservation")
    wait(vm.PowerOnVM_Task(), "PowerOnVM_Task")
    rt = pool.runtime
    check(rt.cpu.reservationUsed == 500 and rt.cpu.reservationUsedForVm == 500,
          "after power-on, CPU reservationUsed/ForVm: %s" % rt.cpu)
    check(rt.cpu.unreservedForVm == 1500, "after power-on, CPU unreservedForVm %d" % rt.cpu.unreservedForVm)
    check(rt.memory.reservationUsed >= 512 * MB and rt.memory.reservationUsedForVm >= 512 * MB,
          "after power-on, memory reservationUsed %d" % rt.memory.reservationUsed)
    check(rt.memory.unreservedForVm == 2048 * MB - rt.memory.reservationUsed,
          "memory unreservedForVm %d + reservationUsed %d != 2048 MB"
          % (rt.memory.unreservedForVm, rt.memory.reservationUsed))
    summary = pool.summary.runtime
    check(summary.cpu.reservationUsed == 500 and summary.memory.reservationUsed == rt.memory.reservationUsed,
          "summary.runtime differs from runtime: %s" % summary)
    ok("power-on: reservationUsed %d MHz / %d MB" % (rt.cpu.reservationUsed, rt.memory.reservationUsed // MB))

    # Usage comes from the model's steps (20 virtual seconds = 33 ms at --speed 600).
    deadline = time.monotonic() + 20
    while pool.runtime.memory.overallUsage == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    rt = pool.runtime
    check(rt.memory.overallUsage > 0 and rt.cpu.overallUsage > 0,
          "no usage after the model stepped: %s" % rt)
    check(pool.summary.quickStats.hostMemoryUsage * MB <= rt.memory.overallUsage + MB,
          "quickStats.hostMemoryUsage %s MB vs overallUsage %d" % (pool.summary.quickStats.hostMemoryUsage,
                                                                   rt.memory.overallUsage))
    ok("usage: %d MHz, %d MB" % (rt.cpu.overallUsage, rt.memory.overallUsage // MB))

    wait(vm.PowerOffVM_Task(), "PowerOffVM_Task")
    rt = pool.runtime
    check(rt.cpu.reservationUsed == 0 and rt.cpu.unreservedForVm == 2000,
          "after power-off the reservation is free again: %s" % rt.cpu)
    wait(vm.Destroy_Task(), "Destroy_Task")
    wait(pool.Destroy_Task(), "Destroy_Task of the pool")
    check(root.runtime.cpu.reservationUsed == before.cpu.reservationUsed,
          "the root's reservationUsed is back to %d" % before.cpu.reservationUsed)
    ok("power-off and destroy give the reservation back")


if __name__ == "__main__":
    run(main)

"""Snapshots and clones through pyvmomi: the snapshot tree, revert, remove, full and linked
clones, clone to a template and deploy from it, and relocation to another host.

usage: snapshots_clone.py GOVC_URL
"""

from common import (
    check,
    connect,
    disconnect,
    expect_fault,
    find,
    ok,
    run,
    vim,
    wait,
)

VM = "DC0_C0_RP0_VM0"


def tree_names(nodes):
    """[(name, [children...])] of a rootSnapshotList."""
    return [(n.name, tree_names(n.childSnapshotList or [])) for n in nodes or []]


def power_off(vm):
    if vm.runtime.powerState != vim.VirtualMachinePowerState.poweredOff:
        wait(vm.PowerOffVM_Task(), "power off")


def main(t, _opts):
    si = connect(t)
    try:
        vm = find(si, vim.VirtualMachine, VM)
        power_off(vm)
        cpus = vm.config.hardware.numCPU

        s1 = wait(vm.CreateSnapshot_Task(name="s1", description="first", memory=False, quiesce=False), "snapshot s1")
        check(isinstance(s1, vim.vm.Snapshot), "CreateSnapshot_Task returns the snapshot: %r" % s1)
        s2 = wait(vm.CreateSnapshot_Task(name="s2", description="second", memory=False, quiesce=False), "snapshot s2")
        info = vm.snapshot
        check(tree_names(info.rootSnapshotList) == [("s1", [("s2", [])])], "tree %r" % tree_names(info.rootSnapshotList))
        check(info.currentSnapshot == s2, "current is s2: %r" % info.currentSnapshot)
        root = info.rootSnapshotList[0]
        check(root.vm == vm and root.description == "first" and root.id > 0, "root node %r" % root)
        check(root.state == vim.VirtualMachinePowerState.poweredOff, "state %r" % root.state)
        check(list(vm.rootSnapshot) == [s1], "rootSnapshot %r" % vm.rootSnapshot)
        check(s1.vm == vm and list(s1.childSnapshot) == [s2], "snapshot object")
        check(s1.config.hardware.numCPU == cpus, "the snapshot keeps the configuration")
        ok("snapshot tree")

        wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=cpus + 1)), "reconfigure")
        check(vm.config.hardware.numCPU == cpus + 1, "reconfigured")
        wait(s1.RevertToSnapshot_Task(), "revert to s1")
        check(vm.config.hardware.numCPU == cpus, "revert restores the hardware")
        check(vm.snapshot.currentSnapshot == s1, "s1 is current after revert")
        wait(vm.RevertToCurrentSnapshot_Task(), "revert to current")
        s2.RenameSnapshot(name="s2b", description="renamed")
        check(tree_names(vm.snapshot.rootSnapshotList) == [("s1", [("s2b", [])])], "renamed")
        ok("revert and rename")

        # A linked clone from s1, then a full clone, a template and a VM from the template.
        folder = vm.parent
        spec = vim.vm.CloneSpec(
            location=vim.vm.RelocateSpec(diskMoveType="createNewChildDiskBacking"),
            snapshot=s1,
            powerOn=False,
            template=False,
        )
        linked = wait(vm.CloneVM_Task(folder=folder, name="py-linked", spec=spec), "linked clone")
        check(isinstance(linked, vim.VirtualMachine) and linked.name == "py-linked", "clone result %r" % linked)
        disks = [d for d in linked.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]
        check(disks and disks[0].backing.parent is not None, "linked clone disks have a parent")
        check(linked.config.uuid != vm.config.uuid, "the clone has its own uuid")
        expect_fault(
            vim.fault.DuplicateName,
            wait,
            vm.CloneVM_Task(folder=folder, name="py-linked", spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec(),
                                                                                   powerOn=False, template=False)),
            "duplicate clone",
        )
        tmpl = wait(
            vm.CloneVM_Task(folder=folder, name="py-tmpl",
                            spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), powerOn=False, template=True)),
            "clone to template",
        )
        check(tmpl.config.template and tmpl.resourcePool is None, "a template")
        deployed = wait(
            tmpl.CloneVM_Task(folder=folder, name="py-deployed",
                              spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=vm.resourcePool),
                                                    powerOn=True, template=False)),
            "deploy from template",
        )
        check(deployed.runtime.powerState == vim.VirtualMachinePowerState.poweredOn, "deployed and powered on")
        ok("clones")

        # Relocate the deployed VM to another host of its cluster.
        host = deployed.runtime.host
        other = [h for h in host.parent.host if h != host][0]
        wait(deployed.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=other)), "relocate")
        check(deployed.runtime.host == other, "relocated")
        ok("relocate")

        wait(s2.RemoveSnapshot_Task(removeChildren=False), "remove s2b")
        check(tree_names(vm.snapshot.rootSnapshotList) == [("s1", [])], "s2b removed")
        wait(vm.RemoveAllSnapshots_Task(), "remove all")
        check(vm.snapshot is None and not vm.rootSnapshot, "no snapshots left")
        expect_fault(vim.fault.NotFound, vm.RevertToCurrentSnapshot_Task)
        ok("remove")
    finally:
        disconnect(si)


if __name__ == "__main__":
    run(main)

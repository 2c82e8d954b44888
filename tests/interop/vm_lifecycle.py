"""VM lifecycle through tasks: create, power, reconfigure, rename, reset, suspend, destroy.

usage: vm_lifecycle.py GOVC_URL
"""

from common import (
    PEER,
    check,
    check_vicbed,
    connect,
    container_view,
    datacenter,
    disconnect,
    expect_fault,
    find,
    ok,
    run,
    vim,
    vmodl,
    wait,
)

WORKLOAD_KEY = "guestinfo.vicbed.workload"
Dev = vim.vm.device
Op = Dev.VirtualDeviceSpec.Operation


def config_spec(name, workload="cpu=1800", cpus=2, memory_mb=4096):
    scsi = Dev.ParaVirtualSCSIController(key=-100, busNumber=0, sharedBus="noSharing")
    disk = Dev.VirtualDisk(
        key=-101,
        controllerKey=-100,
        unitNumber=0,
        capacityInKB=4 * 1024 * 1024,
        backing=Dev.VirtualDisk.FlatVer2BackingInfo(fileName="", diskMode="persistent", thinProvisioned=True),
    )
    nic = Dev.VirtualVmxnet3(
        key=-102,
        backing=Dev.VirtualEthernetCard.NetworkBackingInfo(deviceName="VM Network"),
        connectable=Dev.VirtualDevice.ConnectInfo(startConnected=True, allowGuestControl=True, connected=False),
        addressType="generated",
    )
    return vim.vm.ConfigSpec(
        name=name,
        guestId="otherGuest64",
        numCPUs=cpus,
        memoryMB=memory_mb,
        files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
        extraConfig=[vim.option.OptionValue(key=WORKLOAD_KEY, value=workload)],
        deviceChange=[
            Dev.VirtualDeviceSpec(operation=Op.add, device=scsi),
            Dev.VirtualDeviceSpec(operation=Op.add, device=disk,
                                  fileOperation=Dev.VirtualDeviceSpec.FileOperation.create),
            Dev.VirtualDeviceSpec(operation=Op.add, device=nic),
        ],
    )


def extra_config(vm):
    return {o.key: o.value for o in vm.config.extraConfig or []}


def power_state(vm):
    return vm.runtime.powerState


def main(t, opts):
    si = connect(t)
    content = si.content
    dc = datacenter(si)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    pool = cluster.resourcePool
    folder = dc.vmFolder
    vm_view = container_view(si, [vim.VirtualMachine])
    before = len(vm_view.view)

    # Create.
    task = folder.CreateVM_Task(config=config_spec("interop-vm"), pool=pool)
    check(isinstance(task, vim.Task), "CreateVM_Task returned %r" % task)
    vm = wait(task, "CreateVM_Task")
    check(isinstance(vm, vim.VirtualMachine), "CreateVM_Task result is %r, want a VirtualMachine" % vm)
    info = task.info
    check(info.state == "success" and info.completeTime is not None and info.startTime is not None,
          "TaskInfo after CreateVM: %s" % info)
    check(info.key == task._moId, "TaskInfo.key %r != task MoRef %r" % (info.key, task._moId))
    check(vm.name == "interop-vm", "new VM is named %r" % vm.name)
    check(vm.parent == folder, "new VM's parent is %s" % vm.parent)
    check(vm.resourcePool == pool, "new VM's pool is %s" % vm.resourcePool)
    check(vm.runtime.host in cluster.host, "new VM placed on %s, not a DC0_C0 host" % vm.runtime.host)
    check(power_state(vm) == "poweredOff", "new VM is %s" % power_state(vm))
    hw = vm.config.hardware
    check(hw.numCPU == 2 and hw.memoryMB == 4096, "hardware %d vCPU / %d MB" % (hw.numCPU, hw.memoryMB))
    kinds = [type(d).__name__ for d in hw.device]
    check(any(isinstance(d, Dev.VirtualVmxnet3) for d in hw.device), "no VirtualVmxnet3 in %s" % kinds)
    disks = [d for d in hw.device if isinstance(d, Dev.VirtualDisk)]
    check(len(disks) == 1 and disks[0].capacityInKB == 4 * 1024 * 1024, "disks: %s" % kinds)
    check(disks[0].backing.fileName.startswith("[LocalDS_0]"), "disk file %r" % disks[0].backing.fileName)
    check(vm.config.files.vmPathName.startswith("[LocalDS_0]") and vm.config.files.vmPathName.endswith(".vmx"),
          "vmPathName %r" % vm.config.files.vmPathName)
    check(extra_config(vm).get(WORKLOAD_KEY) == "cpu=1800", "extraConfig %s" % extra_config(vm))
    check(vm in vm_view.view and len(vm_view.view) == before + 1, "the container view did not pick up the new VM")
    ok("CreateVM_Task -> %s (%s), devices %s" % (vm._moId, vm.name, kinds))

    # Duplicate name in the same folder (govmomi's vcsim 0.24 does not check this).
    if not PEER:
        expect_fault(vim.fault.DuplicateName, lambda: wait(
            folder.CreateVM_Task(config=config_spec("interop-vm"), pool=pool), "CreateVM_Task duplicate"))
        expect_fault(vim.fault.DuplicateName, lambda: wait(
            folder.CreateVM_Task(config=config_spec("DC0_C0_RP0_VM0"), pool=pool), "CreateVM_Task duplicate"))
        ok("duplicate name -> DuplicateName")

    # Power on.
    task = vm.PowerOnVM_Task()
    wait(task, "PowerOnVM_Task")
    check(power_state(vm) == "poweredOn", "after PowerOn: %s" % power_state(vm))
    check_vicbed(vm.runtime.bootTime is not None, "runtime.bootTime unset after power-on")
    info = task.info
    check(info.entity == vm, "PowerOn task entity %s" % info.entity)
    check_vicbed(info.entityName == "interop-vm", "PowerOn task entityName %r" % info.entityName)
    check(info.descriptionId == "VirtualMachine.powerOn", "PowerOn descriptionId %r" % info.descriptionId)
    check(task in content.taskManager.recentTask, "PowerOn task not in taskManager.recentTask")
    check_vicbed(task in vm.recentTask, "PowerOn task not in vm.recentTask")
    expect_fault(vim.fault.InvalidPowerState, lambda: wait(vm.PowerOnVM_Task(), "PowerOn twice"))
    ok("PowerOnVM_Task, TaskInfo, recentTask; PowerOn twice -> InvalidPowerState")

    # Reconfigure: memory needs hot-add (off by default) while powered on, so it is refused
    # with InvalidPowerState as vSphere does; the workload (extraConfig) changes live.
    spec = vim.vm.ConfigSpec(memoryMB=8192)
    expect_fault(vim.fault.InvalidPowerState, lambda: wait(vm.ReconfigVM_Task(spec=spec), "ReconfigVM_Task memory while on"))
    spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key=WORKLOAD_KEY, value="idle")])
    wait(vm.ReconfigVM_Task(spec=spec), "ReconfigVM_Task")
    check(extra_config(vm).get(WORKLOAD_KEY) == "idle", "extraConfig after reconfigure %s" % extra_config(vm))
    ok("ReconfigVM_Task: memory while on -> InvalidPowerState; extraConfig live")

    # Reset and suspend.
    wait(vm.ResetVM_Task(), "ResetVM_Task")
    check(power_state(vm) == "poweredOn", "after Reset: %s" % power_state(vm))
    wait(vm.SuspendVM_Task(), "SuspendVM_Task")
    check(power_state(vm) == "suspended", "after Suspend: %s" % power_state(vm))
    wait(vm.PowerOnVM_Task(), "PowerOnVM_Task from suspended")
    check(power_state(vm) == "poweredOn", "resume: %s" % power_state(vm))
    ok("ResetVM_Task, SuspendVM_Task, resume")

    # Rename.
    wait(vm.Rename_Task(newName="interop-vm-renamed"), "Rename_Task")
    check(vm.name == "interop-vm-renamed", "after rename: %r" % vm.name)
    check(content.searchIndex.FindChild(folder, "interop-vm-renamed") == vm, "FindChild by the new name")
    ok("Rename_Task")

    # Power off, then power off again.
    wait(vm.PowerOffVM_Task(), "PowerOffVM_Task")
    wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(memoryMB=8192)), "ReconfigVM_Task memory while off")
    check(vm.config.hardware.memoryMB == 8192, "memoryMB after reconfigure: %d" % vm.config.hardware.memoryMB)
    check(vm.summary.config.memorySizeMB == 8192, "summary.config.memorySizeMB %s" % vm.summary.config.memorySizeMB)
    ok("ReconfigVM_Task memoryMB while powered off")
    check(power_state(vm) == "poweredOff", "after PowerOff: %s" % power_state(vm))
    fault = expect_fault(vim.fault.InvalidPowerState, lambda: wait(vm.PowerOffVM_Task(), "PowerOff twice"))
    check(fault.existingState == "poweredOff", "InvalidPowerState.existingState %r" % fault.existingState)
    ok("PowerOffVM_Task; PowerOff twice -> InvalidPowerState")

    # A failing task records its error as a LocalizedMethodFault.
    failed = vm.PowerOffVM_Task()
    try:
        wait(failed, "PowerOff (expected to fail)")
    except Exception:  # noqa: BLE001 - inspected below
        pass
    info = failed.info
    check(info.state == "error", "failed task state %s" % info.state)
    check(isinstance(info.error, vim.fault.InvalidPowerState), "failed task error %r" % info.error)
    ok("failed task: state error, error InvalidPowerState")

    # Destroy.
    moid = vm._moId
    wait(vm.Destroy_Task(), "Destroy_Task")
    expect_fault(vmodl.fault.ManagedObjectNotFound, lambda: vm.name)
    check(content.searchIndex.FindChild(folder, "interop-vm-renamed") is None, "destroyed VM still found")
    check(all(v._moId != moid for v in vm_view.view), "destroyed VM still in the container view")
    ok("Destroy_Task; the destroyed VM -> ManagedObjectNotFound")

    # Calls on a bad MoRef.
    ghost = vim.VirtualMachine("vm-999999", si._stub)
    expect_fault(vmodl.fault.ManagedObjectNotFound, ghost.PowerOnVM_Task)
    ok("method on a missing VM -> ManagedObjectNotFound")

    vm_view.Destroy()
    disconnect(si)


if __name__ == "__main__":
    run(main)

"""DRS through pyvmomi (issue 12 item 3): a fully automated DRS cluster spreads load that sits
on one host (DrsVmMigratedEvent, VMs' runtime.host changes) within a few virtual minutes, and
ClusterComputeResource.PlaceVm recommends a host of the cluster other than the loaded one.

usage: drs.py GOVC_URL   (the server runs at --speed 600: 5 virtual minutes ≈ 0.5 s)
"""

import time

from common import check, connect, datacenter, find, ok, run, vim, vmodl, wait

WORKLOAD_KEY = "guestinfo.vicbed.workload"


def vm_spec(name, workload="cpu=1800"):
    return vim.vm.ConfigSpec(
        name=name,
        guestId="otherGuest64",
        numCPUs=1,
        memoryMB=1024,
        files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
        extraConfig=[vim.option.OptionValue(key=WORKLOAD_KEY, value=workload)],
    )


def migrations(si, cluster):
    spec = vim.event.EventFilterSpec(
        eventTypeId=["DrsVmMigratedEvent"],
        entity=vim.event.EventFilterSpec.ByEntity(entity=cluster, recursion="all"),
    )
    return si.content.eventManager.QueryEvents(spec) or []


def main(t, opts):
    si = connect(t)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    spec = vim.cluster.ConfigSpecEx(
        drsConfig=vim.cluster.DrsConfigInfo(enabled=True, defaultVmBehavior="fullyAutomated"))
    wait(cluster.ReconfigureComputeResource_Task(spec=spec, modify=True), "ReconfigureComputeResource_Task")
    drs = cluster.configurationEx.drsConfig
    check(drs.enabled and drs.defaultVmBehavior == "fullyAutomated", "drsConfig after reconfigure: %s" % drs)
    ok("DRS enabled, fully automated")

    loaded = cluster.host[0]
    folder = datacenter(si).vmFolder
    busy = []
    for i in range(6):
        vm = wait(folder.CreateVM_Task(config=vm_spec("drs-busy%d" % i), pool=cluster.resourcePool, host=loaded),
                  "CreateVM_Task")
        wait(vm.PowerOnVM_Task(), "PowerOnVM_Task")
        busy.append(vm)
    # (They were created on `loaded`; at --speed 600 DRS may already be moving them.)

    result = cluster.PlaceVm(placementSpec=vim.cluster.PlacementSpec(
        configSpec=vm_spec("drs-new"), placementType="create"))
    recs = result.recommendations or []
    check(len(recs) >= 1 and recs[0].action, "PlaceVm gave no recommendation: %s" % result)
    target = recs[0].action[0].targetHost
    check(target in cluster.host and target != loaded,
          "PlaceVm recommends %s, want a host of the cluster other than the loaded %s" % (target, loaded.name))
    ok("PlaceVm -> %s" % target.name)

    deadline = time.monotonic() + 30
    while not migrations(si, cluster) and time.monotonic() < deadline:
        time.sleep(0.2)
    events = migrations(si, cluster)
    check(events, "no DrsVmMigratedEvent within 30 s (≈ 5 virtual hours)")
    moved = [vm for vm in busy if vm.runtime.host != loaded]
    check(moved, "no busy VM left %s" % loaded.name)
    for e in events:
        check(e.vm.vm in busy and e.sourceHost is not None and e.host.host != e.sourceHost.host,
              "a DrsVmMigratedEvent that moves nothing: %s" % e)
    ok("DRS moved %d VM(s) off %s (%d event(s))" % (len(moved), loaded.name, len(events)))

    # An anti-affinity rule between two VMs on one host: stored with a key vCenter assigns,
    # and DRS separates them at its next pass.
    pair_host = cluster.host[-1]
    pair = []
    for i in range(2):
        vm = wait(folder.CreateVM_Task(config=vm_spec("drs-apart%d" % i, workload="cpu=100"),
                                       pool=cluster.resourcePool, host=pair_host), "CreateVM_Task")
        wait(vm.PowerOnVM_Task(), "PowerOnVM_Task")
        pair.append(vm)
    rule = vim.cluster.AntiAffinityRuleSpec(name="apart", enabled=True, vm=pair)
    spec = vim.cluster.ConfigSpecEx(rulesSpec=[vim.cluster.RuleSpec(operation="add", info=rule)])
    wait(cluster.ReconfigureComputeResource_Task(spec=spec, modify=True), "ReconfigureComputeResource_Task")
    stored = [r for r in cluster.configurationEx.rule or [] if r.name == "apart"]
    check(len(stored) == 1 and stored[0].key and set(stored[0].vm) == set(pair),
          "configurationEx.rule after adding the rule: %s" % cluster.configurationEx.rule)
    deadline = time.monotonic() + 30
    while pair[0].runtime.host == pair[1].runtime.host and time.monotonic() < deadline:
        time.sleep(0.2)
    check(pair[0].runtime.host != pair[1].runtime.host, "the anti-affinity pair still shares a host")
    ok("anti-affinity rule %d kept the pair apart (%s, %s)"
       % (stored[0].key, pair[0].runtime.host.name, pair[1].runtime.host.name))

    # A rule naming a VM that does not exist is refused whole.
    bogus = vim.VirtualMachine("vm-does-not-exist", si._stub)
    bad = vim.cluster.ConfigSpecEx(rulesSpec=[vim.cluster.RuleSpec(
        operation="add", info=vim.cluster.AffinityRuleSpec(name="bad", enabled=True, vm=[pair[0], bogus]))])
    try:
        wait(cluster.ReconfigureComputeResource_Task(spec=bad, modify=True), "bad rule")
        check(False, "a rule with an unknown VM was accepted")
    except vmodl.fault.InvalidArgument as err:
        check("rulesSpec" in (err.invalidProperty or ""), "InvalidArgument names %r" % err.invalidProperty)
    check(len([r for r in cluster.configurationEx.rule or []]) == 1, "the refused spec left a rule behind")
    ok("a rule with an unknown VM -> InvalidArgument, nothing stored")


if __name__ == "__main__":
    run(main)

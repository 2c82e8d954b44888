"""Host state and cluster HA/DRS: ReconfigureComputeResource_Task, EnterMaintenanceMode_Task
with DRS evacuation, DisconnectHost_Task / ReconnectHost_Task, ShutdownHost_Task and
RebootHost_Task needing maintenance mode, and the cluster's summary and overallStatus
(overcommitted: yellow; HA failover capacity violated: red) with vCenter's events.

Host failures and HA restarts have no vSphere method (vicbed drives them in-process; see the
scenarios crate's tests), so this script covers what a client can do.

usage: hosts.py GOVC_URL      (against the default inventory: DC0_C0 with three hosts)
"""

from common import (
    check,
    check_vicbed,
    connect,
    disconnect,
    expect_fault,
    find,
    ok,
    run,
    strict_walk,
    vim,
    wait,
)


def events_of(si, type_id, entity=None):
    spec = vim.event.EventFilterSpec(eventTypeId=[type_id])
    if entity is not None:
        spec.entity = vim.event.EventFilterSpec.ByEntity(entity=entity, recursion="all")
    return si.content.eventManager.QueryEvents(spec) or []


def reconfigure(cluster, spec, what):
    wait(cluster.ReconfigureComputeResource_Task(spec=spec, modify=True), what)


def main(t, opts):
    si = connect(t)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    hosts = sorted(cluster.host, key=lambda h: h.name)
    check(len(hosts) == 3, "DC0_C0 has %d hosts" % len(hosts))
    h0, h1, h2 = hosts

    # HA with one host failure tolerated (slots), DRS fully automated.
    das = vim.cluster.DasConfigInfo(
        enabled=True,
        admissionControlEnabled=True,
        admissionControlPolicy=vim.cluster.FailoverLevelAdmissionControlPolicy(failoverLevel=1),
    )
    drs = vim.cluster.DrsConfigInfo(enabled=True, defaultVmBehavior="fullyAutomated")
    reconfigure(cluster, vim.cluster.ConfigSpecEx(dasConfig=das, drsConfig=drs), "enable HA and DRS")
    cfg = cluster.configurationEx
    check(cfg.dasConfig.enabled is True, "dasConfig.enabled %r" % cfg.dasConfig.enabled)
    check(isinstance(cfg.dasConfig.admissionControlPolicy, vim.cluster.FailoverLevelAdmissionControlPolicy),
          "admission control policy %r" % cfg.dasConfig.admissionControlPolicy)
    check(cfg.drsConfig.defaultVmBehavior == "fullyAutomated", "drs %r" % cfg.drsConfig.defaultVmBehavior)
    check(cluster.configuration.dasConfig.enabled is True, "the older configuration property follows")
    check(len(events_of(si, "DasEnabledEvent", cluster)) == 1, "one DasEnabledEvent")
    # Three hosts, six small VMs: losing two hosts still leaves a slot for every VM.
    check(cluster.summary.currentFailoverLevel == 2, "currentFailoverLevel %r" % cluster.summary.currentFailoverLevel)
    ok("ReconfigureComputeResource_Task: HA (failover level 1) and DRS fully automated stored")

    # Maintenance mode: DRS moves h0's VMs away.
    vms = list(h0.vm)
    check(len(vms) > 0, "h0 has VMs")
    wait(h0.EnterMaintenanceMode_Task(timeout=0), "enter maintenance mode")
    check(h0.runtime.inMaintenanceMode is True, "h0 in maintenance mode")
    check(len(h0.vm) == 0, "h0 still has %d VMs" % len(h0.vm))
    for vm in vms:
        check(vm.runtime.host in (h1, h2), "%s went to %s" % (vm.name, vm.runtime.host))
        check(vm.runtime.powerState == "poweredOn", "%s is %s after vMotion" % (vm.name, vm.runtime.powerState))
    migrated = events_of(si, "DrsVmMigratedEvent", cluster)
    check(len(migrated) == len(vms), "%d DrsVmMigratedEvent for %d VMs" % (len(migrated), len(vms)))
    check(all(e.sourceHost.host == h0 for e in migrated), "sourceHost of the migrations")
    check(cluster.summary.numEffectiveHosts == 2, "numEffectiveHosts %r" % cluster.summary.numEffectiveHosts)
    check(cluster.summary.numVmotions == len(vms), "numVmotions %r" % cluster.summary.numVmotions)
    check(len(events_of(si, "EnteredMaintenanceModeEvent", h0)) == 1, "EnteredMaintenanceModeEvent")
    ok("EnterMaintenanceMode_Task: %d VMs migrated by DRS, host in maintenance mode" % len(vms))

    # Shutdown and reboot need maintenance mode unless forced.
    for method in (h1.ShutdownHost_Task, h1.RebootHost_Task):
        expect_fault(vim.fault.InvalidState, lambda m=method: wait(m(force=False), "power down"))
    ok("ShutdownHost_Task / RebootHost_Task outside maintenance mode -> InvalidState")
    wait(h0.ExitMaintenanceMode_Task(timeout=0), "exit maintenance mode")
    check(h0.runtime.inMaintenanceMode is False, "h0 out of maintenance mode")
    check(cluster.summary.numEffectiveHosts == 3, "numEffectiveHosts back to 3")

    # Disconnect: VMs keep running, unmanaged; capacity leaves the cluster.
    running = [vm for vm in h1.vm if vm.runtime.powerState == "poweredOn"]
    wait(h1.DisconnectHost_Task(), "disconnect")
    check(h1.runtime.connectionState == "disconnected", "connectionState %r" % h1.runtime.connectionState)
    check(h1.runtime.powerState == "unknown", "powerState %r" % h1.runtime.powerState)
    for vm in running:
        check(vm.runtime.connectionState == "disconnected", "%s %r" % (vm.name, vm.runtime.connectionState))
        check(vm.runtime.powerState == "poweredOn", "%s keeps running" % vm.name)
    check(cluster.summary.numEffectiveHosts == 2, "numEffectiveHosts %r" % cluster.summary.numEffectiveHosts)
    check(cluster.summary.effectiveCpu < cluster.summary.totalCpu, "effectiveCpu follows")
    if running:
        expect_fault(vim.fault.InvalidHostState, lambda: wait(running[0].PowerOffVM_Task(), "power off"))
    # Two hosts tolerate one failure: still green with failover level 1.
    check(cluster.overallStatus == "green", "overallStatus %r" % cluster.overallStatus)
    wait(h1.ReconnectHost_Task(), "reconnect")
    check(h1.runtime.connectionState == "connected", "reconnected")
    check(all(vm.runtime.connectionState == "connected" for vm in h1.vm), "VMs connected again")
    check(len(events_of(si, "HostDisconnectedEvent", h1)) == 1, "HostDisconnectedEvent")
    check(len(events_of(si, "HostConnectedEvent", h1)) == 1, "HostConnectedEvent")
    ok("DisconnectHost_Task / ReconnectHost_Task: VMs keep running, capacity follows")

    # Red: HA asked to tolerate two failures, and a host goes away.
    das2 = vim.cluster.DasConfigInfo(
        admissionControlPolicy=vim.cluster.FailoverLevelAdmissionControlPolicy(failoverLevel=2))
    reconfigure(cluster, vim.cluster.ConfigSpecEx(dasConfig=das2), "failover level 2")
    check(cluster.overallStatus == "green", "3 hosts tolerate 2 failures: %r" % cluster.overallStatus)
    wait(h2.DisconnectHost_Task(), "disconnect h2")
    check(cluster.overallStatus == "red", "failover capacity violated: %r" % cluster.overallStatus)
    check(cluster.summary.overallStatus == "red", "summary.overallStatus %r" % cluster.summary.overallStatus)
    check(len(events_of(si, "InsufficientFailoverResourcesEvent", cluster)) == 1,
          "InsufficientFailoverResourcesEvent")
    victim = h1.vm[0]
    if victim.runtime.powerState == "poweredOn":
        wait(victim.PowerOffVM_Task(), "power off for the admission check")
    expect_fault(vim.fault.InsufficientFailoverResourcesFault,
                 lambda: wait(victim.PowerOnVM_Task(), "power on under HA admission control"))
    wait(h2.ReconnectHost_Task(), "reconnect h2")
    check(cluster.overallStatus == "green", "back to green: %r" % cluster.overallStatus)
    check(len(events_of(si, "FailoverLevelRestored", cluster)) == 1, "FailoverLevelRestored")
    wait(victim.PowerOnVM_Task(), "power on again")
    ok("HA failover capacity: red with InsufficientFailoverResourcesEvent, power-on refused, then green")

    # Yellow: a pool reserves more than the cluster keeps when a host goes.
    reconfigure(cluster, vim.cluster.ConfigSpecEx(dasConfig=vim.cluster.DasConfigInfo(enabled=False)), "HA off")
    total = cluster.summary.effectiveCpu
    reserve = int(total * 0.8)
    alloc = vim.ResourceAllocationInfo(reservation=reserve, limit=-1, expandableReservation=False,
                                       shares=vim.SharesInfo(level="normal", shares=0))
    mem = vim.ResourceAllocationInfo(reservation=0, limit=-1, expandableReservation=True,
                                     shares=vim.SharesInfo(level="normal", shares=0))
    pool = cluster.resourcePool.CreateResourcePool(name="reserved", spec=vim.ResourceConfigSpec(
        cpuAllocation=alloc, memoryAllocation=mem))
    check(cluster.overallStatus == "green", "reservation fits: %r" % cluster.overallStatus)
    wait(h2.DisconnectHost_Task(), "disconnect h2 again")
    check(cluster.overallStatus == "yellow", "overcommitted: %r" % cluster.overallStatus)
    check(len(events_of(si, "ClusterOvercommittedEvent", cluster)) == 1, "ClusterOvercommittedEvent")
    changes = events_of(si, "ClusterStatusChangedEvent", cluster)
    check(any(e.newStatus == "yellow" for e in changes), "ClusterStatusChangedEvent to yellow")
    wait(h2.ReconnectHost_Task(), "reconnect h2 again")
    check(cluster.overallStatus == "green", "green again: %r" % cluster.overallStatus)
    wait(pool.Destroy_Task(), "destroy pool")
    ok("overcommitted cluster: yellow with ClusterOvercommittedEvent, green once capacity is back")

    # Everything reads back strictly typed.
    strict_walk(si)
    ok("strict walk after host state changes")

    # A forced reboot from maintenance mode takes the host away (it returns after a few
    # minutes of virtual time).
    wait(h0.EnterMaintenanceMode_Task(timeout=0), "maintenance before reboot")
    wait(h0.RebootHost_Task(force=False), "reboot")
    check_vicbed(h0.runtime.connectionState == "notResponding", "rebooting: %r" % h0.runtime.connectionState)
    ok("RebootHost_Task from maintenance mode")
    disconnect(si)


if __name__ == "__main__":
    run(main)

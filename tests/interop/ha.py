"""vSphere HA through pyvmomi (issue 12 item 2): `serve --fail-host DC0_C0_H1@30m` fails a host
when the virtual clock gets there; with HA turned on over the API, its VMs are restarted on
the surviving hosts (DasHostFailedEvent, VmRestartedOnAlternateHostEvent) and the cluster's
summary counts one effective host fewer.

usage: ha.py GOVC_URL   (the server runs at --speed 600 with --fail-host DC0_C0_H1@30m)
"""

import time

from common import check, connect, find, ok, run, vim, wait


def events(si, cluster, type_id):
    spec = vim.event.EventFilterSpec(
        eventTypeId=[type_id],
        entity=vim.event.EventFilterSpec.ByEntity(entity=cluster, recursion="all"),
    )
    return si.content.eventManager.QueryEvents(spec) or []


def until(what, cond, seconds=60):
    deadline = time.monotonic() + seconds
    while not cond():
        check(time.monotonic() < deadline, "timed out waiting for %s" % what)
        time.sleep(0.2)


def main(t, opts):
    si = connect(t)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    spec = vim.cluster.ConfigSpecEx(dasConfig=vim.cluster.DasConfigInfo(
        enabled=True, hostMonitoring="enabled", admissionControlEnabled=False))
    wait(cluster.ReconfigureComputeResource_Task(spec=spec, modify=True), "ReconfigureComputeResource_Task")
    check(cluster.configurationEx.dasConfig.enabled, "HA is on")
    failing = find(si, vim.HostSystem, "DC0_C0_H1")
    check(failing.runtime.connectionState == "connected", "DC0_C0_H1 starts connected")
    victims = [vm for vm in failing.vm if vm.runtime.powerState == "poweredOn"]
    check(victims, "DC0_C0_H1 runs VMs")
    hosts_before = cluster.summary.numEffectiveHosts
    ok("HA on; %d VM(s) on DC0_C0_H1, %d effective hosts" % (len(victims), hosts_before))

    until("DC0_C0_H1 to fail", lambda: failing.runtime.connectionState == "notResponding")
    until("DasHostFailedEvent", lambda: events(si, cluster, "DasHostFailedEvent"))
    until("every VM restarted",
          lambda: len(events(si, cluster, "VmRestartedOnAlternateHostEvent")) >= len(victims))
    restarted = events(si, cluster, "VmRestartedOnAlternateHostEvent")
    for vm in victims:
        check(vm.runtime.powerState == "poweredOn", "%s is %s after HA" % (vm.name, vm.runtime.powerState))
        check(vm.runtime.host != failing and vm.runtime.host in cluster.host,
              "%s runs on %s" % (vm.name, vm.runtime.host))
        check(any(e.vm.vm == vm for e in restarted), "no VmRestartedOnAlternateHostEvent for %s" % vm.name)
    check(cluster.summary.numEffectiveHosts == hosts_before - 1,
          "numEffectiveHosts %d, want %d" % (cluster.summary.numEffectiveHosts, hosts_before - 1))
    ok("HA restarted %s on %s" % (", ".join(vm.name for vm in victims),
                                  ", ".join(sorted({vm.runtime.host.name for vm in victims}))))


if __name__ == "__main__":
    run(main)

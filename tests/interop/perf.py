"""PerformanceManager: counters, available metrics, provider summary, realtime QueryPerf.

usage: perf.py GOVC_URL

Run against `vicbed serve --speed 600` (20 s of virtual time ~ 33 ms of wall time), so
that realtime samples pile up within seconds.  Creates a busy and an idle 2-vCPU VM
(`guestinfo.vicbed.workload`) and compares what the contention model reports for them.
"""

import datetime
import time

from common import (
    VIRTUAL_EPOCH,
    check,
    check_vicbed,
    connect,
    datacenter,
    disconnect,
    find,
    ok,
    run,
    utc,
    vim,
    wait,
)
from vm_lifecycle import config_spec

PM = vim.PerformanceManager
REALTIME = 20


def counter_keys(perf):
    """{"group.name.rollup": key} over perfManager.perfCounter."""
    return {"%s.%s.%s" % (c.groupInfo.key, c.nameInfo.key, c.rollupType): c.key for c in perf.perfCounter}


def query(perf, entity, counters, max_sample=5, instance="*", **kw):
    spec = PM.QuerySpec(
        entity=entity,
        intervalId=REALTIME,
        maxSample=max_sample,
        metricId=[PM.MetricId(counterId=c, instance=instance) for c in counters],
        **kw,
    )
    result = perf.QueryPerf(querySpec=[spec])
    check(result is not None and len(result) <= 1, "QueryPerf for one entity returned %r" % (result,))
    return result[0] if result else None


def series(metric):
    """{(counterId, instance): [values]} of an EntityMetric."""
    return {(s.id.counterId, s.id.instance): list(s.value) for s in metric.value or []}


def wait_for_samples(perf, vm, counters, want=5, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while True:
        metric = query(perf, vm, counters, max_sample=want)
        have = len(metric.sampleInfo) if metric is not None else 0
        if have >= want:
            return metric
        check(time.monotonic() < deadline,
              "only %d realtime samples for %s after %d s (is the server running with --speed 600?)"
              % (have, vm.name, timeout_s))
        time.sleep(0.25)


def new_vm(si, name, workload):
    dc = datacenter(si)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    vm = wait(dc.vmFolder.CreateVM_Task(config=config_spec(name, workload=workload, cpus=2, memory_mb=2048),
                                        pool=cluster.resourcePool), "CreateVM_Task %s" % name)
    wait(vm.PowerOnVM_Task(), "PowerOnVM_Task %s" % name)
    return vm


def mean(values):
    return sum(values) / len(values) if values else 0.0


def main(t, opts):
    si = connect(t)
    perf = si.content.perfManager

    # Counter catalogue: vCenter's ids for the counters the model feeds.
    keys = counter_keys(perf)
    ready, usagemhz = keys.get("cpu.ready.summation"), keys.get("cpu.usagemhz.average")
    balloon = keys.get("mem.vmmemctl.average")
    check(ready == 12, "cpu.ready.summation has key %s, vCenter's is 12" % ready)
    check(usagemhz == 6, "cpu.usagemhz.average has key %s, vCenter's is 6" % usagemhz)
    check(balloon is not None, "no mem.vmmemctl.average counter")
    infos = {c.key: c for c in perf.QueryPerfCounter(counterId=[ready, usagemhz, balloon])}
    check(sorted(infos) == sorted([ready, usagemhz, balloon]), "QueryPerfCounter returned %s" % sorted(infos))
    r, u = infos[ready], infos[usagemhz]
    check((r.unitInfo.key, r.statsType, r.rollupType) == ("millisecond", "delta", "summation"),
          "cpu.ready.summation is %s/%s/%s" % (r.unitInfo.key, r.statsType, r.rollupType))
    check((u.unitInfo.key, u.statsType, u.rollupType) == ("megaHertz", "rate", "average"),
          "cpu.usagemhz.average is %s/%s/%s" % (u.unitInfo.key, u.statsType, u.rollupType))
    ok("counters: cpu.ready.summation=%d cpu.usagemhz.average=%d mem.vmmemctl.average=%d (of %d)"
       % (ready, usagemhz, balloon, len(keys)))

    counters = [ready, usagemhz, balloon]
    busy = new_vm(si, "perf-busy", "cpu=1800")
    idle = new_vm(si, "perf-idle", "idle")

    # Provider summary.
    summary = perf.QueryPerfProviderSummary(entity=busy)
    check(summary.currentSupported and summary.refreshRate == REALTIME,
          "VM provider summary: currentSupported=%s refreshRate=%s" % (summary.currentSupported, summary.refreshRate))
    host = busy.runtime.host
    hsummary = perf.QueryPerfProviderSummary(entity=host)
    check(hsummary.currentSupported and hsummary.refreshRate == REALTIME, "host provider summary %s" % hsummary)
    ok("QueryPerfProviderSummary: VM and host realtime every %d s" % summary.refreshRate)

    # Realtime samples.
    busy_m = wait_for_samples(perf, busy, counters)
    idle_m = wait_for_samples(perf, idle, counters)

    # Available metrics (asked once the VM has samples: a VM's first interval may not be in yet).
    available = perf.QueryAvailablePerfMetric(entity=busy, intervalId=REALTIME)
    by_counter = {}
    for m in available:
        by_counter.setdefault(m.counterId, set()).add(m.instance)
    for key in (ready, usagemhz):
        check({"0", "1"} <= by_counter.get(key, set()),
              "QueryAvailablePerfMetric: counter %d instances %s, want per-vCPU 0 and 1"
              % (key, sorted(by_counter.get(key, set()))))
    check(balloon in by_counter, "QueryAvailablePerfMetric lacks mem.vmmemctl.average")
    ok("QueryAvailablePerfMetric: %d metrics, per-vCPU instances for cpu counters" % len(available))

    for vm, metric in ((busy, busy_m), (idle, idle_m)):
        check(metric.entity == vm, "QueryPerf answered for %s, asked %s" % (metric.entity, vm))
        stamps = [utc(s.timestamp) for s in metric.sampleInfo]
        check(len(stamps) == 5, "%s: %d samples with maxSample=5" % (vm.name, len(stamps)))
        check(all(s.interval == REALTIME for s in metric.sampleInfo), "sample intervals are not all 20 s")
        steps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
        check(steps == [20.0] * 4, "%s: timestamps %s are not 20 s apart, oldest first"
              % (vm.name, [s.isoformat() for s in stamps]))
        check_vicbed(stamps[0] >= VIRTUAL_EPOCH, "sample %s is before the virtual epoch" % stamps[0])
        data = series(metric)
        for key in (ready, usagemhz):
            instances = {i for (c, i) in data if c == key}
            check({"0", "1"} <= instances, "%s: counter %d has instances %s, want 0 and 1"
                  % (vm.name, key, sorted(instances)))
        for (c, i), values in data.items():
            check(len(values) == len(stamps), "%s: series %d/%r has %d values for %d samples"
                  % (vm.name, c, i, len(values), len(stamps)))
            check(all(v >= 0 for v in values), "%s: negative values in %d/%r: %s" % (vm.name, c, i, values))
    now = utc(si.CurrentTime())
    last = utc(busy_m.sampleInfo[-1].timestamp)
    check(last <= now, "latest sample %s is after CurrentTime %s" % (last, now))
    ok("QueryPerf realtime: 5 samples 20 s apart, oldest first, per-vCPU instances, non-negative")

    # The contention model: a busy VM uses more CPU than an idle one.
    def usage(metric, instance):
        return mean(series(metric).get((usagemhz, instance), []))

    busy_total = usage(busy_m, "") or usage(busy_m, "0") + usage(busy_m, "1")
    idle_total = usage(idle_m, "") or usage(idle_m, "0") + usage(idle_m, "1")
    check_vicbed(busy_total > idle_total, "busy VM cpu.usagemhz %.0f is not above the idle VM's %.0f"
                 % (busy_total, idle_total))
    check_vicbed(usage(busy_m, "0") > 0 and usage(busy_m, "1") > 0, "busy VM's per-vCPU usage is zero")
    ok("busy VM cpu.usagemhz %.0f MHz > idle VM %.0f MHz" % (busy_total, idle_total))

    # A time window: samples strictly after startTime up to endTime, as vCenter returns them.
    window = query(perf, busy, [usagemhz], max_sample=None,
                   startTime=last - datetime.timedelta(seconds=100), endTime=last)
    check(window is not None, "no samples in the window ending at the latest sample")
    stamps = [utc(s.timestamp) for s in window.sampleInfo]
    check(stamps == [last - datetime.timedelta(seconds=20 * k) for k in range(4, -1, -1)],
          "startTime/endTime window (%s, %s] returned %s"
          % ((last - datetime.timedelta(seconds=100)).isoformat(), last.isoformat(), [s.isoformat() for s in stamps]))
    ok("QueryPerf startTime/endTime window")

    # Host metrics exist too.
    hmetric = query(perf, host, [usagemhz], max_sample=1)
    check(hmetric is not None and len(hmetric.sampleInfo) == 1 and hmetric.value, "no host cpu.usagemhz sample")
    check(all(v >= 0 for s in hmetric.value for v in s.value), "negative host cpu.usagemhz")
    ok("host cpu.usagemhz.average %s MHz" % {s.id.instance: list(s.value) for s in hmetric.value})

    for vm in (busy, idle):
        wait(vm.PowerOffVM_Task(), "PowerOffVM_Task")
        wait(vm.Destroy_Task(), "Destroy_Task")
    disconnect(si)


if __name__ == "__main__":
    run(main)

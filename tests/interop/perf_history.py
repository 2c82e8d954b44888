"""PerformanceManager history: QueryPerf at vCenter's historical intervals.

usage: perf_history.py GOVC_URL --part=past    (against `vicbed serve`, history on by default)
       perf_history.py GOVC_URL --part=live    (against `vicbed serve --speed 60`)
       perf_history.py GOVC_URL --part=none    (against `vicbed serve --history-days 0`)
       perf_history.py GOVC_URL --part=steady  (against `vicbed serve --history-days 0 --speed 5000`)

past: the server starts with a day of history (`--history-days 1`, the default), so at once
      a VM, a host, a cluster and a datastore answer QueryPerf with intervalId=300: 288
      samples 300 s apart (the datastore's space counters one per 30 minutes), each
      labelled interval 300; the coarser intervals hold 48, 12 and 1 samples; a 300 s
      sample of a VM and a host is the rollup of the 15 realtime samples of its five
      minutes; a cluster's is the sum of its hosts'; provider summaries and available
      metrics say what vCenter says.  Needs the virtual clock to stay within the first
      five minutes after its start while it runs (speed 1: five wall minutes).
live: a VM created and powered on while the clock runs gets 300 s samples rolled up from
      its own realtime samples, by each counter's rollup type.
none: with `--history-days 0` nothing exists before the clock's start.
steady: a steady VM through more than a day of the live clock (its samples are then
      repeats that the server neither writes as rows nor rolls up one by one) reads as any
      other: its realtime hour is 180 samples 20 s apart, its 300 s day 288 samples 300 s
      apart, its 1800 s samples 30 minutes apart since the start, with no gap, every sample
      of its last day the same value, and the newest 300 s sample the rollup of its 15
      realtime samples.
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
PAST_DAY = 300
FIVE_MIN = datetime.timedelta(seconds=PAST_DAY)


def counter_infos(perf):
    """{"group.name.rollup": PerfCounterInfo} over perfManager.perfCounter."""
    return {"%s.%s.%s" % (c.groupInfo.key, c.nameInfo.key, c.rollupType): c for c in perf.perfCounter}


def query(perf, entity, counters, interval, **kw):
    """One entity's aggregate series of `counters` at `interval`: the EntityMetric or None."""
    spec = PM.QuerySpec(
        entity=entity,
        intervalId=interval,
        metricId=[PM.MetricId(counterId=c, instance="") for c in counters],
        **kw,
    )
    result = perf.QueryPerf(querySpec=[spec])
    check(result is not None and len(result) <= 1, "QueryPerf for one entity returned %r" % (result,))
    return result[0] if result else None


def series(metric):
    """{counterId: [values]} of an EntityMetric's aggregate series."""
    return {s.id.counterId: list(s.value) for s in metric.value or [] if s.id.instance == ""}


def stamps(metric):
    return [utc(s.timestamp) for s in metric.sampleInfo]


def rollup(kind, values):
    """vCenter's rollup of finer samples into one coarser sample, by PerfSummaryType."""
    if kind == "average":
        return (2 * sum(values) + len(values)) // (2 * len(values))
    if kind == "summation":
        return sum(values)
    if kind == "latest":
        return values[-1]
    if kind == "maximum":
        return max(values)
    if kind == "minimum":
        return min(values)
    raise AssertionError("no rollup for %s" % kind)


def check_rollup_of_realtime(perf, entity, infos, names, end):
    """The 300 s sample ending at `end` equals the rollup of the 15 realtime samples of its
    five minutes, for each counter in `names`."""
    keys = [infos[n].key for n in names]
    hist = query(perf, entity, keys, PAST_DAY, startTime=end - FIVE_MIN, endTime=end)
    check(hist is not None and stamps(hist) == [end],
          "%s: 300 s sample at %s: %s" % (entity, end.isoformat(), hist and stamps(hist)))
    real = query(perf, entity, keys, REALTIME, startTime=end - FIVE_MIN, endTime=end)
    check(real is not None, "%s: no realtime samples in the five minutes to %s" % (entity, end.isoformat()))
    want = [end - FIVE_MIN + datetime.timedelta(seconds=REALTIME * k) for k in range(1, 16)]
    check(stamps(real) == want, "%s: realtime samples of (%s, %s]: %s"
          % (entity, (end - FIVE_MIN).isoformat(), end.isoformat(), [s.isoformat() for s in stamps(real)]))
    h, r = series(hist), series(real)
    for name, key in zip(names, keys):
        expected = rollup(infos[name].rollupType, r[key])
        check(h.get(key) == [expected], "%s %s: 300 s sample %s, %s of the 15 realtime samples %s is %d"
              % (entity, name, h.get(key), infos[name].rollupType, r[key], expected))
    return {name: h[key][0] for name, key in zip(names, keys)}


def past(si, perf):
    infos = counter_infos(perf)
    now = utc(si.CurrentTime())
    check_vicbed(now < VIRTUAL_EPOCH + FIVE_MIN,
                 "the clock is at %s: run --part=past against a fresh server at speed 1" % now.isoformat())

    intervals = {i.samplingPeriod: i for i in perf.historicalInterval}
    check(sorted(intervals) == [300, 1800, 7200, 86400], "historicalInterval %s" % sorted(intervals))
    lengths = {p: (i.length, i.level, i.enabled) for p, i in intervals.items()}
    check(lengths == {300: (86400, 1, True), 1800: (604800, 1, True), 7200: (2592000, 1, True),
                      86400: (31536000, 1, True)}, "historical intervals %s" % lengths)
    ok("historicalInterval: 300/1800/7200/86400 s kept 1 day/1 week/30 days/1 year, level 1")

    vm = find(si, vim.VirtualMachine, "DC0_C0_RP0_VM0")
    host = find(si, vim.HostSystem, "DC0_C0_H0")
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    ds = find(si, vim.Datastore, "LocalDS_0")

    # Provider summaries: clusters and datastores have no realtime statistics.
    for entity, realtime in ((vm, True), (host, True), (cluster, False), (ds, False)):
        s = perf.QueryPerfProviderSummary(entity=entity)
        want = (realtime, True, REALTIME if realtime else -1)
        got = (s.currentSupported, s.summarySupported, s.refreshRate)
        check(got == want, "%s provider summary (current, summary, refreshRate) %s, want %s" % (entity, got, want))
    ok("QueryPerfProviderSummary: VM and host realtime every 20 s; cluster and datastore summary only")

    # Available metrics per interval.
    def available(entity, interval):
        return {(m.counterId, m.instance) for m in perf.QueryAvailablePerfMetric(entity=entity, intervalId=interval)}

    k = {n: infos[n].key for n in infos}
    vm_300 = available(vm, PAST_DAY)
    check({(k["cpu.usagemhz.average"], ""), (k["cpu.ready.summation"], ""), (k["mem.consumed.average"], "")}
          <= vm_300, "VM metrics at 300 s: %s" % sorted(vm_300))
    check(all(i == "" for _, i in vm_300), "per-vCPU instances at 300 s (level 1 keeps aggregates): %s"
          % sorted(vm_300))
    check(any(i != "" for _, i in available(vm, REALTIME)), "no per-vCPU instances in realtime")
    cluster_300 = available(cluster, PAST_DAY)
    check({(k[n], "") for n in ("cpu.usage.average", "cpu.usagemhz.average", "cpu.totalmhz.average",
                                "mem.consumed.average", "mem.usage.average", "mem.totalmb.average")}
          <= cluster_300, "cluster metrics at 300 s: %s" % sorted(cluster_300))
    check(not available(cluster, REALTIME), "a cluster lists realtime metrics")
    ds_300 = available(ds, PAST_DAY)
    check({(k[n], "") for n in ("disk.capacity.latest", "disk.used.latest", "disk.provisioned.latest")}
          <= ds_300, "datastore metrics at 300 s: %s" % sorted(ds_300))
    ok("QueryAvailablePerfMetric: %d VM, %d cluster, %d datastore metrics at 300 s"
       % (len(vm_300), len(cluster_300), len(ds_300)))

    # A day of 300 s samples at once, ending at the clock's start.
    usage = k["cpu.usagemhz.average"]
    used = k["disk.used.latest"]
    day = {}
    for entity, key, count, spacing in ((vm, usage, 288, 300), (host, usage, 288, 300),
                                        (cluster, usage, 288, 300), (ds, used, 48, 1800)):
        # maxSample is ignored for historical statistics (PerfQuerySpec).
        m = query(perf, entity, [key], PAST_DAY, maxSample=1)
        check(m is not None, "%s: no 300 s samples" % entity)
        ts = stamps(m)
        check(all(s.interval == PAST_DAY for s in m.sampleInfo), "%s: sample intervals are not 300" % entity)
        check_vicbed(len(ts) == count, "%s: %d samples at 300 s, want %d" % (entity, len(ts), count))
        check_vicbed(ts[-1] == VIRTUAL_EPOCH, "%s: newest 300 s sample %s" % (entity, ts[-1].isoformat()))
        steps = {(b - a).total_seconds() for a, b in zip(ts, ts[1:])}
        check(steps == {spacing}, "%s: 300 s samples %s apart, want %d s, oldest first" % (entity, steps, spacing))
        check(all(t.timestamp() % spacing == 0 for t in ts), "%s: samples off the interval boundaries" % entity)
        check(len(series(m)[key]) == len(ts), "%s: %d values for %d samples" % (entity, len(series(m)[key]), len(ts)))
        check(all(v >= 0 for v in series(m)[key]), "%s: negative values" % entity)
        day[entity] = m
    ok("QueryPerf intervalId=300: VM, host and cluster 288 samples, datastore 48 (every 30 min), "
       "interval 300, aligned, oldest first")

    # The coarser intervals hold what a day rolls up into.
    for interval, count in ((1800, 48), (7200, 12), (86400, 1)):
        m = query(perf, vm, [usage], interval)
        check(m is not None and all(s.interval == interval for s in m.sampleInfo),
              "VM at %d s: %s" % (interval, m and [s.interval for s in m.sampleInfo]))
        check_vicbed(len(m.sampleInfo) == count, "VM at %d s: %d samples, want %d" % (interval, len(m.sampleInfo), count))
    ok("QueryPerf intervalId=1800/7200/86400: 48, 12 and 1 samples from the day")

    # The newest 300 s sample is the rollup of its 15 realtime samples (the realtime hour).
    names = ["cpu.usagemhz.average", "cpu.ready.summation", "mem.consumed.average", "mem.usage.average"]
    vm_vals = check_rollup_of_realtime(perf, vm, infos, names, VIRTUAL_EPOCH)
    host_vals = check_rollup_of_realtime(perf, host, infos, ["cpu.usagemhz.average", "mem.consumed.average"],
                                         VIRTUAL_EPOCH)
    ok("300 s samples = rollups of the 15 realtime samples: VM %s, host %s" % (vm_vals, host_vals))

    # A cluster's 300 s counters are its hosts' summed.
    hosts = list(cluster.host)
    check(len(hosts) == 3, "DC0_C0 has %d hosts" % len(hosts))
    keys = [usage, k["mem.consumed.average"], k["cpu.totalmhz.average"], k["cpu.usage.average"]]
    c = series(query(perf, cluster, keys, PAST_DAY, startTime=VIRTUAL_EPOCH - FIVE_MIN, endTime=VIRTUAL_EPOCH))
    per_host = [series(query(perf, h, keys[:2], PAST_DAY, startTime=VIRTUAL_EPOCH - FIVE_MIN,
                             endTime=VIRTUAL_EPOCH)) for h in hosts]
    for key in keys[:2]:
        total = sum(p[key][0] for p in per_host)
        check(abs(c[key][0] - total) <= len(hosts), "cluster counter %d: %d, hosts sum to %d" % (key, c[key][0], total))
    capacity = sum(h.summary.hardware.cpuMhz * h.summary.hardware.numCpuCores for h in hosts)
    check(c[keys[2]] == [capacity], "cluster cpu.totalmhz %s, hosts have %d MHz" % (c[keys[2]], capacity))
    pct = (2 * 10000 * c[usage][0] + capacity) // (2 * capacity)
    check(abs(c[keys[3]][0] - pct) <= 1, "cluster cpu.usage %s, usagemhz/totalmhz is %d" % (c[keys[3]], pct))
    ok("cluster 300 s: cpu.usagemhz %d = hosts' sum, cpu.totalmhz %d, cpu.usage %.2f %%"
       % (c[usage][0], capacity, c[keys[3]][0] / 100.0))

    # A datastore's space counters come from its summary, in KB.
    summary = ds.summary
    d = series(day[ds])
    check(d[used][-1] == (summary.capacity - summary.freeSpace) // 1024,
          "datastore disk.used.latest %d KB, summary says %d" % (d[used][-1], (summary.capacity - summary.freeSpace) // 1024))
    cap = series(query(perf, ds, [k["disk.capacity.latest"]], PAST_DAY, maxSample=1))[k["disk.capacity.latest"]]
    check(cap[-1] == summary.capacity // 1024, "datastore disk.capacity.latest %d KB, summary %d" % (cap[-1], summary.capacity))
    ok("datastore disk.used/capacity.latest from its summary: %d of %d KB" % (d[used][-1], cap[-1]))

    # Realtime queries of a cluster answer nothing (as vCenter); no intervalId means 300 s.
    check(query(perf, cluster, [usage], REALTIME) is None, "a cluster answered a realtime query")
    m = perf.QueryPerf(querySpec=[PM.QuerySpec(entity=cluster, metricId=[PM.MetricId(counterId=usage, instance="")])])
    check(len(m) == 1 and m[0].sampleInfo[0].interval == PAST_DAY,
          "a cluster without intervalId: %s" % [(s.interval) for e in m for s in e.sampleInfo][:3])
    ok("cluster: no realtime answer; without intervalId its original 300 s interval")


def live(si, perf):
    infos = counter_infos(perf)
    dc = datacenter(si)
    cluster = find(si, vim.ClusterComputeResource, "DC0_C0")
    vm = wait(dc.vmFolder.CreateVM_Task(config=config_spec("history-busy", workload="cpu=1500,mem=512", cpus=2,
                                                             memory_mb=2048),
                                        pool=cluster.resourcePool), "CreateVM_Task history-busy")
    wait(vm.PowerOnVM_Task(), "PowerOnVM_Task history-busy")
    names = ["cpu.usagemhz.average", "cpu.ready.summation", "mem.consumed.average", "mem.active.average",
             "mem.usage.average"]
    names = [n for n in names if n in infos]
    keys = [infos[n].key for n in names]
    # Wait for a 300 s sample whose whole five minutes the VM ran: its second one.
    deadline = time.monotonic() + 90
    while True:
        m = query(perf, vm, keys, PAST_DAY)
        have = stamps(m) if m is not None else []
        if len(have) >= 2:
            break
        check(time.monotonic() < deadline, "only %d 300 s samples for the new VM after 90 s "
              "(is the server running with --speed 60?)" % len(have))
        time.sleep(0.5)
    check(all(s.interval == PAST_DAY for s in m.sampleInfo), "the new VM's samples are not labelled 300")
    # Level 1 keeps level-1 counters only: mem.active.average (level 2) has no history.
    got = set(series(m))
    check(infos["mem.active.average"].key not in got, "mem.active.average (level 2) was archived")
    vals = check_rollup_of_realtime(perf, vm, infos, [n for n in names if infos[n].level == 1], have[1])
    ok("new VM: 300 s sample at %s = rollups of its 15 realtime samples %s" % (have[1].isoformat(), vals))
    wait(vm.PowerOffVM_Task(), "PowerOffVM_Task")
    wait(vm.Destroy_Task(), "Destroy_Task")


def none(si, perf):
    """`--history-days 0`: nothing before the clock's start."""
    infos = counter_infos(perf)
    usage = infos["cpu.usagemhz.average"].key
    now = utc(si.CurrentTime())
    check_vicbed(now < VIRTUAL_EPOCH + FIVE_MIN, "the clock is at %s: run --part=none against a fresh server"
                 % now.isoformat())
    for vimtype, name in ((vim.VirtualMachine, "DC0_C0_RP0_VM0"), (vim.ClusterComputeResource, "DC0_C0")):
        entity = find(si, vimtype, name)
        check_vicbed(query(perf, entity, [usage], PAST_DAY) is None, "%s has 300 s samples without history" % name)
        check_vicbed(not perf.QueryAvailablePerfMetric(entity=entity, intervalId=PAST_DAY),
                     "%s lists 300 s metrics without history" % name)
    vm = find(si, vim.VirtualMachine, "DC0_C0_RP0_VM0")
    m = query(perf, vm, [usage], REALTIME)
    check_vicbed(m is None or all(utc(s.timestamp) > VIRTUAL_EPOCH for s in m.sampleInfo),
                 "realtime samples before the clock's start without history")
    ok("--history-days 0: no 300 s samples, no realtime samples before the start")


def steady(si, perf):
    """A steady VM after more than a virtual day of the live clock."""
    infos = counter_infos(perf)
    names = ["cpu.usagemhz.average", "mem.consumed.average"]
    keys = [infos[n].key for n in names]
    vm = find(si, vim.VirtualMachine, "DC0_C0_RP0_VM0")
    day = datetime.timedelta(days=1)
    # A day and two hours of intervals: past the first roll-up of a day of repeats.
    deadline = time.monotonic() + 120
    while utc(si.CurrentTime()) < VIRTUAL_EPOCH + day + datetime.timedelta(hours=2):
        check(time.monotonic() < deadline, "the clock is at %s after 120 s (is the server running with "
              "--speed 5000?)" % utc(si.CurrentTime()).isoformat())
        time.sleep(0.5)

    def steps(metric, seconds):
        at = stamps(metric)
        return {int((b - a).total_seconds()) for a, b in zip(at, at[1:])} or {seconds}

    real = query(perf, vm, keys, REALTIME)
    check(real is not None and len(real.sampleInfo) == 180 and steps(real, REALTIME) == {REALTIME},
          "realtime: %s samples, steps %s" % (real and len(real.sampleInfo), real and steps(real, REALTIME)))
    values = {key: set(v) for key, v in series(real).items()}
    check(all(len(v) == 1 for v in values.values()), "the steady VM's realtime hour moved: %s" % values)
    ok("realtime: 180 samples 20 s apart, one value each: %s" % {n: values[k] for n, k in zip(names, keys)})

    hist = query(perf, vm, keys, PAST_DAY)
    check(hist is not None and len(hist.sampleInfo) == 288 and steps(hist, PAST_DAY) == {PAST_DAY},
          "300 s: %s samples, steps %s" % (hist and len(hist.sampleInfo), hist and steps(hist, PAST_DAY)))
    for key, v in series(hist).items():
        check(set(v) == values[key], "300 s counter %d over the last day: %s, realtime %s"
              % (key, sorted(set(v))[:5], values[key]))
    ok("300 s: 288 samples 300 s apart, each the realtime value")

    half = query(perf, vm, keys, 1800)
    newest = stamps(half)[-1] if half is not None and half.sampleInfo else None
    first = VIRTUAL_EPOCH + datetime.timedelta(seconds=1800)
    check(newest is not None and stamps(half)[0] == first and steps(half, 1800) == {1800},
          "1800 s: from %s, steps %s" % (half and stamps(half)[:1], half and steps(half, 1800)))
    for key, v in series(half).items():
        check(set(v[-40:]) == values[key], "1800 s counter %d's last 20 h: %s" % (key, sorted(set(v[-40:]))[:5]))
    ok("1800 s: %d samples since the start, 30 minutes apart, the last 20 h steady" % len(half.sampleInfo))

    # The newest 300 s sample is the rollup of its 15 realtime samples (within the realtime
    # hour for the next 55 virtual minutes: 660 ms of wall time at 5000 ×).
    end = stamps(query(perf, vm, keys, PAST_DAY))[-1]
    vals = check_rollup_of_realtime(perf, vm, infos, names, end)
    ok("newest 300 s sample (%s) = rollup of its realtime samples: %s" % (end.isoformat(), vals))


def main(t, opts):
    si = connect(t)
    perf = si.content.perfManager
    part = opts.get("part", "past")
    if part == "past":
        past(si, perf)
    elif part == "live":
        live(si, perf)
    elif part == "none":
        none(si, perf)
    elif part == "steady":
        steady(si, perf)
    else:
        raise SystemExit("unknown --part=%s (past, live, none or steady)" % part)
    disconnect(si)


if __name__ == "__main__":
    run(main)

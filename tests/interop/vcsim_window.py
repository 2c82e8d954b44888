"""`vicbed vcsim` starts with the realtime hour a host keeps, as on a vCenter that has been up.

usage: vcsim_window.py GOVC_URL    (against a fresh `vicbed vcsim`)

At once, a VM of vcsim's default model answers QueryPerf at the realtime interval with 180
samples 20 s apart ending at most one interval before the server's clock, and at 300 s with
the rollups of the hour's whole five-minute periods. `maxSample` picks the newest samples of
that same hour, and `startTime` the ones after it.
"""

import datetime

from common import check, connect, disconnect, find, ok, run, utc, vim
from perf_history import REALTIME, stamps
from perf_history import query as query_or_none


def query(perf, entity, counters, interval, **kw):
    """One entity's aggregate series (perf_history's query), which must answer."""
    metric = query_or_none(perf, entity, counters, interval, **kw)
    check(metric is not None, "QueryPerf for %s at %d s answered nothing" % (entity, interval))
    return metric


def values(metric):
    return {s.id.counterId: list(s.value) for s in metric.value}


def main(t, _opts):
    si = connect(t)
    try:
        perf = si.content.perfManager
        keys = {"%s.%s.%s" % (c.groupInfo.key, c.nameInfo.key, c.rollupType): c.key for c in perf.perfCounter}
        counters = [keys["cpu.usagemhz.average"], keys["cpu.ready.summation"], keys["mem.consumed.average"]]
        vm = find(si, vim.VirtualMachine, "DC0_H0_VM0")
        now = utc(si.CurrentTime())

        hour = query(perf, vm, counters, REALTIME)
        times = stamps(hour)
        check(len(times) == 180, "realtime samples at start: %d, want 180" % len(times))
        steps = {(b - a).total_seconds() for a, b in zip(times, times[1:])}
        check(steps == {REALTIME}, "realtime samples %s s apart" % sorted(steps))
        check(now - datetime.timedelta(seconds=REALTIME) <= times[-1] <= now,
              "newest sample %s, clock %s" % (times[-1].isoformat(), now.isoformat()))
        all_values = values(hour)
        check(all(len(v) == 180 for v in all_values.values()) and len(all_values) == 3,
              "series lengths %s" % {k: len(v) for k, v in all_values.items()})
        check(max(all_values[counters[0]]) > 0, "cpu.usagemhz over the hour is all zero")
        ok("vcsim: a fresh server holds 180 realtime samples, 20 s apart, up to its clock")

        for n in (1, 10, 16, 179):
            newest = query(perf, vm, counters, REALTIME, maxSample=n)
            check(stamps(newest) == times[-n:], "maxSample=%d: %s" % (n, [s.isoformat() for s in stamps(newest)]))
            got = values(newest)
            check(all(got[k] == all_values[k][-n:] for k in counters), "maxSample=%d values differ from the hour's" % n)
        start = times[100]
        after = query(perf, vm, counters, REALTIME, startTime=start)
        check(stamps(after) == times[101:], "startTime: %d samples, want %d" % (len(stamps(after)), 79))
        check(values(after)[counters[1]] == all_values[counters[1]][101:], "startTime values differ from the hour's")
        ok("vcsim: maxSample and startTime read the newest samples of the same hour")

        rollups = stamps(query(perf, vm, counters, 300))
        check(len(rollups) >= 11, "300 s samples at start: %d, want the hour's 11 or 12" % len(rollups))
        check({(b - a).total_seconds() for a, b in zip(rollups, rollups[1:])} == {300},
              "300 s samples %s" % [s.isoformat() for s in rollups])
        check(all(s.timestamp() % 300 == 0 for s in rollups), "300 s samples off their boundaries")
        ok("vcsim: the hour's five-minute rollups are there at start")
    finally:
        disconnect(si)


if __name__ == "__main__":
    run(main)

#!/usr/bin/env python3
"""One pyvmomi client for the side-by-side peer comparison (benches/peer/compare.sh).

Usage:  client.py URL [--creates N] [--queries N] [--retrieves N] [--toggles N] [--tag TEXT]

URL is what the server printed, e.g. http://user:pass@127.0.0.1:PORT/sdk (plain HTTP).
Runs four bounded workloads against it and prints one JSON object on stdout:

  create_poweron  N (default 200) sequential CreateVM_Task + PowerOnVM_Task, each followed by
                  pyVim.task.WaitForTask, in the first cluster's root pool and the datacenter's vmFolder;
                  ConfigSpec: name, numCPUs=1, memoryMB=128, files.vmPathName="[LocalDS_0]".  -> ops/s
                  (one op = one create + one power-on, both waited for).
  queryperf       N (default 500) sequential PerformanceManager.QueryPerf calls for one model VM,
                  counter cpu.usagemhz.average (id looked up in perfManager.perfCounter), instance "",
                  intervalId 20, maxSample 10.  -> calls/s, plus the number of samples returned
                  (govmomi 0.24.2 returns 0 samples when maxSample is unset, so it is always set here).
                  Before the timed loop an untimed warm-up polls (every 0.5 s, at most --perf-wait s) until a
                  call returns >= --perf-min-samples samples: vicbed stores a sample every 20 s of its clock,
                  so right after start it has none.
  retrieveprops   N (default 500) sequential PropertyCollector.RetrievePropertiesEx calls on the session's
                  collector for one model VM (the QueryPerf VM) and four properties (RETRIEVE_PATHS below).
                  -> calls/s.
  waitforupdates  a PropertyCollector filter (on a dedicated collector made with CreatePropertyCollector,
                  on connection A) on one VM's runtime.powerState; a waiter thread loops on
                  WaitForUpdatesEx (maxWaitSeconds 5).  The main thread, on a SECOND connection B,
                  toggles power N (default 50) times (PowerOffVM_Task / PowerOnVM_Task + WaitForTask).
                  Per toggle:
                    issue_to_wake  = t(WaitForUpdatesEx returned with the new state) - t(power call sent)
                    power_call_rtt = t(power call returned its Task moref)       - t(power call sent)
                    update_latency = issue_to_wake - power_call_rtt
                  update_latency is the figure compared with the "p50 <= 2 ms" target: it is the delay the
                  update adds beyond one request round trip. It can be slightly negative when the waiter
                  is woken before the task call's own response has been parsed.

With --server-pid (same machine), create_poweron, queryperf and retrieveprops also report the server's CPU
time per operation (sum of /proc/PID/task/*/schedstat), which does not depend on how fast the Python client
is, and the client's own CPU time (time.process_time) for the timed loop.

Every phase is independent: an exception in one is recorded as {"error": "..."} and the others still run.
"""

import argparse
import glob
import json
import os
import queue
import statistics
import sys
import threading
import time
import traceback
from urllib.parse import urlsplit

from pyVim.connect import SmartConnect, Disconnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl


def connect(url):
    u = urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    kw = {}
    if u.scheme == "https":
        kw["disableSslCertValidation"] = True
    return SmartConnect(protocol=u.scheme, host=u.hostname, port=port, user=u.username or "user",
                        pwd=u.password or "pass", path=u.path or "/sdk", httpConnectionTimeout=60, **kw)


SERVER_PID = None


def server_cpu():
    """CPU time of the server process in seconds (same machine only), or None.

    Sums /proc/PID/task/*/schedstat (ns resolution, live threads); /proc/PID/stat utime+stime (10 ms ticks,
    includes exited threads) is returned too as a cross-check."""
    if not SERVER_PID:
        return None
    ns = 0
    for f in glob.glob("/proc/%d/task/*/schedstat" % SERVER_PID):
        try:
            ns += int(open(f).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    try:
        fields = open("/proc/%d/stat" % SERVER_PID).read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        ticks = None
    return (ns / 1e9, None if ticks is None else ticks / os.sysconf("SC_CLK_TCK"))


class Meter:
    """Wall time, client CPU time (this process, all threads) and server CPU time of a timed loop."""

    def __enter__(self):
        self.w, self.c, self.s = time.perf_counter(), time.process_time(), server_cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w
        self.client_cpu = time.process_time() - self.c
        s1 = server_cpu()
        self.server_cpu = None if (s1 is None or self.s is None) else (s1[0] - self.s[0])
        self.server_cpu_stat = None if (s1 is None or self.s is None or s1[1] is None or self.s[1] is None) \
            else (s1[1] - self.s[1])
        return False

    def report(self, n):
        out = {"client_cpu_s": round(self.client_cpu, 4),
               "client_cpu_share_of_wall": round(self.client_cpu / self.wall, 3) if self.wall else None}
        if self.server_cpu is not None:
            out["server_cpu_s"] = round(self.server_cpu, 4)
            out["server_cpu_stat_s"] = self.server_cpu_stat
            out["server_cpu_us_per_op"] = round(self.server_cpu / n * 1e6, 1) if n else None
        return out


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ms_summary(seconds):
    ms = [x * 1000.0 for x in seconds]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 3), "p95_ms": round(pct(ms, 95), 3),
            "min_ms": round(min(ms), 3), "max_ms": round(max(ms), 3), "mean_ms": round(statistics.fmean(ms), 3)}


def err_text(e):
    msg = getattr(e, "msg", None) or str(e) or repr(e)
    return "%s: %s" % (type(e).__name__, msg.strip()[:500])


def inventory(si):
    content = si.RetrieveContent()
    dc = next(e for e in content.rootFolder.childEntity if isinstance(e, vim.Datacenter))
    cluster = next(e for e in dc.hostFolder.childEntity if isinstance(e, vim.ClusterComputeResource))
    return content, dc, cluster


def find_vm(content, dc, name):
    vm = content.searchIndex.FindByInventoryPath("%s/vm/%s" % (dc.name, name))
    if vm is None:
        raise RuntimeError("VM %s not found by SearchIndex.FindByInventoryPath" % name)
    return vm


WAIT_RETRIES = [0]  # times wait_task had to call WaitForTask again (see there)


def wait_task(task, max_wait=60):
    """pyVim's WaitForTask, called again when it trips on a task name pyvmomi does not know.

    While a task is still running, WaitForTask reads info.name.info.name. govmomi's simulator names its
    tasks after the method without "_Task" ("CreateVM", "PowerOnVM"), which pyvmomi decodes as an
    UnknownManagedMethod that has no .info, so the call raises AttributeError. govmomi 0.24.2 ends its
    tasks before the first poll and never shows this; v0.56.0 sometimes does. Calling WaitForTask again
    costs the same round trips as its own next poll would (a new filter, WaitForUpdates, info)."""
    for _ in range(100):
        try:
            return WaitForTask(task, maxWaitTime=max_wait)
        except AttributeError as e:
            if "UnknownManagedMethod" not in str(e):
                raise
            WAIT_RETRIES[0] += 1
    return WaitForTask(task, maxWaitTime=max_wait)


def phase_create(si, n, tag):
    content, dc, cluster = inventory(si)
    pool, folder = cluster.resourcePool, dc.vmFolder
    done, per_op, error = 0, [], None
    with Meter() as m:
        try:
            for i in range(n):
                s = time.perf_counter()
                spec = vim.vm.ConfigSpec(name="peer-%s-%d" % (tag, i), numCPUs=1, memoryMB=128,
                                         files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"))
                task = folder.CreateVM_Task(config=spec, pool=pool)
                wait_task(task)
                vm = task.info.result
                wait_task(vm.PowerOnVM_Task())
                per_op.append(time.perf_counter() - s)
                done += 1
        except Exception as e:  # record and keep the figures measured so far
            error = err_text(e)
    if error:
        return {"error": error, "completed": done}
    return dict({"ops": done, "seconds": round(m.wall, 4), "ops_per_s": round(done / m.wall, 2),
                 "per_op": ms_summary(per_op), "wait_retries": WAIT_RETRIES[0]}, **m.report(done))


def phase_queryperf(si, n, vm_name, min_samples, wait_s):
    content, dc, _ = inventory(si)
    vm = find_vm(content, dc, vm_name)
    pm = content.perfManager
    cid = None
    for c in pm.perfCounter:
        if c.groupInfo.key == "cpu" and c.nameInfo.key == "usagemhz" and c.rollupType == "average":
            cid = c.key
            break
    if cid is None:
        raise RuntimeError("cpu.usagemhz.average not in perfManager.perfCounter")
    spec = vim.PerformanceManager.QuerySpec(entity=vm, intervalId=20, maxSample=10,
                                            metricId=[vim.PerformanceManager.MetricId(counterId=cid, instance="")])
    # Untimed warm-up: a server that only stores samples every 20 s of its clock may have none yet
    # (vicbed right after start). Poll until a call returns >= min_samples samples, or wait_s elapses.
    w0, got = time.perf_counter(), 0
    while True:
        res = pm.QueryPerf(querySpec=[spec])
        got = sum(len(m.sampleInfo or []) for m in (res or []))
        if got >= min_samples or time.perf_counter() - w0 >= wait_s:
            break
        time.sleep(0.5)
    warmup = round(time.perf_counter() - w0, 2)
    samples, done, error = [], 0, None
    with Meter() as meter:
        try:
            for _ in range(n):
                res = pm.QueryPerf(querySpec=[spec])
                samples.append(sum(len(x.sampleInfo or []) for x in (res or [])))
                done += 1
        except Exception as e:
            error = err_text(e)
    if error:
        return {"error": error, "completed": done, "counter_id": cid}
    return dict({"calls": done, "seconds": round(meter.wall, 4), "calls_per_s": round(done / meter.wall, 2),
                 "counter_id": cid, "vm": vm_name, "samples_per_call_min": min(samples),
                 "samples_per_call_max": max(samples), "warmup_s": warmup, "min_samples_wanted": min_samples},
                **meter.report(done))


RETRIEVE_PATHS = ["name", "runtime.powerState", "config.hardware.numCPU", "config.hardware.memoryMB"]


def phase_retrieve(si, n, vm_name):
    content, dc, _ = inventory(si)
    vm = find_vm(content, dc, vm_name)
    pc = content.propertyCollector
    fspec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=vm, skip=False)],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=RETRIEVE_PATHS)])
    opts = vmodl.query.PropertyCollector.RetrieveOptions()
    props, done, error = 0, 0, None
    with Meter() as meter:
        try:
            for _ in range(n):
                res = pc.RetrievePropertiesEx(specSet=[fspec], options=opts)
                if res is None or len(res.objects) != 1:
                    raise RuntimeError("RetrievePropertiesEx did not return exactly one object")
                props = len(res.objects[0].propSet or [])
                done += 1
        except Exception as e:
            error = err_text(e)
    if error:
        return {"error": error, "completed": done}
    return dict({"calls": done, "seconds": round(meter.wall, 4), "calls_per_s": round(done / meter.wall, 2),
                 "vm": vm_name, "paths": RETRIEVE_PATHS, "props_returned": props}, **meter.report(done))


def power_state_from(update_set):
    """Return the last runtime.powerState value carried by a WaitForUpdatesEx result, or None."""
    value = None
    for fu in (update_set.filterSet or []):
        for ou in (fu.objectSet or []):
            for ch in (ou.changeSet or []):
                if ch.name == "runtime.powerState" and ch.op in ("assign", "add"):
                    value = str(ch.val)
    return value


def phase_wfu(url, si_b, n, vm_name):
    content_b, dc_b, _ = inventory(si_b)
    vm_b = find_vm(content_b, dc_b, vm_name)

    si_a = connect(url)
    try:
        stub_a = si_a._stub
        vm_a = vim.VirtualMachine(vm_b._moId, stub_a)
        pc_root = si_a.RetrieveContent().propertyCollector
        dedicated = True
        try:
            pc = pc_root.CreatePropertyCollector()
        except Exception:  # fall back to the session's default collector (separate session from B anyway)
            pc, dedicated = pc_root, False
        fspec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=vm_a, skip=False)],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=["runtime.powerState"])])
        flt = pc.CreateFilter(fspec, partialUpdates=True)
        opts = vmodl.query.PropertyCollector.WaitOptions(maxWaitSeconds=5)
        first = pc.WaitForUpdatesEx("", opts)
        if first is None:
            raise RuntimeError("initial WaitForUpdatesEx returned no update set")
        version = first.version
        state = power_state_from(first)

        events, stop, waiter_err = queue.Queue(), threading.Event(), []

        def waiter():
            v = version
            try:
                while not stop.is_set():
                    r = pc.WaitForUpdatesEx(v, opts)
                    t = time.perf_counter()
                    if r is None:  # maxWaitSeconds elapsed with no change
                        continue
                    v = r.version
                    ps = power_state_from(r)
                    if ps is not None:
                        events.put((t, ps))
            except Exception as e:
                waiter_err.append(err_text(e))
                events.put((time.perf_counter(), None))

        th = threading.Thread(target=waiter, daemon=True)
        th.start()

        issue_to_wake, rtt, lat = [], [], []
        error = None
        try:
            for _ in range(n):
                on = state == "poweredOn"
                want = "poweredOff" if on else "poweredOn"
                t0 = time.perf_counter()
                task = vm_b.PowerOffVM_Task() if on else vm_b.PowerOnVM_Task()
                t1 = time.perf_counter()
                wake = None
                deadline = t0 + 10.0
                while wake is None:
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        raise RuntimeError("no WaitForUpdatesEx wake-up with powerState=%s within 10 s" % want)
                    t, ps = events.get(timeout=left)
                    if ps is None:
                        raise RuntimeError("waiter failed: %s" % waiter_err[-1])
                    if ps == want:
                        wake = t
                wait_task(task, 30)
                issue_to_wake.append(wake - t0)
                rtt.append(t1 - t0)
                lat.append(wake - t1)
                state = want
        except Exception as e:
            error = err_text(e)
        finally:
            stop.set()
            th.join(timeout=8)
            try:
                flt.DestroyPropertyFilter()
                if dedicated:
                    pc.DestroyPropertyCollector()
            except Exception:
                pass
        out = {"toggles": len(lat), "vm": vm_name, "dedicated_collector": dedicated,
               "update_latency": ms_summary(lat), "issue_to_wake": ms_summary(issue_to_wake),
               "power_call_rtt": ms_summary(rtt)}
        if error:
            out["error"] = error
        return out
    finally:
        try:
            Disconnect(si_a)
        except Exception:
            pass


def run_phase(name, fn, *args):
    t0 = time.perf_counter()
    try:
        r = fn(*args)
    except Exception as e:
        r = {"error": err_text(e)}
        traceback.print_exc(file=sys.stderr)
    print("client.py: %s done in %.2f s" % (name, time.perf_counter() - t0), file=sys.stderr)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--creates", type=int, default=200)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--retrieves", type=int, default=500)
    ap.add_argument("--toggles", type=int, default=50)
    ap.add_argument("--tag", default="c")
    ap.add_argument("--perf-vm", default="DC0_C0_RP0_VM0")
    ap.add_argument("--toggle-vm", default="DC0_C0_RP0_VM1")
    ap.add_argument("--perf-min-samples", type=int, default=1,
                    help="untimed warm-up: wait until QueryPerf returns at least this many samples")
    ap.add_argument("--perf-wait", type=float, default=30.0, help="bound (s) on that warm-up")
    ap.add_argument("--phases", default="create_poweron,queryperf,retrieveprops,waitforupdates")
    ap.add_argument("--server-pid", type=int, help="server PID on this machine: also report its CPU time per op")
    a = ap.parse_args()
    global SERVER_PID
    SERVER_PID = a.server_pid

    out = {"url": a.url.split("@")[-1]}
    try:
        si = connect(a.url)
    except Exception as e:
        out["error"] = "connect: " + err_text(e)
        print(json.dumps(out))
        return 1
    try:
        about = si.RetrieveContent().about
        out["server"] = {"fullName": about.fullName, "apiVersion": about.apiVersion,
                         "negotiated": si._stub.versionId if hasattr(si._stub, "versionId") else None}
        phases = a.phases.split(",")
        if "create_poweron" in phases:
            out["create_poweron"] = run_phase("create_poweron", phase_create, si, a.creates, a.tag)
        if "queryperf" in phases:
            out["queryperf"] = run_phase("queryperf", phase_queryperf, si, a.queries, a.perf_vm,
                                         a.perf_min_samples, a.perf_wait)
        if "retrieveprops" in phases:
            out["retrieveprops"] = run_phase("retrieveprops", phase_retrieve, si, a.retrieves, a.perf_vm)
        if "waitforupdates" in phases:
            out["waitforupdates"] = run_phase("waitforupdates", phase_wfu, a.url, si, a.toggles, a.toggle_vm)
    finally:
        try:
            Disconnect(si)
        except Exception:
            pass
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

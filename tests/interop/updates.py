"""CreateFilter + WaitForUpdatesEx / WaitForUpdates / CancelWaitForUpdates / DestroyPropertyFilter.

usage: updates.py GOVC_URL
"""

import threading
import time

from common import (
    PEER,
    PC,
    check,
    check_vicbed,
    connect,
    disconnect,
    expect_fault,
    find,
    ok,
    run,
    vim,
    vmodl,
    wait,
)


def changes(update_set):
    """[(moid, kind, [(name, op, val)])] of an UpdateSet."""
    out = []
    for fs in update_set.filterSet or []:
        for ou in fs.objectSet or []:
            out.append((ou.obj._moId, ou.kind, [(c.name, c.op, c.val) for c in ou.changeSet or []]))
    return out


def main(t, opts):
    si = connect(t)
    vm = find(si, vim.VirtualMachine, "DC0_C0_RP0_VM0")
    check(vm.runtime.powerState == "poweredOn", "DC0_C0_RP0_VM0 should start powered on")

    # A private collector, as govc and most SDKs create.
    pc = si.content.propertyCollector.CreatePropertyCollector()
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=vm, skip=False)],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["runtime.powerState"])],
    )
    pfilter = pc.CreateFilter(spec, partialUpdates=False)
    check(isinstance(pfilter, vmodl.query.PropertyCollector.Filter), "CreateFilter returned %r" % pfilter)
    check(pfilter in pc.filter, "the new filter is not in the collector's filter property")

    # 1. Initial state: enter/assign.
    first = pc.WaitForUpdatesEx(version="", options=PC.WaitOptions(maxWaitSeconds=10))
    check(first is not None, "the first WaitForUpdatesEx returned nothing")
    got = changes(first)
    want = [(vm._moId, "enter", [("runtime.powerState", "assign", "poweredOn")])]
    check(got == want, "initial update %s, want %s" % (got, want))
    check(first.filterSet[0].filter == pfilter, "update names filter %s" % first.filterSet[0].filter)
    v1 = first.version
    check(v1, "the initial UpdateSet has no version")
    ok("WaitForUpdatesEx initial state (version %r)" % v1)

    # 2. Nothing changes: maxWaitSeconds=1 times out with no result; 0 polls once.
    started = time.monotonic()
    none = pc.WaitForUpdatesEx(version=v1, options=PC.WaitOptions(maxWaitSeconds=1))
    waited = time.monotonic() - started
    check(none is None, "no change, but WaitForUpdatesEx returned %s" % (none and changes(none)))
    check(0.8 <= waited < 5, "maxWaitSeconds=1 returned after %.2fs" % waited)
    started = time.monotonic()
    none = pc.WaitForUpdatesEx(version=v1, options=PC.WaitOptions(maxWaitSeconds=0))
    check(none is None and time.monotonic() - started < 1, "maxWaitSeconds=0 must poll once and return")
    ok("no change: maxWaitSeconds=1 -> None after %.2fs; maxWaitSeconds=0 -> None at once" % waited)

    # 3. A blocked waiter wakes up on the change: modify with the new value and a new version.
    result = {}
    thread = threading.Thread(target=waiter_for(pc, v1, result), daemon=True)
    thread.start()
    time.sleep(0.3)
    wait(vm.PowerOffVM_Task(), "PowerOffVM_Task")
    thread.join(15)
    check(not thread.is_alive(), "WaitForUpdatesEx did not wake up within 15 s of the power-off")
    check("error" not in result, "waiter failed: %r" % result.get("error"))
    update = result["update"]
    check(update is not None, "WaitForUpdatesEx returned None after a change")
    got = changes(update)
    want = [(vm._moId, "modify", [("runtime.powerState", "assign", "poweredOff")])]
    check(got == want, "modify update %s, want %s" % (got, want))
    v2 = update.version
    check_vicbed(v2 and v2 != v1, "version did not advance: %r -> %r" % (v1, v2))
    ok("power-off -> modify update (version %r -> %r)" % (v1, v2))

    # 4. An old version replays nothing new once consumed; the legacy WaitForUpdates sees the next change.
    none = pc.WaitForUpdatesEx(version=v2, options=PC.WaitOptions(maxWaitSeconds=0))
    check(none is None, "version %r is current, yet got %s" % (v2, none and changes(none)))
    wait(vm.PowerOnVM_Task(), "PowerOnVM_Task")
    legacy = pc.WaitForUpdates(version=v2)
    got = changes(legacy)
    want = [(vm._moId, "modify", [("runtime.powerState", "assign", "poweredOn")])]
    check(got == want, "legacy WaitForUpdates %s, want %s" % (got, want))
    v3 = legacy.version
    ok("legacy WaitForUpdates")

    # 5. CancelWaitForUpdates ends a blocked wait with RequestCanceled.
    result.clear()
    thread = threading.Thread(target=waiter_for(pc, v3, result), daemon=True)
    started = time.monotonic()
    thread.start()
    time.sleep(0.5)
    # A cancel that reaches the server before the wait does cancels nothing (a wait starts
    # afresh), so on a slow machine cancel again until the wait ends.
    deadline = time.monotonic() + 10
    while thread.is_alive() and time.monotonic() < deadline:
        pc.CancelWaitForUpdates()
        thread.join(0.5)
    check(not thread.is_alive(), "CancelWaitForUpdates did not end the blocked wait within 10 s")
    err = result.get("error")
    check(isinstance(err, vmodl.fault.RequestCanceled),
          "cancelled wait ended with %r / %r, want RequestCanceled" % (err, result.get("update")))
    ok("CancelWaitForUpdates -> RequestCanceled after %.2fs" % (time.monotonic() - started))

    # 6. A second filter on the same collector reports its own initial state.
    task_spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=vm, skip=False)],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "config.hardware.memoryMB"])],
    )
    f2 = pc.CreateFilter(task_spec, partialUpdates=True)
    upd = pc.WaitForUpdatesEx(version=v3, options=PC.WaitOptions(maxWaitSeconds=10))
    v4 = v3
    if upd is not None or not PEER:  # govmomi's vcsim 0.24 never reports a later filter's initial state
        check(upd is not None, "a filter created after the first wait got no initial update")
        got = changes(upd)
        check(len(got) == 1 and got[0][1] == "enter", "second filter's initial update: %s" % got)
        names = sorted(c[0] for c in got[0][2])
        check(names == ["config.hardware.memoryMB", "name"], "second filter's paths %s" % names)
        v4 = upd.version
        ok("second filter: enter with its own paths")

    # 7. DestroyPropertyFilter: no more updates from it, and the filter is gone.
    pfilter.Destroy()
    f2.Destroy()
    check(not pc.filter, "filters left after Destroy: %s" % pc.filter)
    wait(vm.PowerOffVM_Task(), "PowerOffVM_Task")
    none = pc.WaitForUpdatesEx(version=v4, options=PC.WaitOptions(maxWaitSeconds=1))
    check(none is None, "destroyed filters still report %s" % (none and changes(none)))
    expect_fault(vmodl.fault.ManagedObjectNotFound, lambda: pfilter.spec)
    ok("DestroyPropertyFilter")

    pc.Destroy()
    expect_fault(vmodl.fault.ManagedObjectNotFound, lambda: pc.filter)
    ok("DestroyPropertyCollector")
    disconnect(si)


def waiter_for(pc, version, result):
    def body():
        try:
            result["update"] = pc.WaitForUpdatesEx(version=version, options=PC.WaitOptions(maxWaitSeconds=30))
        except Exception as err:  # noqa: BLE001 - reported by the main thread
            result["error"] = err

    return body


if __name__ == "__main__":
    run(main)

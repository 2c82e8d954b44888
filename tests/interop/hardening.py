"""Hardening, as pyvmomi sees it: names, oversized specs, forged and idle sessions.

usage: hardening.py GOVC_URL [--idle-timeout=SECONDS] [--foreign-cookie=COOKIE]

- a name with a control character -> InvalidName, nothing created, listings still parse;
  `/`, `\\` and `%` are escaped as vSphere does (%2f, %5c, %25);
- extraConfig past the per-VM bound -> InvalidArgument, the VM unchanged;
- a session cookie this server never issued (--foreign-cookie: one another server with the
  same seed issued) -> NotAuthenticated;
- with --idle-timeout (the server's --session-idle-timeout): a session idle longer ends,
  an active one lives on.
"""

import time

from common import (
    check,
    collect,
    connect,
    container_view,
    datacenter,
    disconnect,
    expect_fault,
    find,
    ok,
    run,
    session_cookie,
    strict_walk,
    unauthenticated_stub,
    vim,
    vmodl,
    wait,
)

EXTRA_CONFIG_MAX = 8192


def spec(name):
    return vim.vm.ConfigSpec(name=name, numCPUs=1, memoryMB=64, files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"))


def names(si, pool):
    dc = datacenter(si)
    folder = dc.vmFolder
    before = len(container_view(si, [vim.VirtualMachine]).view)
    for bad in ["bad\x01name", "esc\x1b[31m", "bell\x07"]:
        expect_fault(vim.fault.InvalidName,
                     lambda: wait(folder.CreateVM_Task(config=spec(bad), pool=pool), "CreateVM %r" % bad))
    # NUL is not even XML: the request itself is refused.
    expect_fault((vim.fault.InvalidName, vmodl.fault.InvalidRequest),
                 lambda: wait(folder.CreateVM_Task(config=spec("nul\x00"), pool=pool), "CreateVM NUL"))
    check(len(container_view(si, [vim.VirtualMachine]).view) == before, "a VM with a bad name was created")
    # Every listing still parses (pyvmomi's expat is strict).
    names_now = [p.get("name") for p in collect(si, vim.VirtualMachine, ["name"]).values()]
    check(all("\x01" not in n for n in names_now), "names %r" % names_now)
    ok("control characters in a name -> fault, nothing created, listings parse")

    vm = wait(folder.CreateVM_Task(config=spec("web/1\\a 100%"), pool=pool), "CreateVM escaped name")
    check(vm.name == "web%2f1%5ca 100%25", "stored name %r" % vm.name)
    wait(vm.Rename_Task(newName="50%2f50"), "Rename_Task")
    check(vm.name == "50%2f50", "an escape sequence is kept: %r" % vm.name)
    expect_fault(vim.fault.InvalidName, lambda: wait(vm.Rename_Task(newName="x\x07"), "Rename bell"))
    check(vm.name == "50%2f50", "a refused rename changed the name to %r" % vm.name)
    strict_walk(si)
    ok("'/', '\\\\' and '%%' escaped as vSphere does (%s); the strict walk parses" % vm.name)
    return vm


def extra_config(vm):
    keys = [vim.option.OptionValue(key="guestinfo.k%d" % i, value="v") for i in range(EXTRA_CONFIG_MAX + 1)]
    before = len(vm.config.extraConfig or [])
    expect_fault(vmodl.fault.InvalidArgument, lambda: wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(extraConfig=keys)),
                                                       "ReconfigVM %d keys" % len(keys)))
    check(len(vm.config.extraConfig or []) == before, "a refused spec changed extraConfig")
    wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(extraConfig=keys[:100])), "ReconfigVM 100 keys")
    got = {o.key: o.value for o in vm.config.extraConfig or []}
    check(all(("guestinfo.k%d" % i) in got for i in range(100)), "100 keys not all stored")
    ok("extraConfig past %d entries -> InvalidArgument, VM unchanged; 100 keys stored whole" % EXTRA_CONFIG_MAX)


def foreign_cookie(t, si, cookie):
    check(session_cookie(si) != cookie, "two servers with one seed handed out the same session key")
    stub = unauthenticated_stub(t, si._stub.version, cookie=cookie)
    expect_fault(vim.fault.NotAuthenticated, lambda: vim.Folder("group-d1", stub).CreateFolder("intruder"))
    ok("a session key from another server -> NotAuthenticated")


def idle_expiry(t, timeout_s):
    idle = connect(t)
    busy = connect(t)
    deadline = time.monotonic() + timeout_s * 2 + 1
    while time.monotonic() < deadline:
        busy.CurrentTime()
        time.sleep(0.25)
    expect_fault(vim.fault.NotAuthenticated, lambda: idle.content.sessionManager.currentSession.key)
    check(busy.content.sessionManager.currentSession is not None, "the active session ended")
    disconnect(busy)
    ok("idle %ss past a %ss timeout -> NotAuthenticated; the active session lives" % (timeout_s * 2 + 1, timeout_s))


def main(t, opts):
    if "idle-timeout" in opts:
        idle_expiry(t, float(opts["idle-timeout"]))
        return
    si = connect(t)
    pool = find(si, vim.ClusterComputeResource, "DC0_C0").resourcePool
    vm = names(si, pool)
    extra_config(vm)
    if "foreign-cookie" in opts:
        foreign_cookie(t, si, opts["foreign-cookie"])
    wait(vm.Destroy_Task(), "Destroy_Task")
    disconnect(si)


if __name__ == "__main__":
    run(main)

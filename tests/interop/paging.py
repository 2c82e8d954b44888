"""RetrievePropertiesEx paging: maxObjects, token, ContinueRetrievePropertiesEx.

usage: paging.py GOVC_URL
"""

from common import (
    PC,
    check,
    check_vicbed,
    connect,
    container_view,
    disconnect,
    expect_fault,
    ok,
    run,
    view_filter_spec,
    vim,
    vmodl,
)


def main(t, opts):
    si = connect(t)
    pc = si.content.propertyCollector
    view = container_view(si, [vim.VirtualMachine])
    spec = view_filter_spec(view, [PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "runtime.powerState"])])

    # Unpaged: the reference set.
    whole = pc.RetrievePropertiesEx(specSet=[spec], options=PC.RetrieveOptions())
    check(whole is not None and whole.objects, "RetrievePropertiesEx over the VM view returned nothing")
    check(not whole.token, "an unpaged retrieve of %d VMs returned a token" % len(whole.objects))
    want = sorted(oc.obj._moId for oc in whole.objects)
    check(len(want) >= 2, "need at least 2 VMs to test paging, have %d" % len(want))
    for oc in whole.objects:
        names = sorted(p.name for p in oc.propSet)
        check(names == ["name", "runtime.powerState"], "%s: propSet %s" % (oc.obj, names))
    ok("RetrievePropertiesEx without maxObjects: %d VMs, no token" % len(want))

    # maxObjects=1: one object per page, a token until the last page.
    page = pc.RetrievePropertiesEx(specSet=[spec], options=PC.RetrieveOptions(maxObjects=1))
    seen = []
    pages = 0
    while True:
        pages += 1
        check(pages <= len(want) + 1, "more pages than VMs")
        check(page is not None, "page %d is empty" % pages)
        check_vicbed(len(page.objects) == 1, "page %d holds %d objects, want 1" % (pages, len(page.objects)))
        seen.extend(oc.obj._moId for oc in page.objects)
        if not page.token:
            break
        page = pc.ContinueRetrievePropertiesEx(token=page.token)
    check(sorted(seen) == want, "paged retrieve returned %s, want each of %s once" % (sorted(seen), want))
    check_vicbed(pages == len(want), "%d pages for %d VMs" % (pages, len(want)))
    ok("maxObjects=1: %d pages, every VM exactly once" % pages)

    # maxObjects=2 in a second collector, interleaved with the first: tokens are independent.
    pc2 = pc.CreatePropertyCollector()
    a = pc.RetrievePropertiesEx(specSet=[spec], options=PC.RetrieveOptions(maxObjects=2))
    b = pc2.RetrievePropertiesEx(specSet=[spec], options=PC.RetrieveOptions(maxObjects=2))
    got_a = [oc.obj._moId for oc in a.objects]
    got_b = [oc.obj._moId for oc in b.objects]
    while a.token or b.token:
        if a.token:
            a = pc.ContinueRetrievePropertiesEx(token=a.token)
            got_a += [oc.obj._moId for oc in a.objects]
        if b.token:
            b = pc2.ContinueRetrievePropertiesEx(token=b.token)
            got_b += [oc.obj._moId for oc in b.objects]
    check(sorted(got_a) == want and sorted(got_b) == want, "interleaved paging lost or repeated objects")
    pc2.Destroy()
    ok("interleaved paging in two collectors")

    # A spent or unknown token is an InvalidProperty fault (vCenter and vcsim agree).
    expect_fault(vmodl.query.InvalidProperty, pc.ContinueRetrievePropertiesEx, token="no-such-token")
    ok("unknown token -> InvalidProperty")

    # Legacy RetrieveProperties returns everything at once.
    legacy = pc.RetrieveProperties(specSet=[spec])
    check(sorted(oc.obj._moId for oc in legacy) == want, "RetrieveProperties disagrees with RetrievePropertiesEx")
    ok("legacy RetrieveProperties")

    # ObjectSpec.skip=False on the view: the view itself is reported too, with its own properties.
    traverse = PC.TraversalSpec(name="v", type=vim.view.ContainerView, path="view", skip=False)
    spec2 = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=view, skip=False, selectSet=[traverse])],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name"]),
                 PC.PropertySpec(type=vim.view.ContainerView, pathSet=["view"])],
    )
    res = pc.RetrievePropertiesEx(specSet=[spec2], options=PC.RetrieveOptions())
    objs = {oc.obj._moId: oc for oc in res.objects}
    check(view._moId in objs, "skip=False did not report the view itself")
    check(len(objs) == len(want) + 1, "skip=False: %d objects, want %d" % (len(objs), len(want) + 1))
    ok("ObjectSpec.skip=False")

    # An unknown property path lands in missingSet (or faults as InvalidProperty), never a crash.
    spec3 = view_filter_spec(view, [PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "config.noSuchThing"])])
    try:
        res = pc.RetrievePropertiesEx(specSet=[spec3], options=PC.RetrieveOptions())
        missing = {m.path for oc in res.objects for m in (oc.missingSet or [])}
        check(missing == {"config.noSuchThing"}, "missingSet paths %s" % sorted(missing))
    except vmodl.query.InvalidProperty:
        pass
    ok("unknown property path -> missingSet/InvalidProperty")

    view.Destroy()
    disconnect(si)


if __name__ == "__main__":
    run(main)

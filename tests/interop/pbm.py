"""Storage policies (SPBM) on /pbm/sdk, as pyvmomi's pbm bindings reach them.

usage: pbm.py GOVC_URL

pyvmomi logs in on /sdk, then talks to /pbm/sdk with the vim session's key in the
`vcSessionCookie` SOAP header (as VMware's samples do): the service content, the storage
profiles vCenter ships, their contents, and the datastores (hubs) a policy matches. Without
a session the pbm service refuses the call.
"""

from common import check, connect, disconnect, ok, run, session_cookie

from pyVmomi import SoapAdapter, VmomiSupport, pbm, vim, vmodl


def pbm_stub(t, cookie_value):
    port = t.port if t.scheme == "https" else -t.port
    context = {"vcSessionCookie": cookie_value} if cookie_value else {}
    return SoapAdapter.SoapStubAdapter(
        host=t.host,
        port=port,
        path="/pbm/sdk",
        version=VmomiSupport.newestVersions.Get("pbm"),
        sslContext=t.ssl_context(),
        requestContext=context,
        httpConnectionTimeout=60,
    )


def main(t, _opts):
    si = connect(t)
    try:
        cookie = session_cookie(si).split("=", 1)[1].strip('"')
        service = pbm.ServiceInstance("ServiceInstance", pbm_stub(t, cookie))
        content = service.RetrieveContent()
        check(content.profileManager is not None, "PbmServiceInstanceContent.profileManager")
        check(content.placementSolver is not None, "PbmServiceInstanceContent.placementSolver")
        ok("pbm service content")

        pm = content.profileManager
        ids = pm.PbmQueryProfile(
            resourceType=pbm.profile.ResourceType(resourceType="STORAGE"),
            profileCategory="REQUIREMENT",
        )
        check(len(ids) > 0, "no storage profiles")
        profiles = pm.PbmRetrieveContent(profileIds=ids)
        names = sorted(p.name for p in profiles)
        check("vSAN Default Storage Policy" in names, "profiles: %r" % names)
        for p in profiles:
            check(p.profileId.uniqueId, "a profile without an id")
        ok("storage profiles: %s" % ", ".join(names))

        # The inventory's datastores are VMFS: the vSAN policy matches none of them, a
        # policy without datastore-type rules (VM encryption) matches every one.
        solver = content.placementSolver
        by_name = {p.name: p for p in profiles}
        vsan_hubs = solver.PbmQueryMatchingHub(profile=by_name["vSAN Default Storage Policy"].profileId)
        check(vsan_hubs == [] or len(vsan_hubs) == 0, "vSAN policy hubs on VMFS: %r" % vsan_hubs)
        hubs = solver.PbmQueryMatchingHub(profile=by_name["VM Encryption Policy"].profileId)
        check(len(hubs) > 0 and all(h.hubType == "Datastore" for h in hubs), "hubs: %r" % hubs)
        ok("matching hubs: vSAN none, encryption %d datastore(s)" % len(hubs))

        # Without the session cookie the service refuses the call.
        try:
            anonymous = pbm.ServiceInstance("ServiceInstance", pbm_stub(t, None)).RetrieveContent()
            anonymous.profileManager.PbmQueryProfile(
                resourceType=pbm.profile.ResourceType(resourceType="STORAGE"),
                profileCategory="REQUIREMENT",
            )
        except (vim.fault.NotAuthenticated, vmodl.fault.SecurityError, vmodl.MethodFault) as err:
            ok("no session: %s" % type(err).__name__)
        else:
            raise AssertionError("PbmQueryProfile without a session succeeded")
    finally:
        disconnect(si)


if __name__ == "__main__":
    run(main)

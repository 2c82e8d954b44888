"""Login, version negotiation, bad login, unauthenticated calls, sessions, logout.

usage: login.py GOVC_URL [--esx] [--any-login]

--any-login: the server is `vicbed vcsim` without -username/-password, which (as govmomi's
vcsim) lets any non-empty user name and password log in and runs its clock from now.
"""

import datetime

from common import (
    EXPECT_VERSION,
    VIRTUAL_EPOCH,
    check,
    check_vicbed,
    connect,
    disconnect,
    expect_fault,
    ok,
    run,
    unauthenticated_stub,
    utc,
    vim,
    vmodl,
)


def needs_session(si):
    """A call outside the unauthenticated allow-list."""
    content = si.RetrieveContent()
    return content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)


def main(t, opts):
    esx = bool(opts.get("esx"))
    any_login = bool(opts.get("any-login"))

    si = connect(t)
    stub = si._stub
    check(
        stub.versionId == '"urn:vim25/%s"' % EXPECT_VERSION,
        "pyvmomi negotiated %s (SOAPAction %s), expected urn:vim25/%s: check vimServiceVersions.xml"
        % (stub.version, stub.versionId, EXPECT_VERSION),
    )
    ok("negotiated %s (%s)" % (stub.version, stub.versionId))

    about = si.content.about
    want_type = "HostAgent" if esx else "VirtualCenter"
    check(about.apiType == want_type, "about.apiType %r, want %r" % (about.apiType, want_type))
    check(about.apiVersion.startswith("8.0"), "about.apiVersion %r" % about.apiVersion)
    check(about.vendor == "VMware, Inc.", "about.vendor %r" % about.vendor)
    check(about.name and about.fullName and about.version and about.build, "about is incomplete: %r" % about)
    check(about.productLineId == ("embeddedEsx" if esx else "vpx"), "about.productLineId %r" % about.productLineId)
    ok("about: %s (apiType %s, apiVersion %s)" % (about.fullName, about.apiType, about.apiVersion))

    session = si.content.sessionManager.currentSession
    check(session is not None, "sessionManager.currentSession is unset after login")
    check(session.userName.endswith(t.user), "currentSession.userName %r, want %r" % (session.userName, t.user))
    check(session.key, "currentSession.key is empty")
    ok("currentSession %s" % session.userName)

    now = utc(si.CurrentTime())
    if any_login:
        wall = datetime.datetime.now(datetime.timezone.utc)
        check(abs(now - wall) < datetime.timedelta(hours=1), "vcsim's clock %s is not near now" % now)
    else:
        check_vicbed(
            VIRTUAL_EPOCH <= now < VIRTUAL_EPOCH + datetime.timedelta(days=1),
            "CurrentTime %s is not on the virtual clock starting %s" % (now, VIRTUAL_EPOCH),
        )
    ok("CurrentTime %s" % now.isoformat())

    if not esx:
        active = si.content.sessionManager.SessionIsActive(sessionID=session.key, userName=session.userName)
        check(active is True, "SessionIsActive(own session) returned %r" % active)
        inactive = si.content.sessionManager.SessionIsActive(sessionID="no-such-session", userName=session.userName)
        check(inactive is False, "SessionIsActive(bogus) returned %r" % inactive)
        ok("SessionIsActive")

    if any_login:
        # vcsim's rule: any non-empty pair logs in, an empty password does not.
        other = connect(t, user="ci-" + t.user, pwd=t.pwd + "-other")
        check(other.content.sessionManager.currentSession.userName.endswith("ci-" + t.user), "any-login user")
        disconnect(other)
        expect_fault(vim.fault.InvalidLogin, connect, t, pwd="")
        ok("any non-empty credentials log in, an empty password -> InvalidLogin")
    else:
        # Wrong password and wrong user: InvalidLogin, as vCenter answers.
        expect_fault(vim.fault.InvalidLogin, connect, t, pwd=t.pwd + "-wrong")
        expect_fault(vim.fault.InvalidLogin, connect, t, user="nobody-" + t.user)
        if (t.user, t.pwd) != ("user", "pass"):
            expect_fault(vim.fault.InvalidLogin, connect, t, user="user", pwd="pass")
        ok("bad credentials -> InvalidLogin")

    # No session at all: RetrieveServiceContent is allowed, the rest is not.
    anon = vim.ServiceInstance("ServiceInstance", unauthenticated_stub(t, stub.version))
    check(anon.RetrieveContent().about.apiType == want_type, "anonymous RetrieveServiceContent")
    expect_fault(vim.fault.NotAuthenticated, needs_session, anon)
    ok("no cookie -> NotAuthenticated")

    bogus_cookie = 'vmware_soap_session="0123456789abcdef0123456789abcdef01234567"; Path=/; HttpOnly'
    forged = vim.ServiceInstance("ServiceInstance", unauthenticated_stub(t, stub.version, cookie=bogus_cookie))
    expect_fault(vim.fault.NotAuthenticated, needs_session, forged)
    ok("made-up cookie -> NotAuthenticated")

    # A second session, terminated by the first (vCenter only).
    si2 = connect(t)
    key2 = si2.content.sessionManager.currentSession.key
    check(key2 != session.key, "two logins share the session key %s" % key2)
    needs_session(si2).Destroy()
    if not esx:
        sm = si.content.sessionManager
        keys = {s.key for s in sm.sessionList or []}
        check({session.key, key2} <= keys, "sessionList %s lacks the two sessions" % sorted(keys))
        sm.TerminateSession(sessionId=[key2])
        expect_fault(vim.fault.NotAuthenticated, needs_session, si2)
        expect_fault(vmodl.fault.InvalidArgument, sm.TerminateSession, sessionId=[session.key])
        ok("TerminateSession")
    else:
        disconnect(si2)

    # Logout ends the session: the same stub is then unauthenticated.
    needs_session(si).Destroy()
    si.content.sessionManager.Logout()
    expect_fault(vim.fault.NotAuthenticated, needs_session, si)
    ok("Logout")

    # A fresh login after all that still works.
    si3 = connect(t)
    check(si3.content.about.apiType == want_type, "re-login")
    disconnect(si3)
    ok("login again")


if __name__ == "__main__":
    run(main)

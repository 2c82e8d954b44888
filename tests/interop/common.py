"""Shared helpers for the pyvmomi interop scripts.

Every script is run as ``python3 <script>.py <GOVC_URL> [options]`` where GOVC_URL is
the first line ``vicbed serve`` prints, e.g. ``http://user:pass@127.0.0.1:8989/sdk``.
A script prints one ``ok <check>`` line per passed check and exits 0; on the first
failed check it prints a traceback and exits 1.  The Rust test binary
(tests/it) starts the server and runs the scripts; they can also be run by hand
against a running ``vicbed serve``.

Environment knobs (for running against another endpoint, e.g. govmomi's vcsim):
  VICBED_EXPECT_VERSION   API version id pyvmomi must negotiate (default 8.0.3.0)
  VICBED_INTEROP_PEER     set (to any value) to skip the checks of vicbed's own behaviour
                          (virtual clock, contention model, workloads) that a peer lacks
"""

import datetime
import http.client
import os
import ssl
import sys
import time
import traceback
import urllib.parse
from http.cookies import SimpleCookie

try:
    from pyVim.connect import Disconnect, SmartConnect
    from pyVim.task import WaitForTask
    from pyVmomi import SoapAdapter, VmomiSupport, vim, vmodl
except ImportError as err:  # pragma: no cover - reported to the Rust harness
    sys.stderr.write(
        "pyVmomi is not importable (%s): run `bash scripts/test.sh` (it creates .venv with "
        "the pinned pyvmomi) or `python3 -m pip install -r tests/interop/requirements.txt`\n"
        % err
    )
    sys.exit(3)

EXPECT_VERSION = os.environ.get("VICBED_EXPECT_VERSION", "8.0.3.0")
PEER = bool(os.environ.get("VICBED_INTEROP_PEER"))

# The virtual clock of `vicbed serve` starts here.
VIRTUAL_EPOCH = datetime.datetime(2017, 10, 2, 8, 0, 0, tzinfo=datetime.timezone.utc)

PC = vmodl.query.PropertyCollector

ALL_ENTITY_TYPES = [
    vim.VirtualMachine,
    vim.HostSystem,
    vim.ClusterComputeResource,
    vim.ComputeResource,
    vim.ResourcePool,
    vim.Datastore,
    vim.Network,
    vim.dvs.DistributedVirtualPortgroup,
    vim.dvs.VmwareDistributedVirtualSwitch,
    vim.DistributedVirtualSwitch,
    vim.Folder,
    vim.Datacenter,
]


class Target:
    """Where the server is: parsed from a GOVC_URL."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise SystemExit("bad URL %r: scheme must be http or https" % url)
        self.url = url
        self.scheme = parts.scheme
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.user = urllib.parse.unquote(parts.username or "user")
        self.pwd = urllib.parse.unquote(parts.password or "pass")
        self.path = parts.path or "/sdk"

    def ssl_context(self):
        if self.scheme != "https":
            return None
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def http(self, timeout=30):
        """A fresh http.client connection to the server."""
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=self.ssl_context()
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def parse_args(argv=None):
    """Returns (target, options) where options maps --key=value / --flag to values."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit("usage: %s GOVC_URL [--key=value ...]" % sys.argv[0])
    opts = {}
    for arg in argv[1:]:
        if not arg.startswith("--"):
            raise SystemExit("unexpected argument %r" % arg)
        key, _, value = arg[2:].partition("=")
        opts[key] = value if value else True
    return Target(argv[0]), opts


def connect(t, user=None, pwd=None):
    """SmartConnect as a pyvmomi user would (version negotiation included)."""
    return SmartConnect(
        protocol=t.scheme,
        host=t.host,
        port=t.port,
        user=t.user if user is None else user,
        pwd=t.pwd if pwd is None else pwd,
        path=t.path,
        disableSslCertValidation=True,
        httpConnectionTimeout=60,
    )


def disconnect(si):
    Disconnect(si)


def unauthenticated_stub(t, version, cookie=""):
    """A SOAP stub that never logged in (optionally with a made-up cookie)."""
    port = t.port if t.scheme == "https" else -t.port
    stub = SoapAdapter.SoapStubAdapter(
        host=t.host,
        port=port,
        path=t.path,
        version=version,
        sslContext=t.ssl_context(),
        httpConnectionTimeout=60,
    )
    stub.cookie = cookie
    return stub


def session_cookie(si):
    """`vmware_soap_session=<value>` from pyvmomi's stored Set-Cookie string."""
    raw = si._stub.cookie
    jar = SimpleCookie()
    jar.load(raw)
    morsel = jar.get("vmware_soap_session")
    check(morsel is not None, "no vmware_soap_session in pyvmomi's cookie %r" % raw)
    return "vmware_soap_session=%s" % morsel.value


# ---------------------------------------------------------------------------------------
# checks


class CheckFailed(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def check_vicbed(cond, msg):
    """A check of vicbed's own behaviour (virtual clock, model), skipped against a peer."""
    if not PEER:
        check(cond, msg)


def ok(name):
    print("ok %s" % name, flush=True)


def expect_fault(fault_type, fn, *args, **kwargs):
    """Calls fn and returns the fault it raised, which must be a fault_type."""
    try:
        result = fn(*args, **kwargs)
    except fault_type as fault:
        return fault
    except Exception as other:  # noqa: BLE001 - re-raised with context
        raise CheckFailed(
            "expected %s, got %s: %s"
            % (fault_name(fault_type), type(other).__name__, describe_fault(other))
        ) from other
    raise CheckFailed("expected %s, but the call returned %r" % (fault_name(fault_type), result))


def fault_name(t):
    return getattr(t, "_wsdlName", None) or t.__name__


def describe_fault(err):
    """One line: the fault's message, or its type and identifying fields."""
    msg = getattr(err, "msg", None)
    if msg:
        return msg
    if isinstance(err, vmodl.MethodFault):
        fields = []
        for name in ("name", "obj", "invalidProperty", "method", "receiver", "state", "requestedState", "file"):
            val = getattr(err, name, None)
            if val is not None:
                fields.append("%s=%s" % (name, val))
        return "%s(%s)" % (type(err).__name__, ", ".join(fields))
    return str(err)


def run(main):
    """Runs main(target, opts); exit 0 on success, 1 with a traceback on failure."""
    target, opts = parse_args()
    started = time.monotonic()
    try:
        main(target, opts)
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - report anything that escaped
        sys.stdout.flush()
        sys.stderr.write("FAILED %s against %s\n" % (os.path.basename(sys.argv[0]), target.url))
        traceback.print_exc()
        sys.stderr.flush()
        sys.exit(1)
    print("done %s in %.2fs" % (os.path.basename(sys.argv[0]), time.monotonic() - started))
    sys.exit(0)


# ---------------------------------------------------------------------------------------
# inventory helpers


def container_view(si, types, container=None, recursive=True):
    content = si.content
    return content.viewManager.CreateContainerView(
        container or content.rootFolder, [t for t in types], recursive
    )


def view_filter_spec(view, prop_specs):
    traverse = PC.TraversalSpec(name="traverseView", type=vim.view.ContainerView, path="view", skip=False)
    obj = PC.ObjectSpec(obj=view, skip=True, selectSet=[traverse])
    return PC.FilterSpec(objectSet=[obj], propSet=prop_specs)


def retrieve_all(pc, specs, max_objects=None):
    """RetrievePropertiesEx + ContinueRetrievePropertiesEx until the token runs out."""
    opts = PC.RetrieveOptions(maxObjects=max_objects) if max_objects else PC.RetrieveOptions()
    result = pc.RetrievePropertiesEx(specSet=specs, options=opts)
    objects = []
    pages = 0
    while result is not None:
        pages += 1
        check(pages < 100000, "paging never ends")
        objects.extend(result.objects or [])
        if not result.token:
            break
        result = pc.ContinueRetrievePropertiesEx(token=result.token)
    return objects


def props_of(content):
    """ObjectContent -> {path: value}; fails on any missingSet entry."""
    missing = [(m.path, type(m.fault).__name__) for m in (content.missingSet or [])]
    check(not missing, "%s has missingSet entries %s" % (content.obj, missing))
    return {p.name: p.val for p in (content.propSet or [])}


def collect(si, vimtype, paths, container=None):
    """{moref: {path: value}} for every object of vimtype under container."""
    view = container_view(si, [vimtype], container)
    try:
        spec = view_filter_spec(view, [PC.PropertySpec(type=vimtype, pathSet=list(paths))])
        return {oc.obj: props_of(oc) for oc in retrieve_all(si.content.propertyCollector, [spec])}
    finally:
        view.Destroy()


def find(si, vimtype, name):
    """The one object of vimtype called name (anywhere in the inventory)."""
    hits = [obj for obj, props in collect(si, vimtype, ["name"]).items() if props.get("name") == name]
    check(len(hits) == 1, "expected one %s named %r, found %d" % (vimtype._wsdlName, name, len(hits)))
    return hits[0]


def datacenter(si, name="DC0"):
    return find(si, vim.Datacenter, name)


def wait(task, what):
    """pyVim.task.WaitForTask (legacy WaitForUpdates under the hood); returns info.result."""
    try:
        WaitForTask(task, maxWaitTime=60)
    except vmodl.MethodFault as fault:
        # Re-raised as is, so that expect_fault sees the task's fault type.
        sys.stderr.write("note: %s (%s) failed with %s: %s\n" % (what, task._moId, type(fault).__name__,
                                                                describe_fault(fault)))
        raise
    info = task.info
    check(info.state == vim.TaskInfo.State.success, "%s: task state %s" % (what, info.state))
    return info.result


def supported_properties(vimtype, version):
    """The properties of a managed type that exist in the negotiated API version."""
    return [
        p
        for p in vimtype._GetPropertyList()
        if VmomiSupport.IsChildVersion(version, p.version)
    ]


def utc(ts):
    if ts.tzinfo is None:
        return ts.replace(tzinfo=datetime.timezone.utc)
    return ts


# ---------------------------------------------------------------------------------------
# raw HTTP


def soap_envelope(body):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"'
        ' xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>" % body
    )


def http_request(t, method, path, body=None, headers=None, timeout=30):
    """(status, {lower-case header: value}, body bytes) of one request on a fresh connection."""
    conn = t.http(timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def soap_post(t, body_xml, cookie=None, raw=False):
    headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '"urn:vim25/%s"' % EXPECT_VERSION}
    if cookie:
        headers["Cookie"] = cookie
    payload = body_xml if raw else soap_envelope(body_xml)
    return http_request(t, "POST", t.path, body=payload, headers=headers)


def deserialize_fault(si, body):
    """Decodes a SOAP fault body exactly as pyvmomi's stub would; returns the fault object."""
    obj = SoapAdapter.SoapResponseDeserializer(si._stub).Deserialize(body, object)
    return obj


# ---------------------------------------------------------------------------------------
# strict whole-inventory walk (wire fidelity: pyvmomi's deserializer is strict)


def strict_walk(si):
    """RetrievePropertiesEx(all=True) over every entity of ALL_ENTITY_TYPES.

    Returns {moref: {property: value}}.  pyvmomi raises on any element, xsi:type or enum
    value that is not in the vSphere API, so merely getting here checks the wire format of
    every property of every object.
    """
    content = si.content
    view = container_view(si, ALL_ENTITY_TYPES)
    try:
        spec = view_filter_spec(view, [PC.PropertySpec(type=t, all=True) for t in ALL_ENTITY_TYPES])
        # The root folder is the view's container, not in the view: add it explicitly.
        spec.objectSet.append(PC.ObjectSpec(obj=content.rootFolder, skip=False))
        found = {}
        for oc in retrieve_all(content.propertyCollector, [spec]):
            check(oc.obj not in found, "%s returned twice" % oc.obj)
            found[oc.obj] = props_of(oc)
            check("name" in found[oc.obj], "%s: all=True returned no name" % oc.obj)
        return found
    finally:
        view.Destroy()


def fetch_every_property(obj, version):
    """Reads every property of obj through pyvmomi's accessors (the Fetch method).

    Returns a list of "Type.prop: error" strings (empty when all went through).
    """
    errors = []
    for prop in supported_properties(type(obj), version):
        try:
            getattr(obj, prop.name)
        except Exception as err:  # noqa: BLE001 - collected and reported together
            errors.append("%s(%s).%s: %s: %s" % (type(obj).__name__, obj._moId, prop.name,
                                                 type(err).__name__, describe_fault(err)))
    return errors


def content_managers(si):
    """[(property name, managed object)] for every manager set in ServiceContent."""
    content = si.content
    out = []
    for prop in type(content)._GetPropertyList():
        val = getattr(content, prop.name, None)
        if isinstance(val, VmomiSupport.ManagedObject):
            out.append((prop.name, val))
    return out


def retrieve_one(si, obj, all_props=True, paths=None):
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=obj, skip=False)],
        propSet=[PC.PropertySpec(type=type(obj), all=all_props, pathSet=paths or [])],
    )
    objs = retrieve_all(si.content.propertyCollector, [spec])
    check(len(objs) == 1, "RetrievePropertiesEx on %s returned %d objects" % (obj, len(objs)))
    return props_of(objs[0])

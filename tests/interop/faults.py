"""Bad input at the SOAP level, decoded the way pyvmomi decodes it.

usage: faults.py GOVC_URL

Malformed XML and envelopes -> HTTP 500 SOAP fault; unknown methods -> MethodNotFound;
missing objects -> ManagedObjectNotFound; GET /sdk -> 405; vimServiceVersions.xml.
(Transport-level cases such as bodies over the size bound live in tests/it/wire.rs.)
"""

import xml.etree.ElementTree as ET

from common import (
    EXPECT_VERSION,
    check,
    connect,
    deserialize_fault,
    disconnect,
    http_request,
    ok,
    run,
    session_cookie,
    soap_post,
    vim,
    vmodl,
)

SOAPENV = "{http://schemas.xmlsoap.org/soap/envelope/}"


def assert_soap_fault(status, headers, body, what):
    """HTTP 500 with a parseable soapenv:Fault carrying faultcode and faultstring."""
    check(status == 500, "%s -> HTTP %d, want 500 (body %r)" % (what, status, body[:300]))
    ctype = headers.get("content-type", "")
    check(ctype.startswith("text/xml"), "%s -> Content-Type %r" % (what, ctype))
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        raise AssertionError("%s -> the fault is not XML (%s): %r" % (what, err, body[:300])) from err
    fault = root.find("%sBody/%sFault" % (SOAPENV, SOAPENV))
    check(fault is not None, "%s -> no soapenv:Body/soapenv:Fault in %r" % (what, body[:300]))
    code = fault.findtext("faultcode") or ""
    check(code.endswith("ServerFaultCode") or code.endswith("Client") or code.endswith("Server"),
          "%s -> faultcode %r" % (what, code))
    check(fault.findtext("faultstring"), "%s -> empty faultstring" % what)
    return fault


def decode(si, body, what):
    """pyvmomi's decoding of a fault body; a decoding failure names the case."""
    try:
        return deserialize_fault(si, body)
    except Exception as err:  # noqa: BLE001
        raise AssertionError("%s: pyvmomi cannot decode the fault (%s: %s): %r"
                             % (what, type(err).__name__, err, body[:400])) from err


def main(t, opts):
    # vimServiceVersions.xml: what pyvmomi's SmartConnect negotiates from.
    status, headers, body = http_request(t, "GET", t.path + "/vimServiceVersions.xml")
    check(status == 200, "GET vimServiceVersions.xml -> HTTP %d" % status)
    root = ET.fromstring(body)
    check(root.tag == "namespaces" and root.get("version") == "1.0", "vimServiceVersions root %s %s"
          % (root.tag, root.attrib))
    ns = [n for n in root.findall("namespace") if n.findtext("name") == "urn:vim25"]
    check(len(ns) == 1, "no urn:vim25 namespace in vimServiceVersions.xml")
    version = ns[0].findtext("version")
    prior = [v.text for v in ns[0].findall("priorVersions/version")]
    check(version == EXPECT_VERSION, "vimServiceVersions.xml version %r, want %r" % (version, EXPECT_VERSION))
    check({"8.0.2.0", "7.0.3.0", "6.7.3", "6.5"} <= set(prior), "priorVersions %s lack the 8.0.2.0..6.5 chain" % prior)
    ok("vimServiceVersions.xml: %s, prior %s" % (version, prior))

    si = connect(t)
    cookie = session_cookie(si)

    # Not POST.
    for method in ("GET", "PUT", "DELETE"):
        status, headers, _ = http_request(t, method, t.path, headers={"Cookie": cookie})
        check(status == 405, "%s %s -> HTTP %d, want 405" % (method, t.path, status))
    ok("GET/PUT/DELETE /sdk -> 405")

    # Malformed bodies: always a SOAP fault, never a hang or a dropped connection.
    cases = [
        ("empty body", ""),
        ("not XML", "this is not xml"),
        ("truncated XML", '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrieveServiceContent'),
        ("unclosed tags", "<a><b></a>"),
        ("not an envelope", "<foo/>"),
        ("envelope in the wrong namespace", '<Envelope xmlns="urn:nope"><Body/></Envelope>'),
        ("envelope without a body", '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>'),
        ("empty body element", '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>'),
        ("undeclared prefix", "<soapenv:Envelope><soapenv:Body/></soapenv:Envelope>"),
        ("entity expansion", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'),
        ("invalid UTF-8", b"<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><\xff\xfe/></soapenv:Body></soapenv:Envelope>"),
    ]
    for what, payload in cases:
        status, headers, body = soap_post(t, payload, cookie=cookie, raw=True)
        assert_soap_fault(status, headers, body, what)
        obj = decode(si, body, what)
        check(isinstance(obj, vmodl.MethodFault), "%s: pyvmomi decoded %r, not a fault" % (what, obj))
    ok("%d malformed requests -> HTTP 500 SOAP faults pyvmomi can read" % len(cases))

    # Bad arguments to a real method: an InvalidRequest/InvalidArgument-style fault, not a crash.
    bad_args = [
        ("missing _this", "<RetrieveServiceContent xmlns=\"urn:vim25\"/>"),
        ("_this without type", "<RetrieveServiceContent xmlns=\"urn:vim25\"><_this>ServiceInstance</_this></RetrieveServiceContent>"),
        ("int that is not an int", "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this>"
                                   "<specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet>"
                                   "<objectSet><obj type=\"Folder\">group-d1</obj></objectSet></specSet>"
                                   "<options><maxObjects>many</maxObjects></options></RetrievePropertiesEx>"),
    ]
    for what, payload in bad_args:
        status, headers, body = soap_post(t, payload, cookie=cookie)
        assert_soap_fault(status, headers, body, what)
        obj = decode(si, body, what)
        check(isinstance(obj, vmodl.MethodFault), "%s: pyvmomi decoded %r" % (what, obj))
    ok("bad arguments -> SOAP faults")

    # Unknown method, and a real method on the wrong kind of object: MethodNotFound.
    status, headers, body = soap_post(
        t, '<NoSuchMethod xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></NoSuchMethod>',
        cookie=cookie)
    assert_soap_fault(status, headers, body, "unknown method")
    fault = decode(si, body, "unknown method")
    check(isinstance(fault, vmodl.fault.MethodNotFound), "unknown method decoded as %r" % fault)
    check(b"MethodNotFoundFault" in body, "the fault detail element is not <MethodNotFoundFault>")
    status, headers, body = soap_post(
        t, '<PowerOnVM_Task xmlns="urn:vim25"><_this type="Folder">group-d1</_this></PowerOnVM_Task>', cookie=cookie)
    assert_soap_fault(status, headers, body, "PowerOnVM_Task on a Folder")
    fault = decode(si, body, "PowerOnVM_Task on a Folder")
    check(isinstance(fault, vmodl.fault.MethodNotFound), "PowerOnVM_Task on a Folder decoded as %r" % fault)
    ok("unknown method / wrong receiver -> MethodNotFound")

    # A missing object: ManagedObjectNotFound with obj set.
    status, headers, body = soap_post(
        t, '<PowerOnVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-987654</_this></PowerOnVM_Task>',
        cookie=cookie)
    assert_soap_fault(status, headers, body, "PowerOnVM_Task on a missing VM")
    fault = decode(si, body, "missing VM")
    check(isinstance(fault, vmodl.fault.ManagedObjectNotFound), "missing VM decoded as %r" % fault)
    check(fault.obj is not None and fault.obj._moId == "vm-987654", "ManagedObjectNotFound.obj %r" % fault.obj)
    ok("missing object -> ManagedObjectNotFound(obj)")

    # Unauthenticated method outside the allow-list.
    status, headers, body = soap_post(
        t, '<CurrentTime xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></CurrentTime>')
    if status == 500:  # vCenter lets CurrentTime through without a session; both are fine
        check(isinstance(decode(si, body, "CurrentTime"), vim.fault.NotAuthenticated), "CurrentTime without a session")
    status, headers, body = soap_post(
        t, '<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this>'
           '<container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive>'
           '</CreateContainerView>')
    assert_soap_fault(status, headers, body, "CreateContainerView without a session")
    fault = decode(si, body, "CreateContainerView")
    check(isinstance(fault, vim.fault.NotAuthenticated), "CreateContainerView without a session -> %r" % fault)
    ok("no session -> NotAuthenticated")

    # The server is still fine after all that.
    check(si.content.about.apiType in ("VirtualCenter", "HostAgent"), "server unhealthy after bad input")
    disconnect(si)
    ok("still serving")


if __name__ == "__main__":
    run(main)

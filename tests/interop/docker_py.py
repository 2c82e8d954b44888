"""docker-py (the pinned PyPI ``docker`` package) against a VCH's Docker endpoint.

Run as ``python3 docker_py.py <DOCKER_HOST> [CERT_PATH]``: with a cert path the client
uses mutual TLS with the ``ca.pem``/``cert.pem``/``key.pem`` vic-machine generated there,
as ``docker.from_env()`` does with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH.  One
``ok <check>`` line per passed check; the first failure prints a traceback and exits 1.
"""

import os
import sys
import time
import traceback

try:
    import docker
    from docker.errors import ContainerError
except ImportError as err:  # pragma: no cover - reported to the Rust harness
    sys.stderr.write(
        "docker-py is not importable (%s): run `bash scripts/test.sh` (it installs the "
        "pinned packages of tests/interop/requirements.txt into .venv)\n" % err
    )
    sys.exit(3)


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError("%s: %s" % (name, detail))
    print("ok", name, flush=True)


def client(host, cert_path):
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own CA file
    # (psf/requests#3829): with either set, the VCH's ca.pem would be ignored.
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)
    env = {"DOCKER_HOST": "tcp://" + host}
    if cert_path:
        env["DOCKER_TLS_VERIFY"] = "1"
        env["DOCKER_CERT_PATH"] = cert_path
    return docker.from_env(environment=env, version="auto", timeout=60)


def main():
    host = sys.argv[1]
    cert_path = sys.argv[2] if len(sys.argv) > 2 else ""
    c = client(host, cert_path)
    check("api version negotiated", c.api.api_version == "1.25", c.api.api_version)

    # containers.run without detach: create, start, wait, logs.
    out = c.containers.run("busybox", ["echo", "hi from docker-py"])
    check("run returns the output", out == b"hi from docker-py\n", repr(out))

    try:
        c.containers.run("busybox", ["sh", "-c", "echo oops; exit 7"])
        check("a failing run raises", False, "no ContainerError")
    except ContainerError as e:
        check("a failing run raises ContainerError", e.exit_status == 7, repr(e.exit_status))

    before = {x.id for x in c.containers.list(all=True)}
    out = c.containers.run("busybox", ["echo", "bye"], remove=True)
    check("run --rm output", out == b"bye\n", repr(out))
    after = {x.id for x in c.containers.list(all=True)}
    check("run --rm leaves nothing", after == before, repr(after - before))

    # attach before start, as `docker run` does: the stream ends with the process.
    ct = c.containers.create("busybox", ["sh", "-c", "echo one; echo two; exit 2"])
    stream = ct.attach(stream=True, stdout=True, stderr=True)
    ct.start()
    got = b"".join(stream)
    check("attach streams the output", got == b"one\ntwo\n", repr(got))
    status = ct.wait()
    check("wait returns the exit code", status["StatusCode"] == 2, repr(status))
    ct.reload()
    check("state exited", ct.status == "exited" and ct.attrs["State"]["ExitCode"] == 2,
          repr(ct.attrs["State"]))
    logs = ct.logs(timestamps=True).decode().splitlines()
    check("logs with timestamps", len(logs) == 2 and logs[1].endswith(" two")
          and "T" in logs[1].split(" ")[0], repr(logs))

    # The event stream: the container's events so far, in order.
    events = c.events(since=0, until=int(time.time()) + 2, decode=True,
                      filters={"container": ct.id})
    actions = [e["Action"] for e in events]
    check("events create, attach, start, die",
          actions[:4] == ["create", "attach", "start", "die"], repr(actions))
    ct.remove()

    # A container that keeps running: stop gives die with the stop signal's code.
    svc = c.containers.run("busybox", ["httpd", "-f"], detach=True)
    svc.reload()
    check("a workload keeps running", svc.status == "running", svc.status)
    code, out = svc.exec_run(["sh", "-c", "echo exec-out; exit 3"])
    check("exec_run output and code", (code, out) == (3, b"exec-out\n"), repr((code, out)))
    st = svc.stats(stream=False)
    check("stats has cpu and memory", "cpu_stats" in st and st["memory_stats"]["limit"] > 0,
          repr(st)[:300])
    svc.stop(timeout=1)
    svc.reload()
    check("stopped", svc.attrs["State"]["ExitCode"] == 143, repr(svc.attrs["State"]))
    svc.remove()


if __name__ == "__main__":
    try:
        main()
    except Exception:  # noqa: BLE001 - the harness shows the traceback
        traceback.print_exc()
        sys.exit(1)

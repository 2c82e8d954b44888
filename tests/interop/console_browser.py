"""The live console (``vicbed demo``) in a real browser: Debian's chromium, headless, driven
through chromium-driver by Selenium (the pinned PyPI ``selenium``).

Run as ``python3 console_browser.py <CONSOLE_URL> [SCREENSHOT_PATH]`` against a running
``vicbed demo`` (the test runs it at ``--speed 60``: one 20 s sample every third of a wall
second); the screenshot path may also come from ``VICBED_SCREENSHOT``.  The checks:

* bad input to the console's API (a limit below -1, an unknown field, malformed JSON, an
  unknown VCH, VM or action, a speed out of range) gets a 4xx with ``{"message"}`` and
  changes nothing in ``/api/state``;
* the page goes live, its virtual clock runs and the pool charts grow;
* a pool limit below -1 typed into the page shows the server's error and keeps the input;
* the docker action "CPU stress on the limited VCH" clicked on the page starts a containerVM
  whose CPU ready is high under the 500 MHz limit (the screenshot is taken then);
* the limited pool's CPU limit set to unlimited on the page's form reaches every open
  console, and the container's ready falls to under a third within a few samples.

One ``ok <check>`` line per passed check; the first failure prints a traceback (and the
page's status line) and exits 1.  A missing browser or driver is a failure, never a skip.
"""

import base64
import datetime
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError as err:  # pragma: no cover - reported to the Rust harness
    sys.stderr.write(
        "selenium is not importable (%s): run `bash scripts/test.sh` (it installs the "
        "pinned packages of tests/interop/requirements.txt into .venv)\n" % err
    )
    sys.exit(3)

CHROMIUM = os.environ.get("VICBED_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("VICBED_CHROMEDRIVER", "/usr/bin/chromedriver")
# Wall-clock bounds; at --speed 60 a virtual sample takes a third of a wall second, so these
# leave room for a loaded CI machine, not for a slower model.
WAIT_S = 30.0
# Samples (clicks on Step) within which the container's ready must fall once the limit is gone.
MAX_STEPS = 6


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError("%s: %s" % (name, detail))
    print("ok", name, flush=True)


def wait_for(what, probe, timeout=WAIT_S, interval=0.2):
    """Polls probe() until it returns something truthy; returns that, or fails naming the
    last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = probe()
        except Exception as e:  # a stale element while the page re-renders: try again
            last = "%s: %s" % (type(e).__name__, e)
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.0f s (last: %r)" % (what, timeout, last))
        time.sleep(interval)


# ------------------------------------------------------------------------------------------
# Plain HTTP


def http(base, method, path, body=None, raw=None):
    """(status, parsed JSON or None, text) of one request; never raises on 4xx/5xx."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, text = resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode("utf-8", "replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return status, parsed, text


def settled_state(base):
    """The parts of /api/state that a rejected request must leave alone."""
    status, st, text = http(base, "GET", "/api/state")
    if status != 200 or not isinstance(st, dict):
        raise AssertionError("GET /api/state: %s %s" % (status, text[:300]))
    return {
        "vchs": st["vchs"],
        "vms": sorted((v["moref"], v["power"]) for v in st["vms"]),
        "speed": st["clock"]["speed"],
    }


def bad_inputs(base, limited, vms):
    before = settled_state(base)
    unknown_vm = "vm-%d" % (max([int(m[3:]) for m in vms if m[3:].isdigit()] + [0]) + 100000)
    cases = [
        ("a CPU limit below -1", "/api/pools/" + limited, {"cpu": {"limit": -5}}, None, 400),
        ("a negative memory reservation", "/api/pools/" + limited, {"mem": {"reservation": -1}}, None, 400),
        ("an unknown pool field", "/api/pools/" + limited, {"cpu": {"limitt": 4000}}, None, 400),
        ("malformed JSON for a pool", "/api/pools/" + limited, None, b'{"cpu": {"limit": ', 400),
        ("an unknown VCH", "/api/pools/no-such-vch", {"cpu": {"limit": 4000}}, None, 404),
        ("an unknown VM", "/api/vms/%s/power" % unknown_vm, {"state": "off"}, None, 404),
        ("malformed JSON for power", "/api/vms/%s/power" % (vms or [unknown_vm])[0], None, b"{state: off", 400),
        ("a speed out of range", "/api/clock", {"action": "speed", "speed": 0}, None, None),
        ("an unknown clock action", "/api/clock", {"action": "rewind"}, None, None),
        ("an unknown docker action", "/api/docker/" + limited, {"action": "no-such-action"}, None, 404),
    ]
    for name, path, body, raw, want in cases:
        status, parsed, text = http(base, "POST", path, body=body, raw=raw)
        ok_status = status == want if want else 400 <= status < 500
        check("%s gets %s" % (name, want or "4xx"), ok_status, "%s %s" % (status, text[:300]))
        check("%s comes with a message" % name,
              isinstance(parsed, dict) and isinstance(parsed.get("message"), str) and parsed["message"],
              text[:300])
    after = settled_state(base)
    check("rejected requests change nothing", after == before,
          "before %s\nafter %s" % (json.dumps(before), json.dumps(after)))


# ------------------------------------------------------------------------------------------
# The browser


def browser():
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise SystemExit(
                "FAIL: %s is missing: the console's browser test needs Debian's chromium and "
                "chromium-driver (apt-get install chromium chromium-driver; scripts/test.sh "
                "installs them)" % path
            )
    profile = tempfile.mkdtemp(prefix="vicbed-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1600,1000",
                 "--hide-scrollbars"):
        opts.add_argument(flag)
    # The explicit driver path keeps Selenium Manager from looking for a driver online.
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_window_size(1600, 1000)
    driver.set_page_load_timeout(30)
    return driver, profile


def text_of(driver, css):
    els = driver.find_elements(By.CSS_SELECTOR, css)
    return els[0].text.strip() if els else None


def status_line(driver):
    """(data-kind, text) of the page's #status."""
    els = driver.find_elements(By.CSS_SELECTOR, "#status")
    if not els:
        return None
    return els[0].get_attribute("data-kind"), els[0].text.strip()


def ready_of(driver, vm_name):
    """The ready % the VM's row shows, or None."""
    css = 'tr.vm[data-vm-name="%s"] td.ready-pct' % vm_name
    rows = driver.find_elements(By.CSS_SELECTOR, css)
    if not rows:
        return None
    try:
        return float(rows[0].text.strip().rstrip("%").strip())
    except ValueError:
        return None


def chart_css(entity, kind):
    return 'svg.chart[data-entity="%s"][data-kind="%s"]' % (entity, kind)


def chart(driver, entity, kind):
    """(data-samples, data-last-ts) of a chart; (0, 0) while it is not drawn."""
    els = driver.find_elements(By.CSS_SELECTOR, chart_css(entity, kind))
    if not els:
        return 0, 0
    samples = els[0].get_attribute("data-samples") or "0"
    last = els[0].get_attribute("data-last-ts") or "0"
    return int(samples), int(last)


def has_limit_line(driver, pool):
    return bool(driver.find_elements(By.CSS_SELECTOR, chart_css(pool, "cpu") + " .limit-line"))


def click(driver, element):
    """Clicks after scrolling the element to the middle of the view (the header is sticky)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def click_css(driver, css):
    click(driver, driver.find_element(By.CSS_SELECTOR, css))


def choose(driver, select_id, value):
    Select(driver.find_element(By.ID, select_id)).select_by_value(value)


def screenshot(driver, path):
    """The whole page from its top (Chrome's DevTools capture beyond the viewport), else the
    viewport."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0);")
    try:
        width, height = driver.execute_script(
            "var e = document.documentElement; return [e.scrollWidth, e.scrollHeight];")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    except Exception as e:  # a driver without CDP: the visible part will do
        sys.stderr.write("full-page capture failed (%s); saving the viewport\n" % e)
        driver.save_screenshot(path)
    return os.path.getsize(path)


def pool_section(driver, vch):
    return driver.find_element(By.CSS_SELECTOR, 'section.vch[data-vch="%s"]' % vch)


def server_clock(base):
    return http(base, "GET", "/api/state")[1]["clock"]


def fmt_time(ms):
    """Virtual milliseconds as the page's #clock-time shows them (UTC, to the second)."""
    at = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return at.strftime("%Y-%m-%d %H:%M:%S")


def server_pool(base, vch):
    return next(v for v in http(base, "GET", "/api/state")[1]["vchs"] if v["name"] == vch)["config"]


def console(driver, base, state, shot):
    limited = next(v for v in state["vchs"] if v["config"]["cpu"]["limit"] != -1)
    vch, pool = limited["name"], limited["pool"]
    action = next(a for a in state["actions"]
                  if a["vch"] == vch and re.search(r"(^|\s)--cpu\s", a["command"]))
    name_match = re.search(r"--name[ =](\S+)", action["command"])
    check("the CPU stress action names its container", name_match, action["command"])
    container = name_match.group(1)
    clock_time = lambda: text_of(driver, "#clock-time")  # noqa: E731

    driver.get(base + "/")
    check("the page has a title", "vicbed" in driver.title.lower(), driver.title)
    wait_for("the event stream goes live", lambda: text_of(driver, "#connection") == "live")
    check("the console is live", True)
    t0 = wait_for("the virtual time is shown", lambda: clock_time() not in (None, "", "--") and clock_time())
    t1 = wait_for("the virtual time moves", lambda: clock_time() not in (None, t0) and clock_time())
    check("the virtual time moves (%s -> %s)" % (t0, t1), True)

    # The widest window keeps every sample on the chart, so the count keeps growing.
    choose(driver, "window", "60")
    first = wait_for("the pool CPU chart has samples",
                     lambda: chart(driver, pool, "cpu")[0] >= 1 and chart(driver, pool, "cpu"))
    grown = wait_for("the pool CPU chart grows", lambda: (
        lambda n, ts: n > first[0] and ts > first[1] and (n, ts))(*chart(driver, pool, "cpu")))
    check("the pool CPU chart grows (%d -> %d points)" % (first[0], grown[0]), True)
    check("the pool memory chart is drawn", chart(driver, pool, "mem")[0] >= 1)
    check("the pool CPU limit is drawn as a line", has_limit_line(driver, pool))
    choose(driver, "window", "15")

    # A second console, to see that a change made in one reaches the other.
    first_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(base + "/")
    wait_for("the second console goes live", lambda: text_of(driver, "#connection") == "live")
    second_tab = driver.current_window_handle
    driver.switch_to.window(first_tab)

    # A bad limit from the page: the server's message shows and the input is kept.
    section = pool_section(driver, vch)
    mem_limit = section.find_element(By.CSS_SELECTOR, 'input[name="mem_limit"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", mem_limit)
    mem_limit.clear()
    mem_limit.send_keys("-5")
    click(driver, section.find_element(By.CSS_SELECTOR, "button.apply-pool"))
    kind, msg = wait_for("the page shows the server's error",
                         lambda: (status_line(driver) or ("", ""))[0] == "error" and status_line(driver))
    check("a bad limit shows the server's message (%s)" % msg, msg)
    kept = mem_limit.get_attribute("value")
    check("the bad input stays in the form", kept == "-5", kept)
    check("the server kept its limit", server_pool(base, vch) == limited["config"])
    click(driver, section.find_element(By.CSS_SELECTOR, "button.reset-pool"))
    kept = mem_limit.get_attribute("value")
    check("reset puts the pool's value back", kept == str(limited["config"]["mem"]["limit"]), kept)

    # The stress runs 300 virtual seconds (5 wall seconds at 60x): slow the clock from the
    # page, so that the starved container is still running when the limit is raised.
    choose(driver, "clock-speed", "10")
    wait_for("the server runs at 10x", lambda: server_clock(base)["speed"] == 10)
    check("the speed is set from the page", True)

    # The stress on the limited VCH, from the docker panel.
    click_css(driver, 'button.docker-action[data-action="%s"][data-vch="%s"]' % (action["id"], vch))
    kind, msg = wait_for("the docker command's result",
                         lambda: (lambda st: st and "exit" in st[1] and st)(status_line(driver)))
    check("the docker command ran from the page (%s)" % msg, kind == "info" and msg.endswith("exit 0"))
    row_css = 'tr.vm[data-vm-name="%s"]' % container
    row = wait_for("the container's row appears", lambda: driver.find_elements(By.CSS_SELECTOR, row_css))
    moref = row[0].get_attribute("data-moref")
    check("the container %s is %s" % (container, moref), re.fullmatch(r"vm-\d+", moref or ""), moref)
    # ~2 vCPUs of demand on 1.8 GHz cores under a 500 MHz limit: most of the time is ready.
    high = wait_for("its ready is high", lambda: (ready_of(driver, container) or 0) > 50
                    and ready_of(driver, container))
    check("the limited container's ready is high (%.1f %%)" % high, high > 50)
    # A few samples of the starved container on a 5 minute window make the picture.
    choose(driver, "window", "5")
    wait_for("a few samples of the container", lambda: chart(driver, moref, "cpu")[0] >= 5)

    # Stop the clock: from here on every sample is one click on Step.
    click_css(driver, "#clock-pause")
    wait_for("the server's clock stands", lambda: server_clock(base)["paused"] is True)
    wait_for("the page shows the pause", lambda: "paused" in (text_of(driver, "#clock-elapsed") or ""))
    # The driver's last advance may land after the pause, and reaches the page only with the
    # poller's next read: wait until the page shows the server's clock, twice in a row.
    shown = []

    def stood_clock():
        now = clock_time()
        settled = now == fmt_time(server_clock(base)["now_ms"]) and shown[-1:] == [now]
        shown.append(now)
        return settled and now

    stood = wait_for("the page shows the stood clock", stood_clock)
    time.sleep(1.0)
    check("the paused clock stands (%s)" % stood, clock_time() == stood, clock_time())
    high = ready_of(driver, container) or high
    if shot:
        check("screenshot saved to %s" % shot, screenshot(driver, shot) > 10000)

    # Raise the limit from the page: unlimited.
    section = pool_section(driver, vch)
    unlimited = section.find_element(By.CSS_SELECTOR, 'input[name="cpu_limit_unlimited"]')
    if not unlimited.is_selected():
        click(driver, unlimited)
    click(driver, section.find_element(By.CSS_SELECTOR, "button.apply-pool"))
    wait_for("the server has the limit", lambda: server_pool(base, vch)["cpu"]["limit"] == -1)
    check("the page set the CPU limit to unlimited", status_line(driver)[0] == "info", status_line(driver))
    wait_for("the limit line goes", lambda: not has_limit_line(driver, pool))
    check("the pool chart drops its limit line", True)

    # A few samples, one Step each: the container's ready falls.
    steps, low = 0, ready_of(driver, container)
    while steps < MAX_STEPS and (low is None or low >= high / 3):
        before = chart(driver, moref, "cpu")[1]
        click_css(driver, "#clock-step")
        wait_for("step %d brings a sample" % (steps + 1), lambda: chart(driver, moref, "cpu")[1] > before)
        steps += 1
        low = ready_of(driver, container)
    check("the container's ready falls (%.1f %% -> %s %% in %d samples)" % (high, low, steps),
          low is not None and low < high / 3, "still %s after %d samples" % (low, steps))
    click_css(driver, "#clock-resume")
    wait_for("the clock runs again", lambda: clock_time() != stood and server_clock(base)["paused"] is False)
    check("resume from the page", True)

    driver.switch_to.window(second_tab)
    other = pool_section(driver, vch)
    wait_for("the second console sees the new limit", lambda: other.find_element(
        By.CSS_SELECTOR, 'input[name="cpu_limit_unlimited"]').is_selected())
    wait_for("the second console sees the container", lambda: driver.find_elements(By.CSS_SELECTOR, row_css))
    check("the change shows in every console", True)


def main():
    base = sys.argv[1].rstrip("/")
    shot = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VICBED_SCREENSHOT", "")
    status, state, text = http(base, "GET", "/api/state")
    check("GET /api/state", status == 200 and isinstance(state, dict), "%s %s" % (status, text[:300]))
    limited = [v for v in state["vchs"] if v["config"]["cpu"]["limit"] != -1]
    check("a VCH with a CPU limit", limited, json.dumps(state["vchs"]))
    bad_inputs(base, limited[0]["name"], [v["moref"] for v in state["vms"]])

    driver, profile = browser()
    try:
        try:
            console(driver, base, state, shot)
        except Exception:
            try:
                sys.stderr.write("page status: %r\n" % (status_line(driver),))
                for entry in driver.get_log("browser"):
                    sys.stderr.write("console: %s\n" % entry.get("message"))
            except Exception:
                pass
            raise
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)

/* vicbed live console: hand-written vanilla JS, no library, no external URL.
 *
 * Data flow: GET /api/state (VCHs, VMs, docker actions, story, counters, limits), then an
 * EventSource on /api/events (sample / clock / state / resync) and GET /api/window to fill
 * the charts. Samples are kept in one array bounded to limits.window_samples; charts are
 * SVG drawn here and re-drawn on every sample and clock tick.
 *
 * Test hooks (tests/interop/console_browser.py relies on these; keep them stable):
 *   #clock-time            virtual time text (UTC, "YYYY-MM-DD HH:MM:SS")
 *   #clock-speed           <select> of speeds 1, 10, 60, 300, 600
 *   #clock-pause, #clock-resume, #clock-step   buttons
 *   #window                <select> of the chart window in virtual minutes: 5, 15, 60
 *   #status                last message; data-kind="error" | "info"
 *   #connection            "live" or "reconnecting…" ("connecting…" before the first open)
 *   section.vch[data-vch="<name>"] with input[name="cpu_limit"], input[name="cpu_reservation"],
 *       select[name="cpu_shares_level"], input[name="mem_limit"], input[name="mem_reservation"],
 *       select[name="mem_shares_level"], input[name="cpu_limit_unlimited"] and
 *       input[name="mem_limit_unlimited"] (checkboxes), button.apply-pool.
 *       A limit of -1 typed in the box also means unlimited.
 *   tr.vm[data-vm-name="<docker name>"][data-moref="vm-N"] with td.ready-pct (latest ready %,
 *       one decimal), td.power (poweredOn / poweredOff / suspended), button.power-toggle
 *   svg.chart[data-entity="<moref>"][data-kind="cpu"|"mem"] with data-samples (points drawn in
 *       the series with the most points) and data-last-ts (ms of the newest sample drawn)
 *   button.docker-action[data-action="<id>"][data-vch="<vch>"]
 *   li.story-step[data-step="<id>"][data-verdict="waiting"|"seen"]
 */
(function () {
  "use strict";

  // Drawing and formatting live in console-draw.js (loaded first).
  var VB = window.VicbedDraw;
  var $ = VB.$, $all = VB.$all, el = VB.el, svgEl = VB.svgEl;
  var fmtTime = VB.fmtTime, fmtElapsed = VB.fmtElapsed, fmtNum = VB.fmtNum, fmtLimit = VB.fmtLimit;

  // Series of the charts: counter name, legend label, colour, axis, dash.
  var POOL_CPU = [
    { key: "cpu.demand.average", label: "Demand", color: "#d9822b", axis: "left" },
    { key: "cpu.entitlement.latest", label: "Entitlement", color: "#7b4fb0", axis: "left" },
    { key: "cpu.usagemhz.average", label: "Usage", color: "#1f77c9", axis: "left" }
  ];
  var MEM = [
    { key: "mem.granted.average", label: "Granted", color: "#7b4fb0", axis: "left" },
    { key: "mem.consumed.average", label: "Consumed", color: "#1f77c9", axis: "left" },
    { key: "mem.active.average", label: "Active", color: "#2e9e5b", axis: "left" },
    { key: "mem.vmmemctl.average", label: "Balloon", color: "#d9822b", axis: "left" },
    { key: "mem.swapped.average", label: "Swapped", color: "#c62f3a", axis: "left" }
  ];
  var VM_CPU = [
    { key: "cpu.usagemhz.average", label: "Usage", color: "#1f77c9", axis: "left" },
    { key: "cpu.demand.average", label: "Demand", color: "#d9822b", axis: "left" },
    { key: "cpu.ready.summation", label: "Ready", color: "#c62f3a", axis: "right", width: 3 },
    { key: "cpu.maxlimited.summation", label: "Max limited", color: "#8a5a00", axis: "right", dash: "2 4" }
  ];
  var VM_MEM = MEM.concat([
    { key: "mem.latency.average", label: "Latency", color: "#555", axis: "right", dash: "2 4" }
  ]);

  var app = {
    state: null,
    samples: [],          // oldest first, each {ts_ms, entities}
    maxSamples: 180,
    nowMs: null,
    windowMin: 15,
    es: null,
    gen: 0,               // event-stream connections opened so far
    everOpen: false,
    retryTimer: null,
    retryDelayMs: 1000,
    renderTimer: null,
    cards: {},            // vch name -> {section, inputs…}
    chartBoxes: {},       // key "entity|kind" -> {box, svg, legend}
    units: {}             // counter -> unit
  };

  // ---------------------------------------------------------------------------------------
  // Status and HTTP

  function setStatus(kind, text) {
    var s = $("#status");
    s.setAttribute("data-kind", kind);
    s.textContent = text;
    s.classList.remove("flash");
    // Restart the highlight so a repeated message is still noticed.
    void s.offsetWidth;
    s.classList.add("flash");
  }

  function api(method, path, body) {
    var init = { method: method, headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!resp.ok) {
          var msg = data && typeof data.message === "string" ? data.message : (text || resp.statusText);
          var err = new Error(resp.status + ": " + msg);
          err.status = resp.status;
          throw err;
        }
        return data;
      });
    }, function (e) {
      throw new Error("the console server cannot be reached (" + e.message + ")");
    });
  }

  // ---------------------------------------------------------------------------------------
  // Samples

  function trimSamples() {
    if (app.samples.length > app.maxSamples) {
      app.samples.splice(0, app.samples.length - app.maxSamples);
    }
  }

  function addSample(s) {
    if (!s || typeof s.ts_ms !== "number") return;
    var arr = app.samples;
    var i = arr.length;
    while (i > 0 && arr[i - 1].ts_ms > s.ts_ms) i--;
    if (i > 0 && arr[i - 1].ts_ms === s.ts_ms) arr[i - 1] = s;
    else arr.splice(i, 0, s);
    trimSamples();
    if (app.nowMs === null || s.ts_ms > app.nowMs) app.nowMs = s.ts_ms;
  }

  // The window replaces what we had, keeping samples of this connection that arrived after it
  // was cut (a sample of an earlier connection may be from a server since restarted).
  function replaceWindow(samples) {
    var fresh = (samples || []).filter(function (s) { return s && typeof s.ts_ms === "number"; });
    fresh.sort(function (a, b) { return a.ts_ms - b.ts_ms; });
    var last = fresh.length ? fresh[fresh.length - 1].ts_ms : -Infinity;
    app.samples.forEach(function (s) {
      if (s._gen === app.gen && s.ts_ms > last) fresh.push(s);
    });
    app.samples = fresh;
    trimSamples();
    app.nowMs = app.samples.length ? app.samples[app.samples.length - 1].ts_ms : null;
  }

  function loadWindow() {
    return api("GET", "/api/window").then(function (w) {
      replaceWindow(w && w.samples);
      scheduleRender();
    }, function (e) { setStatus("error", "loading the chart window: " + e.message); });
  }

  function latest(entity, key) {
    for (var i = app.samples.length - 1; i >= 0; i--) {
      var e = app.samples[i].entities && app.samples[i].entities[entity];
      if (e && typeof e[key] === "number") return e[key];
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------
  // Event stream

  function setConnection(live) {
    var c = $("#connection");
    c.textContent = live ? "live" : "reconnecting…";
    c.setAttribute("data-state", live ? "live" : "reconnecting");
  }

  function connect() {
    if (app.retryTimer) { clearTimeout(app.retryTimer); app.retryTimer = null; }
    if (app.es) app.es.close();
    var es = new EventSource("/api/events");
    app.es = es;
    es.onopen = function () {
      app.gen++;
      setConnection(true);
      app.retryDelayMs = 1000;
      // First open or after a drop: what was missed comes from the window and the state.
      var reconnect = app.everOpen;
      app.everOpen = true;
      loadWindow();
      if (reconnect) loadState();
    };
    es.onerror = function () {
      setConnection(false);
      if (es.readyState === EventSource.CLOSED) {
        // The browser gives up on an HTTP error (503 when too many browsers): retry ourselves.
        if (app.es === es) {
          app.retryTimer = setTimeout(connect, app.retryDelayMs);
          app.retryDelayMs = Math.min(app.retryDelayMs * 2, 15000);
        }
      }
    };
    es.addEventListener("sample", function (ev) {
      var s = parse(ev.data);
      if (s) { s._gen = app.gen; addSample(s); scheduleRender(); }
    });
    es.addEventListener("clock", function (ev) {
      var c = parse(ev.data);
      if (c && app.state) {
        Object.keys(c).forEach(function (k) { app.state.clock[k] = c[k]; });
        renderClock();
        scheduleRender();
      }
    });
    es.addEventListener("state", function (ev) {
      var s = parse(ev.data);
      if (s) applyState(s);
    });
    es.addEventListener("resync", function () { loadWindow(); });
  }

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function loadState() {
    return api("GET", "/api/state").then(applyState, function (e) {
      setStatus("error", "loading the state: " + e.message);
      throw e;
    });
  }

  function applyState(s) {
    if (!s || !s.clock) return;
    app.state = s;
    if (s.limits && s.limits.window_samples > 0) {
      app.maxSamples = s.limits.window_samples;
      trimSamples();
    }
    app.units = {};
    ["pool", "vm"].forEach(function (k) {
      ((s.counters && s.counters[k]) || []).forEach(function (c) { app.units[c.name] = c.unit; });
    });
    $("#scenario").textContent = "scenario: " + (s.scenario || "?");
    renderClock();
    renderVchs();
    renderStory();
    renderDocker();
    scheduleRender();
  }

  // ---------------------------------------------------------------------------------------
  // Clock

  function renderClock() {
    var c = app.state.clock;
    $("#clock-time").textContent = fmtTime(c.now_ms);
    $("#clock-elapsed").textContent = fmtElapsed(c.now_ms - (c.start_ms || c.now_ms)) +
      (c.paused ? "  · paused" : "  · " + c.speed + "×");
    document.body.classList.toggle("paused", !!c.paused);
    var sel = $("#clock-speed");
    var v = String(c.speed);
    if (!$all("option", sel).some(function (o) { return o.value === v; })) {
      sel.appendChild(el("option", { value: v, text: v + "×" }));
    }
    if (document.activeElement !== sel) sel.value = v;
    $("#clock-pause").disabled = !!c.paused;
    $("#clock-resume").disabled = !c.paused;
  }

  function clockAction(body) {
    return api("POST", "/api/clock", body).then(function (c) {
      if (c && app.state) {
        Object.keys(c).forEach(function (k) { app.state.clock[k] = c[k]; });
        renderClock();
      }
      setStatus("info", "clock: " + body.action + (body.speed ? " " + body.speed + "×" : ""));
    }, function (e) {
      setStatus("error", "clock " + body.action + ": " + e.message);
      if (app.state) renderClock();
    });
  }

  // ---------------------------------------------------------------------------------------
  // VCH cards: pool knobs and VM table

  var LEVELS = ["low", "normal", "high", "custom"];

  function knobRow(prefix, unitLabel) {
    var limit = el("input", { type: "number", name: prefix + "_limit", min: "-1", step: "1", inputmode: "numeric", "aria-label": prefix + " limit" });
    var unl = el("input", { type: "checkbox", name: prefix + "_limit_unlimited" });
    var resv = el("input", { type: "number", name: prefix + "_reservation", min: "0", step: "1", inputmode: "numeric", "aria-label": prefix + " reservation" });
    var level = el("select", { name: prefix + "_shares_level", "aria-label": prefix + " shares" },
      LEVELS.map(function (l) { return el("option", { value: l, text: l }); }));
    var shares = el("input", { type: "number", name: prefix + "_shares", min: "0", step: "1", "aria-label": prefix + " custom shares" });
    var now = el("div", { className: "knob-now" });
    [limit, unl, resv, level, shares].forEach(function (i) {
      var mark = function () { i.setAttribute("data-dirty", "1"); };
      i.addEventListener("input", mark);
      i.addEventListener("change", mark);
    });
    unl.addEventListener("change", function () {
      limit.disabled = unl.checked;
      if (!unl.checked && (limit.value === "" || limit.value === "-1")) limit.focus();
    });
    level.addEventListener("change", function () { shares.hidden = level.value !== "custom"; });
    var fs = el("fieldset", { className: "knobs" }, [
      el("legend", { text: prefix === "cpu" ? "CPU (" + unitLabel + ")" : "Memory (" + unitLabel + ")" }),
      el("label", {}, ["Limit", el("span", { className: "field" }, [limit,
        el("label", { className: "unl" }, [unl, "unlimited"])])]),
      el("label", {}, ["Reservation", resv]),
      el("label", {}, ["Shares", el("span", { className: "field" }, [level, shares])]),
      now
    ]);
    return { fs: fs, limit: limit, unl: unl, resv: resv, level: level, shares: shares, now: now };
  }

  function makeCard(vch) {
    var cpu = knobRow("cpu", "MHz"), mem = knobRow("mem", "MB");
    var apply = el("button", { type: "button", className: "apply-pool primary", text: "Apply to pool" });
    var reset = el("button", { type: "button", className: "reset-pool", text: "Reset" });
    var vmBody = el("tbody");
    var section = el("section", { className: "vch card", "data-vch": vch.name }, [
      el("header", { className: "card-head" }, [
        el("h2", { className: "vch-name" }),
        el("div", { className: "vch-sub" })
      ]),
      el("div", { className: "docker-env" }, [el("code", { className: "docker-cmd" })]),
      el("form", { className: "pool-form", novalidate: true, onsubmit: function (ev) { ev.preventDefault(); applyPool(vch.name); } },
        [cpu.fs, mem.fs, el("div", { className: "form-buttons" }, [apply, reset])]),
      el("table", { className: "vms" }, [
        el("thead", {}, [el("tr", {}, [
          el("th", { text: "VM" }), el("th", { text: "Power" }), el("th", { text: "Ready", title: "CPU ready %, summed over vCPUs (esxtop %RDY)" }), el("th", { text: "" })
        ])]),
        vmBody
      ])
    ]);
    apply.addEventListener("click", function () { applyPool(vch.name); });
    reset.addEventListener("click", function () { resetCard(vch.name); });
    return { section: section, cpu: cpu, mem: mem, apply: apply, vmBody: vmBody, rows: {} };
  }

  // Puts the server's value in a field unless the user is editing it.
  function setField(input, value) {
    if (input.getAttribute("data-dirty") === "1" || document.activeElement === input) return;
    if (input.type === "checkbox") input.checked = !!value;
    else input.value = String(value);
  }

  function fillKnobs(k, cfg, unit) {
    setField(k.limit, cfg.limit === -1 ? "" : cfg.limit);
    setField(k.unl, cfg.limit === -1);
    if (k.unl.getAttribute("data-dirty") !== "1") k.limit.disabled = k.unl.checked;
    k.limit.placeholder = k.unl.checked ? "unlimited" : "";
    setField(k.resv, cfg.reservation);
    setField(k.level, cfg.shares_level);
    setField(k.shares, cfg.shares);
    k.shares.hidden = k.level.value !== "custom";
    k.now.textContent = "now: limit " + fmtLimit(cfg.limit, unit) + " · reservation " + cfg.reservation + " " + unit +
      " · shares " + cfg.shares_level + " (" + cfg.shares + ")" + (cfg.expandable ? " · expandable" : "");
  }

  function clearDirty(card) {
    $all("[data-dirty]", card.section).forEach(function (i) { i.removeAttribute("data-dirty"); });
  }

  function resetCard(name) {
    var card = app.cards[name];
    if (!card) return;
    clearDirty(card);
    var vch = findVch(name);
    if (vch) fillCard(card, vch);
  }

  function findVch(name) {
    var vchs = (app.state && app.state.vchs) || [];
    for (var i = 0; i < vchs.length; i++) if (vchs[i].name === name) return vchs[i];
    return null;
  }

  function fillCard(card, vch) {
    $(".vch-name", card.section).textContent = vch.vsphere_name || vch.name;
    $(".vch-sub", card.section).textContent = "VCH \u201c" + vch.name + "\u201d · pool " + vch.pool;
    $(".docker-cmd", card.section).textContent = vch.docker_command || "";
    fillKnobs(card.cpu, vch.config.cpu, "MHz");
    fillKnobs(card.mem, vch.config.mem, "MB");
  }

  // Reads one resource's changed fields; throws on text that is not a whole number.
  function readKnobs(k, cur, what) {
    var out = {};
    var limit;
    if (k.unl.checked) limit = -1;
    else {
      var t = k.limit.value.trim();
      if (t === "" && !k.limit.validity.badInput) throw new Error(what + " limit: enter a number or tick unlimited");
      limit = Number(t);
      if (!isFinite(limit) || Math.floor(limit) !== limit || k.limit.validity.badInput) throw new Error(what + " limit: not a whole number");
    }
    if (limit !== cur.limit) out.limit = limit;
    var r = Number(k.resv.value.trim());
    if (k.resv.value.trim() === "" || !isFinite(r) || Math.floor(r) !== r) throw new Error(what + " reservation: not a whole number");
    if (r !== cur.reservation) out.reservation = r;
    if (k.level.value !== cur.shares_level) out.shares_level = k.level.value;
    if (k.level.value === "custom") {
      var sh = Number(k.shares.value.trim());
      if (k.shares.value.trim() === "" || !isFinite(sh) || Math.floor(sh) !== sh) throw new Error(what + " shares: not a whole number");
      if (sh !== cur.shares || out.shares_level) out.shares = sh;
    }
    return out;
  }

  function applyPool(name) {
    var card = app.cards[name], vch = findVch(name);
    if (!card || !vch) return;
    var body = {};
    try {
      var cpu = readKnobs(card.cpu, vch.config.cpu, "CPU");
      var mem = readKnobs(card.mem, vch.config.mem, "memory");
      if (Object.keys(cpu).length) body.cpu = cpu;
      if (Object.keys(mem).length) body.mem = mem;
    } catch (e) {
      setStatus("error", name + ": " + e.message);
      return;
    }
    if (!body.cpu && !body.mem) {
      setStatus("info", name + ": nothing changed");
      return;
    }
    card.apply.disabled = true;
    api("POST", "/api/pools/" + encodeURIComponent(name), body).then(function (updated) {
      card.apply.disabled = false;
      clearDirty(card);
      if (updated && updated.config && app.state) {
        app.state.vchs = app.state.vchs.map(function (v) { return v.name === name ? updated : v; });
        fillCard(card, updated);
      }
      setStatus("info", name + ": pool updated " + JSON.stringify(body));
      scheduleRender();
    }, function (e) {
      // The user's input stays as typed, so it can be corrected.
      card.apply.disabled = false;
      setStatus("error", name + ": " + e.message);
    });
  }

  function powerToggle(vm, button) {
    var want = vm.power === "poweredOn" ? "off" : "on";
    button.disabled = true;
    api("POST", "/api/vms/" + encodeURIComponent(vm.moref) + "/power", { state: want }).then(function (v) {
      button.disabled = false;
      setStatus("info", vm.name + ": powered " + want);
      if (v && v.moref && app.state) {
        app.state.vms = app.state.vms.map(function (x) { return x.moref === v.moref ? v : x; });
        renderVchs();
        scheduleRender();
      }
    }, function (e) {
      button.disabled = false;
      setStatus("error", vm.name + ": power " + want + ": " + e.message);
    });
  }

  function renderVchs() {
    var root = $("#vchs");
    var seen = {};
    (app.state.vchs || []).forEach(function (vch) {
      seen[vch.name] = true;
      var card = app.cards[vch.name];
      if (!card) {
        card = app.cards[vch.name] = makeCard(vch);
        root.appendChild(card.section);
      }
      fillCard(card, vch);
      renderVmRows(card, vch.name);
    });
    Object.keys(app.cards).forEach(function (name) {
      if (!seen[name]) { app.cards[name].section.remove(); delete app.cards[name]; }
    });
  }

  function renderVmRows(card, vchName) {
    var vms = (app.state.vms || []).filter(function (v) { return v.vch === vchName; });
    vms.sort(function (a, b) {
      if (a.kind !== b.kind) return a.kind === "appliance" ? -1 : 1;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
    var seen = {};
    vms.forEach(function (vm) {
      seen[vm.moref] = true;
      var row = card.rows[vm.moref];
      if (!row) {
        var btn = el("button", { type: "button", className: "power-toggle" });
        btn.addEventListener("click", function () { powerToggle(row.vm, btn); });
        row = card.rows[vm.moref] = {
          tr: el("tr", { className: "vm" }, [
            el("td", { className: "vm-name" }),
            el("td", { className: "power" }),
            el("td", { className: "ready-pct num" }),
            el("td", {}, [btn])
          ]),
          btn: btn
        };
      }
      row.vm = vm;
      var tr = row.tr;
      tr.setAttribute("data-vm-name", vm.name);
      tr.setAttribute("data-moref", vm.moref);
      tr.setAttribute("data-kind", vm.kind);
      var nameCell = $(".vm-name", tr);
      nameCell.textContent = "";
      nameCell.appendChild(el("div", { className: "vm-docker", text: vm.name }));
      nameCell.appendChild(el("div", { className: "vm-meta", text: vm.moref + " · " + vm.vcpus + " vCPU · " +
        (vm.memory_mb >= 1024 ? (vm.memory_mb / 1024) + " GB" : vm.memory_mb + " MB") + (vm.kind === "appliance" ? " · appliance" : "") }));
      var p = $(".power", tr);
      p.textContent = vm.power;
      p.setAttribute("data-power", vm.power);
      row.btn.textContent = vm.power === "poweredOn" ? "Power off" : "Power on";
      card.vmBody.appendChild(tr); // keeps the sorted order
    });
    Object.keys(card.rows).forEach(function (m) {
      if (!seen[m]) { card.rows[m].tr.remove(); delete card.rows[m]; }
    });
    updateReadyCells();
  }

  function updateReadyCells() {
    Object.keys(app.cards).forEach(function (name) {
      var card = app.cards[name];
      Object.keys(card.rows).forEach(function (m) {
        var row = card.rows[m];
        var td = $(".ready-pct", row.tr);
        var v = row.vm.power === "poweredOn" ? latest(m, "cpu.ready.summation") : null;
        td.textContent = v === null ? "–" : v.toFixed(1);
        // esxtop's rule of thumb: above 5 % per vCPU the VM waits for CPU noticeably.
        var per = v === null ? 0 : v / Math.max(1, row.vm.vcpus || 1);
        td.setAttribute("data-level", per > 20 ? "bad" : per > 5 ? "warn" : "ok");
      });
    });
  }

  // ---------------------------------------------------------------------------------------
  // Story

  function renderStory() {
    var ol = $("#story");
    var steps = app.state.story || [];
    var currentSet = false;
    var existing = {};
    $all("li.story-step", ol).forEach(function (li) { existing[li.getAttribute("data-step")] = li; });
    var keep = {};
    steps.forEach(function (st, i) {
      var li = existing[st.id] || el("li", { className: "story-step" });
      keep[st.id] = true;
      li.setAttribute("data-step", st.id);
      li.setAttribute("data-verdict", st.verdict);
      var current = !currentSet && st.verdict !== "seen";
      if (current) currentSet = true;
      li.classList.toggle("current", current);
      li.textContent = "";
      li.appendChild(el("div", { className: "step-head" }, [
        el("span", { className: "step-no", text: String(i + 1) }),
        el("span", { className: "step-title", text: st.title }),
        el("span", { className: "verdict", text: st.verdict === "seen" ? "\u2714 seen" : "waiting" })
      ]));
      if (st.action) li.appendChild(el("div", { className: "step-action" }, [el("b", { text: "Do: " }), st.action]));
      if (st.look_at) li.appendChild(el("div", { className: "step-look" }, [el("b", { text: "Look at: " }), st.look_at]));
      if (st.observed) li.appendChild(el("div", { className: "step-observed", text: st.observed }));
      ol.appendChild(li);
    });
    Object.keys(existing).forEach(function (id) { if (!keep[id]) existing[id].remove(); });
  }

  // ---------------------------------------------------------------------------------------
  // Docker panel

  function copyText(text, button) {
    var done = function () {
      var old = button.textContent;
      button.textContent = "copied";
      setTimeout(function () { button.textContent = old; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else { fallbackCopy(text); done(); }
  }

  function fallbackCopy(text) {
    var ta = el("textarea", { className: "offscreen" });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
    ta.remove();
  }

  function renderDocker() {
    var root = $("#docker-actions");
    var actions = app.state.actions || [];
    var sig = JSON.stringify(actions);
    if (root.getAttribute("data-sig") === sig) return;
    root.setAttribute("data-sig", sig);
    root.textContent = "";
    actions.forEach(function (a) {
      var run = el("button", { type: "button", className: "docker-action primary", "data-action": a.id, "data-vch": a.vch, text: "Run" });
      var copy = el("button", { type: "button", className: "copy", text: "Copy" });
      run.addEventListener("click", function () { dockerAction(a, run); });
      copy.addEventListener("click", function () { copyText(a.command, copy); });
      root.appendChild(el("div", { className: "docker-item", "data-vch": a.vch }, [
        el("div", { className: "docker-title" }, [el("span", { className: "badge", text: a.vch }), a.title]),
        el("div", { className: "docker-line" }, [el("code", { className: "cmd", text: a.command }), copy, run])
      ]));
    });
  }

  function dockerAction(a, button) {
    button.disabled = true;
    var out = $("#docker-output");
    setStatus("info", "running: " + a.command);
    api("POST", "/api/docker/" + encodeURIComponent(a.vch), { action: a.id }).then(function (r) {
      button.disabled = false;
      out.hidden = false;
      out.textContent = "$ " + a.command + "\n" + ((r && r.output) || "") + (r && r.exit_code ? "\n(exit " + r.exit_code + ")" : "");
      setStatus(r && r.exit_code ? "error" : "info", a.title + ": exit " + (r ? r.exit_code : "?"));
    }, function (e) {
      button.disabled = false;
      out.hidden = false;
      out.textContent = "$ " + a.command + "\n" + e.message;
      setStatus("error", a.title + ": " + e.message);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Charts

  function scheduleRender() {
    if (app.renderTimer) return;
    app.renderTimer = setTimeout(function () {
      app.renderTimer = null;
      if (app.state) { renderCharts(); updateReadyCells(); }
    }, 60);
  }

  function chartSpecs() {
    var specs = [];
    (app.state.vchs || []).forEach(function (vch) {
      var group = { vch: vch, charts: [] };
      group.charts.push({
        entity: vch.pool, kind: "cpu", title: "Pool CPU", subtitle: vch.vsphere_name || vch.name,
        series: POOL_CPU, left: "MHz", limit: vch.config.cpu.limit, limitUnit: "MHz"
      });
      group.charts.push({
        entity: vch.pool, kind: "mem", title: "Pool memory", subtitle: vch.vsphere_name || vch.name,
        series: MEM, left: "MB", limit: vch.config.mem.limit, limitUnit: "MB"
      });
      (app.state.vms || []).forEach(function (vm) {
        if (vm.vch !== vch.name || vm.kind !== "container" || vm.power !== "poweredOn") return;
        var sub = vm.name + " (" + vm.moref + ", " + vm.vcpus + " vCPU)";
        group.charts.push({ entity: vm.moref, kind: "cpu", title: "CPU", subtitle: sub, series: VM_CPU, left: "MHz", right: "%" });
        group.charts.push({ entity: vm.moref, kind: "mem", title: "Memory", subtitle: sub, series: VM_MEM, left: "MB", right: "%" });
      });
      specs.push(group);
    });
    return specs;
  }

  function renderCharts() {
    var root = $("#charts");
    var groups = chartSpecs();
    var seen = {};
    var groupSeen = {};
    groups.forEach(function (g) {
      var gid = "group-" + g.vch.name;
      groupSeen[gid] = true;
      var gEl = document.getElementById(gid);
      if (!gEl) {
        gEl = el("div", { id: gid, className: "chart-group", "data-vch": g.vch.name }, [
          el("h2", { className: "group-title" }),
          el("div", { className: "chart-grid" })
        ]);
        root.appendChild(gEl);
      }
      var cpu = g.vch.config.cpu, mem = g.vch.config.mem;
      $(".group-title", gEl).textContent = (g.vch.vsphere_name || g.vch.name) + " — CPU limit " + fmtLimit(cpu.limit, "MHz") +
        ", memory limit " + fmtLimit(mem.limit, "MB");
      var grid = $(".chart-grid", gEl);
      g.charts.forEach(function (spec) {
        var key = spec.entity + "|" + spec.kind;
        seen[key] = true;
        var box = app.chartBoxes[key];
        if (!box) box = app.chartBoxes[key] = makeChartBox(spec);
        grid.appendChild(box.fig); // keeps the order of the specs
        VB.drawChart(box, spec, app);
      });
    });
    Object.keys(app.chartBoxes).forEach(function (k) {
      if (!seen[k]) { app.chartBoxes[k].fig.remove(); delete app.chartBoxes[k]; }
    });
    $all(".chart-group", root).forEach(function (g) { if (!groupSeen[g.id]) g.remove(); });
  }

  function makeChartBox(spec) {
    var svg = svgEl("svg", { "class": "chart", "data-entity": spec.entity, "data-kind": spec.kind, role: "img" });
    var legend = el("div", { className: "legend" });
    var fig = el("figure", { className: "chart-box" + (spec.entity.indexOf("vm-") === 0 ? " vm-chart" : " pool-chart") }, [
      el("figcaption", {}, [el("span", { className: "chart-title" }), el("span", { className: "chart-sub" })]),
      svg, legend
    ]);
    return { fig: fig, svg: svg, legend: legend };
  }

  // ---------------------------------------------------------------------------------------
  // Wiring

  function wire() {
    $("#clock-pause").addEventListener("click", function () { clockAction({ action: "pause" }); });
    $("#clock-resume").addEventListener("click", function () { clockAction({ action: "resume" }); });
    $("#clock-step").addEventListener("click", function () { clockAction({ action: "step" }); });
    $("#clock-speed").addEventListener("change", function (ev) {
      var sp = Number(ev.target.value);
      clockAction({ action: "speed", speed: sp });
      ev.target.blur();
    });
    $("#window").addEventListener("change", function (ev) {
      app.windowMin = Number(ev.target.value) || 15;
      scheduleRender();
    });
    window.addEventListener("resize", scheduleRender);
    document.addEventListener("keydown", function (ev) {
      var t = ev.target;
      if (!app.state || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.tagName === "BUTTON")) return;
      if (ev.key === " ") {
        ev.preventDefault();
        clockAction({ action: app.state.clock.paused ? "resume" : "pause" });
      } else if (ev.key === "s") {
        clockAction({ action: "step" });
      }
    });
  }

  function start() {
    wire();
    loadState().then(connect, function () {
      // Keep trying: the server may be starting or restarting.
      setConnection(false);
      setTimeout(start2, 2000);
    });
  }

  function start2() {
    loadState().then(connect, function () { setTimeout(start2, 3000); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/* vicbed live console, part 1 of 2: DOM and SVG helpers, number and time formatting, and
 * the SVG line chart (axes, ticks, the pool limit line, legend). Pure drawing: it reads the
 * console's state only through the `app` object passed to drawChart. console.js (part 2:
 * state, event stream, controls, panels) uses it through window.VicbedDraw.
 * Hand-written, no library, no external URL.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") e.textContent = v;
        else if (k === "className") e.className = v;
        else if (k.indexOf("on") === 0) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, String(attrs[k]));
    });
    return e;
  }

  // ---------------------------------------------------------------------------------------
  // Formatting

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function fmtTime(ms) {
    var d = new Date(ms);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }

  function fmtHM(ms) {
    var d = new Date(ms);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  function fmtElapsed(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return "T+" + pad(h) + ":" + pad(m) + ":" + pad(s % 60);
  }

  function fmtNum(v) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    var a = Math.abs(v);
    if (a >= 100) return String(Math.round(v));
    if (a >= 10) return v.toFixed(1).replace(/\.0$/, "");
    return v.toFixed(1);
  }

  function fmtLimit(v, unit) { return v === -1 ? "unlimited" : v + " " + unit; }

  // Tick labels with as many decimals as the step needs (2.5 → one, 500 → none).
  function tickFormatter(step) {
    var d = 0;
    while (d < 3 && Math.abs(step * Math.pow(10, d) - Math.round(step * Math.pow(10, d))) > 1e-6) d++;
    return function (v) { return v.toFixed(d); };
  }

  // A "nice" upper bound and step for an axis from 0 to max.
  function niceScale(max) {
    if (!(max > 0)) max = 1;
    var raw = max / 4;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    var step = mag;
    for (var i = 0; i < steps.length; i++) { step = steps[i] * mag; if (step >= raw) break; }
    return { max: Math.ceil(max / step - 1e-9) * step, step: step };
  }

  function drawChart(box, spec, app) {
    var svg = box.svg;
    var W = Math.max(320, Math.round(svg.clientWidth || 560));
    var H = Math.max(180, Math.round(svg.clientHeight || 240));
    var hasRight = !!spec.right;
    var m = { l: 62, r: hasRight ? 56 : 18, t: 14, b: 30 };
    var pw = W - m.l - m.r, ph = H - m.t - m.b;
    var now = app.state.clock.now_ms;
    if (app.nowMs !== null && app.nowMs > now) now = app.nowMs;
    // Until the window is full the chart starts at the testbed's start, so it fills from the left.
    var start = app.state.clock.start_ms || now;
    var xmax = now, xmin = Math.max(now - app.windowMin * 60000, Math.min(start, now - 2 * 60000));
    var interval = (app.state.clock.interval_s || 20) * 1000;

    // Points per series inside the window.
    var lastTs = null, maxPoints = 0;
    var data = spec.series.map(function (s) {
      var pts = [];
      app.samples.forEach(function (smp) {
        if (smp.ts_ms < xmin || smp.ts_ms > xmax) return;
        var e = smp.entities && smp.entities[spec.entity];
        if (e && typeof e[s.key] === "number" && isFinite(e[s.key])) {
          pts.push([smp.ts_ms, e[s.key]]);
          if (lastTs === null || smp.ts_ms > lastTs) lastTs = smp.ts_ms;
        }
      });
      if (pts.length > maxPoints) maxPoints = pts.length;
      return { s: s, pts: pts };
    });

    var leftMax = 0, rightMax = 0;
    data.forEach(function (d) {
      d.pts.forEach(function (p) {
        if (d.s.axis === "right") rightMax = Math.max(rightMax, p[1]);
        else leftMax = Math.max(leftMax, p[1]);
      });
    });
    var limit = typeof spec.limit === "number" && spec.limit >= 0 ? spec.limit : null;
    // The limit is the point of the demo: it always joins the scale.
    if (limit !== null) leftMax = Math.max(leftMax, limit * 1.08);
    // A little headroom, so a line at its maximum does not run along the frame.
    var ls = niceScale(leftMax * 1.05);
    var rs = niceScale(Math.max(rightMax * 1.05, 10));

    var lf = tickFormatter(ls.step), rf = tickFormatter(rs.step);
    var x = function (t) { return m.l + (t - xmin) / (xmax - xmin) * pw; };
    var yl = function (v) { return m.t + ph - v / ls.max * ph; };
    var yr = function (v) { return m.t + ph - v / rs.max * ph; };

    var frag = document.createDocumentFragment();
    frag.appendChild(svgEl("rect", { x: m.l, y: m.t, width: pw, height: ph, "class": "plot-bg" }));
    // Horizontal grid and left ticks.
    for (var v = 0; v <= ls.max + 1e-9; v += ls.step) {
      var yy = yl(v);
      frag.appendChild(svgEl("line", { x1: m.l, x2: m.l + pw, y1: yy, y2: yy, "class": "grid" }));
      frag.appendChild(svgEl("text", { x: m.l - 6, y: yy + 5, "class": "tick", "text-anchor": "end", text: lf(v) }));
    }
    frag.appendChild(svgEl("text", { x: 4, y: m.t + 2, "class": "axis-unit", "dominant-baseline": "hanging", text: spec.left }));
    if (hasRight) {
      for (var rv = 0; rv <= rs.max + 1e-9; rv += rs.step) {
        frag.appendChild(svgEl("text", { x: m.l + pw + 6, y: yr(rv) + 5, "class": "tick right", text: rf(rv) }));
      }
      frag.appendChild(svgEl("text", { x: W - 4, y: m.t + 2, "class": "axis-unit right", "text-anchor": "end", "dominant-baseline": "hanging", text: spec.right }));
    }
    // Time ticks.
    var span = xmax - xmin;
    var tickMs = span <= 6 * 60000 ? 60000 : span <= 16 * 60000 ? 3 * 60000 : 10 * 60000;
    for (var t = Math.ceil(xmin / tickMs) * tickMs; t <= xmax; t += tickMs) {
      var xx = x(t);
      frag.appendChild(svgEl("line", { x1: xx, x2: xx, y1: m.t, y2: m.t + ph, "class": "grid v" }));
      frag.appendChild(svgEl("text", { x: xx, y: H - 8, "class": "tick", "text-anchor": "middle", text: fmtHM(t) }));
    }
    // The pool's limit.
    if (limit !== null) {
      var ly = yl(limit);
      frag.appendChild(svgEl("line", { x1: m.l, x2: m.l + pw, y1: ly, y2: ly, "class": "limit-line", "data-limit": limit }));
      frag.appendChild(svgEl("text", { x: m.l + 6, y: ly - 6, "class": "limit-label", text: "limit " + limit + " " + spec.limitUnit }));
    }
    // Series, broken where samples are missing (e.g. a powered-off VM).
    data.forEach(function (d) {
      if (!d.pts.length) return;
      var yf = d.s.axis === "right" ? yr : yl;
      var path = "", prev = null;
      d.pts.forEach(function (p) {
        var cmd = prev === null || p[0] - prev > interval * 1.5 ? "M" : "L";
        path += cmd + x(p[0]).toFixed(1) + " " + yf(p[1]).toFixed(1) + " ";
        prev = p[0];
      });
      var attrs = { d: path, fill: "none", stroke: d.s.color, "stroke-width": d.s.width || 2.5, "class": "series", "data-counter": d.s.key };
      if (d.s.dash) attrs["stroke-dasharray"] = d.s.dash;
      frag.appendChild(svgEl("path", attrs));
      if (d.pts.length === 1) {
        frag.appendChild(svgEl("circle", { cx: x(d.pts[0][0]), cy: yf(d.pts[0][1]), r: 3, fill: d.s.color }));
      }
    });
    if (!maxPoints) {
      frag.appendChild(svgEl("text", { x: m.l + pw / 2, y: m.t + ph / 2, "class": "empty", "text-anchor": "middle", text: "waiting for samples…" }));
    }
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.textContent = "";
    svg.appendChild(frag);
    svg.setAttribute("data-samples", String(maxPoints));
    svg.setAttribute("data-last-ts", lastTs === null ? "" : String(lastTs));
    svg.setAttribute("aria-label", spec.title + " of " + spec.subtitle);

    var cap = box.fig.querySelector("figcaption");
    $(".chart-title", cap).textContent = spec.title;
    $(".chart-sub", cap).textContent = spec.subtitle;

    // Legend with the latest values.
    box.legend.textContent = "";
    data.forEach(function (d) {
      var last = d.pts.length ? d.pts[d.pts.length - 1][1] : null;
      var unit = app.units[d.s.key] || (d.s.axis === "right" ? spec.right : spec.left);
      box.legend.appendChild(el("span", { className: "key", "data-counter": d.s.key }, [
        el("i", { className: "swatch" + (d.s.dash ? " dashed" : ""), style: "--c:" + d.s.color }),
        d.s.label + " ",
        el("b", { text: fmtNum(last) + " " + unit })
      ]));
    });
    if (limit !== null) {
      box.legend.appendChild(el("span", { className: "key" }, [
        el("i", { className: "swatch limit" }), "Limit ", el("b", { text: limit + " " + spec.limitUnit })
      ]));
    }
  }


  window.VicbedDraw = {
    $: $, $all: $all, el: el, svgEl: svgEl,
    pad: pad, fmtTime: fmtTime, fmtHM: fmtHM, fmtElapsed: fmtElapsed, fmtNum: fmtNum, fmtLimit: fmtLimit,
    tickFormatter: tickFormatter, niceScale: niceScale, drawChart: drawChart
  };
})();

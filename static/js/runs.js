// runs.js: the run page without full reloads. Links marked data-run-nav (select a node, zoom
// the timeline) and clicks on the graph's nodes load #run-live as a fragment and keep the
// address bar in step; without this script the same links load the whole page. A running
// run's #run-live holds an SSE connection (the htmx sse extension, sse-connect): "run"
// events carry only the nodes that changed, which apply() draws; a "snapshot" event (a
// reconnection that may have missed changes, or the run's end) loads #run-live again.
(function () {
  "use strict";

  function live() {
    return document.getElementById("run-live");
  }

  // load swaps #run-live for the fragment of the page at url, and shows url in the address
  // bar (replaceState: selections and zooms are not worth a history entry each). A snapshot
  // is asked for by #run-live itself, so the server sends the output too once the run ended.
  function load(url, snapshot) {
    var target = live();
    if (!target || !window.htmx) {
      window.location.assign(url);
      return;
    }
    var opts = { target: "#run-live", swap: "outerHTML" };
    if (snapshot) opts.source = target;
    window.htmx.ajax("GET", url, opts).then(function () {
      window.history.replaceState(null, "", url);
    });
  }

  function here() {
    return window.location.pathname + window.location.search;
  }

  // setStatus swaps an element's status-* class for status-<s>, keeping its other classes.
  function setStatus(el, s) {
    if (!el) return;
    var keep = (el.getAttribute("class") || "").split(/\s+/).filter(function (c) {
      return c && c.indexOf("status-") !== 0;
    });
    keep.push("status-" + s);
    el.setAttribute("class", keep.join(" "));
  }

  function svgNodes(markup) {
    var holder = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    holder.innerHTML = markup;
    return holder.firstElementChild;
  }

  // drawNode shows one node's new status on the drawing and the timeline.
  function drawNode(root, id, n) {
    var esc = window.CSS && CSS.escape ? CSS.escape(id) : id;
    var g = root.querySelector('.gnode[data-node-id="' + esc + '"]');
    setStatus(g, n.status);
    var title = g && g.querySelector("title");
    if (title) title.textContent = title.textContent.replace(/: [^:]*$/, ": " + n.note);
    var line = g && g.querySelector(".gnode-line");
    if (line) line.textContent = n.progress || "";
    var row = root.querySelector('[data-testid="tl-row-' + esc + '"]');
    if (row) {
      setStatus(row, n.status);
      row.setAttribute("data-status", n.status);
      var hidden = row.querySelector(".visually-hidden");
      if (hidden) hidden.textContent = ", " + n.note;
    }
    setStatus(root.querySelector('rect.tl-row-bg[data-row="' + esc + '"]'), n.status);
    var plot = root.querySelector(".tl-plot");
    // The event draws a map's items collapsed; a map shown expanded (?items=) keeps its rows.
    var expanded = new URL(window.location.href).searchParams.get("items");
    if (!plot || !n.bars || id === expanded) return;
    var bars = svgNodes(n.bars);
    var old = plot.querySelector('[data-testid="tl-bars-' + esc + '"]');
    if (old) {
      old.replaceWith(bars);
    } else {
      plot.insertBefore(bars, plot.querySelector(".tl-now"));
    }
  }

  // apply draws a "run" event. The timeline follows only while it shows the whole run on
  // the scale the event was drawn on; otherwise #run-live is loaded again.
  function apply(ev) {
    var root = live();
    if (!root) return;
    var d = JSON.parse(ev.data);
    var tl = root.querySelector(".timeline");
    if (tl && tl.hasAttribute("data-horizon") && tl.getAttribute("data-horizon") !== String(d.horizon)) {
      load(here(), true);
      return;
    }
    // New rows (an agent's turn or call, a map's item) or a pause cannot be drawn in place.
    // A map shown expanded (?items=) has rows of its own; it keeps them.
    var expandedMap = new URL(window.location.href).searchParams.get("items");
    if (tl && !expandedMap && tl.hasAttribute("data-layout") && tl.getAttribute("data-layout") !== d.layout) {
      load(here(), true);
      return;
    }
    root.setAttribute("data-status", d.status);
    var badge = root.querySelector('[data-testid="run-status"]');
    if (badge) badge.innerHTML = d.badge;
    var dur = root.querySelector('[data-testid="run-duration"]');
    if (dur) dur.textContent = d.duration;
    var counts = document.getElementById("run-counts");
    if (counts) counts.outerHTML = d.counts;
    var selected = new URL(window.location.href).searchParams.get("node");
    Object.keys(d.nodes).forEach(function (id) {
      drawNode(root, id, d.nodes[id]);
    });
    var now = root.querySelector(".tl-now");
    if (now && tl && tl.hasAttribute("data-horizon")) {
      now.setAttribute("x1", d.now_x + "%");
      now.setAttribute("x2", d.now_x + "%");
      root.querySelectorAll('.tl-span[data-open]').forEach(function (r) {
        r.setAttribute("width", Math.max(d.now_x - parseFloat(r.getAttribute("x")), 0.15) + "%");
      });
    }
    if (selected && d.nodes[selected] && window.htmx) {
      window.htmx.ajax("GET", here(), { target: "#run-inspector", swap: "outerHTML" });
    }
  }

  // Each EventSource the sse extension opens (again) gets the page's listeners once.
  var sources = new WeakSet();
  document.addEventListener("htmx:sseOpen", function (ev) {
    var src = ev.detail && ev.detail.source;
    if (!src || sources.has(src) || ev.target !== live()) return;
    sources.add(src);
    src.addEventListener("run", apply);
    src.addEventListener("snapshot", function () {
      src.close();
      load(here(), true);
    });
  });

  // nodeURL is the page's URL with node=id, keeping the time window.
  function nodeURL(id) {
    var u = new URL(window.location.href);
    u.searchParams.set("node", id);
    return u.pathname + u.search;
  }

  document.addEventListener("click", function (ev) {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    var root = live();
    if (!root || !root.contains(ev.target)) return;
    var link = ev.target.closest("a[data-run-nav]");
    if (link) {
      ev.preventDefault();
      load(link.getAttribute("href"));
      return;
    }
    var node = ev.target.closest(".gnode[data-node-id]");
    if (node) {
      ev.preventDefault();
      load(nodeURL(node.getAttribute("data-node-id")));
    }
  });

  // The graph's nodes are focusable buttons, so a keyboard can select them too.
  function decorate() {
    var root = live();
    if (!root) return;
    root.querySelectorAll(".gnode[data-node-id]").forEach(function (g) {
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
    });
  }
  // refocus is the node a keyboard selected, focused again once the new fragment is in.
  var refocus = "";
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" && ev.key !== " ") return;
    var node = ev.target.closest && ev.target.closest("#run-live .gnode[data-node-id]");
    if (!node) return;
    ev.preventDefault();
    refocus = node.getAttribute("data-node-id");
    load(nodeURL(refocus));
  });
  document.addEventListener("htmx:afterSettle", function () {
    decorate();
    if (!refocus) return;
    var root = live();
    var again = root && Array.prototype.find.call(root.querySelectorAll(".gnode[data-node-id]"), function (g) {
      return g.getAttribute("data-node-id") === refocus;
    });
    refocus = "";
    if (again) again.focus();
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", decorate);
  } else {
    decorate();
  }
})();

// runs.js: the run page without full reloads. Links marked data-run-nav (select a node, zoom
// the timeline) and clicks on the graph's nodes load #run-live as a fragment and keep the
// address bar in step; without this script the same links load the whole page. Polling of
// a running run is plain htmx (hx-trigger="every 2s" on #run-live).
(function () {
  "use strict";

  function live() {
    return document.getElementById("run-live");
  }

  // load swaps #run-live for the fragment of the page at url, and shows url in the address
  // bar (replaceState: selections and zooms are not worth a history entry each).
  function load(url) {
    var target = live();
    if (!target || !window.htmx) {
      window.location.assign(url);
      return;
    }
    window.htmx.ajax("GET", url, { target: "#run-live", swap: "outerHTML" }).then(function () {
      window.history.replaceState(null, "", url);
    });
  }

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

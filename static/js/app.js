// app.js: small progressive enhancements shared by every page. Pages work without it.
// No inline scripts are allowed (CSP), so page behaviour lives in files like this one.
(function () {
  "use strict";

  // showFlash puts a message into the page's live region (#flash in the layout).
  function showFlash(message, kind) {
    var region = document.getElementById("flash");
    if (!region) return;
    var p = document.createElement("p");
    p.className = "flash flash-" + (kind || "error");
    p.setAttribute("data-testid", "flash");
    p.textContent = message;
    region.replaceChildren(p);
  }
  window.trellis = { showFlash: showFlash };

  // htmx does not swap 4xx/5xx answers (except 422, see the htmx-config meta tag), so say
  // something instead of failing silently.
  document.addEventListener("htmx:responseError", function (ev) {
    var status = ev.detail && ev.detail.xhr ? ev.detail.xhr.status : 0;
    var message = "Something went wrong. Please try again.";
    if (status === 403) message = "You are not allowed to do that, or the page has expired. Reload and try again.";
    else if (status === 404) message = "That no longer exists.";
    else if (status === 409) message = "Someone else changed this first. Reload to see the latest.";
    else if (status === 413) message = "That is too large.";
    showFlash(message, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showFlash("The server cannot be reached. Check your connection and try again.", "error");
  });

  // Pop-up menus (details.menu, details.import-panel) close on Escape, giving focus back to
  // their button, and menus close on a click elsewhere, as menus do.
  var popups = "details.menu[open], details.import-panel[open]";
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var open = document.querySelectorAll(popups);
    if (open.length === 0) return;
    var inner = ev.target instanceof Element ? ev.target.closest(popups) : null;
    open.forEach(function (d) { d.open = false; });
    var summary = (inner || open[open.length - 1]).querySelector("summary");
    if (summary) summary.focus();
    ev.preventDefault();
  });
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.open = false;
    });
  });

  // Forms and buttons with data-confirm="Question?" ask before submitting.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var submitter = ev.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);
})();

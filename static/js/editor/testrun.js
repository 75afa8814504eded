// testrun.js: a test run of the draft from the editor. "Test run…" saves the draft, loads the
// start form made from the draft's input schema into a dialog, starts the run, and then
// colours the canvas's nodes by their status in the run (data-run-status) until it ends,
// polling the run's JSON. The server marks the run as a draft's (templates/editor_testrun.templ,
// web/graph_test_run.go). Without this script "Test run…" is a link to the form's page.

import { csrfToken } from "./dom.js";

const POLL_MS = 1000;
const ENDED = new Set(["completed", "failed", "cancelled"]);

let current = null; // {id, timer, statuses}

function el(id) {
  return document.getElementById(id);
}

function editor() {
  return window.trellisEditor;
}

// fetchHTML asks the server for a fragment (HX-Request), without following the sign-in
// redirect of an expired session into the dialog.
async function fetchHTML(url, init) {
  const headers = Object.assign({ "HX-Request": "true", "X-CSRF-Token": csrfToken() }, (init && init.headers) || {});
  let resp;
  try {
    resp = await fetch(url, Object.assign({ credentials: "same-origin" }, init, { headers }));
  } catch (err) {
    return { status: 0, html: "" };
  }
  if (resp.redirected && new URL(resp.url).pathname === "/login") return { status: 401, html: "" };
  return { status: resp.status, html: await resp.text() };
}

function showMessage(text) {
  const body = el("testrun-body");
  body.replaceChildren();
  const p = document.createElement("div");
  p.className = "alert alert-error";
  p.setAttribute("role", "alert");
  p.setAttribute("data-testid", "testrun-refusal");
  p.textContent = text;
  body.appendChild(p);
}

// open saves the draft, then loads the form for it into the dialog.
async function open(link) {
  const ed = editor();
  const dialog = el("testrun-dialog");
  if (!ed || !dialog) {
    window.location.assign(link.href);
    return;
  }
  el("testrun-body").textContent = "Saving the draft…";
  if (!dialog.open) dialog.showModal();
  const saved = await ed.saver.flush();
  if (!saved) {
    showMessage("The draft could not be saved, so it cannot be tested. Save it first (Ctrl+S), then try again.");
    return;
  }
  const res = await fetchHTML(link.href);
  if (res.status === 0 || res.status === 401 || res.status >= 500 || !res.html) {
    showMessage(res.status === 401 ? "You have been signed out. Sign in again in another tab." : "The test run form could not be loaded. Try again.");
    return;
  }
  fill(res.html);
}

// fill puts a fragment into the dialog: a form, a refusal, or the run just started.
function fill(html) {
  const body = el("testrun-body");
  body.innerHTML = html;
  const started = body.querySelector("[data-testid=testrun-started]");
  if (started) {
    el("testrun-dialog").close();
    follow(started.dataset.runId, started.dataset.runUrl, started.dataset.stateUrl);
    return;
  }
  const form = body.querySelector("form");
  if (!form) return;
  const rev = form.querySelector('input[name="revision"]');
  const ed = editor();
  if (rev && ed && ed.saver.revision) rev.value = String(ed.saver.revision);
  const first = form.querySelector("input:not([type=hidden]), textarea, select");
  if (first) first.focus();
}

async function submit(form) {
  const btn = form.querySelector("[type=submit]");
  if (btn) btn.disabled = true;
  const res = await fetchHTML(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) });
  if (btn) btn.disabled = false;
  if (res.status === 0 || res.status === 401 || !res.html) {
    showMessage(res.status === 401 ? "You have been signed out. Sign in again in another tab." : "The test run could not be started. Try again.");
    return;
  }
  fill(res.html);
}

// follow shows the run in the strip and polls it until it ends.
function follow(id, runURL, stateURL) {
  clear();
  const bar = el("testrun-bar");
  const link = el("testrun-link");
  link.textContent = id;
  link.href = runURL;
  bar.hidden = false;
  bar.dataset.runId = id;
  current = { id, timer: 0, statuses: {} };
  el("testrun-status").textContent = "starting…";
  poll(current, stateURL);
}

async function poll(run, stateURL) {
  let resp = null;
  try {
    resp = await fetch(stateURL, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  } catch (err) {
    resp = null;
  }
  if (current !== run) return;
  if (resp && resp.ok) {
    const state = await resp.json();
    show(run, state);
    if (ENDED.has(state.status)) return;
  }
  run.timer = setTimeout(() => poll(run, stateURL), POLL_MS);
}

// show colours the nodes and says how the run stands.
function show(run, state) {
  const bar = el("testrun-bar");
  const ended = ENDED.has(state.status);
  bar.dataset.status = state.status;
  el("testrun-status").textContent = state.status;
  const err = state.error;
  el("testrun-error").textContent = err && state.status === "failed" ? err.message : "";
  run.statuses = {};
  for (const [id, n] of Object.entries(state.nodes || {})) {
    let s = n.status || "pending";
    if (ended && s === "pending") s = "not-reached";
    run.statuses[id] = s;
  }
  paint(run.statuses);
}

function nodeElements() {
  return document.querySelectorAll("#nodes-layer .node[data-id]");
}

function paint(statuses) {
  for (const g of nodeElements()) {
    const s = statuses[g.dataset.id];
    if (s) {
      g.setAttribute("data-run-status", s);
    } else {
      g.removeAttribute("data-run-status");
    }
  }
}

// clear stops following and takes the colours off.
function clear() {
  if (current) clearTimeout(current.timer);
  current = null;
  const bar = el("testrun-bar");
  if (bar) {
    bar.hidden = true;
    delete bar.dataset.runId;
    delete bar.dataset.status;
  }
  for (const g of nodeElements()) g.removeAttribute("data-run-status");
}

function install() {
  const bar = el("testrun-bar");
  const toolbar = document.querySelector(".editor-toolbar");
  // The strip sits under the toolbar, where the template cannot put it from inside it.
  if (bar && toolbar) toolbar.after(bar);
  document.addEventListener("click", (ev) => {
    const openLink = ev.target.closest("[data-testrun-open]");
    if (openLink) {
      ev.preventDefault();
      open(openLink);
      return;
    }
    if (ev.target.closest("[data-testrun-close]")) {
      el("testrun-dialog").close();
      return;
    }
    if (ev.target.closest("[data-testrun-clear]")) clear();
  });
  document.addEventListener("submit", (ev) => {
    const form = ev.target.closest("#testrun-body form");
    if (!form) return;
    ev.preventDefault();
    submit(form);
  });
  // Nodes the canvas redraws (or adds) keep the colour of the run being shown.
  const layer = document.getElementById("nodes-layer");
  if (layer) {
    new MutationObserver(() => {
      if (current) paint(current.statuses);
    }).observe(layer, { childList: true });
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", install);
} else {
  install();
}

// panel.js: the side panel. It shows the graph's settings when nothing is selected, the
// server-rendered settings form of a selected node, a small form for a selected edge, and
// the problems list. Edits in the forms go straight into the draft.

import { html, request, truncate } from "./dom.js";
import { ID_PATTERN } from "./model.js";

export class Panel {
  constructor(ed, root) {
    this.ed = ed;
    this.root = root.querySelector("#panel");
    this.body = root.querySelector("#panel-body");
    this.settings = root.querySelector("#graph-settings");
    this.nodePanel = html("div", { class: "node-panel", id: "node-panel" });
    this.nodePanel.hidden = true;
    this.body.appendChild(this.nodePanel);
    this.list = root.querySelector("#problem-list");
    this.total = root.querySelector("#problems-total");
    this.none = root.querySelector("#problems-none");
    this.countBtn = root.querySelector("#problem-count");
    this.current = { type: "graph" };
    this.localErrors = new Map(); // path → message, for values that cannot be read (bad JSON)
    this.seq = 0;
    this.root.addEventListener("input", (ev) => this.onInput(ev));
    this.root.addEventListener("change", (ev) => this.onChange(ev));
    this.root.addEventListener("click", (ev) => this.onClick(ev));
    this.root.addEventListener("focusout", (ev) => {
      if (ev.target.matches && ev.target.matches("textarea, input")) this.ed.history.breakRun();
    });
  }

  // show puts what the selection calls for into the panel.
  show(opts) {
    opts = opts || {};
    const sel = this.ed.sel;
    if (sel.nodes.size === 1 && sel.edges.size === 0) {
      const id = [...sel.nodes][0];
      if (!opts.reload && this.current.type === "node" && this.current.id === id) {
        if (opts.focus && this.loading) this.pendingFocus = opts;
        else if (opts.focus) this.focusForm(opts.field);
        return;
      }
      this.showNode(id, opts);
    } else if (sel.nodes.size === 0 && sel.edges.size === 1) {
      this.showEdge([...sel.edges][0], opts);
    } else if (sel.nodes.size + sel.edges.size > 1) {
      this.showMulti();
    } else {
      this.showGraph(opts);
    }
  }

  swap(type, id) {
    this.seq++;
    this.loading = false;
    this.localErrors.clear();
    this.current = { type, id };
    this.settings.hidden = type !== "graph";
    this.nodePanel.hidden = type === "graph";
  }

  showGraph(opts) {
    this.swap("graph");
    this.nodePanel.replaceChildren();
    const doc = this.ed.model.doc;
    for (const el of this.settings.querySelectorAll("[data-graph-path]")) {
      const v = doc[el.dataset.graphPath];
      const text = v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v, null, 2);
      if (el.value !== text && document.activeElement !== el) el.value = text;
    }
    this.applyProblems();
    if (opts && opts.focus) this.focusForm(opts.field);
  }

  // showNode asks the server for the node's settings form and shows it.
  async showNode(id, opts) {
    this.swap("node", id);
    const seq = this.seq;
    const node = this.ed.model.node(id);
    if (!node) return this.showGraph();
    if (!this.nodePanel.firstChild || this.nodePanel.firstChild.dataset.nodeId !== id) {
      this.nodePanel.replaceChildren(html("div", { class: "panel-loading", "aria-busy": "true" }, "Loading the settings…"));
    }
    const ids = this.ed.model.nodes.map((n) => n.id).filter((x) => x !== id);
    this.loading = true;
    this.pendingFocus = opts && opts.focus ? opts : null;
    const res = await request("POST", this.ed.urls.node_form, { node, node_ids: ids }, { Accept: "text/html" });
    if (seq !== this.seq) return; // the selection moved on meanwhile
    this.loading = false;
    const focus = this.pendingFocus;
    this.pendingFocus = null;
    if (!res.ok) {
      let msg = "The settings could not be loaded.";
      if (res.status === 0) msg = "The settings could not be loaded: the server cannot be reached.";
      if (res.status === 401) msg = "You have been signed out. Sign in again in another tab, then try again.";
      const retry = html("button", { type: "button", class: "btn btn-secondary btn-small", "data-action": "reload-form" }, "Try again");
      this.nodePanel.replaceChildren(html("div", { class: "alert alert-error", role: "alert" }, msg), retry);
      return;
    }
    this.nodePanel.innerHTML = res.body; // rendered and escaped by the server's templates
    const actions = this.nodePanel.querySelector(".panel-actions");
    this.nodePanel.firstElementChild.insertBefore(this.connections(id), actions);
    // Problems from the last save know about edges (cycles, ports); use them when the draft
    // has not changed since.
    this.formFromServer = true;
    if (this.ed.problems.fresh) this.applyProblems({ fromSave: true });
    if (focus) this.focusForm(focus.field);
  }

  // refreshConnections redraws the connections of the node shown, after edges changed.
  refreshConnections() {
    if (this.current.type !== "node") return;
    const old = this.nodePanel.querySelector(".panel-connections");
    if (old) old.replaceWith(this.connections(this.current.id));
  }

  // connections lists the node's edges, so that keyboard users can select and remove them.
  connections(id) {
    const m = this.ed.model;
    const sec = html("section", { class: "panel-connections", "data-testid": "node-connections" });
    sec.appendChild(html("h3", { class: "panel-subtitle" }, "Connections"));
    const ul = html("ul", { role: "list" });
    m.edges.forEach((e, i) => {
      if (e.from !== id && e.to !== id) return;
      const out = e.from === id;
      const other = m.node(out ? e.to : e.from);
      const otherId = out ? e.to : e.from;
      const name = other && other.label ? `${other.label} (${otherId})` : otherId;
      const li = html("li");
      const sel = html("button", { type: "button", class: "btn btn-link btn-small", "data-select-edge": i }, (out ? "→ " : "← ") + truncate(name, 28));
      li.appendChild(sel);
      if (e.port && e.port !== "out") li.appendChild(html("span", { class: "badge badge-neutral" }, e.port));
      if (e.when) li.appendChild(html("span", { class: "muted small mono", title: e.when }, "if " + truncate(e.when, 22)));
      li.appendChild(html("button", { type: "button", class: "btn btn-link btn-small conn-remove", "data-remove-edge": i, "aria-label": `Remove the connection ${out ? "to" : "from"} ${name}` }, "Remove"));
      ul.appendChild(li);
    });
    if (!ul.firstChild) sec.appendChild(html("p", { class: "hint" }, "None yet. Drag from a dot on the step's right edge, or press C."));
    else sec.appendChild(ul);
    return sec;
  }

  showEdge(edge, opts) {
    const m = this.ed.model;
    const index = m.edges.indexOf(edge);
    this.swap("edge", index);
    this.current.edge = edge;
    const from = m.node(edge.from);
    const to = m.node(edge.to);
    const wrap = html("div", { class: "panel-section edge-form", "data-testid": "edge-form" });
    wrap.appendChild(html("h2", { class: "panel-title", id: "panel-title" }, "Connection"));
    const p = html("p", { class: "hint" });
    p.append("From ", html("strong", null, from ? from.label || from.id : edge.from), " to ", html("strong", null, to ? to.label || to.id : edge.to), ".");
    wrap.appendChild(p);
    wrap.appendChild(html("div", { class: "alert alert-error node-problems", "data-node-problems": "", hidden: true }, ""));

    const ports = from ? m.portsOf(from) : [];
    const port = edge.port || "out";
    if (!ports.includes(port)) ports.unshift(port);
    const f1 = html("div", { class: "field", "data-field": "port" });
    f1.appendChild(html("label", { for: "edge-port" }, "Exit"));
    const sel = html("select", { id: "edge-port", "data-edge-field": "port", "data-testid": "edge-port", "aria-describedby": "edge-port-hint edge-port-error" });
    for (const name of ports) {
      const o = html("option", { value: name }, name);
      if (name === port) o.selected = true;
      sel.appendChild(o);
    }
    f1.appendChild(sel);
    f1.appendChild(html("p", { class: "hint", id: "edge-port-hint" }, "Which outcome of the first step this connection follows."));
    f1.appendChild(html("p", { class: "field-error", id: "edge-port-error", "data-error-for": "port", hidden: true }));
    wrap.appendChild(f1);

    const f2 = html("div", { class: "field", "data-field": "when" });
    f2.appendChild(html("label", { for: "edge-when" }, "Only when"));
    const when = html("textarea", { id: "edge-when", class: "mono", rows: "3", spellcheck: "false", "data-edge-field": "when", "data-testid": "edge-when", placeholder: "e.g. input.amount >= 500", "aria-describedby": "edge-when-hint edge-when-error" });
    when.value = edge.when || "";
    f2.appendChild(when);
    f2.appendChild(html("p", { class: "hint", id: "edge-when-hint" }, "Optional expression; the connection is followed only when it is true. Leave it empty to always follow it."));
    f2.appendChild(html("p", { class: "field-error", id: "edge-when-error", "data-error-for": "when", hidden: true }));
    wrap.appendChild(f2);

    const actions = html("div", { class: "panel-actions" });
    actions.appendChild(html("button", { type: "button", class: "btn btn-secondary btn-small", "data-select-node": edge.from }, "Select the first step"));
    actions.appendChild(html("button", { type: "button", class: "btn btn-secondary btn-small", "data-select-node": edge.to }, "Select the second step"));
    actions.appendChild(html("button", { type: "button", class: "btn btn-danger btn-small", "data-action": "delete", "data-testid": "edge-delete" }, "Delete connection"));
    wrap.appendChild(actions);
    this.nodePanel.replaceChildren(wrap);
    this.applyProblems();
    if (opts && opts.focus) this.focusForm(opts.field);
  }

  showMulti() {
    this.swap("multi");
    const sel = this.ed.sel;
    const wrap = html("div", { class: "panel-section", "data-testid": "multi-form" });
    wrap.appendChild(html("h2", { class: "panel-title", id: "panel-title" }, "Selection"));
    const parts = [];
    if (sel.nodes.size) parts.push(`${sel.nodes.size} step${sel.nodes.size > 1 ? "s" : ""}`);
    if (sel.edges.size) parts.push(`${sel.edges.size} connection${sel.edges.size > 1 ? "s" : ""}`);
    wrap.appendChild(html("p", null, parts.join(" and ") + " selected. Drag one of them to move them all, or use the arrow keys."));
    const actions = html("div", { class: "panel-actions" });
    actions.appendChild(html("button", { type: "button", class: "btn btn-secondary btn-small", "data-action": "layout-selection" }, "Auto-layout these"));
    actions.appendChild(html("button", { type: "button", class: "btn btn-secondary btn-small", "data-action": "copy" }, "Copy"));
    actions.appendChild(html("button", { type: "button", class: "btn btn-danger btn-small", "data-action": "delete", "data-testid": "multi-delete" }, "Delete all"));
    wrap.appendChild(actions);
    this.nodePanel.replaceChildren(wrap);
  }

  focusForm(field) {
    const scope = this.current.type === "graph" ? this.settings : this.nodePanel;
    const controls = [...scope.querySelectorAll("[data-path], [data-graph-path], [data-edge-field]")];
    const nameOf = (c) => c.dataset.path || c.dataset.graphPath || c.dataset.edgeField;
    let el = null;
    if (field) {
      const name = bestField(controls.map(nameOf), field);
      el = controls.find((c) => nameOf(c) === name) || null;
    }
    if (!el) el = scope.querySelector('[data-path="label"]') || controls[0];
    if (!el) return;
    if (el.matches("fieldset")) el = el.querySelector("input") || el.querySelector("button") || el;
    const details = el.closest("details");
    if (details) details.open = true;
    el.focus();
    el.scrollIntoView({ block: "nearest" });
  }

  // Edits.

  onInput(ev) {
    const el = ev.target;
    if (el.closest("#problems")) return;
    const graphPath = el.dataset.graphPath;
    if (graphPath) {
      const r = readControl(el, el.dataset.type);
      this.setLocalError(graphPath, r.error);
      if (!r.error) this.ed.setGraphField(graphPath, r.value);
      return;
    }
    const edgeField = el.dataset.edgeField;
    if (edgeField && this.current.type === "edge") {
      let v = el.value;
      if (edgeField === "port") v = v === "out" ? undefined : v;
      if (edgeField === "when") v = v.trim() === "" ? undefined : v;
      this.ed.setEdgeField(this.current.edge, edgeField, v);
      return;
    }
    const host = el.closest("[data-path]");
    if (!host || this.current.type !== "node") return;
    const path = host.dataset.path;
    if (host.dataset.type === "id") {
      this.setLocalError(path, "");
      return; // ids change on "change", when the user is done typing
    }
    const r = readControl(host, host.dataset.type);
    this.setLocalError(path, r.error);
    if (!r.error) this.ed.setNodeField(this.current.id, path, r.value);
  }

  onChange(ev) {
    const host = ev.target.closest("[data-path]");
    if (!host || this.current.type !== "node" || host.dataset.type !== "id") return;
    const next = host.value.trim();
    const id = this.current.id;
    if (next === id) return;
    let err = "";
    if (!ID_PATTERN.test(next)) err = "Use lowercase letters, digits and _, starting with a letter (at most 63).";
    else if (this.ed.model.node(next)) err = `Another step already has the ID “${next}”.`;
    this.setLocalError("id", err);
    if (err) return;
    this.ed.renameNode(id, next);
  }

  onClick(ev) {
    const t = ev.target.closest("button, [data-column]");
    if (!t) return;
    if (t.matches("[data-column]")) return this.goToColumn(t);
    const action = t.dataset.action;
    if (t.dataset.problem !== undefined) return this.ed.revealProblem(this.shown[Number(t.dataset.problem)]);
    if (t.dataset.selectEdge !== undefined) return this.ed.selectEdges([this.ed.model.edges[Number(t.dataset.selectEdge)]]);
    if (t.dataset.removeEdge !== undefined) return this.ed.removeEdges([this.ed.model.edges[Number(t.dataset.removeEdge)]]);
    if (t.dataset.selectNode !== undefined) return this.ed.selectNodes([t.dataset.selectNode], { focus: true });
    switch (action) {
      case "add-row": {
        const fs = t.closest("fieldset");
        const tpl = fs.querySelector("template[data-row-template]");
        const row = tpl.content.firstElementChild.cloneNode(true);
        fs.querySelector("[data-rows]").appendChild(row);
        row.querySelector("input").focus();
        return;
      }
      case "remove-row": {
        const fs = t.closest("fieldset");
        t.closest(".multi-row").remove();
        const r = readControl(fs, fs.dataset.type);
        this.ed.setNodeField(this.current.id, fs.dataset.path, r.value);
        (fs.querySelector("input") || fs.querySelector("button")).focus();
        return;
      }
      case "reload-form":
        return this.show({ reload: true });
      case "delete":
        return this.ed.deleteSelection();
      case "duplicate":
        return this.ed.duplicateSelection();
      case "connect":
        return this.ed.openConnect();
      case "copy":
        return this.ed.copy();
      case "layout-selection":
        return this.ed.autoLayout([...this.ed.sel.nodes]);
    }
  }

  // goToColumn puts the caret where an expression error is.
  goToColumn(errEl) {
    const path = errEl.dataset.errorFor;
    const input = this.nodePanel.querySelector(`[data-path="${cssEscape(path)}"]`) || this.settings.querySelector(`[data-graph-path="${cssEscape(path)}"]`);
    if (!input || typeof input.setSelectionRange !== "function") return;
    let col = Number(errEl.dataset.column) - 1;
    // A JSON string holding an expression starts with its quote.
    if (input.dataset.type === "json" && input.value.trimStart().startsWith('"')) col += input.value.indexOf('"') + 1;
    input.focus();
    input.setSelectionRange(col, col + 1);
  }

  setLocalError(path, msg) {
    if (msg) this.localErrors.set(path, msg);
    else this.localErrors.delete(path);
    this.applyProblems();
  }

  // applyProblems shows the problems of what the panel shows next to its fields.
  applyProblems(opts) {
    if (opts && opts.fromSave) this.formFromServer = false;
    const scope = this.current.type === "graph" ? this.settings : this.nodePanel;
    const errEls = [...scope.querySelectorAll("[data-error-for]")];
    const names = errEls.map((e) => e.dataset.errorFor);
    const byField = new Map();
    const loose = [];
    const add = (field, text, column) => {
      if (!byField.has(field)) byField.set(field, []);
      byField.get(field).push({ text, column });
    };
    let list = [];
    const pr = this.ed.problems;
    if (this.current.type === "node") list = pr.byNode.get(this.current.id) || [];
    else if (this.current.type === "edge") list = pr.byEdge.get(this.current.id) || [];
    else if (this.current.type === "graph") list = pr.graph;
    else return;
    if (this.current.type === "node" && this.formFromServer) {
      // The server rendered this form's errors from the node as it is now; keep them until
      // the next save answers.
      return this.applyLocal(errEls);
    }
    for (const p of list) {
      const field = String(p.field || "").replace(/^(nodes|edges)\[\d+\]\./, "");
      const name = bestField(names, field);
      const text = problemText(p);
      if (name) add(name, text, p.column);
      else loose.push(text);
    }
    for (const el of errEls) {
      const name = el.dataset.errorFor;
      const local = this.localErrors.get(name);
      const items = local ? [{ text: local }] : byField.get(name) || [];
      showError(el, scope, name, items, !!local);
    }
    const box = scope.querySelector("[data-node-problems]");
    if (box) {
      const ul = html("ul", { role: "list" });
      for (const t of loose) ul.appendChild(html("li", null, t));
      box.replaceChildren(ul);
      box.hidden = loose.length === 0;
    }
  }

  applyLocal(errEls) {
    for (const el of errEls) {
      const local = this.localErrors.get(el.dataset.errorFor);
      if (local) showError(el, this.nodePanel, el.dataset.errorFor, [{ text: local }], true);
      else if (el.dataset.local) showError(el, this.nodePanel, el.dataset.errorFor, [], false);
    }
  }

  // renderProblems fills the problems list and the count in the toolbar.
  renderProblems() {
    const all = this.ed.problems.all;
    const m = this.ed.model;
    const max = 200;
    this.shown = all.slice(0, max);
    const frag = document.createDocumentFragment();
    this.shown.forEach((p, i) => {
      let where = "Graph";
      if (p.node) {
        const n = m.node(p.node);
        where = n && n.label ? `${n.label} (${p.node})` : p.node;
      } else if (p.edge !== undefined && p.edge !== null) {
        const e = m.edges[p.edge];
        where = e ? `${e.from} → ${e.to}` : `Connection ${p.edge + 1}`;
      }
      const field = String(p.field || "").replace(/^(nodes|edges)\[\d+\]\./, "");
      const li = html("li");
      const b = html("button", { type: "button", class: "problem", "data-problem": i, "data-testid": "problem" });
      b.appendChild(html("span", { class: "problem-where" }, where + (field ? " · " + field : "")));
      b.appendChild(html("span", { class: "problem-msg" }, problemText(p)));
      li.appendChild(b);
      frag.appendChild(li);
    });
    if (all.length > max) frag.appendChild(html("li", { class: "hint" }, `…and ${all.length - max} more.`));
    this.list.replaceChildren(frag);
    this.total.textContent = String(all.length);
    this.none.hidden = all.length > 0;
    this.countBtn.textContent = all.length === 0 ? "No problems" : `${all.length} problem${all.length > 1 ? "s" : ""}`;
    this.countBtn.classList.toggle("has-problems", all.length > 0);
  }
}

function showError(el, scope, name, items, local) {
  const text = items.map((i) => i.text).join(" ");
  if (local) el.dataset.local = "1";
  else delete el.dataset.local;
  el.textContent = text;
  el.hidden = !text;
  if (items.length && items[0].column) el.dataset.column = items[0].column;
  else delete el.dataset.column;
  el.title = el.dataset.column ? "Click to go to the column" : "";
  const control = scope.querySelector(`[data-path="${cssEscape(name)}"], [data-graph-path="${cssEscape(name)}"], [data-edge-field="${cssEscape(name)}"]`);
  if (control) {
    if (text) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
    const field = control.closest(".field");
    if (field) field.classList.toggle("field-invalid", !!text);
  }
}

// bestField is the longest field name that is the problem's field or a prefix of it.
export function bestField(names, field) {
  let best = "";
  for (const n of names) {
    if (n.length <= best.length) continue;
    if (field === n || (field.startsWith(n) && (field[n.length] === "." || field[n.length] === "["))) best = n;
  }
  return best;
}

// problemText is a problem's message as a sentence, with the column when known.
export function problemText(p) {
  let msg = String(p.message || "");
  msg = msg.charAt(0).toUpperCase() + msg.slice(1);
  if (!/[.!?]$/.test(msg)) msg += ".";
  return p.column ? `Column ${p.column}: ${msg}` : msg;
}

// readControl reads a form control back into a JSON value: {value} (undefined to remove the
// setting) or {error} when the text cannot be read.
export function readControl(host, type) {
  const control = host.dataset.control;
  if (control === "map") {
    const obj = {};
    for (const row of host.querySelectorAll("[data-rows] .multi-row")) {
      const k = row.querySelector('[data-part="key"]').value.trim();
      if (k) obj[k] = row.querySelector('[data-part="value"]').value;
    }
    return { value: Object.keys(obj).length ? obj : undefined };
  }
  if (control === "list") {
    const items = [...host.querySelectorAll('[data-rows] [data-part="item"]')].map((i) => i.value.trim()).filter(Boolean);
    return { value: items.length ? items : undefined };
  }
  if (host.type === "checkbox") return { value: host.checked ? true : undefined };
  const raw = host.value;
  const blank = raw.trim() === "";
  switch (type) {
    case "number":
    case "integer": {
      if (blank) return { value: undefined };
      const n = Number(raw);
      if (!Number.isFinite(n)) return { error: "Enter a number." };
      if (type === "integer" && !Number.isInteger(n)) return { error: "Enter a whole number." };
      return { value: n };
    }
    case "json":
    case "schema":
      if (blank) return { value: undefined };
      try {
        return { value: JSON.parse(raw) };
      } catch (err) {
        return { error: "This is not valid JSON: " + String(err.message || err).replace(/^JSON\.parse: /, "") + ". Write text in double quotes." };
      }
    case "status_list": {
      const parts = raw.split(/[\s,]+/).filter(Boolean);
      return { value: parts.length ? parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : undefined };
    }
    case "version":
      if (blank) return { value: undefined };
      return { value: /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw.trim() };
    default:
      return { value: raw === "" ? undefined : raw };
  }
}

function cssEscape(s) {
  return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, "\\$&");
}


// panel.js: the side panel. It shows the graph's settings when nothing is selected, the
// server-rendered settings form of a selected node, a small form for a selected edge, and
// the problems list. Edits in the forms go straight into the draft; text that is not valid
// yet is kept (in the draft where the format allows it, else in the editor until it is
// fixed) and shown with its problem, never dropped.

import { AgentTools } from "./agent_tools.js";
import { errorMessage, html, request, truncate } from "./dom.js";
import { ID_PATTERN, Model } from "./model.js";

const VALUE_PLACEHOLDER = { expression: "{ total: input.amount * 2 }", json: '{"total": "{{ input.amount }}"}' };

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
    this.seq = 0;
    this.agentTools = new AgentTools(this);
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
    this.restoreLocal(id);
    this.agentTools.restore(this.nodePanel, id);
    // Problems from the last save know about edges (cycles, ports); use them when the draft
    // has not changed since.
    this.formFromServer = true;
    if (this.ed.problems.fresh) this.applyProblems({ fromSave: true });
    if (focus) this.focusForm(focus.field);
  }

  // restoreLocal puts back what the user typed in this node's form that the draft does not
  // hold as typed (text that is not valid yet), and the mode each value field was left in.
  restoreLocal(id) {
    for (const ta of this.nodePanel.querySelectorAll('[data-type="value"]')) {
      const mode = this.ed.modes.get(this.ed.localKey({ type: "node", id }, ta.dataset.path));
      if (mode) this.setMode(ta, mode);
    }
    for (const e of this.ed.local.values()) {
      if (e.target.type !== "node" || e.target.id !== id || e.text === undefined) continue;
      const el = this.nodePanel.querySelector(`[data-path="${cssEscape(e.field)}"]`);
      if (!el || !("value" in el) || el.matches("fieldset")) continue;
      if (e.mode) this.setMode(el, e.mode);
      el.value = e.text;
    }
  }

  setMode(ta, mode) {
    ta.dataset.mode = mode;
    ta.placeholder = VALUE_PLACEHOLDER[mode] || "";
    const field = ta.closest(".field");
    const radio = field && field.querySelector(`input[data-mode-for][value="${mode}"]`);
    if (radio) radio.checked = true;
  }

  // target is what the panel edits, as the editor's local entries name it.
  target() {
    return this.current.type === "graph" ? { type: "graph" } : { type: this.current.type, id: this.current.id };
  }

  localFor(path) {
    return this.ed.local.get(this.ed.localKey(this.target(), path));
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
    if (el.dataset.control === "tools" && field) el = this.agentTools.focusTarget(el, field) || el;
    if (el.matches("fieldset")) el = el.querySelector("input, select") || el.querySelector("button") || el;
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
      this.keepText(graphPath, el, r);
      if (!r.pending) this.ed.setGraphField(graphPath, r.value);
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
    if (host.dataset.type === "id") return; // ids change on "change", when the user is done typing
    if (host.dataset.type === "body_kind") return; // a map's step kind changes on "change"
    if (host.dataset.control === "tools") return this.agentTools.onInput(host, el);
    this.readNodeField(host);
  }

  // readNodeField writes a control of the node form into the draft. Text that cannot be read
  // is still kept: in the draft as a string where the format allows it (data-keep-text), else
  // in the editor, which then counts it as unsaved.
  readNodeField(host) {
    const path = host.dataset.path;
    const r = readControl(host, host.dataset.type);
    this.keepText(path, host, r);
    if (!r.pending) this.ed.setNodeField(this.current.id, path, r.value);
  }

  // setMapBody switches a map's body between one step and a graph, or sets the step's kind,
  // and asks for the form again: the fields of either come from the server's kind catalogue.
  async setMapBody(change) {
    const id = this.current.id;
    const n = this.ed.model.node(id);
    if (!n) return;
    const cfg = Object.assign({}, n.config && typeof n.config === "object" ? n.config : {});
    const old = cfg.node && typeof cfg.node === "object" && !Array.isArray(cfg.node) ? cfg.node : null;
    const field = "config.node.kind";
    let said;
    let focus = null;
    if (change.mode === "graph") {
      if (cfg.graph !== undefined && !old) return;
      delete cfg.node;
      if (cfg.graph === undefined) cfg.graph = ""; // an empty graph body keeps the mode
      focus = '[data-body-mode][value="graph"]';
      said = "Each item now runs a graph: give its id below.";
    } else if (change.mode === "node") {
      if (cfg.graph === undefined) return;
      for (const k of ["graph", "version", "input"]) delete cfg[k];
      focus = '[data-body-mode][value="node"]';
      said = "Each item now runs one step: choose its kind below.";
    } else {
      if (old && old.kind === change.kind) return;
      if (change.kind) cfg.node = { kind: change.kind };
      else delete cfg.node;
      const opt = this.nodePanel.querySelector(`[data-path="config.node.kind"] option[value="${cssEscape(change.kind)}"]`);
      said = change.kind ? `Each item now runs: ${opt ? opt.textContent : change.kind}. Its settings follow.` : "The step has no kind yet.";
    }
    for (const e of [...this.ed.local.values()]) {
      if (e.target.type === "node" && e.target.id === id && /^config\.(node|graph|version|input)(\.|$)/.test(e.field)) this.setLocalError(e.field, "");
    }
    this.ed.history.breakRun();
    this.ed.setNodeField(id, "config", cfg);
    this.ed.history.breakRun();
    this.ed.announce(said);
    // A switch keeps the focus on the radio chosen, so that arrow keys go on working.
    await this.showNode(id, focus ? {} : { focus: true, field });
    const el = focus && this.current.id === id && this.nodePanel.querySelector(focus);
    if (el) el.focus();
  }

  // newBodyGraph creates a draft graph to run as this node's body, from the server's starter
  // whose input fits, names it in the node and shows its link.
  async newBodyGraph(btn) {
    const id = this.current.id;
    const seq = this.seq;
    const def = JSON.parse(btn.dataset.definition);
    def.name = `${this.ed.model.doc.name || "Graph"}: ${btn.dataset.nameSuffix}`.slice(0, 200);
    btn.disabled = true;
    const res = await request("POST", this.ed.urls.graphs, { name: def.name, definition: def });
    btn.disabled = false;
    if (!res.ok) {
      const msg = res.status === 0 ? "The graph could not be created: the server cannot be reached." : errorMessage(res, "The graph could not be created.");
      this.ed.announce(msg, true);
      return;
    }
    if (seq !== this.seq || this.current.id !== id) return;
    this.ed.history.breakRun();
    this.ed.setNodeField(id, "config.graph", res.body.id);
    this.ed.history.breakRun();
    await this.showNode(id, {});
    const link = this.current.id === id && this.nodePanel.querySelector('[data-testid="graph-ref-link-config.graph"]');
    if (link) link.focus();
    this.ed.announce(`Created the draft graph “${res.body.name}”. Open it to draw the work, and publish it before this graph.`);
  }

  // refreshGraphRef puts the server's summary of the graph a graph field names (its name,
  // version and links) under the field, leaving the rest of the form, and the focus, alone.
  async refreshGraphRef(host) {
    const id = this.current.id;
    const seq = this.seq;
    const node = this.ed.model.node(id);
    if (!node) return;
    const ids = this.ed.model.nodes.map((n) => n.id).filter((x) => x !== id);
    const res = await request("POST", this.ed.urls.node_form, { node, node_ids: ids }, { Accept: "text/html" });
    if (seq !== this.seq || !res.ok || !host.isConnected) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = res.body; // rendered and escaped by the server's templates
    const sel = `[data-testid="graph-ref-${cssEscape(host.dataset.path)}"]`;
    const fresh = tpl.content.querySelector(sel);
    const old = host.parentElement.querySelector(sel);
    if (old && fresh) old.replaceWith(fresh);
    else if (old) old.remove();
    else if (fresh) host.insertAdjacentElement("afterend", fresh);
  }

  keepText(path, el, r) {
    if (!r.error) return this.setLocalError(path, "");
    const entry = { text: el.value, pending: !!r.pending };
    if (el.dataset.mode) entry.mode = el.dataset.mode;
    this.setLocalError(path, r.error, entry);
  }

  onChange(ev) {
    const data = ev.target.dataset || {};
    if (this.current.type === "node" && data.bodyMode !== undefined) return this.setMapBody({ mode: ev.target.value });
    if (this.current.type === "node" && data.type === "body_kind") return this.setMapBody({ kind: ev.target.value });
    const modeFor = ev.target.dataset && ev.target.dataset.modeFor;
    if (modeFor && this.current.type === "node") {
      const ta = this.nodePanel.querySelector(`[data-path="${cssEscape(modeFor)}"]`);
      if (!ta) return;
      this.setMode(ta, ev.target.value);
      this.ed.modes.set(this.ed.localKey(this.target(), modeFor), ev.target.value);
      this.readNodeField(ta);
      return;
    }
    const host = ev.target.closest("[data-path]");
    if (host && this.current.type === "node" && host.dataset.path === "config.graph") return this.refreshGraphRef(host);
    if (!host || this.current.type !== "node" || host.dataset.type !== "id") return;
    const next = host.value.trim();
    const id = this.current.id;
    if (next === id) return;
    let err = "";
    if (!ID_PATTERN.test(next)) err = "Use lowercase letters, digits and _, starting with a letter (at most 63).";
    else if (this.ed.model.node(next)) err = `Another step already has the ID “${next}”.`;
    if (err) {
      this.setLocalError("id", err, { text: host.value, pending: true });
      return;
    }
    this.setLocalError("id", "");
    this.ed.renameNode(id, next);
  }

  onClick(ev) {
    const t = ev.target.closest("button, [data-column]");
    if (!t) return;
    if (t.matches("[data-column]")) return this.goToColumn(t);
    const action = t.dataset.action;
    if (action && action.startsWith("tool-")) return this.agentTools.onAction(t);
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
      case "preview":
        return this.preview(t);
      case "new-body-graph":
        return this.newBodyGraph(t);
      case "toggle-panel":
        return this.ed.panes.toggle("panel");
      case "toggle-problems":
        return this.expandProblems(t.getAttribute("aria-expanded") !== "true");
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

  // expandProblems shows or folds the problems list.
  expandProblems(open) {
    const btn = this.root.querySelector('[data-action="toggle-problems"]');
    const body = this.root.querySelector("#problems-body");
    if (!btn || !body) return;
    btn.setAttribute("aria-expanded", String(open));
    body.hidden = !open;
  }

  // goToColumn puts the caret where an expression error is.
  goToColumn(errEl) {
    const path = errEl.dataset.errorFor;
    const input = this.nodePanel.querySelector(`[data-path="${cssEscape(path)}"]`) || this.settings.querySelector(`[data-graph-path="${cssEscape(path)}"]`);
    if (!input || typeof input.setSelectionRange !== "function") return;
    let col = Number(errEl.dataset.column) - 1;
    // A JSON string holding an expression starts with its quote.
    if (input.dataset.type === "json" && input.value.trimStart().startsWith('"')) col += input.value.indexOf('"') + 1;
    if (col < 0 || col > input.value.length) col = 0;
    input.focus();
    input.setSelectionRange(col, col + 1);
  }

  // setLocalError notes (or, without msg, forgets) a problem the editor found in what the user
  // typed, before any save: entry.text is that text, entry.pending says the draft lacks it.
  setLocalError(path, msg, entry) {
    const key = this.ed.localKey(this.target(), path);
    if (!msg && !this.ed.local.has(key)) return;
    this.ed.setLocal(this.target(), path, msg ? Object.assign({ message: msg }, entry) : null);
    this.applyProblems();
  }

  // preview asks the server what a transform's value gives with the data of the last run.
  async preview(btn) {
    const wrap = btn.closest("[data-preview-for]");
    const out = wrap.querySelector("[data-preview-result]");
    const path = wrap.dataset.previewFor;
    const seq = this.seq;
    out.hidden = false;
    const local = this.localFor(path);
    if (local) {
      out.replaceChildren(html("p", { class: "field-error", "data-testid": "value-preview-message" }, "Fix the value first: " + local.message));
      return;
    }
    const node = this.ed.model.node(this.current.id);
    const value = node ? Model.getPath(node, path) : undefined;
    out.replaceChildren(html("p", { class: "hint", "aria-busy": "true" }, "Working it out…"));
    btn.disabled = true;
    const res = await request("POST", this.ed.urls.preview, { value: value === undefined ? null : value }, { Accept: "text/html" });
    btn.disabled = false;
    if (seq !== this.seq) return;
    if (!res.ok) {
      const msg = res.status === 0 ? "The preview could not be made: the server cannot be reached." : "The preview could not be made.";
      out.replaceChildren(html("p", { class: "field-error", "data-testid": "value-preview-message" }, msg));
      return;
    }
    out.innerHTML = res.body; // rendered and escaped by the server's templates
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
    const localOf = (name) => {
      const e = this.localFor(name);
      return e ? e.message : "";
    };
    for (const p of list) {
      if (p.local) continue; // shown from the local entries below
      const field = String(p.field || "").replace(/^(nodes|edges)\[\d+\]\./, "");
      const name = bestField(names, field);
      const text = problemText(p);
      if (name) add(name, text, p.column);
      else loose.push(text);
    }
    for (const el of errEls) {
      const name = el.dataset.errorFor;
      const local = localOf(name);
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
      const local = this.localFor(el.dataset.errorFor);
      if (local) showError(el, this.nodePanel, el.dataset.errorFor, [{ text: local.message }], true);
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
      const b = html("button", { type: "button", class: "problem" + (p.pending ? " problem-pending" : ""), "data-problem": i, "data-testid": "problem" });
      b.appendChild(html("span", { class: "problem-where" }, where + (field ? " · " + field : "")));
      b.appendChild(html("span", { class: "problem-msg" }, problemText(p) + (p.pending ? " Not saved yet." : "")));
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
// setting); {value, error} when the text is kept in the draft as typed but has a problem; or
// {error, pending} when the draft cannot hold the text, which then waits in the editor.
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
      if (!Number.isFinite(n)) return { error: "Enter a number.", pending: true };
      if (type === "integer" && !Number.isInteger(n)) return { error: "Enter a whole number.", pending: true };
      return { value: n };
    }
    case "value": {
      // A transform's value: an expression is stored as a JSON string; a fixed value as the
      // JSON it is. Fixed text that is not JSON yet is kept as typed, which the draft reads
      // as an expression until it is JSON.
      if (blank) return { value: undefined };
      if (host.dataset.mode !== "json") return { value: raw };
      let v;
      try {
        v = JSON.parse(raw);
      } catch (err) {
        return { value: raw, error: jsonError(err) + " Your text is kept; switch to Expression if the value is to be computed." };
      }
      if (typeof v !== "string") return { value: v };
      // One JSON text at the top is kept as typed: as an expression it is the same text.
      if (v.includes("{{")) return { value: raw, error: '{{ }} parts work inside an object or a list. For one text with data, switch to Expression and write, e.g., "Dear " + input.name.' };
      return { value: raw };
    }
    case "json":
    case "schema":
      if (blank) return { value: undefined };
      try {
        return { value: JSON.parse(raw) };
      } catch (err) {
        // Where a string means nothing (a schema, a config), the text is kept in the draft as
        // a string and reported there; elsewhere (an http body, whose strings are texts) it
        // waits in the editor until it is JSON.
        if (host.dataset.keepText) return { value: raw, error: jsonError(err) };
        return { error: jsonError(err) + " Write text in double quotes.", pending: true };
      }
    case "status_list": {
      const parts = raw.split(/[\s,]+/).filter(Boolean);
      return { value: parts.length ? parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : undefined };
    }
    case "version":
      if (blank) return { value: undefined };
      return { value: /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw.trim() };
    default:
      if (raw === "") return { value: host.dataset.keepEmpty ? "" : undefined };
      return { value: raw };
  }
}

function jsonError(err) {
  return "This is not valid JSON: " + String(err.message || err).replace(/^JSON\.parse: /, "") + ".";
}

function cssEscape(s) {
  return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, "\\$&");
}


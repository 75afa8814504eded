// editor.js: the Editor ties the parts together: the model and its history, the canvas, the
// side panel, autosave, and the gestures and shortcuts that change the graph.

import { Model, History, NODE_W } from "./model.js";
import { Canvas } from "./canvas.js";
import { Panel, bestField } from "./panel.js";
import { Autosaver } from "./save.js";
import { installPointer, installPalette } from "./interact.js";
import { installKeys } from "./keys.js";
import { installPublish, installConnect } from "./dialogs.js";
import { dagreLayout, quickLayout } from "./layout.js";
import { installPanes } from "./panes.js";

const CLIP_KEY = "trellis.editor.clipboard";

export class Editor {
  constructor(root, data) {
    this.root = root;
    this.urls = data.urls;
    this.graphId = data.graph_id;
    let doc = data.draft;
    let broken = "";
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
      broken = "The draft is not a graph document.";
      doc = { format: "trellis.graph/v1", name: "", nodes: [], edges: [] };
    } else if ((doc.nodes != null && !Array.isArray(doc.nodes)) || (doc.edges != null && !Array.isArray(doc.edges))) {
      broken = "The draft's nodes or edges are not lists, so the editor cannot show them.";
    } else if ([...(doc.nodes || []), ...(doc.edges || [])].some((x) => !x || typeof x !== "object" || Array.isArray(x))) {
      broken = "Some of the draft's nodes or edges are not objects, so the editor cannot show them.";
    }
    this.model = new Model(doc, data.kinds, data.default_outcomes || ["approve", "reject"]);
    this.history = new History(this.model);
    this.sel = { nodes: new Set(), edges: new Set() };
    // local holds problems of text the user typed, found before any save: key → {target,
    // field, message, text, mode, pending}. pending text is not in the draft yet.
    this.local = new Map();
    this.modes = new Map(); // the mode each transform value field was left in, by localKey
    this.serverProblems = [];
    this.problemsFresh = true;
    this.problems = indexProblems([], true);
    this.hint = root.querySelector("#canvas-hint");
    this.canvas = new Canvas(this, root);
    this.panel = new Panel(this, root);
    this.saver = new Autosaver(this, data.revision);
    installPanes(this);
    this.pasteCount = 0;

    quickLayout(this.model);
    this.canvas.render();
    this.canvas.openView();
    this.canvas.applyView();
    this.setProblems(data.problems || [], true);
    installPointer(this);
    installPalette(this);
    installKeys(this);
    installPublish(this);
    installConnect(this);
    this.installToolbar();
    this.installLeaveGuard();
    this.updateHistoryButtons();
    if (this.model.renamed.length && !broken) {
      const [from, to] = this.model.renamed[0];
      this.announce(`Step ${from ? "“" + from + "”" : "without an ID"} was renamed ${to}, so that every step has an ID of its own.`);
      this.saver.markDirty();
    }
    if (broken) {
      // Saving would replace what cannot be shown; stop here and say so.
      this.saver.setState("error");
      this.saver.markDirty = () => {};
      this.saver.showAlert(broken + " Fix it by importing a corrected document; nothing you do here is saved.", []);
    }
  }

  installToolbar() {
    const bar = this.root.querySelector(".editor-toolbar");
    bar.addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-action]");
      if (!b) return;
      switch (b.dataset.action) {
        case "undo":
          return this.undo();
        case "redo":
          return this.redo();
        case "zoom-in":
          return this.canvas.zoomCenter(1.2);
        case "zoom-out":
          return this.canvas.zoomCenter(1 / 1.2);
        case "zoom-reset":
          return this.canvas.resetZoom();
        case "fit":
          return this.canvas.fit();
        case "layout":
          return this.autoLayout();
        case "toggle-palette":
          return this.panes.toggle("palette");
        case "toggle-panel":
          return this.panes.toggle("panel");
        case "show-problems": {
          this.panes.open("panel");
          this.panel.expandProblems(true);
          const p = this.root.querySelector("#problems");
          p.scrollIntoView({ block: "nearest" });
          const first = p.querySelector("button.problem");
          (first || p).focus();
          return;
        }
        case "publish":
          return this.openPublish();
      }
    });
  }

  // hasUnsaved reports whether leaving now would lose something the user typed.
  hasUnsaved() {
    const s = this.saver;
    return s.dirty || !!s.inFlight || this.pendingCount() > 0 || s.state === "conflict" || s.state === "error";
  }

  // installLeaveGuard warns before the page is left with unsaved work: the browser's own
  // question when the tab closes or reloads, and the editor's dialog for its links (the
  // breadcrumb, the site menu), which first tries to save what can be saved.
  installLeaveGuard() {
    const dialog = this.root.querySelector("#leave-dialog");
    window.addEventListener("beforeunload", (ev) => {
      if (this.leaving || !this.hasUnsaved()) return;
      ev.preventDefault();
      ev.returnValue = "";
    });
    document.addEventListener("click", async (ev) => {
      const a = ev.target.closest && ev.target.closest("a[href]");
      if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      if ((a.target && a.target !== "_self") || a.hasAttribute("download") || a.closest("#leave-dialog")) return;
      if (!this.hasUnsaved()) return;
      ev.preventDefault();
      const href = a.href;
      if (this.pendingCount() === 0 && (await this.saver.flush()) && !this.hasUnsaved()) {
        this.leave(href);
        return;
      }
      this.openLeave(dialog, href);
    });
  }

  openLeave(dialog, href) {
    const list = dialog.querySelector("#leave-list");
    list.replaceChildren();
    const pending = [...this.local.values()].filter((e) => e.pending);
    for (const e of pending) {
      const li = document.createElement("li");
      li.textContent = (e.target.id ? e.target.id + " · " : "") + e.field + ": " + e.message;
      list.appendChild(li);
    }
    const lead = dialog.querySelector("#leave-lead");
    lead.textContent = pending.length
      ? `${pending.length === 1 ? "One field holds" : pending.length + " fields hold"} text that cannot be saved until it is fixed:`
      : "Your latest changes are not saved: " + this.saver.statusEl.textContent + ".";
    dialog.dataset.href = href;
    dialog.returnValue = "";
    if (!dialog.dataset.wired) {
      dialog.dataset.wired = "1";
      dialog.addEventListener("close", () => {
        if (dialog.returnValue === "leave") this.leave(dialog.dataset.href);
      });
    }
    dialog.showModal();
    const stay = dialog.querySelector('[value="stay"]');
    if (stay) stay.focus();
  }

  leave(href) {
    this.leaving = true;
    window.location.href = href;
  }

  // Local problems: what the user typed that the editor itself finds wrong.

  localKey(target, path) {
    return `${target.type}:${target.id === undefined ? "" : target.id}\u0000${path}`;
  }

  setLocal(target, path, entry) {
    const key = this.localKey(target, path);
    if (entry) this.local.set(key, Object.assign({ target, field: path }, entry));
    else this.local.delete(key);
    this.refreshProblems();
  }

  pendingCount() {
    let n = 0;
    for (const e of this.local.values()) if (e.pending && (e.target.type !== "node" || this.model.node(e.target.id))) n++;
    return n;
  }

  // moveLocal follows a node's local entries when its id changes.
  moveLocal(oldId, newId) {
    for (const map of [this.local, this.modes]) {
      for (const [key, v] of [...map]) {
        const from = this.localKey({ type: "node", id: oldId }, "");
        if (!key.startsWith(from)) continue;
        map.delete(key);
        const path = key.slice(from.length);
        const nkey = this.localKey({ type: "node", id: newId }, path);
        if (map === this.local) map.set(nkey, Object.assign({}, v, { target: { type: "node", id: newId } }));
        else map.set(nkey, v);
      }
    }
  }

  updateHistoryButtons() {
    this.root.querySelector('[data-action="undo"]').disabled = !this.history.canUndo();
    this.root.querySelector('[data-action="redo"]').disabled = !this.history.canRedo();
  }

  // announce shows a short message over the canvas; screen readers read it too.
  announce(msg, isError) {
    clearTimeout(this.hintTimer);
    this.hint.textContent = msg;
    this.hint.classList.toggle("is-error", !!isError);
    this.hint.classList.add("visible");
    this.hintTimer = setTimeout(() => this.hint.classList.remove("visible"), 4000);
  }

  // Selection.

  selectNodes(ids, opts) {
    opts = opts || {};
    this.sel.nodes = new Set(ids.filter((id) => this.model.node(id)));
    this.sel.edges = new Set(opts.edges || []);
    this.selectionChanged(opts);
  }

  selectEdges(edges, opts) {
    this.sel.nodes = new Set();
    this.sel.edges = new Set(edges.filter(Boolean));
    this.selectionChanged(opts || {});
  }

  toggleNode(id) {
    if (this.sel.nodes.has(id)) this.sel.nodes.delete(id);
    else this.sel.nodes.add(id);
    this.selectionChanged({});
  }

  toggleEdge(e) {
    if (this.sel.edges.has(e)) this.sel.edges.delete(e);
    else this.sel.edges.add(e);
    this.selectionChanged({});
  }

  clearSelection() {
    if (!this.sel.nodes.size && !this.sel.edges.size) return;
    this.selectNodes([]);
  }

  selectAll() {
    this.selectNodes(this.model.nodes.map((n) => n.id));
  }

  selectionChanged(opts) {
    this.panes.selectionChanged();
    this.canvas.updateSelection();
    this.panel.show({ focus: !!opts.focus, field: opts.field });
  }

  // Changes. Each records an undo step first, then marks the draft for saving.

  changed() {
    this.problemsFresh = false;
    this.problems.fresh = false;
    this.saver.markDirty();
    this.updateHistoryButtons();
  }

  mutate(key, fn) {
    this.history.checkpoint(key);
    const r = fn();
    this.changed();
    return r;
  }

  addNode(kind, at) {
    // Next to the selected step, so that a flow grows left to right; else in the middle.
    let spot = at;
    if (!spot) {
      const anchor = this.sel.nodes.size === 1 ? this.model.node([...this.sel.nodes][0]) : null;
      if (anchor) {
        const p = this.model.pos(anchor);
        spot = this.model.freeSpot(p.x + NODE_W + 72, p.y);
      } else {
        const c = this.canvas.viewCenter();
        spot = this.model.freeSpot(Math.round(c.x - NODE_W / 2), Math.round(c.y - 40));
      }
    }
    const node = this.mutate(null, () => this.model.addNode(kind, spot.x, spot.y));
    this.canvas.render();
    this.selectNodes([node.id]);
    this.canvas.reveal(node.id);
    this.canvas.focusNode(node.id);
    this.announce(`Added “${node.label}” (${node.id}).`);
    return node;
  }

  deleteSelection() {
    const ids = [...this.sel.nodes];
    const edges = [...this.sel.edges];
    if (!ids.length && !edges.length) return;
    this.mutate(null, () => {
      this.model.removeEdges(edges);
      this.model.removeNodes(ids);
    });
    this.sel = { nodes: new Set(), edges: new Set() };
    this.canvas.render();
    this.panel.show();
    this.canvas.svg.focus({ preventScroll: true });
    const parts = [];
    if (ids.length) parts.push(`${ids.length} step${ids.length > 1 ? "s" : ""}`);
    if (edges.length) parts.push(`${edges.length} connection${edges.length > 1 ? "s" : ""}`);
    this.announce(`Deleted ${parts.join(" and ")}. Ctrl+Z brings ${ids.length + edges.length > 1 ? "them" : "it"} back.`);
  }

  removeEdges(edges) {
    edges = edges.filter(Boolean);
    if (!edges.length) return;
    this.mutate(null, () => this.model.removeEdges(edges));
    for (const e of edges) this.sel.edges.delete(e);
    this.canvas.render();
    if (this.panel.current.type === "node") this.panel.refreshConnections();
    else this.panel.show();
    this.announce(`Removed ${edges.length > 1 ? edges.length + " connections" : "the connection"}.`);
  }

  connect(from, port, to) {
    const why = this.model.connectProblem(from, port, to);
    if (why) {
      this.announce(why, true);
      return null;
    }
    const e = this.mutate(null, () => this.model.addEdge(from, port, to));
    this.canvas.renderEdges();
    this.canvas.updateSelection();
    this.canvas.updateProblems();
    this.panel.refreshConnections();
    const a = this.model.node(from);
    const b = this.model.node(to);
    this.announce(`Connected “${a.label || a.id}”${port && port !== "out" ? " (" + port + ")" : ""} to “${b.label || b.id}”.`);
    return e;
  }

  setNodeField(id, path, value) {
    const n = this.model.node(id);
    if (!n) return;
    this.history.checkpoint(`field:${id}:${path}`);
    Model.setPath(n, path, value);
    if (path === "label" || path === "config.outcomes" || path === "config" || path === "config.graph" || path === "config.version") this.canvas.refreshNode(id);
    this.changed();
  }

  setGraphField(path, value) {
    this.history.checkpoint(`graph:${path}`);
    if (value === undefined) delete this.model.doc[path];
    else this.model.doc[path] = value;
    this.changed();
  }

  setEdgeField(edge, field, value) {
    if (!this.model.edges.includes(edge)) return;
    this.history.checkpoint(`edge:${field}`);
    if (value === undefined) delete edge[field];
    else edge[field] = value;
    this.canvas.render();
    this.changed();
  }

  renameNode(oldId, newId) {
    this.mutate(null, () => this.model.renameNode(oldId, newId));
    this.moveLocal(oldId, newId);
    this.sel.nodes = new Set([newId]);
    this.canvas.render();
    this.panel.show({ reload: true, focus: true, field: "id" });
    this.announce(`Renamed ${oldId} to ${newId}; expressions that read it follow.`);
  }

  nudge(dx, dy) {
    const ids = [...this.sel.nodes];
    this.mutate("nudge", () => {
      for (const id of ids) {
        const n = this.model.node(id);
        const p = this.model.pos(n);
        n.position = { x: p.x + dx, y: p.y + dy };
      }
    });
    this.canvas.moveNodes(ids);
  }

  undo() {
    if (this.history.undo()) this.afterHistory("Undone.");
  }

  redo() {
    if (this.history.redo()) this.afterHistory("Redone.");
  }

  afterHistory(msg) {
    // The forms are drawn again from the draft as it was: text typed since is gone with it.
    this.local.clear();
    this.modes.clear();
    const keep = [...this.sel.nodes].filter((id) => this.model.node(id));
    this.sel = { nodes: new Set(keep), edges: new Set() };
    this.canvas.render();
    this.panel.show({ reload: true });
    this.changed();
    this.announce(msg);
  }

  copy() {
    const ids = [...this.sel.nodes];
    if (!ids.length) return;
    this.clipboard = this.model.copy(ids);
    this.pasteCount = 0;
    try {
      localStorage.setItem(CLIP_KEY, JSON.stringify(this.clipboard));
    } catch (err) {
      // Private windows may refuse storage; copying within this page still works.
    }
    this.announce(`Copied ${ids.length} step${ids.length > 1 ? "s" : ""}.`);
  }

  cut() {
    this.copy();
    this.deleteSelection();
  }

  paste(clip) {
    if (!clip) {
      clip = this.clipboard;
      try {
        const stored = localStorage.getItem(CLIP_KEY);
        if (stored) clip = JSON.parse(stored);
      } catch (err) {
        // Fall back to this page's clipboard.
      }
      this.pasteCount++;
    }
    if (!clip || !Array.isArray(clip.nodes) || !clip.nodes.length) return;
    const off = 40 * Math.max(1, this.pasteCount);
    const ids = this.mutate(null, () => this.model.paste(clip, off, off));
    this.canvas.render();
    this.selectNodes(ids);
    if (ids.length) this.canvas.reveal(ids[0]);
    this.announce(`Pasted ${ids.length} step${ids.length > 1 ? "s" : ""}.`);
  }

  duplicateSelection() {
    const ids = [...this.sel.nodes];
    if (ids.length) this.paste(this.model.copy(ids));
  }

  async autoLayout(ids) {
    if (!this.model.nodes.length) return;
    this.announce("Laying out…");
    let pos;
    try {
      pos = await dagreLayout(this.model, this.urls.dagre, ids);
    } catch (err) {
      this.announce("Auto-layout failed: " + err.message, true);
      return;
    }
    this.mutate(null, () => {
      for (const [id, p] of pos) {
        const n = this.model.node(id);
        if (n) n.position = p;
      }
    });
    this.canvas.render();
    this.canvas.fit(ids);
    this.announce("Laid out left to right. Ctrl+Z puts the steps back.");
  }

  // Problems.

  setProblems(list, fresh) {
    this.serverProblems = list;
    this.problemsFresh = !!fresh;
    this.refreshProblems();
    this.panel.applyProblems({ fromSave: true });
  }

  // refreshProblems merges the problems of the last save with the local ones: a local problem
  // of a field stands for what the server said about that field (it knows the text better).
  refreshProblems() {
    const local = [];
    for (const [key, e] of this.local) {
      if (e.target.type === "node" && !this.model.node(e.target.id)) {
        this.local.delete(key);
        continue;
      }
      local.push(e);
    }
    const fieldOf = (p) => String(p.field || "").replace(/^(nodes|edges)\[\d+\]\./, "");
    const covered = (p) =>
      local.some((e) => {
        const same = e.target.type === "node" ? p.node === e.target.id : e.target.type === "graph" && !p.node && p.edge == null;
        if (!same) return false;
        const f = fieldOf(p);
        return f === e.field || (f.startsWith(e.field) && (f[e.field.length] === "." || f[e.field.length] === "["));
      });
    const list = local.map((e) => ({
      node: e.target.type === "node" ? e.target.id : undefined,
      field: e.field,
      message: e.message,
      local: true,
      pending: !!e.pending,
    }));
    for (const p of this.serverProblems) if (!local.length || !covered(p)) list.push(p);
    this.problems = indexProblems(list, this.problemsFresh);
    this.canvas.updateProblems();
    this.panel.renderProblems();
    this.saver.renderStatus();
  }

  // revealProblem selects what a problem is about and puts the cursor in its field.
  revealProblem(p) {
    if (!p) return;
    const field = String(p.field || "").replace(/^(nodes|edges)\[\d+\]\./, "");
    if (p.node && this.model.node(p.node)) {
      this.canvas.reveal(p.node);
      this.selectNodes([p.node], { focus: true, field });
    } else if (p.edge != null && this.model.edges[p.edge]) {
      this.selectEdges([this.model.edges[p.edge]], { focus: true, field });
    } else {
      this.sel = { nodes: new Set(), edges: new Set() };
      this.canvas.updateSelection();
      this.panes.open("panel");
      this.panel.show({ focus: true, field: bestField(["name", "input", "output", "description"], field) || "name" });
    }
  }
}

// indexProblems groups problems by node and by edge for quick lookups.
function indexProblems(list, fresh) {
  const byNode = new Map();
  const byEdge = new Map();
  const graph = [];
  for (const p of list) {
    if (p.node) {
      if (!byNode.has(p.node)) byNode.set(p.node, []);
      byNode.get(p.node).push(p);
    } else if (p.edge != null) {
      if (!byEdge.has(p.edge)) byEdge.set(p.edge, []);
      byEdge.get(p.edge).push(p);
    } else {
      graph.push(p);
    }
  }
  return { all: list, byNode, byEdge, graph, fresh: !!fresh };
}

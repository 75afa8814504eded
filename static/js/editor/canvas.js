// canvas.js: draws the graph into the SVG canvas and keeps the drawing in step with the
// model. Rendering is incremental: a node's elements are rebuilt only when what it shows
// changes, and a drag moves only the dragged nodes and the edges that touch them; when it
// ends every edge is routed again (route.js), since a route may have to go round them now.

import { svg } from "./dom.js";
import { routeEdge, routePath, labelPoint, LABEL_CLEAR } from "./route.js";

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace';
const KNOWN_ICONS = new Set(["transform", "http", "llm", "agent", "approval", "wait", "subgraph", "map", "loop"]);
const MIN_ZOOM = 0.1;
const MAX_ZOOM = 2.5;

export class Canvas {
  constructor(ed, root) {
    this.ed = ed;
    this.svg = root.querySelector("#canvas");
    this.viewport = root.querySelector("#viewport");
    this.edgesLayer = root.querySelector("#edges-layer");
    // Over the nodes: a label with no room between two close nodes stays in sight.
    this.labelsLayer = root.querySelector("#edge-labels-layer");
    this.nodesLayer = root.querySelector("#nodes-layer");
    this.overlay = root.querySelector("#overlay-layer");
    this.dragLayer = root.querySelector("#drag-layer");
    this.grid = root.querySelector("#grid");
    this.empty = root.querySelector("#canvas-empty");
    this.zoomLabel = root.querySelector('[data-action="zoom-reset"]');
    this.view = { x: 40, y: 40, k: 1 };
    this.nodeEls = new Map(); // id → {g, sig, badge}
    this.edgeEls = new Map(); // edge object → {g, path, hit, label}
    this.viewQueued = false;
    this.rect = null;
    window.addEventListener("resize", () => this.forgetRect());
  }

  get model() {
    return this.ed.model;
  }

  // render brings the whole drawing in line with the model.
  render() {
    const m = this.model;
    const seen = new Set();
    const frag = document.createDocumentFragment();
    let order = [];
    for (const n of m.nodes) {
      if (!n || typeof n !== "object" || seen.has(n.id)) continue;
      seen.add(n.id);
      let rec = this.nodeEls.get(n.id);
      const sig = this.signature(n);
      if (!rec) {
        rec = this.buildNode(n, sig);
        this.nodeEls.set(n.id, rec);
        frag.appendChild(rec.g);
      } else if (rec.sig !== sig) {
        this.fillNode(rec, n, sig);
      }
      this.place(rec.g, n);
      order.push(rec.g);
    }
    for (const [id, rec] of this.nodeEls) {
      if (!seen.has(id)) {
        rec.g.remove();
        this.nodeEls.delete(id);
      }
    }
    this.nodesLayer.appendChild(frag);
    this.reorder(order);
    this.renderEdges();
    this.updateSelection();
    this.updateProblems();
    this.empty.hidden = m.nodes.length > 0;
  }

  // reorder keeps the nodes in document order, which is the Tab order.
  reorder(order) {
    let prev = null;
    for (const g of order) {
      const want = prev ? prev.nextSibling : this.nodesLayer.firstChild;
      if (want !== g) this.nodesLayer.insertBefore(g, want);
      prev = g;
    }
  }

  signature(n) {
    const k = this.model.kind(n.kind);
    return [n.id, n.kind, n.label || "", this.model.portsOf(n).join("\u0001"), k ? k.color : "", this.bodyOf(n)].join("\u0000");
  }

  // bodyOf says what a map or a loop runs: its one step's kind, or the graph it names.
  bodyOf(n) {
    if (n.kind !== "map" && n.kind !== "loop") return "";
    const c = n.config && typeof n.config === "object" ? n.config : {};
    if (typeof c.graph === "string" && c.graph) return "graph " + c.graph + (c.version !== undefined && c.version !== "latest" ? " v" + c.version : "");
    if (n.kind === "map" && c.node && typeof c.node === "object" && typeof c.node.kind === "string" && c.node.kind) {
      const k = this.model.kind(c.node.kind);
      return k ? k.label : c.node.kind;
    }
    return "";
  }

  buildNode(n, sig) {
    const g = svg("g", { class: "node", tabindex: "0", role: "option" });
    const rec = { g, sig: "", badge: null, id: n.id };
    this.fillNode(rec, n, sig);
    return rec;
  }

  // fillNode (re)draws what a node shows: body, kind chip, label, id, ports and badge.
  fillNode(rec, n, sig) {
    const g = rec.g;
    const m = this.model;
    const k = m.kind(n.kind);
    const color = k ? k.color : "#94a3b8";
    const lay = m.layout(n);
    const { w, h, head } = lay;
    const label = n.label || (k ? k.label : n.kind) || n.id;
    g.replaceChildren();
    g.dataset.id = n.id;
    g.setAttribute("data-testid", "node-" + n.id);
    const body = this.bodyOf(n);
    const each = body ? (n.kind === "map" ? "; each item: " : "; each round: ") + body : "";
    g.setAttribute("aria-label", label + " (" + (n.kind || "no kind") + ")" + each);
    svg("title", null, g).textContent = label + " — " + n.id + " (" + (k ? k.label : n.kind) + ")" + each;
    svg("rect", { class: "node-halo", x: -5, y: -5, width: w + 10, height: h + 10, rx: 14 }, g);
    svg("rect", { class: "node-shadow", y: 2, width: w, height: h, rx: 10 }, g);
    svg("rect", { class: "node-body", width: w, height: h, rx: 10 }, g);
    svg("rect", { class: "node-strip", x: 0, y: 10, width: 3, height: h - 20, rx: 1.5, fill: color }, g);
    const chip = svg("g", { class: "node-chip", transform: `translate(12 ${(head - 28) / 2})` }, g);
    svg("rect", { width: 28, height: 28, rx: 7, fill: color }, chip);
    if (KNOWN_ICONS.has(n.kind)) {
      svg("use", { href: "#kind-icon-" + n.kind, x: 4, y: 4, width: 20, height: 20, class: "kind-icon" }, chip);
    } else {
      svg("text", { x: 14, y: 19, "text-anchor": "middle", class: "kind-glyph" }, chip).textContent = k ? k.icon : "?";
    }
    const room = w - 48 - 12;
    svg("text", { class: "node-label", x: 48, y: head / 2 - 3 }, g).textContent = fit(label, room, "650 13px " + FONT).text;
    const idLine = svg("text", { class: "node-id", x: 48, y: head / 2 + 13 }, g);
    idLine.textContent = fit(body ? n.id + " · " + body : n.id, room, "11px " + MONO).text;
    if (body) idLine.setAttribute("data-testid", "node-body-" + n.id);
    if (lay.named) svg("line", { class: "node-divider", x1: 10, x2: w - 10, y1: head - 4, y2: head - 4 }, g);
    svg("circle", { class: "in-port", cx: 0, cy: h / 2, r: 4 }, g);
    lay.ports.forEach((p, i) => {
      const py = lay.ys[i];
      const pg = svg("g", { class: "port" + (p === "error" ? " port-error" : ""), "data-port": p, "data-testid": `port-${n.id}-${p}` }, g);
      svg("title", null, pg).textContent = `“${p}” exit: drag to connect`;
      svg("circle", { class: "port-hit", cx: w, cy: py, r: 11 }, pg);
      svg("circle", { class: "port-dot", cx: w, cy: py, r: 5.5, stroke: p === "error" ? "#b42318" : color }, pg);
      if (lay.named) {
        svg("text", { class: "port-label", x: w - 13, y: py + 3.5, "text-anchor": "end" }, pg).textContent = fit(p, w - 60, "600 11px " + FONT).text;
      } else if (lay.ports.length > 1) {
        // out and error sit side by side: name them just outside, above where the edge leaves.
        svg("text", { class: "port-label port-label-out", x: w + 9, y: py - 6 }, pg).textContent = p;
      }
    });
    // The badge sits on the top edge, clear of the exits on the right.
    const badge = svg("g", { class: "node-badge", transform: `translate(${w - 30} 0)`, visibility: "hidden" }, g);
    svg("circle", { r: 10 }, badge);
    svg("text", { y: 4, "text-anchor": "middle" }, badge);
    svg("title", null, badge);
    rec.badge = badge;
    rec.problems = -1;
    rec.sig = sig;
  }

  place(g, n) {
    const p = this.model.pos(n);
    g.setAttribute("transform", `translate(${p.x} ${p.y})`);
  }

  // portPoint is where an edge leaves the node, in world coordinates.
  portPoint(n, port) {
    const lay = this.model.layout(n);
    const i = lay.ports.indexOf(port || "out");
    const p = this.model.pos(n);
    if (i < 0) return { x: p.x + lay.w, y: p.y + lay.h / 2, missing: true };
    return { x: p.x + lay.w + 5, y: p.y + lay.ys[i] };
  }

  inPoint(n) {
    const { h } = this.model.size(n);
    const p = this.model.pos(n);
    return { x: p.x - 4, y: p.y + h / 2 };
  }

  // boxes are the nodes' boxes that routes go around, built once per change of positions.
  boxes() {
    if (this.boxCache) return this.boxCache;
    const byId = new Map();
    const list = [];
    for (const n of this.model.nodes) {
      if (!n || typeof n !== "object" || byId.has(n.id)) continue;
      const p = this.model.pos(n);
      const s = this.model.size(n);
      const b = { x: p.x, y: p.y, w: s.w, h: s.h };
      byId.set(n.id, b);
      list.push(b);
    }
    this.boxCache = { list, byId };
    return this.boxCache;
  }

  forgetBoxes() {
    this.boxCache = null;
  }

  static curve(a, b) {
    const c = Math.max(40, Math.abs(b.x - a.x) * 0.5);
    return `M${a.x} ${a.y} C${a.x + c} ${a.y} ${b.x - c} ${b.y} ${b.x} ${b.y}`;
  }

  renderEdges() {
    const m = this.model;
    this.forgetBoxes();
    this.edgesLayer.replaceChildren();
    this.labelsLayer.replaceChildren();
    this.edgeEls.clear();
    const ef = document.createDocumentFragment();
    const lf = document.createDocumentFragment();
    m.edges.forEach((e, i) => {
      const g = svg("g", { class: "edge", "data-index": i, "data-testid": `edge-${e.from}-${e.port || "out"}-${e.to}` });
      const hit = svg("path", { class: "edge-hit" }, g);
      const path = svg("path", { class: "edge-line", "marker-end": "url(#arrow)" }, g);
      let label = null;
      const src = m.node(e.from);
      const text = edgeText(e, src ? m.layout(src).named : false);
      if (text) {
        label = svg("g", { class: "edge-label", "data-index": i });
        svg("rect", { y: -10, height: 20, rx: 10 }, label);
        svg("text", { y: 4, "text-anchor": "middle" }, label);
        svg("title", null, label).textContent = (e.port ? "exit: " + e.port : "") + (e.when ? (e.port ? "\n" : "") + "when: " + e.when : "");
        lf.appendChild(label);
      }
      const rec = { g, path, hit, label, text, index: i, marker: "arrow" };
      this.edgeEls.set(e, rec);
      this.drawEdge(e, rec);
      ef.appendChild(g);
    });
    this.edgesLayer.appendChild(ef);
    this.labelsLayer.appendChild(lf);
  }

  drawEdge(e, rec) {
    const m = this.model;
    const a = m.node(e.from);
    const b = m.node(e.to);
    if (!a || !b) {
      rec.g.setAttribute("visibility", "hidden");
      if (rec.label) rec.label.setAttribute("visibility", "hidden");
      return;
    }
    const p1 = this.portPoint(a, e.port);
    const p2 = this.inPoint(b);
    const boxes = this.boxes();
    const pts = routeEdge(p1, p2, boxes.byId.get(a.id), boxes.byId.get(b.id), boxes.list);
    const d = routePath(pts);
    rec.path.setAttribute("d", d);
    rec.hit.setAttribute("d", d);
    rec.g.classList.toggle("edge-dangling", !!p1.missing);
    if (rec.label) {
      // The label's whole text, unless the gap between the nodes beside it is narrower: then
      // as much as fits (its title has it all), so that no node hides it.
      let t = fit(rec.text, LABEL_MAX, LABEL_FONT);
      let at = labelPoint(pts, t.width + LABEL_PAD, LABEL_CLEAR, boxes.list);
      if (t.width + LABEL_PAD > at.room) {
        t = fit(rec.text, Math.floor(at.room) - LABEL_PAD, LABEL_FONT);
        at = labelPoint(pts, t.width + LABEL_PAD, LABEL_CLEAR, boxes.list);
      }
      if (rec.label.dataset.text !== t.text) {
        const width = t.width + LABEL_PAD;
        rec.label.dataset.text = t.text;
        rec.label.firstChild.setAttribute("x", -width / 2);
        rec.label.firstChild.setAttribute("width", width);
        rec.label.children[1].textContent = t.text;
      }
      rec.label.setAttribute("transform", `translate(${at.x} ${at.y})`);
    }
  }

  // rerouteAll redraws every edge, after nodes moved: a route may have to go round them now.
  rerouteAll() {
    this.forgetBoxes();
    for (const [e, rec] of this.edgeEls) this.drawEdge(e, rec);
  }

  // beginDrag lifts the dragged nodes, and the edges among them, into a layer of their own
  // that moves with one transform; only the edges that link them to the rest are redrawn
  // while the drag lasts.
  beginDrag(ids) {
    const set = new Set(ids);
    const focused = document.activeElement;
    const boundary = [];
    const inner = [];
    const seen = new Set();
    for (const id of ids) {
      const rec = this.nodeEls.get(id);
      if (rec) this.dragLayer.appendChild(rec.g);
      for (const e of this.model.edgesOf(id)) {
        if (seen.has(e)) continue;
        seen.add(e);
        const er = this.edgeEls.get(e);
        if (!er) continue;
        if (set.has(e.from) && set.has(e.to)) {
          inner.push(e);
          this.dragLayer.insertBefore(er.g, this.dragLayer.firstChild);
          if (er.label) this.dragLayer.appendChild(er.label);
        } else {
          boundary.push(e);
        }
      }
    }
    this.dragging = { ids, boundary, inner, focused };
    this.dragLayer.setAttribute("transform", "translate(0 0)");
  }

  // dragTo moves the lifted nodes by (dx, dy) from where they were; the model already has
  // their new positions.
  dragTo(dx, dy) {
    const d = this.dragging;
    if (!d) return;
    this.dragLayer.setAttribute("transform", `translate(${dx} ${dy})`);
    this.forgetBoxes();
    for (const e of d.boundary) {
      const rec = this.edgeEls.get(e);
      if (rec) this.drawEdge(e, rec);
    }
  }

  // endDrag puts the lifted nodes back where the model has them.
  endDrag() {
    const d = this.dragging;
    if (!d) return;
    this.dragging = null;
    this.dragLayer.removeAttribute("transform");
    for (const e of d.inner) {
      const rec = this.edgeEls.get(e);
      if (!rec) continue;
      this.edgesLayer.appendChild(rec.g);
      if (rec.label) this.labelsLayer.appendChild(rec.label);
    }
    this.rerouteAll();
    for (const id of d.ids) {
      const rec = this.nodeEls.get(id);
      const n = this.model.node(id);
      if (rec && n) {
        this.place(rec.g, n);
        this.nodesLayer.appendChild(rec.g);
      }
    }
    this.reorder(this.model.nodes.map((n) => this.nodeEls.get(n.id)).filter(Boolean).map((r) => r.g));
    if (d.focused && d.focused !== document.activeElement && d.focused.isConnected) d.focused.focus({ preventScroll: true });
  }

  // moveNodes redraws the given nodes where the model now has them, and their edges.
  moveNodes(ids) {
    for (const id of ids) {
      const rec = this.nodeEls.get(id);
      const n = this.model.node(id);
      if (rec && n) this.place(rec.g, n);
    }
    this.rerouteAll();
  }

  // updateSelection marks the selected nodes and edges, touching only those whose state
  // changed: rewriting 500 attributes on every click would restyle the whole drawing.
  updateSelection() {
    const sel = this.ed.sel;
    for (const [id, rec] of this.nodeEls) {
      const on = sel.nodes.has(id);
      if (rec.selected === on) continue;
      rec.selected = on;
      rec.g.classList.toggle("selected", on);
      rec.g.setAttribute("aria-selected", on ? "true" : "false");
    }
    for (const [e, rec] of this.edgeEls) {
      const on = sel.edges.has(e);
      if (rec.selected === on) continue;
      rec.selected = on;
      rec.g.classList.toggle("selected", on);
      if (rec.label) rec.label.classList.toggle("selected", on);
      this.edgeMarker(rec);
    }
  }

  // refreshNode redraws one node after its label or ports changed, and the edges it has.
  refreshNode(id) {
    const rec = this.nodeEls.get(id);
    const n = this.model.node(id);
    if (!rec || !n) return this.render();
    const sig = this.signature(n);
    if (rec.sig === sig) return;
    this.fillNode(rec, n, sig);
    rec.selected = undefined;
    this.place(rec.g, n);
    this.renderEdges();
    this.updateSelection();
    this.updateProblems();
  }

  edgeMarker(rec) {
    const marker = rec.selected ? "arrow-selected" : rec.problem ? "arrow-problem" : "arrow";
    if (rec.marker !== marker) {
      rec.marker = marker;
      rec.path.setAttribute("marker-end", `url(#${marker})`);
    }
  }

  // updateProblems puts a badge on each node with problems and marks edges with problems.
  updateProblems() {
    const byNode = this.ed.problems.byNode;
    for (const [id, rec] of this.nodeEls) {
      const list = byNode.get(id) || [];
      const text = list.map((p) => p.message).join("\n");
      if (rec.problems === list.length && rec.problemText === text) continue;
      rec.problems = list.length;
      rec.problemText = text;
      rec.badge.setAttribute("visibility", list.length ? "visible" : "hidden");
      rec.badge.querySelector("text").textContent = list.length > 9 ? "9+" : String(list.length);
      rec.badge.querySelector("title").textContent = rec.problemText;
      rec.g.classList.toggle("has-problems", list.length > 0);
      const n = this.model.node(id);
      const label = (n && n.label) || id;
      rec.g.setAttribute(
        "aria-label",
        label + " (" + (n ? n.kind : "") + ")" + (list.length ? `, ${list.length} problem${list.length > 1 ? "s" : ""}` : ""),
      );
    }
    const byEdge = this.ed.problems.byEdge;
    for (const rec of this.edgeEls.values()) {
      const bad = byEdge.has(rec.index);
      if (rec.problem === bad) continue;
      rec.problem = bad;
      rec.g.classList.toggle("problem", bad);
      if (rec.label) rec.label.classList.toggle("problem", bad);
      this.edgeMarker(rec);
    }
  }

  setHighlight(id, cls, on) {
    const rec = this.nodeEls.get(id);
    if (rec) rec.g.classList.toggle(cls, on);
  }

  focusNode(id) {
    const rec = this.nodeEls.get(id);
    if (rec) rec.g.focus({ preventScroll: true });
  }

  // View: pan and zoom.

  // stageRect is where the canvas is on screen. It is cached for the length of a gesture:
  // reading it afresh would force a layout of the whole drawing on every pointer move.
  stageRect() {
    if (!this.rect) this.rect = this.svg.getBoundingClientRect();
    return this.rect;
  }

  forgetRect() {
    this.rect = null;
  }

  toWorld(clientX, clientY) {
    const r = this.stageRect();
    const v = this.view;
    return { x: (clientX - r.left - v.x) / v.k, y: (clientY - r.top - v.y) / v.k };
  }

  setView(x, y, k) {
    this.view = { x, y, k: Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k)) };
    if (this.viewQueued) return;
    this.viewQueued = true;
    requestAnimationFrame(() => {
      this.viewQueued = false;
      this.applyView();
    });
  }

  applyView() {
    const { x, y, k } = this.view;
    const t = `translate(${x} ${y}) scale(${k})`;
    this.viewport.setAttribute("transform", t);
    if (this.grid) this.grid.setAttribute("patternTransform", t);
    if (this.zoomLabel) this.zoomLabel.textContent = Math.round(k * 100) + "%";
    this.svg.classList.toggle("zoomed-out", k < 0.45);
  }

  // zoomAt zooms by factor keeping the client point still.
  zoomAt(factor, clientX, clientY) {
    const r = this.stageRect();
    const v = this.view;
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.k * factor));
    const sx = clientX - r.left;
    const sy = clientY - r.top;
    const wx = (sx - v.x) / v.k;
    const wy = (sy - v.y) / v.k;
    this.setView(sx - wx * k, sy - wy * k, k);
  }

  zoomCenter(factor) {
    const r = this.stageRect();
    this.zoomAt(factor, r.left + r.width / 2, r.top + r.height / 2);
  }

  resetZoom() {
    this.zoomCenter(1 / this.view.k);
  }

  // fit shows the whole graph (or the given nodes), never magnified past 125%.
  fit(ids) {
    const b = this.model.bounds(ids);
    const r = this.stageRect();
    if (!b || r.width === 0) {
      this.setView(40, 40, 1);
      return;
    }
    const pad = 48;
    const k = Math.min(1.25, (r.width - 2 * pad) / Math.max(b.w, 1), (r.height - 2 * pad) / Math.max(b.h, 1));
    const kk = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));
    this.setView((r.width - b.w * kk) / 2 - b.x * kk, (r.height - b.h * kk) / 2 - b.y * kk, kk);
  }

  // openView is the view a graph opens with: all of it, unless that makes the steps too
  // small to read; then its start, at a readable size.
  openView() {
    this.fit();
    const b = this.model.bounds();
    if (!b || this.view.k >= 0.45) return;
    const k = 0.8;
    this.setView(48 - b.x * k, 48 - b.y * k, k);
  }

  // reveal pans so that the node is in view, if it is not.
  reveal(id) {
    const n = this.model.node(id);
    if (!n) return;
    const r = this.uncovered();
    const p = this.model.pos(n);
    const s = this.model.size(n);
    const v = this.view;
    const x0 = p.x * v.k + v.x;
    const y0 = p.y * v.k + v.y;
    const x1 = x0 + (s.w + 40) * v.k; // with the exits' names, which stand outside the box
    const y1 = y0 + s.h * v.k;
    // Pan as little as needed to bring it in, with a margin.
    const m = 32;
    const shift = (lo, hi, size) => (hi - lo > size - 2 * m ? m - lo : lo < m ? m - lo : hi > size - m ? size - m - hi : 0);
    const dx = shift(x0, x1, r.width);
    const dy = shift(y0, y1, r.height);
    if (dx || dy) this.setView(v.x + dx, v.y + dy, v.k);
  }

  // uncovered is the size of the part of the canvas that the settings panel does not lie
  // over: on a narrow window the panel is a sheet at the bottom (below 760 px) or a drawer on
  // the right, and a step revealed under it would still be hidden.
  uncovered() {
    const r = this.stageRect();
    const box = { width: r.width, height: r.height };
    const panel = document.getElementById("panel");
    if (!panel || !panel.offsetParent || getComputedStyle(panel).position !== "absolute") return box;
    const p = panel.getBoundingClientRect();
    if (p.top > r.top + r.height / 3) box.height = Math.max(80, p.top - r.top);
    else if (p.left > r.left + r.width / 3) box.width = Math.max(80, p.left - r.left);
    return box;
  }

  // viewCenter is the world point at the middle of the canvas.
  viewCenter() {
    const r = this.stageRect();
    return this.toWorld(r.left + r.width / 2, r.top + r.height / 2);
  }
}

// An edge's label is at most LABEL_MAX wide in LABEL_FONT, plus LABEL_PAD round the text.
const LABEL_MAX = 170;
const LABEL_FONT = "550 11px " + FONT;
const LABEL_PAD = 16;

// fit shortens text with an ellipsis until it is at most max pixels wide in font. It measures
// on a canvas, which needs no layout of the page, so it stays cheap for hundreds of nodes.
let measureCtx = null;
const measured = new Map();
function fit(text, max, font) {
  text = String(text == null ? "" : text).replace(/\s+/g, " ").trim();
  const key = font + "\u0000" + max + "\u0000" + text;
  const hit = measured.get(key);
  if (hit) return hit;
  if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
  measureCtx.font = font;
  const width = (s) => measureCtx.measureText(s).width;
  let out = text;
  let wd = width(text);
  if (wd > max) {
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (width(text.slice(0, mid) + "…") <= max) lo = mid;
      else hi = mid - 1;
    }
    out = text.slice(0, lo).trimEnd() + "…";
    wd = width(out);
  }
  const r = { text: out, width: wd };
  if (measured.size > 5000) measured.clear();
  measured.set(key, r);
  return r;
}

// edgeText is what an edge's label says: its exit (unless the default) and its condition.
export function edgeText(e, portsNamed) {
  const parts = [];
  if (e.port && e.port !== "out" && !portsNamed) parts.push(e.port);
  if (e.when) parts.push("if " + e.when);
  return parts.join(" · ");
}

// model.js: the draft document in the browser, its changes and their undo history. Every
// change goes through here, so that the canvas, the panel and the autosave stay in step.

export const ID_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

export const NODE_W = 208;
const HEAD_H = 48;

// nodeSize is the size of a node with unnamed ports (out, error): its height grows with them.
export function nodeSize(portCount) {
  return { w: NODE_W, h: Math.max(56, 16 + 20 * Math.max(1, portCount)) };
}

export class Model {
  constructor(doc, kinds, defaultOutcomes) {
    this.doc = doc;
    if (!Array.isArray(doc.nodes)) doc.nodes = [];
    if (!Array.isArray(doc.edges)) doc.edges = [];
    this.kinds = new Map(kinds.map((k) => [k.name, k]));
    this.defaultOutcomes = defaultOutcomes;
    this.reindex();
    this.renamed = this.uniqueIds();
  }

  // uniqueIds gives a fresh id to each node whose id is missing or taken by an earlier node,
  // so that every node can be drawn and selected; the validator would refuse them anyway.
  uniqueIds() {
    const seen = new Set();
    const renamed = [];
    for (const n of this.doc.nodes) {
      if (!n || typeof n !== "object") continue;
      if (typeof n.id === "string" && n.id !== "" && !seen.has(n.id)) {
        seen.add(n.id);
        continue;
      }
      const old = n.id;
      n.id = this.newId(typeof n.kind === "string" && ID_PATTERN.test(n.kind) ? n.kind : "step", seen);
      seen.add(n.id);
      renamed.push([old, n.id]);
    }
    if (renamed.length) this.reindex();
    return renamed;
  }

  get nodes() {
    return this.doc.nodes;
  }

  get edges() {
    return this.doc.edges;
  }

  // reindex rebuilds the lookups after a structural change.
  reindex() {
    this.byId = new Map();
    for (const n of this.doc.nodes) {
      if (n && typeof n === "object" && !this.byId.has(n.id)) this.byId.set(n.id, n);
    }
    this.adj = new Map();
    for (const e of this.doc.edges) {
      for (const id of [e.from, e.to]) {
        let s = this.adj.get(id);
        if (!s) this.adj.set(id, (s = new Set()));
        s.add(e);
      }
    }
  }

  node(id) {
    return this.byId.get(id);
  }

  kind(name) {
    return this.kinds.get(name);
  }

  // edgesOf lists the edges that touch the node.
  edgesOf(id) {
    return this.adj.get(id) || new Set();
  }

  // portsOf lists the ports a node completes on: an approval's outcomes, else its kind's.
  portsOf(node) {
    if (node.kind === "approval") {
      const o = node.config && node.config.outcomes;
      if (Array.isArray(o)) {
        const list = o.filter((x) => typeof x === "string" && x !== "");
        if (list.length) return list;
      }
      return this.defaultOutcomes.slice();
    }
    const k = this.kinds.get(node.kind);
    return k ? k.ports.slice() : ["out"];
  }

  // layout is a node's geometry: its size and the height of each port. Ports with names of
  // their own (an approval's outcomes) get a row each under the header, with the name beside
  // the dot; out and error sit centred on the right edge.
  layout(node) {
    const ports = this.portsOf(node);
    const named = node.kind === "approval" || ports.some((p) => p !== "out" && p !== "error");
    if (named) {
      return { w: NODE_W, h: HEAD_H + 20 * ports.length + 4, head: HEAD_H, ports, named, ys: ports.map((_, i) => HEAD_H + 20 * i + 10) };
    }
    const { w, h } = nodeSize(ports.length);
    return { w, h, head: h, ports, named, ys: ports.map((_, i) => h / 2 + (i - (ports.length - 1) / 2) * 20) };
  }

  size(node) {
    const l = this.layout(node);
    return { w: l.w, h: l.h };
  }

  pos(node) {
    const p = node.position;
    return p && Number.isFinite(p.x) && Number.isFinite(p.y) ? p : { x: 0, y: 0 };
  }

  // newId is kind_N with the smallest free N, or base_N for a copy of base.
  newId(base, taken) {
    base = String(base).replace(/_\d+$/, "").slice(0, 56) || "step";
    if (!ID_PATTERN.test(base)) base = "step";
    for (let n = 1; ; n++) {
      const id = base + "_" + n;
      if (!this.byId.has(id) && !(taken && taken.has(id))) return id;
    }
  }

  addNode(kind, x, y) {
    const k = this.kinds.get(kind);
    const node = {
      id: this.newId(kind),
      kind,
      label: k ? k.label : kind,
      position: { x: Math.round(x), y: Math.round(y) },
      config: {},
    };
    this.doc.nodes.push(node);
    this.reindex();
    return node;
  }

  // removeNodes removes nodes and every edge that touches them.
  removeNodes(ids) {
    const gone = new Set(ids);
    this.doc.nodes = this.doc.nodes.filter((n) => !gone.has(n.id));
    this.doc.edges = this.doc.edges.filter((e) => !gone.has(e.from) && !gone.has(e.to));
    this.reindex();
  }

  removeEdges(edges) {
    const gone = new Set(edges);
    this.doc.edges = this.doc.edges.filter((e) => !gone.has(e));
    this.reindex();
  }

  // connectProblem says why from.port → to cannot be added, or "" when it can.
  connectProblem(from, port, to) {
    if (from === to) return "A step cannot connect to itself.";
    if (!this.byId.has(from) || !this.byId.has(to)) return "That step no longer exists.";
    const p = port || "out";
    const dup = this.doc.edges.some((e) => e.from === from && e.to === to && (e.port || "out") === p);
    if (dup) return "These steps are already connected on that exit.";
    if (this.reaches(to, from)) return "That connection would make a loop; graphs cannot have cycles.";
    return "";
  }

  // reaches reports whether there is a path from a to b.
  reaches(a, b) {
    const seen = new Set([a]);
    const stack = [a];
    while (stack.length) {
      const id = stack.pop();
      if (id === b) return true;
      for (const e of this.edgesOf(id)) {
        if (e.from === id && !seen.has(e.to)) {
          seen.add(e.to);
          stack.push(e.to);
        }
      }
    }
    return false;
  }

  addEdge(from, port, to) {
    const e = { from, to };
    if (port && port !== "out") e.port = port;
    this.doc.edges.push(e);
    this.reindex();
    return e;
  }

  // renameNode gives a node a new id, and follows it in edges and in the expressions and
  // templates that read nodes.<old> anywhere in the graph.
  renameNode(oldId, newId) {
    const node = this.byId.get(oldId);
    if (!node) return;
    node.id = newId;
    for (const e of this.doc.edges) {
      if (e.from === oldId) e.from = newId;
      if (e.to === oldId) e.to = newId;
    }
    const re = refPattern(oldId);
    const fix = (s) => s.replace(re, "$1nodes." + newId);
    for (const n of this.doc.nodes) {
      if (n.config !== undefined) n.config = mapStrings(n.config, fix);
    }
    for (const e of this.doc.edges) if (typeof e.when === "string") e.when = fix(e.when);
    if (typeof this.doc.output === "string") this.doc.output = fix(this.doc.output);
    this.reindex();
  }

  // setField writes value at a dotted path of target ("config.on_due.outcome"); undefined
  // deletes it, and parents left empty (retry, on_due) go with it.
  static setPath(target, path, value) {
    const keys = path.split(".");
    const chain = [target];
    let cur = target;
    for (let i = 0; i < keys.length - 1; i++) {
      let next = cur[keys[i]];
      if (next === null || typeof next !== "object" || Array.isArray(next)) {
        if (value === undefined) return;
        next = cur[keys[i]] = {};
      }
      chain.push(next);
      cur = next;
    }
    const last = keys[keys.length - 1];
    if (value === undefined) delete cur[last];
    else cur[last] = value;
    for (let i = keys.length - 2; i >= 0; i--) {
      const obj = chain[i + 1];
      if (Object.keys(obj).length === 0 && !(i === 0 && keys[0] === "config")) delete chain[i][keys[i]];
      else break;
    }
  }

  static getPath(target, path) {
    let cur = target;
    for (const k of path.split(".")) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = cur[k];
    }
    return cur;
  }

  // copy returns the nodes and the edges among them, as plain data.
  copy(ids) {
    const set = new Set(ids);
    return JSON.parse(
      JSON.stringify({
        nodes: this.doc.nodes.filter((n) => set.has(n.id)),
        edges: this.doc.edges.filter((e) => set.has(e.from) && set.has(e.to)),
      }),
    );
  }

  // paste adds copied nodes with fresh ids, moved by (dx, dy), and returns the new ids.
  paste(clip, dx, dy) {
    const rename = new Map();
    const taken = new Set();
    for (const n of clip.nodes) {
      if (!n || typeof n !== "object") continue;
      const id = this.newId(ID_PATTERN.test(n.id) ? n.id : n.kind || "step", taken);
      taken.add(id);
      rename.set(n.id, id);
    }
    const fixers = [...rename].map(([from, to]) => [refPattern(from), to]);
    const fix = (s) => fixers.reduce((acc, [re, to]) => acc.replace(re, "$1nodes." + to), s);
    const added = [];
    for (const n of clip.nodes) {
      if (!rename.has(n.id)) continue;
      const copy = JSON.parse(JSON.stringify(n));
      copy.id = rename.get(n.id);
      const p = this.pos(n);
      copy.position = { x: Math.round(p.x + dx), y: Math.round(p.y + dy) };
      if (copy.config !== undefined) copy.config = mapStrings(copy.config, fix);
      this.doc.nodes.push(copy);
      added.push(copy.id);
    }
    for (const e of clip.edges || []) {
      if (!rename.has(e.from) || !rename.has(e.to)) continue;
      const copy = Object.assign({}, e, { from: rename.get(e.from), to: rename.get(e.to) });
      if (typeof copy.when === "string") copy.when = fix(copy.when);
      this.doc.edges.push(copy);
    }
    this.reindex();
    return added;
  }

  // bounds is the box around the nodes (all of them when ids is empty).
  bounds(ids) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const list = ids && ids.length ? ids.map((id) => this.byId.get(id)).filter(Boolean) : this.doc.nodes;
    for (const n of list) {
      const p = this.pos(n);
      const s = this.size(n);
      x0 = Math.min(x0, p.x);
      y0 = Math.min(y0, p.y);
      x1 = Math.max(x1, p.x + s.w);
      y1 = Math.max(y1, p.y + s.h);
    }
    return x0 === Infinity ? null : { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }

  // nodeAt finds the topmost node whose box holds the world point.
  nodeAt(x, y) {
    for (let i = this.doc.nodes.length - 1; i >= 0; i--) {
      const n = this.doc.nodes[i];
      const p = this.pos(n);
      const s = this.size(n);
      if (x >= p.x && x <= p.x + s.w && y >= p.y && y <= p.y + s.h) return n;
    }
    return null;
  }

  // freeSpot finds a place for a new node near (x, y) where it overlaps no other: there,
  // lower down, or in the next columns to the right.
  freeSpot(x, y) {
    const w = NODE_W;
    const h = 76;
    const clear = (px, py) =>
      !this.doc.nodes.some((n) => {
        const p = this.pos(n);
        const ns = this.size(n);
        return px < p.x + ns.w + 24 && px + w + 24 > p.x && py < p.y + ns.h + 20 && py + h + 20 > p.y;
      });
    for (let col = 0; col < 12; col++) {
      for (let row = 0; row < 12; row++) {
        const px = x + col * (w + 72);
        const py = y + row * 88;
        if (clear(px, py)) return { x: px, y: py };
      }
    }
    return { x, y };
  }

}

// refPattern matches nodes.<id> as a whole name in expression text.
function refPattern(id) {
  return new RegExp("(^|[^A-Za-z0-9_.])nodes\\." + id + "(?![A-Za-z0-9_])", "g");
}

// mapStrings applies fn to every string inside a JSON value.
function mapStrings(v, fn) {
  if (typeof v === "string") return fn(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, fn));
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = mapStrings(v[k], fn);
    return out;
  }
  return v;
}

// History keeps snapshots of the document for undo and redo. Changes that follow each other
// under one key (typing in one field, nudging) make a single step.
export class History {
  constructor(model, limit) {
    this.model = model;
    this.limit = limit || 100;
    this.undos = [];
    this.redos = [];
    this.lastKey = null;
    this.lastAt = 0;
  }

  // checkpoint records the document before a change.
  checkpoint(key) {
    const now = performance.now();
    if (key && key === this.lastKey && now - this.lastAt < 1500) {
      this.lastAt = now;
      return;
    }
    this.undos.push(JSON.stringify(this.model.doc));
    if (this.undos.length > this.limit) this.undos.shift();
    this.redos = [];
    this.lastKey = key || null;
    this.lastAt = now;
  }

  // breakRun makes the next change a step of its own.
  breakRun() {
    this.lastKey = null;
  }

  canUndo() {
    return this.undos.length > 0;
  }

  canRedo() {
    return this.redos.length > 0;
  }

  undo() {
    return this.swap(this.undos, this.redos);
  }

  redo() {
    return this.swap(this.redos, this.undos);
  }

  swap(from, to) {
    if (!from.length) return false;
    to.push(JSON.stringify(this.model.doc));
    this.model.doc = JSON.parse(from.pop());
    this.model.reindex();
    this.lastKey = null;
    return true;
  }
}

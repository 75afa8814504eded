// layout.js: automatic placement of nodes, left to right. "Auto-layout" uses dagre, loaded
// the first time it is needed; nodes that come without a position (a graph written by hand
// or through the API) get a quick layered placement when the editor opens.

let dagreLoading = null;

function loadDagre(src) {
  if (window.dagre) return Promise.resolve(window.dagre);
  if (!dagreLoading) {
    dagreLoading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => (window.dagre ? resolve(window.dagre) : reject(new Error("dagre did not load")));
      s.onerror = () => {
        dagreLoading = null;
        reject(new Error("the layout library could not be loaded"));
      };
      document.head.appendChild(s);
    });
  }
  return dagreLoading;
}

// dagreLayout computes positions for the nodes (all when ids is empty) and returns a Map id →
// {x, y}. The placement keeps the top-left corner of the group where it was.
export async function dagreLayout(model, src, ids) {
  const dagre = await loadDagre(src);
  const only = ids && ids.length ? new Set(ids) : null;
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 90, edgesep: 16, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const nodes = model.nodes.filter((n) => !only || only.has(n.id));
  for (const n of nodes) {
    const s = model.size(n);
    g.setNode(n.id, { width: s.w + 40, height: s.h });
  }
  model.edges.forEach((e, i) => {
    if (!g.hasNode(e.from) || !g.hasNode(e.to) || e.from === e.to) return;
    // Room for the condition label, so that it does not land on a node.
    const label = e.when ? Math.min(180, 16 + 6.5 * e.when.length) : 0;
    g.setEdge(e.from, e.to, { minlen: 1, width: label, height: label ? 22 : 0, labelpos: "c" }, String(i));
  });
  dagre.layout(g);
  const before = model.bounds(nodes.map((n) => n.id));
  let minX = Infinity;
  let minY = Infinity;
  const out = new Map();
  for (const n of nodes) {
    const d = g.node(n.id);
    const s = model.size(n);
    const p = { x: d.x - s.w / 2, y: d.y - s.h / 2 };
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    out.set(n.id, p);
  }
  const ox = before ? before.x : 40;
  const oy = before ? before.y : 40;
  for (const [id, p] of out) out.set(id, { x: Math.round(p.x - minX + ox), y: Math.round(p.y - minY + oy) });
  return out;
}

// quickLayout places the nodes that have no position in layers by longest path from the
// sources, to the right of the nodes that have one. It is linear in the size of the graph.
export function quickLayout(model) {
  const missing = model.nodes.filter((n) => !n.position || !Number.isFinite(n.position.x) || !Number.isFinite(n.position.y));
  if (!missing.length) return false;
  const placed = model.nodes.filter((n) => !missing.includes(n));
  const b = model.bounds(placed.map((n) => n.id));
  const x0 = b ? b.x + b.w + 120 : 40;
  const y0 = b ? b.y : 40;
  // Longest-path layering over the missing nodes (Kahn's order; cycles fall back to 0).
  const ids = new Set(missing.map((n) => n.id));
  const indeg = new Map(missing.map((n) => [n.id, 0]));
  for (const e of model.edges) if (ids.has(e.from) && ids.has(e.to)) indeg.set(e.to, indeg.get(e.to) + 1);
  const rank = new Map();
  const queue = missing.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  for (const id of queue) rank.set(id, 0);
  while (queue.length) {
    const id = queue.shift();
    for (const e of model.edgesOf(id)) {
      if (e.from !== id || !ids.has(e.to)) continue;
      rank.set(e.to, Math.max(rank.get(e.to) || 0, rank.get(id) + 1));
      indeg.set(e.to, indeg.get(e.to) - 1);
      if (indeg.get(e.to) === 0) queue.push(e.to);
    }
  }
  const rows = new Map();
  for (const n of missing) {
    const r = rank.get(n.id) || 0;
    const row = rows.get(r) || 0;
    rows.set(r, row + 1);
    n.position = { x: x0 + r * 280, y: y0 + row * 104 };
  }
  return true;
}

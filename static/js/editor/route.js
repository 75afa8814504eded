// route.js: edge routing. This mirrors templates/graphroute.go line for line, so that an edge
// takes the same way in the editor as on the run and diff pages.
//
// An edge leaves its exit to the right and enters its target from the left, always. Between
// them it runs in horizontal and vertical segments around the boxes of the other nodes: a
// forward edge turns once in the gap between the columns (or not at all), and an edge to a
// node on its left, or to one that is too close, goes round through a free horizontal
// channel above or below the boxes in its way.

export const STUB = 16; // how far an edge runs straight out of its exit and into its entry
const GAP = 14; // the clearance a route keeps from the boxes it passes
const PAD = 5; // how close a segment may come to a box before it counts as crossing it
const RADIUS = 8; // rounds the corners
const TRIES = 24; // routes tried of each shape before the plain one is taken
// LABEL_CLEAR is how far past its exit an edge's label may start: room for the exit's name
// beside the dot ("error" in 10 px type, 9 px out, and a margin).
export const LABEL_CLEAR = 40;
// LABEL_NEAR is how close to the exit's height a label (20 high) may come to the names of the
// exits (20 apart) beside it.
const LABEL_NEAR = 30;
// LABEL_MARGIN is the least room a label leaves to a node beside it; LABEL_HALF is half its
// height: the boxes within it of a run bound its label.
const LABEL_MARGIN = 6;
const LABEL_HALF = 10;

// routeEdge returns the corners of the route from a (an exit on the right side of box from)
// to b (the entry on the left side of box to), first and last included. boxes are every box
// of the drawing ({x, y, w, h}), from and to among them.
export function routeEdge(a, b, from, to, boxes) {
  // Every route stays between the two ends, give or take a stub and a gap: only the boxes
  // there can be in its way.
  const lo = Math.min(a.x, b.x) - STUB - GAP;
  const hi = Math.max(a.x, b.x) + STUB + GAP;
  const near = [];
  for (const bx of boxes) if (bx.x <= hi && bx.x + bx.w >= lo) near.push(bx);
  return simplify(route(a, b, from, to, near));
}

function route(a, b, from, to, boxes) {
  const x1 = a.x + STUB;
  const x2 = b.x - STUB;
  const free = (pts) => isFree(pts, from, to, boxes);
  if (x2 >= x1) {
    // Forward: one vertical segment in the gap, where it crosses nothing.
    for (const xm of columns(a, b, x1, x2, boxes).slice(0, TRIES)) {
      const pts = [a, { x: xm, y: a.y }, { x: xm, y: b.y }, b];
      if (free(pts)) return pts;
    }
    for (const yc of channels(a, b, x1, x2, boxes).slice(0, TRIES)) {
      const pts = [a, { x: x1, y: a.y }, { x: x1, y: yc }, { x: x2, y: yc }, { x: x2, y: b.y }, b];
      if (free(pts)) return pts;
    }
    const xm = (a.x + b.x) / 2;
    return [a, { x: xm, y: a.y }, { x: xm, y: b.y }, b];
  }
  // Backward or too close: out to the right, round through a channel, in from the left.
  for (const yc of channels(a, b, x2, x1, boxes).slice(0, TRIES)) {
    const pts = [a, { x: x1, y: a.y }, { x: x1, y: yc }, { x: x2, y: yc }, { x: x2, y: b.y }, b];
    if (free(pts)) return pts;
  }
  const yc = Math.max(from.y + from.h, to.y + to.h) + GAP;
  return [a, { x: x1, y: a.y }, { x: x1, y: yc }, { x: x2, y: yc }, { x: x2, y: b.y }, b];
}

// columns are the x where a forward edge may turn: the middle of the gap first, then beside
// the boxes that stand in the gap, nearest to the middle first.
function columns(a, b, x1, x2, boxes) {
  const mid = (a.x + b.x) / 2;
  const xs = [];
  const lo = Math.min(a.y, b.y);
  const hi = Math.max(a.y, b.y);
  for (const bx of boxes) {
    if (bx.x > x2 || bx.x + bx.w < x1 || bx.y > hi + GAP || bx.y + bx.h < lo - GAP) continue;
    for (const x of [bx.x - GAP, bx.x + bx.w + GAP]) if (x >= x1 && x <= x2) xs.push(x);
  }
  xs.push(x1, x2);
  sortStable(xs, (x) => Math.abs(x - mid));
  return [mid, ...xs];
}

// channels are the y of horizontal runs between x0 and x1 that clear the boxes there:
// above and below each box in the way, the cheapest detour first.
function channels(a, b, x0, x1, boxes) {
  const ys = [];
  if (b.x - a.x >= 2 * STUB) ys.push(a.y, b.y);
  for (const bx of boxes) {
    if (bx.x > x1 + GAP || bx.x + bx.w < x0 - GAP) continue;
    ys.push(bx.y - GAP, bx.y + bx.h + GAP);
  }
  sortStable(ys, (y) => Math.abs(y - a.y) + Math.abs(y - b.y));
  return ys;
}

// sortStable sorts by a key, keeping the order of equal keys (as Go's sort.SliceStable).
function sortStable(list, key) {
  const keyed = list.map((v, i) => [key(v), i, v]);
  keyed.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  for (let i = 0; i < list.length; i++) list[i] = keyed[i][2];
}

// isFree reports whether the route crosses no box; its first segment may leave the source
// box and its last enter the target box.
function isFree(pts, from, to, boxes) {
  const last = pts.length - 2;
  for (let i = 0; i + 1 < pts.length; i++) {
    const p = pts[i];
    const q = pts[i + 1];
    for (const bx of boxes) {
      if ((i === 0 && same(bx, from)) || (i === last && same(bx, to))) continue;
      if (crosses(p, q, bx)) return false;
    }
  }
  return true;
}

function same(p, q) {
  return p.x === q.x && p.y === q.y && p.w === q.w && p.h === q.h;
}

// crosses reports whether a horizontal or vertical segment comes within PAD of a box.
function crosses(a, b, bx) {
  const x0 = Math.min(a.x, b.x);
  const x1 = Math.max(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  const y1 = Math.max(a.y, b.y);
  return x1 > bx.x - PAD && x0 < bx.x + bx.w + PAD && y1 > bx.y - PAD && y0 < bx.y + bx.h + PAD;
}

// simplify drops repeated points and the middle of straight runs.
function simplify(pts) {
  const out = [];
  for (const p of pts) {
    const n = out.length;
    if (n > 0 && Math.abs(out[n - 1].x - p.x) < 0.5 && Math.abs(out[n - 1].y - p.y) < 0.5) continue;
    if (n >= 2) {
      const o = out[n - 2];
      const q = out[n - 1];
      if ((Math.abs(o.x - q.x) < 0.5 && Math.abs(q.x - p.x) < 0.5) || (Math.abs(o.y - q.y) < 0.5 && Math.abs(q.y - p.y) < 0.5)) {
        out[n - 1] = p;
        continue;
      }
    }
    out.push(p);
  }
  return out;
}

// routePath is a route as SVG path data, its corners rounded.
export function routePath(pts) {
  if (!pts.length) return "";
  let d = `M${num(pts[0].x)} ${num(pts[0].y)}`;
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i];
    if (i === pts.length - 1) {
      d += ` L${num(p.x)} ${num(p.y)}`;
      break;
    }
    const prev = pts[i - 1];
    const next = pts[i + 1];
    const r = Math.min(RADIUS, Math.min(len(prev, p), len(p, next)) / 2);
    const a = toward(p, prev, r);
    const b = toward(p, next, r);
    d += ` L${num(a.x)} ${num(a.y)} Q${num(p.x)} ${num(p.y)} ${num(b.x)} ${num(b.y)}`;
  }
  return d;
}

// labelPoint is where the label of an edge goes, for a label width wide: {x, y} its middle on
// the route's longest horizontal run, and room, how wide a label may be there without covering
// a node (Infinity when nothing bounds it). A run near the exit's height counts only from
// clear past the exit (LABEL_CLEAR, where the exit's name ends). A label may reach past its
// run but not into a box (boxes: every node's): one that fits between the boxes beside the
// run moves clear of them, and one wider than room is for the caller to shorten.
export function labelPoint(pts, width, clear, boxes) {
  let lo = 0;
  let hi = 0;
  let x = 0;
  let y = 0;
  let bestLen = -Infinity;
  let near = false;
  let start = 0;
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i];
    const b = pts[i + 1];
    if (Math.abs(a.y - b.y) >= 0.5) continue;
    let l = Math.min(a.x, b.x);
    const h = Math.max(a.x, b.x);
    let m = (l + h) / 2;
    const n = Math.abs(a.y - pts[0].y) < LABEL_NEAR;
    if (n) {
      start = pts[0].x + clear;
      l = Math.max(l, start);
      m = Math.max((l + h) / 2, start + width / 2);
    }
    if (h - l > bestLen) {
      lo = l;
      hi = h;
      x = m;
      y = a.y;
      bestLen = h - l;
      near = n;
    }
  }
  if (bestLen === -Infinity) {
    if (!pts.length) return { x: 0, y: 0, room: 0 };
    const a = pts[0];
    const b = pts[pts.length - 1];
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, room: Infinity };
  }
  // The free stretch at the label's height around the run's middle.
  let left = near ? start : -Infinity;
  let right = Infinity;
  const ref = (lo + hi) / 2;
  for (const bx of boxes || []) {
    if (bx.y >= y + LABEL_HALF || bx.y + bx.h <= y - LABEL_HALF) continue;
    if (bx.x + bx.w <= ref) left = Math.max(left, bx.x + bx.w);
    else if (bx.x >= ref) right = Math.min(right, bx.x);
  }
  const room = Math.max(0, right - left - 2 * LABEL_MARGIN);
  if (width <= room) x = Math.min(Math.max(x, left + LABEL_MARGIN + width / 2), right - LABEL_MARGIN - width / 2);
  return { x, y, room };
}

function len(a, b) {
  return Math.abs(a.x - b.x) + Math.abs(a.y - b.y);
}

function toward(p, q, d) {
  const l = len(p, q);
  if (l === 0) return p;
  return { x: p.x + ((q.x - p.x) * d) / l, y: p.y + ((q.y - p.y) * d) / l };
}

function num(f) {
  return String(Math.round(f * 10) / 10);
}

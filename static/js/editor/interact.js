// interact.js: what the mouse (and pen, and touch) does on the canvas and the palette. Moves
// are applied once per animation frame, touching only the dragged nodes and their edges.

import { svg } from "./dom.js";
import { Canvas } from "./canvas.js";

const DRAG_THRESHOLD = 4; // pixels before a press becomes a drag

export function installPointer(ed) {
  const cv = ed.canvas;
  const el = cv.svg;
  const band = ed.root.querySelector("#rubber-band");
  let g = null; // the gesture under way
  let frame = 0;

  const queue = (fn) => {
    g.pending = fn;
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (g && g.pending) {
        const f = g.pending;
        g.pending = null;
        f();
      }
    });
  };

  el.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 && ev.button !== 1) return;
    const t = ev.target;
    const nodeEl = t.closest(".node");
    const portEl = t.closest(".port");
    const edgeEl = t.closest(".edge, .edge-label");
    cv.forgetRect();
    const start = cv.toWorld(ev.clientX, ev.clientY);
    ed.pointerActive = true;
    if (ev.button === 1 || ed.spaceDown) {
      g = { type: "pan", sx: ev.clientX, sy: ev.clientY, vx: cv.view.x, vy: cv.view.y };
      el.style.cursor = "grabbing";
      ev.preventDefault();
    } else if (portEl && nodeEl) {
      const from = ed.model.node(nodeEl.dataset.id);
      if (!from) return;
      const port = portEl.dataset.port;
      const a = cv.portPoint(from, port);
      const path = svg("path", { class: "edge-draft", d: Canvas.curve(a, a) }, cv.overlay);
      g = { type: "connect", from: from.id, port, a, path, target: null };
      el.style.cursor = "crosshair";
      ev.preventDefault();
    } else if (nodeEl) {
      const id = nodeEl.dataset.id;
      if (ev.shiftKey || ev.metaKey || ev.ctrlKey) {
        ed.toggleNode(id);
        g = null;
        return;
      }
      const wasSelected = ed.sel.nodes.has(id);
      if (!wasSelected) ed.selectNodes([id]);
      const ids = [...ed.sel.nodes];
      const origin = new Map(ids.map((nid) => [nid, Object.assign({}, ed.model.pos(ed.model.node(nid)))]));
      g = { type: "move", id, ids, origin, start, moved: false, wasSelected };
    } else if (edgeEl) {
      const e = ed.model.edges[Number(edgeEl.dataset.index)];
      if (e) {
        if (ev.shiftKey || ev.metaKey || ev.ctrlKey) ed.toggleEdge(e);
        else ed.selectEdges([e]);
      }
      g = null;
      return;
    } else if (ev.shiftKey) {
      const r = cv.stageRect();
      g = { type: "band", x0: ev.clientX - r.left, y0: ev.clientY - r.top, r };
      band.setAttribute("visibility", "visible");
      band.setAttribute("width", 0);
      band.setAttribute("height", 0);
    } else {
      g = { type: "pan", sx: ev.clientX, sy: ev.clientY, vx: cv.view.x, vy: cv.view.y, clear: true };
    }
    try {
      el.setPointerCapture(ev.pointerId);
    } catch (err) {
      // Synthetic events have no pointer to capture; the gesture works without.
    }
  });

  el.addEventListener("pointermove", (ev) => {
    if (!g) return;
    if (g.type === "pan") {
      const dx = ev.clientX - g.sx;
      const dy = ev.clientY - g.sy;
      if (!g.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
      if (!g.moved) el.style.cursor = "grabbing";
      g.moved = true;
      cv.setView(g.vx + dx, g.vy + dy, cv.view.k);
    } else if (g.type === "move") {
      const w = cv.toWorld(ev.clientX, ev.clientY);
      const dx = w.x - g.start.x;
      const dy = w.y - g.start.y;
      if (!g.moved && Math.hypot(dx, dy) * cv.view.k < DRAG_THRESHOLD) return;
      if (!g.moved) {
        g.moved = true;
        ed.history.checkpoint();
        cv.beginDrag(g.ids);
      }
      queue(() => {
        for (const id of g.ids) {
          const n = ed.model.node(id);
          const o = g.origin.get(id);
          if (n && o) n.position = { x: o.x + dx, y: o.y + dy };
        }
        cv.dragTo(dx, dy);
      });
    } else if (g.type === "connect") {
      const w = cv.toWorld(ev.clientX, ev.clientY);
      const hit = ed.model.nodeAt(w.x, w.y);
      const target = hit && hit.id !== g.from ? hit.id : null;
      if (target !== g.target) {
        if (g.target) cv.setHighlight(g.target, "drop-target", false);
        if (target) cv.setHighlight(target, "drop-target", true);
        g.target = target;
      }
      const b = target ? cv.inPoint(hit) : w;
      queue(() => g.path.setAttribute("d", Canvas.curve(g.a, b)));
    } else if (g.type === "band") {
      const x = ev.clientX - g.r.left;
      const y = ev.clientY - g.r.top;
      g.x1 = x;
      g.y1 = y;
      queue(() => {
        band.setAttribute("x", Math.min(g.x0, x));
        band.setAttribute("y", Math.min(g.y0, y));
        band.setAttribute("width", Math.abs(x - g.x0));
        band.setAttribute("height", Math.abs(y - g.y0));
      });
    }
  });

  const finish = (ev, cancelled) => {
    if (!g) return;
    const gest = g;
    g = null;
    if (frame) {
      cancelAnimationFrame(frame);
      frame = 0;
    }
    if (gest.pending && !cancelled) gest.pending();
    el.style.cursor = ed.spaceDown ? "grab" : "";
    setTimeout(() => (ed.pointerActive = false), 0);
    if (gest.type === "pan") {
      if (!gest.moved && gest.clear && !cancelled) ed.clearSelection();
    } else if (gest.type === "move") {
      if (gest.moved) {
        for (const id of gest.ids) {
          const n = ed.model.node(id);
          if (!n) continue;
          if (cancelled) n.position = gest.origin.get(id);
          else n.position = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
        }
        cv.endDrag();
        if (!cancelled) ed.changed();
      } else if (gest.wasSelected && ed.sel.nodes.size + ed.sel.edges.size > 1) {
        ed.selectNodes([gest.id]);
      }
    } else if (gest.type === "connect") {
      gest.path.remove();
      if (gest.target) cv.setHighlight(gest.target, "drop-target", false);
      if (gest.target && !cancelled) ed.connect(gest.from, gest.port, gest.target);
    } else if (gest.type === "band") {
      band.setAttribute("visibility", "hidden");
      if (cancelled || gest.x1 === undefined) return;
      const a = cv.toWorld(gest.r.left + Math.min(gest.x0, gest.x1), gest.r.top + Math.min(gest.y0, gest.y1));
      const b = cv.toWorld(gest.r.left + Math.max(gest.x0, gest.x1), gest.r.top + Math.max(gest.y0, gest.y1));
      const hits = [];
      for (const n of ed.model.nodes) {
        const p = ed.model.pos(n);
        const s = ed.model.size(n);
        if (p.x < b.x && p.x + s.w > a.x && p.y < b.y && p.y + s.h > a.y) hits.push(n.id);
      }
      ed.selectNodes([...ed.sel.nodes, ...hits], { edges: [...ed.sel.edges] });
    }
  };
  el.addEventListener("pointerup", (ev) => finish(ev, false));
  el.addEventListener("pointercancel", (ev) => finish(ev, true));
  ed.cancelGesture = () => {
    if (!g) return false;
    finish(null, true);
    return true;
  };

  let lastWheel = -Infinity;
  el.addEventListener(
    "wheel",
    (ev) => {
      ev.preventDefault();
      if (ev.timeStamp - lastWheel > 300) cv.forgetRect();
      lastWheel = ev.timeStamp;
      let dy = ev.deltaY;
      if (ev.deltaMode === 1) dy *= 16;
      else if (ev.deltaMode === 2) dy *= 400;
      // Pinch gestures arrive as wheel events with ctrlKey and small deltas.
      const f = Math.exp(-dy * (ev.ctrlKey ? 0.01 : 0.0015));
      cv.zoomAt(f, ev.clientX, ev.clientY);
    },
    { passive: false },
  );

  el.addEventListener("dblclick", (ev) => {
    const nodeEl = ev.target.closest(".node");
    if (nodeEl) ed.selectNodes([nodeEl.dataset.id], { focus: true });
  });

  // Keyboard focus on a node selects it (a click has selected it already).
  cv.nodesLayer.addEventListener("focusin", (ev) => {
    const nodeEl = ev.target.closest(".node");
    if (!nodeEl || ed.pointerActive) return;
    if (ed.sel.nodes.size === 1 && ed.sel.nodes.has(nodeEl.dataset.id)) return;
    ed.selectNodes([nodeEl.dataset.id], { keepFocus: true });
    cv.reveal(nodeEl.dataset.id);
  });
}

// installPalette: a click (or Enter) adds a step in view; a drag places it where it drops.
export function installPalette(ed) {
  const palette = ed.root.querySelector("[data-testid=palette]");
  let drag = null;
  let suppressClick = false;

  palette.addEventListener("click", (ev) => {
    const item = ev.target.closest(".palette-item");
    if (!item) return;
    if (suppressClick) {
      suppressClick = false;
      return;
    }
    ed.addNode(item.dataset.kind);
  });

  palette.addEventListener("pointerdown", (ev) => {
    const item = ev.target.closest(".palette-item");
    if (!item || ev.button !== 0) return;
    ed.canvas.forgetRect();
    drag = { item, kind: item.dataset.kind, sx: ev.clientX, sy: ev.clientY, ghost: null, id: ev.pointerId };
  });

  window.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    if (!drag.ghost) {
      if (Math.hypot(ev.clientX - drag.sx, ev.clientY - drag.sy) < 6) return;
      const chip = drag.item.querySelector(".kind-chip").cloneNode(true);
      const ghost = document.createElement("div");
      ghost.className = "palette-ghost";
      ghost.appendChild(chip);
      ghost.appendChild(document.createTextNode(drag.item.querySelector(".palette-label").textContent));
      document.body.appendChild(ghost);
      drag.ghost = ghost;
      try {
        drag.item.setPointerCapture(drag.id);
      } catch (err) {
        // The pointer may be gone already; the window listeners still see it.
      }
    }
    drag.ghost.style.transform = `translate(${ev.clientX + 8}px, ${ev.clientY + 8}px)`;
  });

  const end = (ev) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (!d.ghost) return;
    d.ghost.remove();
    suppressClick = true;
    setTimeout(() => (suppressClick = false), 0);
    const r = ed.canvas.stageRect();
    if (ev.type === "pointerup" && ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom) {
      const w = ed.canvas.toWorld(ev.clientX, ev.clientY);
      ed.addNode(d.kind, { x: Math.round(w.x - 94), y: Math.round(w.y - 28) });
    }
  };
  window.addEventListener("pointerup", end);
  window.addEventListener("pointercancel", end);
}

// panes.js: the palette and the settings panel fold away, so that a narrow window keeps its
// width for the canvas. On a wide window each pane stays as the user left it (remembered in
// this browser); below 1000 px the palette is a rail of icons and the panel lies over the
// canvas, opening when something is selected and folding away when nothing is.

const KEY = "trellis.editor.panes";
const NARROW = "(max-width: 1000px)";

export function installPanes(ed) {
  const root = ed.root;
  const mq = window.matchMedia(NARROW);
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(KEY) || "{}") || {};
  } catch (err) {
    // Storage may be refused (private windows); the panes start open.
  }

  const set = (which, open, remember) => {
    root.dataset[which] = open ? "open" : "closed";
    const btn = root.querySelector(`.editor-toolbar [data-action="toggle-${which}"]`);
    if (btn) btn.setAttribute("aria-expanded", String(open));
    if (remember && !mq.matches) {
      saved[which] = open;
      try {
        localStorage.setItem(KEY, JSON.stringify(saved));
      } catch (err) {
        // Not remembered; it still applies to this page.
      }
    }
    ed.canvas.forgetRect();
  };

  // revealSelection pans the selected step out from under the panel that lies over the
  // canvas; after a press ends, so that a drag starting on it is not disturbed.
  const revealSelection = () => {
    const go = () =>
      requestAnimationFrame(() => {
        const id = [...ed.sel.nodes][0];
        if (!id) return;
        ed.canvas.forgetRect();
        ed.canvas.reveal(id);
      });
    if (ed.pointerActive) window.addEventListener("pointerup", go, { once: true });
    else go();
  };

  const apply = () => {
    if (mq.matches) {
      set("palette", false);
      set("panel", ed.sel.nodes.size + ed.sel.edges.size > 0);
    } else {
      set("palette", saved.palette !== false);
      set("panel", saved.panel !== false);
    }
  };
  apply();
  mq.addEventListener("change", apply);

  ed.panes = {
    narrow: () => mq.matches,
    isOpen: (which) => root.dataset[which] === "open",
    toggle(which) {
      const open = root.dataset[which] !== "open";
      set(which, open, true);
      if (which === "panel" && !open && root.querySelector("#panel").contains(document.activeElement)) ed.canvas.svg.focus({ preventScroll: true });
    },
    open(which) {
      if (root.dataset[which] !== "open") set(which, true, false);
    },
    // selectionChanged opens the overlaid panel for a selection and folds it for none.
    selectionChanged() {
      if (!mq.matches) return;
      const open = ed.sel.nodes.size + ed.sel.edges.size > 0;
      set("panel", open, false);
      if (open) revealSelection();
    },
  };
}

// keys.js: keyboard shortcuts of the editor. They act only while focus is outside text
// fields (where keys type text), except Ctrl+S, which saves from anywhere.

import { isTextEntry } from "./dom.js";

export function installKeys(ed) {
  document.addEventListener("keydown", (ev) => {
    const mod = ev.ctrlKey || ev.metaKey;
    const key = ev.key;
    if (mod && !ev.altKey && key.toLowerCase() === "s") {
      ev.preventDefault();
      ed.saver.saveNow();
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    const target = ev.target;
    if (isTextEntry(target)) {
      if (key === "Escape" && target.closest("#panel")) {
        // Leave the form and go back to the step on the canvas.
        const id = ed.sel.nodes.size === 1 ? [...ed.sel.nodes][0] : null;
        if (id) ed.canvas.focusNode(id);
        else ed.canvas.svg.focus();
      }
      return;
    }
    if (!ed.root.contains(target) && target !== document.body) return;
    const onCanvas = ed.canvas.svg.contains(target);

    if (key === " " && onCanvas) {
      ed.spaceDown = true;
      ed.canvas.svg.style.cursor = "grab";
      ev.preventDefault();
      return;
    }
    if (mod && !ev.altKey) {
      const k = key.toLowerCase();
      if (k === "z" && !ev.shiftKey) return run(ev, () => ed.undo());
      if ((k === "z" && ev.shiftKey) || k === "y") return run(ev, () => ed.redo());
      if (!onCanvas && !target.closest(".editor-palette") && target !== document.body) return;
      if (k === "c") return run(ev, () => ed.copy());
      if (k === "x") return run(ev, () => ed.cut());
      if (k === "v") return run(ev, () => ed.paste());
      if (k === "a") return run(ev, () => ed.selectAll());
      if (k === "d") return run(ev, () => ed.duplicateSelection());
      return;
    }
    if (ev.altKey) return;
    switch (key) {
      case "Delete":
      case "Backspace":
        if (onCanvas || target === document.body) run(ev, () => ed.deleteSelection());
        return;
      case "Escape":
        if (ed.cancelGesture && ed.cancelGesture()) return run(ev, () => {});
        if (onCanvas) run(ev, () => ed.clearSelection());
        return;
      case "Enter": {
        const nodeEl = target.closest && target.closest(".node");
        if (nodeEl) run(ev, () => ed.selectNodes([nodeEl.dataset.id], { focus: true }));
        return;
      }
      case "ArrowLeft":
      case "ArrowRight":
      case "ArrowUp":
      case "ArrowDown": {
        if (!onCanvas || ed.sel.nodes.size === 0) return;
        const step = ev.shiftKey ? 50 : 10;
        const dx = key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0;
        const dy = key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0;
        return run(ev, () => ed.nudge(dx, dy));
      }
    }
    if (!onCanvas) return;
    switch (key.toLowerCase()) {
      case "c":
        return run(ev, () => ed.openConnect());
      case "+":
      case "=":
        return run(ev, () => ed.canvas.zoomCenter(1.2));
      case "-":
      case "_":
        return run(ev, () => ed.canvas.zoomCenter(1 / 1.2));
      case "0":
        return run(ev, () => ed.canvas.resetZoom());
      case "f":
        return run(ev, () => ed.canvas.fit(ed.sel.nodes.size > 1 ? [...ed.sel.nodes] : undefined));
      case "l":
        return run(ev, () => ed.autoLayout());
    }
  });

  document.addEventListener("keyup", (ev) => {
    if (ev.key === " ") {
      ed.spaceDown = false;
      ed.canvas.svg.style.cursor = "";
    }
  });
  window.addEventListener("blur", () => {
    ed.spaceDown = false;
    ed.canvas.svg.style.cursor = "";
  });
}

function run(ev, fn) {
  ev.preventDefault();
  fn();
}

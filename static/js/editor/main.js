// main.js: starts the graph editor from the JSON data block the server wrote into the page,
// and marks when it is ready (performance.mark "editor-ready"; the benchmark reads it).
import { Editor } from "./editor.js";
import "./testrun.js";

performance.mark("editor-start");
const root = document.getElementById("editor");
const data = JSON.parse(document.getElementById("editor-data").textContent);
const editor = new Editor(root, data);
window.trellisEditor = editor;

// Ready once the first frame with the graph has been painted.
requestAnimationFrame(() => {
  setTimeout(() => {
    performance.mark("editor-ready");
    root.dataset.ready = "true";
  }, 0);
});

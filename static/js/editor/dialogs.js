// dialogs.js: the publish dialog and the keyboard "connect to…" dialog.

import { html, request, errorMessage, truncate } from "./dom.js";
import { problemText } from "./panel.js";

export function installPublish(ed) {
  const dlg = ed.root.querySelector("#publish-dialog");
  const form = dlg.querySelector("#publish-form");
  const note = dlg.querySelector("#publish-note");
  const body = dlg.querySelector("#publish-body");
  const err = dlg.querySelector("#publish-error");
  const done = dlg.querySelector("#publish-done");
  const submit = dlg.querySelector("#publish-submit");
  const overview = dlg.querySelector("#publish-overview");
  let busy = false;

  ed.openPublish = () => {
    err.hidden = true;
    done.hidden = true;
    overview.hidden = true;
    body.hidden = false;
    submit.hidden = false;
    submit.disabled = false;
    dlg.showModal();
    note.focus();
  };

  form.addEventListener("submit", async (ev) => {
    if (!ev.submitter || ev.submitter.value !== "publish") return; // Close
    ev.preventDefault();
    if (busy) return;
    busy = true;
    submit.disabled = true;
    submit.textContent = "Publishing…";
    err.hidden = true;
    try {
      if (!(await ed.saver.flush())) {
        showError("The draft could not be saved first, so it was not published. See the message above the canvas.");
        return;
      }
      const res = await request("POST", ed.urls.versions, { note: note.value, revision: ed.saver.revision });
      if (res.status === 201) {
        const v = res.body.version;
        body.hidden = true;
        submit.hidden = true;
        done.replaceChildren(html("strong", null, `Published version ${v}.`), " Runs can now start on it.");
        done.hidden = false;
        overview.hidden = false;
        overview.focus();
        note.value = "";
        ed.announce(`Published version ${v}`);
        return;
      }
      showError(errorMessage(res, "The draft could not be published."), (res.body && res.body.error && res.body.error.problems) || []);
    } finally {
      busy = false;
      submit.disabled = false;
      submit.textContent = "Publish";
    }
  });

  function showError(message, problems) {
    err.replaceChildren(html("p", null, message));
    if (problems && problems.length) {
      const ul = html("ul", { role: "list", "data-testid": "publish-problems" });
      for (const p of problems.slice(0, 50)) {
        const where = p.node ? p.node + (p.field ? " · " + p.field : "") : p.field || "graph";
        ul.appendChild(html("li", null, `${where}: ${problemText(p)}`));
      }
      if (problems.length > 50) ul.appendChild(html("li", null, `…and ${problems.length - 50} more; see the problems list.`));
      err.appendChild(ul);
    }
    err.hidden = false;
  }
}

export function installConnect(ed) {
  const dlg = ed.root.querySelector("#connect-dialog");
  const form = dlg.querySelector("#connect-form");
  const portSel = dlg.querySelector("#connect-port");
  const filter = dlg.querySelector("#connect-filter");
  const target = dlg.querySelector("#connect-target");
  const title = dlg.querySelector("#connect-title");
  let from = null;

  const fill = () => {
    const q = filter.value.trim().toLowerCase();
    const frag = document.createDocumentFragment();
    for (const n of ed.model.nodes) {
      if (n.id === from) continue;
      const text = (n.label || n.id) + " (" + n.id + ")";
      if (q && !text.toLowerCase().includes(q)) continue;
      frag.appendChild(html("option", { value: n.id }, truncate(text, 60)));
    }
    target.replaceChildren(frag);
    if (target.options.length) target.selectedIndex = 0;
  };
  filter.addEventListener("input", fill);
  filter.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") {
      ev.preventDefault();
      target.focus();
    }
  });

  ed.openConnect = () => {
    if (ed.sel.nodes.size !== 1) {
      ed.announce("Select one step first, then press C to connect it.");
      return;
    }
    from = [...ed.sel.nodes][0];
    const n = ed.model.node(from);
    title.textContent = "Connect “" + truncate(n.label || n.id, 40) + "” to…";
    portSel.replaceChildren(...ed.model.portsOf(n).map((p) => html("option", { value: p }, p)));
    filter.value = "";
    fill();
    dlg.showModal();
    (portSel.options.length > 1 ? portSel : target).focus();
  };

  form.addEventListener("submit", (ev) => {
    if (!ev.submitter || ev.submitter.value !== "connect") return;
    if (!target.value) {
      ev.preventDefault();
      target.focus();
      return;
    }
    ed.connect(from, portSel.value, target.value);
  });
  const submitConnect = () => form.requestSubmit(form.querySelector('[value="connect"]'));
  target.addEventListener("dblclick", submitConnect);
  target.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      submitConnect();
    }
  });
  dlg.addEventListener("close", () => {
    // The dialog gives focus back by itself; step in only when it had nowhere to go.
    const active = document.activeElement;
    if ((!active || active === document.body || dlg.contains(active)) && from && ed.model.node(from)) ed.canvas.focusNode(from);
  });
}

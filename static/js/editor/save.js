// save.js: autosave of the draft. Changes are saved about 800 ms after the last one, with
// If-Match so that a newer draft saved elsewhere is never overwritten silently. The status
// says what the server holds: "Saved", "Saved with N problems", or "Unsaved" while a field
// holds text the draft cannot take yet.

import { request, errorMessage } from "./dom.js";

const DEBOUNCE_MS = 800;
const STATUS = {
  saved: "Saved",
  dirty: "Unsaved changes",
  saving: "Saving…",
  conflict: "Conflict — reload",
  offline: "Offline — retrying",
  error: "Not saved",
};

export class Autosaver {
  constructor(ed, revision) {
    this.ed = ed;
    this.revision = revision;
    this.etag = revision ? `"${revision}"` : "";
    this.state = "saved";
    this.dirty = false;
    this.inFlight = null;
    this.timer = 0;
    this.retryDelay = 2000;
    this.statusEl = ed.root.querySelector("#save-status");
    this.alertEl = ed.root.querySelector("#editor-alert");
    this.waiters = [];
    window.addEventListener("online", () => {
      if (this.state === "offline") this.saveNow();
    });
  }

  setState(state) {
    this.state = state;
    this.renderStatus();
  }

  // renderStatus shows the state, with the problems of a saved draft, or "Unsaved" while
  // a field holds text that is not in the draft (the editor keeps it until it is fixed).
  renderStatus() {
    const el = this.statusEl;
    let state = this.state;
    let text = STATUS[state];
    let title = "";
    const pending = this.ed.pendingCount ? this.ed.pendingCount() : 0;
    const problems = this.ed.problems ? this.ed.problems.all.length : 0;
    delete el.dataset.problems;
    if (pending && (state === "saved" || state === "dirty" || state === "saving")) {
      state = "unsaved";
      text = "Unsaved";
      title = `${pending === 1 ? "One field holds" : pending + " fields hold"} text that cannot be saved until it is fixed.`;
    } else if (state === "saved" && problems) {
      text = `Saved with ${problems} problem${problems > 1 ? "s" : ""}`;
      el.dataset.problems = String(problems);
      title = "The draft is saved; it can be published once its problems are fixed.";
    }
    el.dataset.state = state;
    el.textContent = text;
    el.title = title;
  }

  // markDirty notes a change and schedules a save.
  markDirty() {
    this.dirty = true;
    if (this.state === "conflict" || this.state === "error") return;
    if (!this.inFlight && this.state !== "offline") this.setState("dirty");
    this.schedule(DEBOUNCE_MS);
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), ms);
  }

  // saveNow saves without waiting (Ctrl+S).
  saveNow() {
    if (this.state === "conflict") return;
    if (this.state === "error") this.setState("dirty");
    clearTimeout(this.timer);
    this.save();
  }

  // flush saves pending changes and resolves true once the draft on the server is the one
  // in the editor, or false when it cannot be saved.
  flush() {
    if (!this.dirty && !this.inFlight) return Promise.resolve(this.state === "saved");
    if (this.state === "conflict" || this.state === "error") return Promise.resolve(false);
    const p = new Promise((resolve) => this.waiters.push(resolve));
    this.saveNow();
    return p;
  }

  settle(ok) {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve(ok);
  }

  async save() {
    clearTimeout(this.timer);
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (!this.dirty || this.state === "conflict") return;
    const body = JSON.stringify(this.ed.model.doc);
    this.dirty = false;
    this.again = false;
    this.setState("saving");
    this.inFlight = request("PUT", this.ed.urls.draft, body, { "If-Match": this.etag || "*" });
    const res = await this.inFlight;
    this.inFlight = null;
    if (res.ok) {
      this.hideAlert();
      this.retryDelay = 2000;
      this.revision = res.body.revision;
      this.etag = res.headers.get("ETag") || `"${this.revision}"`;
      if (this.dirty || this.again) {
        this.dirty = true;
        this.setState("dirty");
        this.schedule(DEBOUNCE_MS);
      } else {
        this.setState("saved");
      }
      this.ed.setProblems(res.body.problems || [], !this.dirty);
      if (!this.dirty) this.settle(true);
      return;
    }
    this.dirty = true;
    if (res.status === 0 || res.status >= 500 || res.status === 429) {
      this.setState("offline");
      this.schedule(this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 30000);
      this.settle(false);
      return;
    }
    if (res.status === 409) {
      this.setState("conflict");
      this.showAlert(
        "Someone saved a newer draft of this graph, in another tab or on another computer. Your changes here are not saved.",
        [
          { label: "Reload and discard my changes", action: () => this.reload(), testid: "conflict-reload" },
          { label: "Overwrite with mine", action: () => this.overwrite(), testid: "conflict-overwrite" },
        ],
      );
      this.settle(false);
      return;
    }
    this.setState("error");
    let msg = errorMessage(res, "The draft could not be saved.");
    if (res.status === 401) msg = "You have been signed out. Sign in again in another tab, then save with Ctrl+S.";
    if (res.status === 403) msg = "The server refused to save: " + msg;
    this.showAlert(msg, [{ label: "Try again", action: () => this.saveNow(), testid: "save-retry" }]);
    this.settle(false);
  }

  // reload drops local changes and loads the newest draft.
  reload() {
    this.dirty = false;
    this.inFlight = null;
    window.location.reload();
  }

  // overwrite takes the newest revision as the base and saves the editor's draft over it.
  async overwrite() {
    const res = await request("GET", this.ed.urls.graph);
    if (!res.ok) {
      this.showAlert(errorMessage(res, "The newest draft could not be read."), [
        { label: "Try again", action: () => this.overwrite(), testid: "conflict-overwrite" },
      ]);
      return;
    }
    this.revision = res.body.revision;
    this.etag = res.headers.get("ETag") || `"${this.revision}"`;
    this.hideAlert();
    this.setState("dirty");
    this.dirty = true;
    this.save();
  }

  showAlert(message, actions) {
    const el = this.alertEl;
    el.replaceChildren();
    const p = document.createElement("p");
    p.textContent = message;
    el.appendChild(p);
    for (const a of actions || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-secondary btn-small";
      b.textContent = a.label;
      b.setAttribute("data-testid", a.testid);
      b.addEventListener("click", a.action);
      el.appendChild(b);
    }
    el.hidden = false;
  }

  hideAlert() {
    this.alertEl.hidden = true;
    this.alertEl.replaceChildren();
  }
}

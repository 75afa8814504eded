// agent_tools.js: an agent's tools picker in the node settings form. The server renders a card
// per tool (editor_agent_tools.templ) with the designer's problems beside the part each one
// concerns; this reads the cards back into config.tools, and adds and removes tools by
// changing the draft and asking the server for the form again. Everything users typed is put
// into the page as text or attribute values, never as HTML.

import { errorMessage, html, request } from "./dom.js";

const AGENT_TOOLS_PATH = "config.tools";

const ARG_TYPES = ["string", "number", "integer", "boolean", "object", "array"];

// Parts whose change changes what the card shows (its fields, a graph's arguments): the form
// is drawn again.
const RELOAD_PARTS = new Set(["approval", "approval.on_due", "graph"]);

const NEW_TOOLS = {
  graph: () => ({ name: "", description: "", graph: "", version: "latest" }),
  http: () => ({ name: "", description: "", parameters: { type: "object", properties: {} }, http: { method: "POST", url: "" } }),
  mcp: () => ({ name: "", description: "", mcp: { server: "", tool: "" } }),
};

const KIND_WORDS = { graph: "a published graph", http: "a web request", mcp: "an MCP server's tool" };

export class AgentTools {
  constructor(panel) {
    this.panel = panel;
  }

  get ed() {
    return this.panel.ed;
  }

  // onInput writes the picker into the draft after an edit of one of its controls.
  onInput(host, el) {
    const card = el.closest("[data-tool-card]");
    if (card && el.dataset.toolPart === "graph") fillFromGraph(card, el);
    if (card && el.dataset.toolPart === "mcp.server") {
      const list = card.querySelector("[data-mcp-tools]");
      if (list) list.replaceChildren();
    }
    if (!this.write(host)) return;
    if (RELOAD_PARTS.has(el.dataset.toolPart) && card) {
      this.reload(`[data-tool-field="${host.dataset.path}.${card.dataset.toolIndex}.${el.dataset.toolPart}"]`);
    }
  }

  // write reads the cards into the node's tools. A body that is not JSON yet waits in the
  // editor with its problem (the draft keeps the tools as they were); it reports whether the
  // draft was written.
  write(host) {
    const r = readTools(host);
    const id = this.panel.current.id;
    const prefix = host.dataset.path + ".";
    for (const e of [...this.ed.local.values()]) {
      if (e.target.type === "node" && e.target.id === id && e.field.startsWith(prefix) && !r.errors.some((x) => x.field === e.field)) {
        this.panel.setLocalError(e.field, "");
      }
    }
    for (const x of r.errors) this.panel.setLocalError(x.field, x.message, { text: x.el.value, pending: true });
    if (r.errors.length) return false;
    this.ed.setNodeField(id, host.dataset.path, r.value);
    return true;
  }

  // restore puts back text typed into a tool that the draft does not hold yet. A row the
  // form no longer has (an argument named twice) has nowhere to go back to: its problem goes.
  restore(root, id) {
    const prefix = AGENT_TOOLS_PATH + ".";
    for (const e of [...this.ed.local.values()]) {
      if (e.target.type !== "node" || e.target.id !== id || e.text === undefined || !e.field.startsWith(prefix)) continue;
      const el = root.querySelector(`[data-tool-field="${cssEscape(e.field)}"]`);
      if (el) el.value = e.text;
      else this.panel.setLocalError(e.field, "");
    }
  }

  // focusTarget is the control of the picker a problem's field names, or null.
  focusTarget(host, field) {
    let best = null;
    let len = -1;
    for (const el of host.querySelectorAll("[data-tool-field], [data-error-for]")) {
      const name = el.dataset.toolField || el.dataset.errorFor;
      if ((field === name || (field.startsWith(name) && ".[".includes(field[name.length]))) && name.length > len) {
        best = el;
        len = name.length;
      }
    }
    if (best && best.dataset.errorFor !== undefined) {
      const card = best.closest("[data-tool-card]");
      return card ? card.querySelector("input, select, textarea") : null;
    }
    return best;
  }

  onAction(btn) {
    const host = btn.closest('[data-control="tools"]');
    if (!host) return;
    const card = btn.closest("[data-tool-card]");
    switch (btn.dataset.action) {
      case "tool-add":
        return this.add(host, btn.dataset.toolKind);
      case "tool-remove":
        return this.remove(host, card);
      case "tool-arg-add":
        return this.addArg(btn.closest("[data-tool-args]"));
      case "tool-arg-remove": {
        const row = btn.closest("[data-tool-arg]");
        const box = btn.closest("[data-tool-args]");
        const name = row.querySelector('[data-arg-part="name"]').value.trim();
        const prev = row.previousElementSibling;
        row.remove();
        this.write(host);
        (prev ? prev.querySelector("input") : box.querySelector('[data-action="tool-arg-add"]')).focus();
        this.ed.announce(name ? `Removed the argument ${name}.` : "Removed the argument.");
        return;
      }
      case "tool-header-add": {
        const fs = btn.closest("fieldset");
        const row = fs.querySelector("template[data-row-template]").content.firstElementChild.cloneNode(true);
        fs.querySelector("[data-tool-rows]").appendChild(row);
        row.querySelector("input").focus();
        return;
      }
      case "tool-header-remove": {
        const fs = btn.closest("fieldset");
        btn.closest(".multi-row").remove();
        this.write(host);
        fs.querySelector('[data-action="tool-header-add"]').focus();
        return;
      }
      case "tool-mcp-list":
        return this.listMCP(host, card, btn);
      case "tool-mcp-use":
        return this.useMCP(host, card, btn);
      case "tool-cards":
        return this.toCards(host, card);
    }
  }

  // blocked refuses a change of the list while a tool holds text the draft does not have.
  blocked(host) {
    const r = readTools(host);
    if (!r.errors.length) return false;
    this.ed.announce("Fix this first: " + r.errors[0].message, true);
    r.errors[0].el.focus();
    return true;
  }

  add(host, kind) {
    if (!NEW_TOOLS[kind] || this.blocked(host)) return;
    const tools = readTools(host).value;
    tools.push(NEW_TOOLS[kind]());
    this.setStep(host, tools);
    const n = tools.length - 1;
    const first = kind === "graph" ? "graph" : kind === "mcp" ? "mcp.server" : "name";
    this.reload(`[data-tool-field="${host.dataset.path}.${n}.${first}"]`);
    this.ed.announce(`Added tool ${n + 1}: ${KIND_WORDS[kind]}.`);
  }

  remove(host, card) {
    if (!card || this.blocked(host)) return;
    const tools = readTools(host).value;
    const i = Number(card.dataset.toolIndex);
    const [gone] = tools.splice(i, 1);
    this.setStep(host, tools);
    const next = i < tools.length ? i : i - 1;
    this.reload(next >= 0 ? `[data-testid="agent-tool-remove-${next}"]` : '[data-testid="agent-tool-add-graph"]');
    const name = gone && typeof gone === "object" && gone.name ? gone.name : `tool ${i + 1}`;
    this.ed.announce(`Removed ${name}.`);
  }

  // setStep writes the tools as one step of undo of its own, apart from typing before or after.
  setStep(host, tools) {
    this.ed.history.breakRun();
    this.ed.setNodeField(this.panel.current.id, host.dataset.path, tools);
    this.ed.history.breakRun();
  }

  addArg(box) {
    const list = box.querySelector(".agent-arg-list");
    const n = list.children.length + 1;
    const card = box.closest("[data-tool-card]").dataset.toolIndex;
    const li = html("li", { class: "agent-arg", "data-tool-arg": "", "data-testid": `agent-arg-${card}-${n - 1}` });
    li.appendChild(html("input", { type: "text", class: "mono", "data-arg-part": "name", placeholder: "name", "aria-label": `Argument ${n}: name`, spellcheck: "false", autocomplete: "off" }));
    const sel = html("select", { "data-arg-part": "type", "aria-label": `Argument ${n}: type` });
    for (const t of ARG_TYPES) sel.appendChild(html("option", { value: t }, t));
    li.appendChild(sel);
    const check = html("label", { class: "check small" });
    check.append(html("input", { type: "checkbox", "data-arg-part": "required" }), " required");
    li.appendChild(check);
    li.appendChild(html("input", { type: "text", "data-arg-part": "description", placeholder: "What it is, for the model", "aria-label": `Argument ${n}: description`, autocomplete: "off" }));
    li.appendChild(html("button", { type: "button", class: "btn btn-link btn-small", "data-action": "tool-arg-remove", "aria-label": `Remove argument ${n}`, "data-testid": `agent-arg-remove-${card}-${n - 1}` }, "✕"));
    list.appendChild(li);
    const none = box.querySelector(":scope > p.hint");
    if (none) none.remove();
    li.querySelector("input").focus();
  }

  // listMCP asks the server for the tools of the card's MCP server and lists them to pick.
  async listMCP(host, card, btn) {
    const out = card.querySelector("[data-mcp-tools]");
    const server = card.querySelector('[data-tool-part="mcp.server"]').value;
    if (!server) {
      out.replaceChildren(html("p", { class: "field-error" }, "Choose a server first."));
      return;
    }
    out.replaceChildren(html("p", { class: "hint", "aria-busy": "true" }, `Asking ${server} for its tools…`));
    btn.disabled = true;
    const res = await request("GET", `${host.dataset.mcpToolsUrl}?server=${encodeURIComponent(server)}`);
    btn.disabled = false;
    if (!res.ok) {
      const msg = res.status === 0 ? "The server cannot be reached." : errorMessage(res, `MCP server ${server} could not be asked for its tools.`);
      out.replaceChildren(html("p", { class: "field-error", "data-testid": "agent-mcp-error" }, msg));
      return;
    }
    const tools = (res.body && res.body.tools) || [];
    const ul = html("ul", { role: "list", class: "agent-mcp-tool-list" });
    for (const t of tools) {
      const li = html("li");
      const use = html("button", { type: "button", class: "btn btn-link btn-small", "data-action": "tool-mcp-use", "data-testid": "agent-mcp-use-" + t.name }, "Use " + t.name);
      use.dataset.mcpTool = t.name;
      use.dataset.mcpDescription = t.description || "";
      li.appendChild(use);
      if (t.description) li.appendChild(html("span", { class: "muted small" }, " " + t.description));
      ul.appendChild(li);
    }
    const head = tools.length ? `${tools.length} tool${tools.length > 1 ? "s" : ""} on ${server}:` : `${server} offers no tools.`;
    out.replaceChildren(html("p", { class: "hint" }, head), ul);
    const first = ul.querySelector("button");
    if (first) first.focus();
  }

  useMCP(host, card, btn) {
    const tool = btn.dataset.mcpTool;
    const input = card.querySelector('[data-tool-part="mcp.tool"]');
    input.value = tool;
    const name = card.querySelector('[data-tool-part="name"]');
    if (name && !name.value.trim()) name.value = toolName(tool);
    const desc = card.querySelector('[data-tool-part="description"]');
    if (desc && !desc.value.trim()) desc.value = btn.dataset.mcpDescription;
    this.write(host);
    input.focus();
    this.ed.announce(`The tool uses ${tool}.`);
  }

  // toCards writes a tool shown as JSON into the draft and asks for the form again, which
  // shows it as a card when it can; else it stays JSON, with the reason beside it.
  async toCards(host, card) {
    if (!card) return;
    const i = card.dataset.toolIndex;
    this.write(host);
    const sel = `[data-tool-card][data-tool-index="${i}"]`;
    await this.reload(`${sel} input, ${sel} select, ${sel} textarea`);
    const now = this.panel.nodePanel.querySelector(sel);
    if (!now) return;
    if (now.dataset.toolKind !== "json") {
      this.ed.announce(`Tool ${Number(i) + 1} is shown as a form again.`);
      return;
    }
    const why = now.querySelector(`[data-testid="agent-tool-json-why-${i}"]`);
    this.ed.announce(why ? why.textContent.trim() : "This tool cannot be shown as a form yet.", true);
  }

  // reload asks the server for the form of the node as the draft has it now, and focuses
  // the control sel names.
  async reload(sel) {
    const id = this.panel.current.id;
    await this.panel.showNode(id, {});
    if (this.panel.current.id !== id) return;
    const el = this.panel.nodePanel.querySelector(sel);
    if (el) {
      el.focus();
      el.scrollIntoView({ block: "nearest" });
    }
  }
}

// fillFromGraph names a new graph tool after the graph chosen.
function fillFromGraph(card, select) {
  const opt = select.selectedOptions[0];
  if (!opt || !opt.value) return;
  const name = card.querySelector('[data-tool-part="name"]');
  if (name && !name.value.trim()) name.value = toolName(opt.value);
  const desc = card.querySelector('[data-tool-part="description"]');
  if (desc && !desc.value.trim()) desc.value = `Runs the graph ${opt.dataset.name || opt.value}.`;
}

// toolName makes a tool name both model protocols accept.
function toolName(s) {
  return String(s).replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64);
}

// readTools reads the cards into a list of tools, each starting from the tool as it was so
// that members the card does not show are kept. errors lists what the draft cannot hold yet:
// a body that is not JSON, two arguments of one name.
export function readTools(host) {
  const value = [];
  const errors = [];
  for (const card of host.querySelectorAll("[data-tool-card]")) {
    const path = `${host.dataset.path}.${card.dataset.toolIndex}`;
    const q = (part) => card.querySelector(`[data-tool-part="${part}"]`);
    if (card.dataset.toolKind === "json") {
      const text = q("json").value;
      value.push(parseOr(text, text)); // text that is not JSON is kept; the designer says why
      continue;
    }
    const t = object(parseOr(card.dataset.raw, {}));
    t.name = q("name").value.trim();
    t.description = q("description").value;
    switch (card.dataset.toolKind) {
      case "graph": {
        t.graph = q("graph").value;
        const v = q("version").value.trim();
        if (!v) delete t.version;
        else t.version = /^\d+$/.test(v) ? Number(v) : v;
        break;
      }
      case "mcp":
        t.mcp = Object.assign(object(t.mcp), { server: q("mcp.server").value, tool: q("mcp.tool").value.trim() });
        break;
      case "http":
        readHTTP(card, t, q, path, errors);
        break;
    }
    readApproval(t, q);
    value.push(t);
  }
  return { value, errors };
}

function readHTTP(card, t, q, path, errors) {
  const h = Object.assign(object(t.http), { method: q("http.method").value, url: q("http.url").value.trim() });
  const headers = {};
  for (const row of q("http.headers").querySelectorAll("[data-tool-rows] .multi-row")) {
    const k = row.querySelector('[data-part="key"]').value.trim();
    if (k) headers[k] = row.querySelector('[data-part="value"]').value;
  }
  if (Object.keys(headers).length) h.headers = headers;
  else delete h.headers;
  const body = q("http.body");
  if (!body.value.trim()) delete h.body;
  else {
    try {
      h.body = JSON.parse(body.value);
    } catch (err) {
      errors.push({ field: path + ".http.body", el: body, message: `This is not valid JSON: ${String(err.message || err)}. Write text in double quotes.` });
    }
  }
  t.http = h;
  const args = card.querySelector("[data-tool-args]");
  if (args) {
    const p = object(parseOr(args.dataset.paramsRaw, {}));
    p.type = p.type || "object";
    const props = {};
    const required = [];
    for (const row of args.querySelectorAll("[data-tool-arg]")) {
      const input = row.querySelector('[data-arg-part="name"]');
      const name = input.value.trim();
      if (!name) continue;
      if (Object.prototype.hasOwnProperty.call(props, name)) {
        errors.push({ field: path + ".parameters", el: input, message: `Two arguments are named ${name}; rename one.` });
        continue;
      }
      const prop = object(parseOr(row.dataset.raw, {}));
      prop.type = row.querySelector('[data-arg-part="type"]').value;
      const d = row.querySelector('[data-arg-part="description"]').value.trim();
      if (d) prop.description = d;
      else delete prop.description;
      props[name] = prop;
      if (row.querySelector('[data-arg-part="required"]').checked) required.push(name);
    }
    p.properties = props;
    if (required.length) p.required = required;
    else delete p.required;
    t.parameters = p;
  } else if (q("parameters")) {
    const text = q("parameters").value;
    if (!text.trim()) delete t.parameters;
    else t.parameters = parseOr(text, text);
  }
}

function readApproval(t, q) {
  const box = q("approval");
  if (!box || !box.checked) {
    delete t.approval;
    return;
  }
  const a = object(t.approval);
  const assignee = q("approval.assignee");
  a.assignee = assignee ? assignee.value.trim() : a.assignee || "";
  const due = q("approval.due");
  if (due) {
    if (due.value.trim()) a.due = due.value.trim();
    else delete a.due;
  }
  const onDue = q("approval.on_due");
  if (onDue) {
    const v = onDue.value;
    if (!v) delete a.on_due;
    else if (v === "escalate") {
      const to = q("approval.on_due.escalate_to");
      a.on_due = { escalate_to: to ? to.value.trim() : (a.on_due && a.on_due.escalate_to) || "" };
    } else a.on_due = { outcome: v };
  }
  t.approval = a;
}

function parseOr(text, fallback) {
  if (text === undefined || text === null || text === "") return fallback;
  try {
    return JSON.parse(text);
  } catch (err) {
    return fallback;
  }
}

function object(v) {
  return v && typeof v === "object" && !Array.isArray(v) ? JSON.parse(JSON.stringify(v)) : {};
}

function cssEscape(s) {
  return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, "\\$&");
}

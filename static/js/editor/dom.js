// dom.js: small DOM helpers shared by the editor modules.

export const SVG_NS = "http://www.w3.org/2000/svg";

// svg creates an SVG element with attributes.
export function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) for (const k in attrs) el.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(el);
  return el;
}

// html creates an HTML element with attributes and text.
export function html(tag, attrs, text) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (v === false || v == null) continue;
      el.setAttribute(k, v === true ? "" : v);
    }
  }
  if (text != null) el.textContent = text;
  return el;
}

// truncate shortens text to about max characters, with an ellipsis.
export function truncate(text, max) {
  text = String(text == null ? "" : text).replace(/\s+/g, " ").trim();
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

// isTextEntry reports whether el takes typed text, where editor shortcuts must not fire.
export function isTextEntry(el) {
  if (!el || !el.tagName) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  if (tag !== "input") return false;
  const type = (el.getAttribute("type") || "text").toLowerCase();
  return !["button", "checkbox", "radio", "submit", "reset", "range", "color", "file"].includes(type);
}

// csrfToken is the token the layout puts into a meta tag; every state-changing request sends it.
export function csrfToken() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.getAttribute("content") : "";
}

// request sends JSON and reads a JSON answer. It never throws for an HTTP status: the result
// says {ok, status, body, headers}; a network failure gives status 0.
export async function request(method, url, body, headers) {
  const h = { Accept: "application/json", "X-CSRF-Token": csrfToken() };
  if (body !== undefined) h["Content-Type"] = "application/json";
  Object.assign(h, headers || {});
  let resp;
  try {
    resp = await fetch(url, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (err) {
    return { ok: false, status: 0, body: null, headers: new Headers(), error: err };
  }
  let parsed = null;
  const type = resp.headers.get("Content-Type") || "";
  try {
    parsed = type.includes("json") ? await resp.json() : await resp.text();
  } catch (err) {
    parsed = null;
  }
  // A page route answers an expired session with a redirect to the sign-in page, which
  // fetch follows: that is not the answer asked for.
  if (resp.redirected && new URL(resp.url).pathname === "/login") {
    return { ok: false, status: 401, body: null, headers: resp.headers };
  }
  return { ok: resp.ok, status: resp.status, body: parsed, headers: resp.headers };
}

// errorMessage is the safe message of an API error answer.
export function errorMessage(res, fallback) {
  const e = res && res.body && res.body.error;
  return (e && e.message) || fallback || "Something went wrong. Please try again.";
}

// Shared helpers for every page: building DOM safely, the user's name, the
// HTTP API, the server clock, money, announcements and notices.
//
// Rule for the whole site: text from users or the server is only ever set
// with textContent or as attribute values, never parsed as HTML.

/** h builds an element: h("p", {class: "x", onclick: fn}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

/** svg builds an SVG element. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// ---- the user's name, kept across reloads -------------------------------

const NAME_KEY = "hotrow.user";
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** userName returns the saved name, or makes and saves a guest name. */
export function userName() {
  let n = null;
  try { n = localStorage.getItem(NAME_KEY); } catch { /* storage off */ }
  if (!n || !NAME_PATTERN.test(n)) {
    n = "guest-" + randomID(6).toLowerCase();
    saveName(n);
  }
  return n;
}

function saveName(n) {
  try { localStorage.setItem(NAME_KEY, n); } catch { /* storage off: this tab only */ }
}

/** randomID returns n characters of [A-Za-z0-9]. */
export function randomID(n) {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return [...b].map((x) => abc[x % abc.length]).join("");
}

/**
 * mountHeader wires the header's name field and connection indicator.
 * onName(name) is called after the user saves a new valid name.
 */
export function mountHeader({ onName } = {}) {
  const form = $("#name-form");
  const input = $("#me");
  const err = $("#me-error");
  input.value = userName();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = input.value.trim();
    if (!NAME_PATTERN.test(v)) {
      fieldError(input, err, "Use 1-64 letters, digits, dots, dashes or underscores.");
      return;
    }
    fieldError(input, err, "");
    if (v === userName()) return;
    saveName(v);
    announce(`Your name is now ${v}.`);
    onName?.(v);
  });
  input.addEventListener("blur", () => { if (input.value.trim() !== userName()) form.requestSubmit(); });
}

/** showConnection reflects a socket state in the header. */
export function showConnection(state, detail = "") {
  const el = $("#conn");
  if (!el) return;
  const label = { open: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline", "signed-out": "Signed out" }[state] || state;
  el.dataset.state = state;
  el.textContent = detail ? `${label} · ${detail}` : label;
  el.title = detail || label;
}

// ---- forms ---------------------------------------------------------------

/** fieldError shows (or with "" clears) an error next to an input. */
export function fieldError(input, el, msg) {
  if (!el) return;
  el.textContent = msg;
  el.hidden = !msg;
  if (msg) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/** clearErrors empties every field error in a form. */
export function clearErrors(form) {
  for (const el of $$(".field-error", form)) { el.textContent = ""; el.hidden = true; }
  for (const el of $$("[aria-invalid]", form)) el.removeAttribute("aria-invalid");
}

/**
 * showFormError puts an API error next to the field it names ("title:
 * is required" goes under the input named title), else in the form's
 * general error slot. It focuses the field.
 */
export function showFormError(form, error) {
  const msg = error?.message || "Something went wrong; try again.";
  let field = error?.field || null;
  let text = msg;
  const m = /^([a-z_]+): (.*)$/s.exec(msg);
  if (m) { field = field || m[1]; text = m[2]; }
  const input = field && form.elements.namedItem(field);
  if (input instanceof HTMLElement) {
    const label = form.querySelector(`label[for="${input.id}"]`)?.textContent?.replace(/\s*\(.*$/, "") || field;
    fieldError(input, document.getElementById(input.id + "-error"), `${label} ${text}`);
    input.focus();
    return;
  }
  const general = form.querySelector(".form-error");
  if (general) { general.textContent = text; general.hidden = false; }
}

// ---- HTTP API ---------------------------------------------------------------

// The bearer token every API request carries when the hub needs tokens
// (auth.js sets it), and who hears of a 401 to one of them.
const credentials = { token: null, onUnauthorized: null };

/** useToken makes every API request carry token (null: none). */
export function useToken(token, onUnauthorized) {
  credentials.token = token || null;
  if (onUnauthorized !== undefined) credentials.onUnauthorized = onUnauthorized;
}

/**
 * api calls the JSON API. It resolves to {ok, status, data, error, etag};
 * a network failure is {ok: false, status: 0, error: {code: "network"}}.
 * The token in use goes along as Authorization: Bearer; a 401 to it is
 * also told to auth.js, which asks for a new one. token overrides it for
 * one request (checking a pasted token), and a 401 to that is only
 * returned.
 */
export async function api(path, { method = "GET", body, etag, signal, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (etag) headers["If-None-Match"] = etag;
  const bearer = token === undefined ? credentials.token : token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: "no-cache" });
  } catch (e) {
    return { ok: false, status: 0, error: { code: "network", message: "The server cannot be reached." } };
  }
  const out = { ok: r.ok, status: r.status, etag: r.headers.get("ETag"), data: null, error: null };
  if (r.status === 304) return out;
  const type = r.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try { out.data = await r.json(); } catch { out.data = null; }
  } else {
    out.data = await r.text();
  }
  if (!r.ok) out.error = (out.data && out.data.error) || { code: String(r.status), message: `The server answered ${r.status}.` };
  if (r.status === 401 && token === undefined && bearer && bearer === credentials.token) credentials.onUnauthorized?.(out.error);
  return out;
}

// ---- the server's clock -----------------------------------------------------

/**
 * clock holds the offset between this browser's clock and the hub's,
 * estimated from GET /api/time: of a few samples, the one with the shortest
 * round trip wins, assuming the answer was made half-way through it.
 */
export const clock = {
  offset: 0,
  rtt: Infinity,
  now() { return Date.now() + this.offset; },
  async sync(samples = 4) {
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      const wall0 = Date.now();
      const r = await api("/api/time");
      const t1 = performance.now();
      if (!r.ok || !r.data?.now) continue;
      const rtt = t1 - t0;
      if (rtt <= this.rtt) {
        this.rtt = rtt;
        this.offset = Date.parse(r.data.now) - (wall0 + rtt / 2);
      }
    }
    return this.offset;
  },
};

// ---- money: integer cents, decimal strings on the wire ------------------------

/** parseCents reads "12", "12.3" or "12.34"; null when it is not money. */
export function parseCents(s) {
  const m = /^\s*(\d{1,10})(?:[.,](\d{1,2}))?\s*$/.exec(String(s ?? ""));
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || "0").padEnd(2, "0"));
}

/** money formats cents as "1234.50". */
export function money(cents) {
  if (cents === null || cents === undefined) return "–";
  const c = Math.round(cents);
  return `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`;
}

/** moneyLabel formats a wire amount for reading: "1,234.50". */
export function moneyLabel(s) {
  if (s === null || s === undefined) return "–";
  const c = parseCents(s);
  if (c === null) return String(s);
  const whole = Math.floor(c / 100).toLocaleString("en-US");
  return `${whole}.${String(c % 100).padStart(2, "0")}`;
}

// ---- time ---------------------------------------------------------------------

/** countdown formats a duration in ms: "4d 2h", "1h 02m", "4:05", "0:09". */
export function countdown(ms) {
  if (ms <= 0) return "0:00";
  const s = Math.ceil(ms / 1000);
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${String(mm).padStart(2, "0")}m`;
  return `${mm}:${String(ss).padStart(2, "0")}`;
}

/** clockTime formats a timestamp as local HH:MM:SS. */
export function clockTime(t) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** ago formats how long ago t was, by the server's clock. */
export function ago(t) {
  const s = Math.max(0, Math.round((clock.now() - Date.parse(t)) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(t).toLocaleDateString();
}

// ---- announcements and notices ----------------------------------------------

/** announce says msg to screen readers (assertive for urgent changes). */
export function announce(msg, assertive = false) {
  const el = document.getElementById(assertive ? "alert" : "live");
  if (!el) return;
  // Clear first so the same sentence twice is read twice.
  el.textContent = "";
  setTimeout(() => { el.textContent = msg; }, 30);
}

/**
 * notice shows a non-blocking message at the bottom of the page, with a
 * close button; it goes away by itself after ms (0: stays).
 */
export function notice(msg, { kind = "info", ms = 8000, title } = {}) {
  const box = document.getElementById("notices");
  if (!box) return null;
  const close = h("button", { type: "button", class: "icon-btn", "aria-label": "Dismiss" }, "×");
  const el = h("div", { class: `notice notice-${kind}`, role: kind === "error" || kind === "warn" ? "alert" : "status" },
    h("div", { class: "notice-body" }, title ? h("strong", {}, title) : null, h("span", {}, msg)), close);
  const remove = () => el.remove();
  close.addEventListener("click", remove);
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  if (ms > 0) setTimeout(remove, ms);
  return el;
}

/** userColor gives a user a stable, readable colour. */
export function userColor(name) {
  let x = 2166136261;
  for (const ch of String(name)) { x ^= ch.codePointAt(0); x = Math.imul(x, 16777619) >>> 0; }
  return `hsl(${x % 360} 70% 42%)`;
}

/** debounce returns fn delayed until ms after the last call. */
export function debounce(fn, ms) {
  let t = 0;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

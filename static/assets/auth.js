// Who the pages act as (docs/protocol.md, "Identity" and "Rights and
// tokens").
//
// In development mode (the hub has no token secret) that is the name kept
// in localStorage, exactly as before (common.js, userName).
//
// With a token secret the hub wants a JWT on the socket (?token=, which the
// contract requires) and on every API request (Authorization: Bearer). A
// person gives the page one with "Sign in with a token". It is kept in
// sessionStorage, not localStorage: a token is a bearer credential that
// carries rights, so it stays in the tab it was given to and is gone when
// that tab closes, instead of lingering on a shared computer and in every
// other tab of the site; two tabs can also act as two different holders.
// The price is pasting it again in a new tab. It is never put in a page's
// address, only in the socket's, as the contract requires.
//
// Every page asks GET /api/session first: it says whether the hub needs
// tokens (without a failing request, so no socket is opened that the hub
// would refuse) and who the stored token's holder is as the hub reads it.
// A 401 from the API or a token_expired from the socket signs the page out,
// says why in a sentence and offers to paste a new token; a new token given
// while connected renews the socket in-band (socket.js, refresh).
import { $, h, api, useToken, userName, clock, clockTime, announce, notice, fieldError } from "./common.js";

const TOKEN_KEY = "hotrow.token";
const WARN_BEFORE = 60000; // ms before the token's expiry to ask for a new one
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export const auth = {
  tokens: false, // the hub needs tokens
  token: null, // the JWT in use; null when signed out
  user: null, // the holder (kept after signing out, so "you" stays you)
  name: null, // the holder's display name
  exp: 0, // when the token expires, ms since the epoch
  rights: null, // the rights as the hub reads the token
  problem: "", // why the page is signed out, said to the person
  get signedIn() { return !this.tokens || !!this.token; },
};

const listeners = new Set();

/** onAuthChange calls fn({kind: "signed-in" | "signed-out", sameUser}) on every change. */
export function onAuthChange(fn) { listeners.add(fn); }

function emit(change) { for (const fn of listeners) fn(change); }

/**
 * may says whether the token gives a right: may("create", "auction"). In
 * development mode, and when the rights are unknown, the hub decides.
 */
export function may(right, what) {
  if (!auth.tokens || !auth.rights) return true;
  const r = auth.rights[right];
  return Array.isArray(r) && r.includes(what);
}

/** currentUser is who the page acts as: the token's holder, else the saved name. */
export function currentUser() { return auth.tokens ? auth.user || "" : userName(); }

/** identity is what a socket connects with (socket.js, Hub). */
export function identity() {
  return { tokens: auth.tokens, user: currentUser(), token: auth.token };
}

/** socketURL is the socket's address for this identity (the proof panel's sockets). */
export function socketURL(user) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = auth.tokens ? `token=${encodeURIComponent(auth.token || "")}` : `user=${encodeURIComponent(user)}`;
  return `${proto}//${location.host}/ws?${q}`;
}

let started = null;

/**
 * startAuth learns how the hub authenticates and who this tab is, once per
 * page, and mounts the header's identity and the sign-in dialog.
 */
export function startAuth() {
  started ||= load();
  return started;
}

async function load() {
  const stored = readStored();
  let r;
  // A hub that is restarting or busy (no answer, 429, 5xx) gets two more
  // tries before the page goes on without knowing.
  for (let i = 0; i < 3; i++) {
    if (i) await new Promise((ok) => setTimeout(ok, 400 * i));
    r = await api("/api/session", { token: stored || null });
    if (r.ok || (r.status >= 400 && r.status < 500 && r.status !== 429)) break;
  }
  if (r.ok && r.data?.tokens === false) {
    auth.tokens = false;
    return auth;
  }
  if (r.ok && r.data?.tokens === true) {
    auth.tokens = true;
    if (r.data.user) adopt(stored, r.data);
  } else if (r.status === 401) {
    auth.tokens = true;
    forget();
    auth.problem = refusal(r.error);
  } else if (stored) {
    // The hub cannot be reached now: go on with the stored token (its
    // holder read from the token itself); the socket retries.
    auth.tokens = true;
    const c = claims(stored);
    adopt(stored, { user: c?.sub || "", name: c?.name || c?.sub || "", exp: c?.exp ? new Date(c.exp * 1000).toISOString() : null, rights: c?.rights || null });
  }
  if (!auth.tokens) return auth;
  useToken(auth.token, (err) => signOut(refusal(err)));
  $("#name-form")?.setAttribute("hidden", "");
  render();
  return auth;
}

function readStored() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

function store(token) {
  try { sessionStorage.setItem(TOKEN_KEY, token); } catch { /* storage off: this page only */ }
}

function forget() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage off */ }
}

function adopt(token, s) {
  auth.token = token;
  auth.user = s.user;
  auth.name = s.name || s.user;
  auth.exp = s.exp ? Date.parse(s.exp) : 0;
  auth.rights = s.rights || null;
  auth.problem = "";
  warnBeforeExpiry();
}

/** claims reads a JWT's payload without checking it (the hub checks). */
function claims(token) {
  try {
    const p = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(p.padEnd(Math.ceil(p.length / 4) * 4, "="));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
  } catch {
    return null;
  }
}

/** refusal says why the hub refused a token, as a sentence. */
function refusal(err) {
  const msg = err?.message || "";
  if (/expired/i.test(msg)) return "Your token has expired. Paste a new one to go on.";
  return `The hub refused your token (${msg.replace(/[.\s]+$/, "") || "no reason given"}). Paste a new one to go on.`;
}

/** signOut drops the token and says why (problem; "" after "Sign out"). */
export function signOut(problem = "") {
  if (!auth.tokens || !auth.token) {
    if (problem && problem !== auth.problem) { auth.problem = problem; render(); }
    return;
  }
  auth.token = null;
  auth.rights = null;
  auth.problem = problem;
  clearTimeout(warnTimer);
  forget();
  useToken(null);
  render();
  if (problem) announce(problem, true);
  emit({ kind: "signed-out", sameUser: true });
}

/** tokenExpired: the socket said token_expired (it is then closed with 4001). */
export function tokenExpired() {
  const at = auth.exp ? ` at ${clockTime(auth.exp)}` : "";
  signOut(`Your token expired${at}, so the hub closed the connection. Paste a new token to go on.`);
}

/** check asks the hub whether the token in use still holds (a 401 signs out). */
export async function check() {
  if (auth.tokens && auth.token) await api("/api/session");
}

/** signIn checks a pasted token with the hub and uses it; it resolves to an error sentence or "". */
async function signIn(raw) {
  const token = raw.trim().replace(/^Bearer\s+/i, "");
  if (!token) return "Paste your token first.";
  if (!JWT.test(token)) return "That is not a token: a token is three parts joined by dots, like eyJhbGciOi….eyJzdWIiOi….signature.";
  const r = await api("/api/session", { token });
  if (r.status === 0) return "The hub cannot be reached just now; try again in a moment.";
  if (r.status === 401) {
    const msg = r.error?.message || "";
    return /expired/i.test(msg) ? "This token has expired: ask for a new one." : `The hub refused this token: ${msg.replace(/^invalid token: /, "")}.`;
  }
  if (!r.ok || !r.data?.user) return `The hub could not check this token (${r.error?.message || r.status}); try again.`;
  const before = auth.user;
  store(token);
  adopt(token, r.data);
  useToken(token);
  render();
  announce(`Signed in as ${auth.name}.`);
  emit({ kind: "signed-in", sameUser: before === auth.user });
  return "";
}

// ---- the expiry warning -----------------------------------------------------

let warnTimer = 0;
let warning = false;

function warnBeforeExpiry() {
  clearTimeout(warnTimer);
  warning = false;
  if (!auth.exp) return;
  const token = auth.token;
  const wait = () => {
    if (auth.token !== token) return;
    const left = auth.exp - WARN_BEFORE - clock.now();
    // A timer waits at most about 24 days: a longer-lived token waits again.
    if (left > 0) { warnTimer = setTimeout(wait, Math.min(left, 2 ** 31 - 1)); return; }
    warning = true;
    render();
  };
  wait();
}

// ---- the header, the banner and the dialog --------------------------------------

function render() {
  if (!auth.tokens) return;
  renderWho();
  renderBanner();
}

function renderWho() {
  let who = $("#who");
  if (!who) {
    who = h("div", { id: "who", class: "who" });
    const conn = $("#conn");
    if (conn) conn.before(who);
    else $("header.top")?.append(who);
  }
  if (auth.token) {
    const strong = h("strong", { class: "who-name" }, auth.name);
    who.replaceChildren(
      h("span", { class: "who-text", title: `Signed in as ${auth.name} (${auth.user})${auth.exp ? `; the token holds until ${clockTime(auth.exp)}` : ""}` },
        "Signed in as ", strong, auth.name !== auth.user ? h("span", { class: "muted" }, ` (${auth.user})`) : null),
      h("button", { type: "button", class: "small", id: "token-btn", onclick: () => openSignIn() }, "Change token"));
  } else {
    who.replaceChildren(h("button", { type: "button", class: "primary small", id: "sign-in", onclick: () => openSignIn() }, "Sign in"));
  }
}

function renderBanner() {
  let el = $("#auth-banner");
  const main = $("main");
  if (!el && main) {
    el = h("div", { id: "auth-banner", class: "banner auth-banner", role: "alert" });
    main.prepend(el);
  }
  if (!el) return;
  let text = "", action = "";
  if (!auth.token) {
    text = auth.problem || "This hub needs a token: sign in with the token you were given to see and do anything here.";
    action = auth.problem ? "Paste a new token" : "Sign in with a token";
  } else if (warning) {
    text = `Your token expires at ${clockTime(auth.exp)}. Paste a new one to stay connected.`;
    action = "Paste a new token";
  }
  el.hidden = !text;
  el.classList.toggle("auth-warn", !!auth.token);
  if (!text) { el.replaceChildren(); return; }
  el.replaceChildren(h("span", {}, text), " ",
    h("button", { type: "button", class: "primary small", onclick: () => openSignIn() }, action));
}

let dlg = null;

function dialog() {
  if (dlg) return dlg;
  const input = h("textarea", { id: "token-input", name: "token", rows: 4, autocomplete: "off", spellcheck: "false",
    autocapitalize: "off", "aria-describedby": "token-hint token-error" });
  const err = h("p", { id: "token-error", class: "field-error", hidden: true });
  const submit = h("button", { type: "submit", class: "primary", id: "token-submit" }, "Sign in");
  const cancel = h("button", { type: "button", id: "token-cancel" }, "Cancel");
  const out = h("button", { type: "button", id: "sign-out", class: "danger" }, "Sign out");
  const form = h("form", { novalidate: true },
    h("h2", { id: "token-h" }, "Sign in with a token"),
    h("p", { class: "hint", id: "token-hint" },
      "Paste the token (a JWT) you were given for this hub. It is kept in this tab only, until you close the tab or sign out, and is sent with every request."),
    h("div", { class: "field" }, h("label", { for: "token-input" }, "Your token"), input, err),
    h("div", { class: "dialog-actions" }, submit, cancel, out));
  dlg = h("dialog", { id: "token-dialog", class: "token-dialog", "aria-labelledby": "token-h" }, form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    const msg = await signIn(input.value);
    submit.disabled = false;
    fieldError(input, err, msg);
    if (msg) { input.focus(); return; }
    input.value = "";
    dlg.close();
  });
  cancel.addEventListener("click", () => dlg.close());
  out.addEventListener("click", () => {
    dlg.close();
    signOut("");
    notice("Signed out: the token is gone from this tab.", { kind: "ok", ms: 4000 });
  });
  document.body.append(dlg);
  return dlg;
}

/** openSignIn opens the dialog to paste a token. */
export function openSignIn() {
  const d = dialog();
  $("#sign-out", d).hidden = !auth.token;
  $("#token-h", d).textContent = auth.token ? "Use another token" : "Sign in with a token";
  fieldError($("#token-input", d), $("#token-error", d), "");
  if (!d.open) d.showModal();
  $("#token-input", d).focus();
}

/**
 * bindHub keeps a page's socket in step with the token: a new token for the
 * same holder renews it in-band, another holder's reconnects it, signing out
 * closes it; token_expired on the socket signs the page out.
 */
export function bindHub(hub) {
  hub.onExpired = () => tokenExpired();
  hub.onRenewed = (exp) => notice(`Token renewed: you stay connected until ${clockTime(exp)}.`, { kind: "ok", ms: 5000 });
  hub.onHandshakeFailed = () => check();
  onAuthChange(() => hub.setIdentity(identity()));
}

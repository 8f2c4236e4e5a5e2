// The lobby: every auction and schema document, live. It polls the list
// endpoints with If-None-Match (a 304 costs nothing; see README, "The
// pages"), so a new auction or document shows up within a second for
// everyone, whichever hub they are on.
import {
  $, h, api, clock, countdown, moneyLabel, mountHeader, showConnection, clearErrors, showFormError,
  fieldError, parseCents, announce, notice, ago,
} from "./common.js";
import { auth, startAuth, onAuthChange, may } from "./auth.js";

const POLL_MS = 600;

mountHeader();
await startAuth();

const lists = {
  auctions: { url: "/api/auctions", etag: null, items: [], el: $("#auctions"), render: auctionCard, empty: "No auctions yet: create the first one.",
    emptyForToken: "No auctions that your token lets you watch.", kind: "auction", create: $("#auction-create") },
  schemas: { url: "/api/schemas", etag: null, items: [], el: $("#schemas"), render: schemaCard, empty: "No schema documents yet: create one.",
    emptyForToken: "No schema documents that your token lets you open.", kind: "schema", create: $("#schema-create") },
};

// With a token that may not create a kind, its form folds away and says so
// (the hub would answer 403).
function createRights() {
  for (const list of Object.values(lists)) {
    const allowed = !auth.tokens || (auth.signedIn && may("create", list.kind));
    if (allowed) { list.hint?.remove(); list.hint = null; continue; }
    // Beside the folded form, not in it, so it shows.
    const hint = list.hint ||= h("p", { class: "hint create-hint" });
    list.create.after(hint);
    hint.textContent = auth.signedIn ? `Your token does not give you the right to create ${list === lists.auctions ? "auctions" : "schema documents"}.`
      : "Sign in with a token to create one.";
    list.create.open = false;
  }
}
let firstLoad = true;
let shown = null; // the last reachability shown in the header

async function poll(list) {
  const r = await api(list.url, { etag: list.etag });
  if (r.status === 304) return true;
  if (!r.ok) return false;
  list.etag = r.etag;
  const before = new Set(list.items.map((x) => x.id));
  list.items = Array.isArray(r.data) ? r.data : [];
  // Open auctions first, ended ones after; newest first within each.
  if (list === lists.auctions) list.items.sort((x, y) => (effectiveStatus(x) === "ended") - (effectiveStatus(y) === "ended"));
  render(list, firstLoad ? new Set() : new Set(list.items.filter((x) => !before.has(x.id)).map((x) => x.id)));
  return true;
}

async function pollAll() {
  if (!auth.signedIn) {
    // Without a token the hub shows nothing: no request that would fail.
    if (shown === "signed-out") return;
    for (const list of Object.values(lists)) {
      list.items = [];
      list.etag = null;
      list.el.removeAttribute("aria-busy");
      list.el.replaceChildren(h("li", { class: "empty" }, `Sign in with a token to see the ${list === lists.auctions ? "auctions" : "schema documents"}.`));
    }
    $("#auction-count").textContent = "";
    $("#schema-count").textContent = "";
    shown = "signed-out";
    showConnection("signed-out");
    return;
  }
  const ok = (await Promise.all([poll(lists.auctions), poll(lists.schemas)])).every(Boolean);
  if (!auth.signedIn) return pollAll(); // a 401 signed the page out meanwhile
  firstLoad = false;
  if (ok === shown) return;
  shown = ok;
  showConnection(ok ? "open" : "reconnecting", ok ? "" : "the server cannot be reached");
}

function render(list, fresh) {
  const el = list.el;
  el.removeAttribute("aria-busy");
  const nodes = list.items.map((x) => {
    const li = list.render(x);
    if (fresh.has(x.id)) li.classList.add("fresh");
    return li;
  });
  if (!nodes.length) nodes.push(h("li", { class: "empty" }, auth.tokens ? list.emptyForToken : list.empty));
  el.replaceChildren(...nodes);
  $("#auction-count").textContent = lists.auctions.items.length ? `${lists.auctions.items.length}` : "";
  $("#schema-count").textContent = lists.schemas.items.length ? `${lists.schemas.items.length}` : "";
  if (fresh.size) {
    const names = list.items.filter((x) => fresh.has(x.id)).map((x) => x.title || x.name);
    announce(`New ${list === lists.auctions ? "auction" : "schema document"}: ${names.join(", ")}`);
  }
  tick();
}

function auctionCard(a) {
  const status = effectiveStatus(a);
  const price = a.current_bid ?? a.starting_price;
  return h("li", { class: `card auction-card status-${status}`, dataset: { id: a.id } },
    h("a", { class: "card-link", href: `/auctions/${encodeURIComponent(a.id)}` }, a.title),
    h("span", { class: `pill pill-${status}` }, statusLabel(status)),
    h("p", { class: "card-price" },
      h("span", { class: "big" }, moneyLabel(status === "ended" ? (a.final_price ?? price) : price)),
      " ",
      h("span", { class: "muted" }, status === "ended"
        ? (a.winner ? `won by ${a.winner}` : "no bids")
        : a.leader ? `${a.bids} bid${a.bids === 1 ? "" : "s"} · ${a.leader} leads` : "starting price")),
    h("p", { class: "card-when muted", dataset: { ends: a.ends_at, starts: a.starts_at, status } }, ""));
}

function effectiveStatus(a) {
  if (a.status === "ended" || a.winner) return "ended";
  const now = clock.now();
  if (now >= Date.parse(a.ends_at)) return "closing";
  if (now < Date.parse(a.starts_at)) return "scheduled";
  return "live";
}

function statusLabel(s) {
  return { live: "Live", scheduled: "Soon", ended: "Ended", closing: "Closing" }[s] || s;
}

function schemaCard(d) {
  return h("li", { class: "card schema-card", dataset: { id: d.id } },
    h("a", { class: "card-link", href: `/schemas/${encodeURIComponent(d.id)}` }, d.name),
    h("span", { class: "pill" }, `${d.tables} table${d.tables === 1 ? "" : "s"}`),
    h("p", { class: "muted" }, `created ${ago(d.created_at)} · ${d.version - 1} edit${d.version === 2 ? "" : "s"}`));
}

// Countdowns tick every second without a request.
function tick() {
  for (const el of document.querySelectorAll(".card-when")) {
    const ends = Date.parse(el.dataset.ends), starts = Date.parse(el.dataset.starts), now = clock.now();
    if (el.dataset.status === "ended") el.textContent = `ended ${ago(el.dataset.ends)}`;
    else if (now < starts) el.textContent = `starts in ${countdown(starts - now)}`;
    else if (now < ends) el.textContent = `ends in ${countdown(ends - now)}`;
    else el.textContent = "closing…";
  }
}

// ---- forms -------------------------------------------------------------------

$("#auction-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  const f = form.elements;
  const title = f.title.value.trim();
  const bad = [];
  if (!title) bad.push([f.title, "Title is required."]);
  for (const [input, name] of [[f.starting_price, "Starting price"], [f.increment, "Increment"]]) {
    const c = parseCents(input.value);
    if (c === null) bad.push([input, `${name} must be an amount like 10 or 10.50.`]);
    else if (c <= 0) bad.push([input, `${name} must be at least 0.01.`]);
  }
  const n = Number(f.duration_s.value);
  if (!Number.isInteger(n) || n < 1) bad.push([f.duration_s, "Runs for must be a whole number of at least 1."]);
  for (const input of [f.anti_snipe_window_s, f.anti_snipe_extend_s]) {
    if (input.value !== "" && !(Number.isInteger(Number(input.value)) && Number(input.value) >= 0)) bad.push([input, "Use a whole number of seconds, 0 or more."]);
  }
  if (bad.length) {
    for (const [input, msg] of bad) fieldError(input, document.getElementById(input.id + "-error"), msg);
    bad[0][0].focus();
    return;
  }
  const body = {
    title,
    starting_price: fmt(f.starting_price.value),
    increment: fmt(f.increment.value),
    duration_s: n * Number(f.unit.value),
  };
  if (f.anti_snipe_window_s.value !== "") body.anti_snipe_window_s = Number(f.anti_snipe_window_s.value);
  if (f.anti_snipe_extend_s.value !== "") body.anti_snipe_extend_s = Number(f.anti_snipe_extend_s.value);
  await create(form, "/api/auctions", body, (a) => `Auction “${a.title}” created.`, lists.auctions);
});

$("#schema-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  const name = form.elements.name.value.trim();
  if (!name) {
    fieldError(form.elements.name, $("#s-name-error"), "Name is required.");
    form.elements.name.focus();
    return;
  }
  await create(form, "/api/schemas", { name }, (d) => `Schema document “${d.name}” created.`, lists.schemas);
});

function fmt(v) {
  const c = parseCents(v);
  return `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`;
}

async function create(form, url, body, said, list) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const r = await api(url, { method: "POST", body });
  button.disabled = false;
  const what = list === lists.auctions ? "auctions" : "schema documents";
  if (r.status === 403) {
    showFormError(form, { message: `Your token does not give you the right to create ${what}.` });
    return;
  }
  if (r.status === 401) {
    showFormError(form, { message: `Nothing was created: ${auth.problem || "the hub wants a token."}` });
    return;
  }
  if (!r.ok) {
    // The server names the field: "title: is required".
    const fieldMap = { duration_s: "duration_s", ends_at: "duration_s" };
    const m = /^([a-z_]+): /.exec(r.error?.message || "");
    if (m && fieldMap[m[1]] && !form.elements.namedItem(m[1])) r.error.field = fieldMap[m[1]];
    showFormError(form, r.error);
    return;
  }
  form.reset();
  notice(said(r.data), { kind: "ok", ms: 5000 });
  list.etag = null;
  await poll(list);
}

// A new token (another holder may watch other rooms) lists afresh.
createRights();
onAuthChange(() => {
  createRights();
  firstLoad = true;
  for (const list of Object.values(lists)) list.etag = null;
  pollAll();
});

await clock.sync(3);
await pollAll();
setInterval(() => { if (document.visibilityState === "visible") pollAll(); }, POLL_MS);
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") pollAll(); });
setInterval(tick, 1000);

// The schema designer: tables as cards on a canvas, relations as lines,
// collaborators' cursors live (the first 32 drawn, the rest counted), every
// change an edit committed by the hub.
import {
  $, $$, h, svg, api, clockTime, mountHeader, showConnection, announce, notice, userColor,
  debounce, showFormError, clearErrors, fieldError,
} from "./common.js";
import { Hub } from "./socket.js";
import { auth, startAuth, currentUser, identity, bindHub, onAuthChange, openSignIn } from "./auth.js";

const docID = decodeURIComponent(location.pathname.split("/").pop() || "");
const room = `schema:${docID}`;
const CARD_W = 240;
const MOVE_EVERY = 100; // ms between move_table edits while dragging
const CURSOR_EVERY = 50; // ms: at most 20 cursor updates a second
const LISTED_MAX = 32; // the hub lists at most this many users in a document (docs/protocol.md)

const TYPES = ["integer", "bigint", "smallint", "text", "varchar", "char", "boolean", "numeric", "real",
  "double precision", "uuid", "date", "time", "timestamp", "timestamptz", "bytea"];
const ON_DELETE = { no_action: "no action", restrict: "restrict", cascade: "cascade", set_null: "set null", set_default: "set default" };

let me = "";
let doc = null;
let missing = false;
let selected = null; // table id
let editingCol = null; // column id whose edit form is open
const cards = new Map(); // table id -> card element
const localPos = new Map(); // table id -> {x, y, until}: where this page put it, until the hub agrees
const people = new Map(); // user -> {name, pos, el}: the users the hub lists (at most 32)
let present = 0; // users in the document, listed or not, from the hub's presence frames

const wrap = $("#canvas-wrap"), canvas = $("#canvas"), tablesEl = $("#tables"), links = $("#links"), cursorsEl = $("#cursors");
const inspector = $("#inspector-body");

mountHeader({ onName: (n) => { me = n; hub.setUser(n); renderPresence(); } });
await startAuth();
me = currentUser();

let lastConn = "connecting";
const hub = new Hub({
  identity: identity(),
  onState: (state, detail) => {
    showConnection(state, detail);
    if (state === "open" && lastConn !== "open" && lastConn !== "connecting") announce("Reconnected.", true);
    if (state !== "open" && state !== "signed-out" && lastConn === "open") announce("Connection lost; reconnecting. Your changes are sent when it is back.", true);
    if (state === "signed-out" && !doc && !missing) {
      $("#doc-name").textContent = "Sign in to see this document";
      $("#doc-meta").textContent = "This hub needs a token before it shows a schema document.";
      $("#table-form").hidden = true;
      $(".designer").hidden = true;
    }
    lastConn = state;
  },
});
bindHub(hub);
onAuthChange(() => {
  if (auth.user && auth.user !== me) { me = auth.user; renderPresence(); }
  if (auth.signedIn && !doc && !missing) {
    $("#doc-name").textContent = "Loading document…";
    $("#doc-meta").textContent = "";
    $(".designer").hidden = false;
  }
});

hub.join(room, {
  onState(state) {
    doc = normalize(state);
    renderAll();
    refreshSide();
  },
  onEvent(ev) {
    try {
      applyEvent(ev.kind, ev.version, ev.data);
    } catch {
      reload();
      return;
    }
    if (ev.kind === "move_table") {
      // Moves come ten a second while someone drags: only the canvas and
      // the audit log change.
      renderCards();
      refreshAudit();
      return;
    }
    if (ev.by !== me) announce(describeEvent(ev));
    renderAll();
    refreshSide();
  },
  onCaughtUp(n) {
    if (n > 0) notice(`Back online: ${n} missed change${n === 1 ? "" : "s"} caught up.`, { kind: "ok" });
  },
  onCursors(frame) { cursorsFrame(frame); },
  onPresence(m) {
    present = m.count;
    renderPresence();
  },
  onError(frame) {
    if (frame.code === "not_found") {
      missing = true;
      $("#doc-name").textContent = "Document not found";
      $("#doc-meta").textContent = `There is no schema document “${docID}”.`;
      $("#table-form").hidden = true;
    } else if (frame.code === "forbidden") {
      const say = "Your token does not give you the right to open this document.";
      if (!doc) {
        $("#doc-name").textContent = "You may not open this document";
        $("#doc-meta").replaceChildren(say, " ",
          h("button", { type: "button", class: "link-btn", onclick: () => openSignIn() }, "Use another token"));
        $("#table-form").hidden = true;
        $(".designer").hidden = true;
      } else notice(`${say} What you see here stopped updating.`, { kind: "warn", ms: 0 });
    } else notice(frame.message, { kind: "error" });
  },
});

async function reload() {
  const r = await api(`/api/schemas/${encodeURIComponent(docID)}`);
  if (r.ok && (!doc || r.data.version >= doc.version)) {
    doc = normalize(r.data);
    renderAll();
  }
}

// ---- the document model: the same rules as the hub's Doc.ApplyEvent ---------

function normalize(d) {
  d.tables = d.tables || [];
  for (const t of d.tables) t.columns = t.columns || [];
  d.relations = d.relations || [];
  return d;
}

function table(id) { return doc?.tables.find((t) => t.id === id) || null; }

function applyEvent(kind, version, data) {
  if (kind === "created") {
    doc = { id: data.id, name: data.name, version, tables: [], relations: [] };
    return;
  }
  if (version !== doc.version + 1) throw new Error("out of order");
  const need = (x) => { if (!x) throw new Error(`bad ${kind}`); return x; };
  switch (kind) {
    case "create_table":
      doc.tables.push({ ...need(data.table), columns: [] });
      break;
    case "rename_table":
    case "move_table": {
      const t = need(table(need(data.table).id));
      Object.assign(t, { name: data.table.name, x: data.table.x, y: data.table.y, rev: data.table.rev });
      break;
    }
    case "add_column":
      need(table(need(data.column).table)).columns.push(data.column);
      break;
    case "alter_column": {
      const t = need(table(need(data.column).table));
      const i = t.columns.findIndex((c) => c.id === data.column.id);
      if (i < 0) throw new Error("no column");
      t.columns[i] = data.column;
      break;
    }
    case "add_relation":
      doc.relations.push(need(data.relation));
      break;
    case "drop_table":
    case "drop_column":
    case "drop_relation": {
      const x = need(data.dropped);
      const tables = new Set(x.tables || []), cols = new Set(x.columns || []), rels = new Set(x.relations || []);
      doc.tables = doc.tables.filter((t) => !tables.has(t.id));
      for (const t of doc.tables) t.columns = t.columns.filter((c) => !cols.has(c.id));
      doc.relations = doc.relations.filter((r) => !rels.has(r.id));
      if (selected && tables.has(selected)) selected = null;
      break;
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
  doc.version = version;
}

function describeEvent(ev) {
  const d = ev.data || {};
  const who = ev.by;
  switch (ev.kind) {
    case "create_table": return `${who} added table ${d.table?.name}.`;
    case "rename_table": return `${who} renamed a table to ${d.table?.name}.`;
    case "add_column": return `${who} added column ${d.column?.name}.`;
    case "alter_column": return `${who} changed column ${d.column?.name}.`;
    case "drop_table": return `${who} dropped a table.`;
    case "drop_column": return `${who} dropped a column.`;
    case "add_relation": return `${who} added a relation.`;
    case "drop_relation": return `${who} dropped a relation.`;
    default: return `${who} changed the document.`;
  }
}

// ---- edits ------------------------------------------------------------------------

/** edit sends one op; the reply resolves the promise (ack or reject). */
function edit(op, { form } = {}) {
  const { queued, done } = hub.mutate({ type: "edit", room, id: Hub.newID("e"), op });
  if (queued) notice("You are offline: this change will be sent when the connection is back.", { kind: "warn" });
  return done.then((m) => {
    if (m.type === "reject") rejected(m, op, form);
    return m;
  });
}

function rejected(m, op, form) {
  switch (m.reason) {
    case "stale": {
      const cur = m.current || {};
      const what = cur.table !== undefined && cur.type !== undefined
        ? `this column (now “${cur.name}” ${cur.type}${cur.nullable ? "" : " not null"})`
        : cur.from_table !== undefined ? "this relation" : `this table (now named “${cur.name}”)`;
      notice(`Someone else changed ${what} before your edit arrived. Your change was not applied: check it, then save again to overwrite.`,
        { kind: "warn", title: "Changed by someone else", ms: 15000 });
      announce(`Your change was not applied: someone else changed ${what} first.`, true);
      if (form && cur.rev !== undefined) form.dataset.base = String(cur.rev);
      break;
    }
    case "duplicate_name":
    case "invalid_op":
      if (form) showFormError(form, { message: m.message, field: fieldFor(m.message, form) });
      else notice(m.message, { kind: "error" });
      break;
    case "not_found":
      notice("That table or column no longer exists: someone else dropped it.", { kind: "warn" });
      break;
    case "unavailable":
      notice("The server could not save this change just now; it was not applied. Please try again.", { kind: "error" });
      break;
    case "forbidden":
      notice("Your token does not give you the right to edit this document, so your change was not applied.", { kind: "error" });
      break;
    case "signed_out":
      notice(`Your change was not sent: ${m.message}`, { kind: "warn" });
      break;
    default:
      notice(`Your change was refused: ${m.message || m.reason}.`, { kind: "error" });
  }
}

function fieldFor(message, form) {
  const m = /^([a-z_]+): /.exec(message || "");
  if (m && form.elements.namedItem(m[1])) return m[1];
  return form.elements.namedItem("name") ? "name" : null;
}

// ---- rendering ----------------------------------------------------------------

function renderAll() {
  if (!doc || missing) return;
  $("#table-form").hidden = false;
  $(".designer").hidden = false;
  document.title = `${doc.name} · hotrow`;
  $("#doc-name").textContent = doc.name;
  const cols = doc.tables.reduce((n, t) => n + t.columns.length, 0);
  $("#doc-meta").textContent = `${doc.tables.length} table${doc.tables.length === 1 ? "" : "s"} · ${cols} column${cols === 1 ? "" : "s"} · ${doc.relations.length} relation${doc.relations.length === 1 ? "" : "s"} · version ${doc.version}`;
  renderCards();
  renderInspector();
}

function renderCards() {
  const seen = new Set();
  const fk = new Set(doc.relations.map((r) => r.from_column));
  for (const t of doc.tables) {
    let card = cards.get(t.id);
    if (!card) {
      card = makeCard(t.id);
      cards.set(t.id, card);
      tablesEl.append(card);
    }
    fillCard(card, t, fk);
    place(card, t);
    seen.add(t.id);
  }
  for (const [id, card] of cards) if (!seen.has(id)) { card.remove(); cards.delete(id); }
  $("#canvas-empty").hidden = doc.tables.length > 0;
  sizeCanvas();
  drawLinks();
}

function posOf(t) {
  const l = localPos.get(t.id);
  return l ? { x: l.x, y: l.y } : { x: t.x, y: t.y };
}

function place(card, t) {
  if (drag && drag.id === t.id) return;
  const p = posOf(t);
  card.style.left = `${p.x}px`;
  card.style.top = `${p.y}px`;
}

function fillCard(card, t, fk) {
  card.classList.toggle("selected", t.id === selected);
  card.setAttribute("aria-label", `Table ${t.name}, ${t.columns.length} column${t.columns.length === 1 ? "" : "s"}`);
  card.querySelector(".tcard-name").textContent = t.name;
  const rows = t.columns.map((c) => h("li", { dataset: { col: c.id } },
    h("span", { class: "cname" }, c.name),
    c.primary_key ? h("span", { class: "badge pk", title: "primary key" }, "PK") : null,
    fk.has(c.id) ? h("span", { class: "badge fk", title: "foreign key" }, "FK") : null,
    c.unique && !c.primary_key ? h("span", { class: "badge", title: "unique" }, "UQ") : null,
    !c.nullable && !c.primary_key ? h("span", { class: "badge", title: "not null" }, "NN") : null,
    h("span", { class: "ctype" }, c.type)));
  if (!rows.length) rows.push(h("li", { class: "empty-cols" }, "no columns yet"));
  card.querySelector("ul").replaceChildren(...rows);
}

function makeCard(id) {
  const head = h("div", { class: "tcard-head" }, h("span", { class: "tcard-name" }));
  const card = h("div", { class: "tcard", role: "listitem", tabindex: "0", dataset: { table: id },
    "aria-describedby": "card-help" }, head, h("ul"));
  head.addEventListener("pointerdown", (e) => startDrag(e, id, card));
  card.addEventListener("click", () => select(id));
  card.addEventListener("keydown", (e) => cardKey(e, id));
  return card;
}

function sizeCanvas() {
  let w = 0, hgt = 0;
  for (const [id, card] of cards) {
    const t = table(id);
    if (!t) continue;
    const p = posOf(t);
    w = Math.max(w, p.x + CARD_W + 160);
    hgt = Math.max(hgt, p.y + card.offsetHeight + 160);
  }
  canvas.style.width = `${w}px`;
  canvas.style.height = `${hgt}px`;
}

// Relations as curves from the source column's row to the target's.
function drawLinks() {
  const paths = [];
  for (const r of doc.relations) {
    const a = anchor(r.from_table, r.from_column), b = anchor(r.to_table, r.to_column);
    if (!a || !b) continue;
    let x1, x2, c1, c2;
    if (b.left > a.right) { x1 = a.right; x2 = b.left; c1 = x1 + 50; c2 = x2 - 50; }
    else if (a.left > b.right) { x1 = a.left; x2 = b.right; c1 = x1 - 50; c2 = x2 + 50; }
    else { x1 = a.right; x2 = b.right; c1 = x1 + 60; c2 = x2 + 60; }
    paths.push(svg("path", { d: `M${x1} ${a.y} C${c1} ${a.y} ${c2} ${b.y} ${x2} ${b.y}` }),
      svg("circle", { cx: x2, cy: b.y, r: 4 }), svg("circle", { cx: x1, cy: a.y, r: 2.5 }));
  }
  links.replaceChildren(...paths);
}

function anchor(tableID, colID) {
  const card = cards.get(tableID);
  if (!card) return null;
  const row = card.querySelector(`li[data-col="${CSS.escape(colID)}"]`);
  const left = card.offsetLeft, top = card.offsetTop;
  // A row's offsetParent is its card (positioned), so offsetTop is within it.
  const y = row ? top + row.offsetTop + row.offsetHeight / 2 : top + 18;
  return { left, right: left + card.offsetWidth, y };
}

// ---- selecting, dragging, moving with keys ------------------------------------

function select(id) {
  if (selected !== id) editingCol = null;
  selected = id;
  for (const [tid, card] of cards) card.classList.toggle("selected", tid === id);
  renderInspector();
}

let drag = null;

function startDrag(e, id, card) {
  if (e.button !== 0) return;
  const t = table(id);
  if (!t) return;
  const p = posOf(t);
  drag = { id, card, px: e.clientX, py: e.clientY, ox: p.x, oy: p.y, x: p.x, y: p.y, moved: false, last: 0, timer: 0 };
  card.setPointerCapture(e.pointerId);
  card.classList.add("dragging");
  const move = (ev) => {
    const dx = ev.clientX - drag.px, dy = ev.clientY - drag.py;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    drag.x = Math.max(0, Math.round(drag.ox + dx));
    drag.y = Math.max(0, Math.round(drag.oy + dy));
    card.style.left = `${drag.x}px`;
    card.style.top = `${drag.y}px`;
    localPos.set(id, { x: drag.x, y: drag.y, until: null });
    drawLinks();
    if (!drag.moved) return;
    const wait = MOVE_EVERY - (performance.now() - drag.last);
    if (wait <= 0) sendMove(false);
    else if (!drag.timer) drag.timer = setTimeout(() => { if (drag) { drag.timer = 0; sendMove(false); } }, wait);
  };
  const up = () => {
    card.removeEventListener("pointermove", move);
    card.removeEventListener("pointerup", up);
    card.removeEventListener("pointercancel", up);
    card.classList.remove("dragging");
    clearTimeout(drag.timer);
    const d = drag;
    if (d.moved) sendMove(true);
    else localPos.delete(id);
    drag = null;
    if (d.moved) sizeCanvas();
  };
  card.addEventListener("pointermove", move);
  card.addEventListener("pointerup", up);
  card.addEventListener("pointercancel", up);
}

function sendMove(final) {
  const d = drag;
  d.last = performance.now();
  moveTable(d.id, d.x, d.y, final);
}

function moveTable(id, x, y, final) {
  const op = { kind: "move_table", table: id, x, y };
  const p = edit(op);
  if (final) {
    localPos.set(id, { x, y, until: p });
    p.then(() => {
      if (localPos.get(id)?.until === p) localPos.delete(id);
      if (doc) renderCards();
    });
  }
}

function cardKey(e, id) {
  const t = table(id);
  if (!t) return;
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    select(id);
    inspector.querySelector("input")?.focus();
    return;
  }
  const step = e.shiftKey ? 100 : 20;
  const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
  if (!d) return;
  e.preventDefault();
  const p = posOf(t);
  const x = Math.max(0, p.x + d[0]), y = Math.max(0, p.y + d[1]);
  localPos.set(id, { x, y, until: null });
  renderCards();
  moveTable(id, x, y, true);
}

// ---- adding a table -------------------------------------------------------------

$("#table-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  const input = form.elements.name;
  const name = input.value.trim();
  if (!name) {
    fieldError(input, $("#t-name-error"), "Give the table a name.");
    input.focus();
    return;
  }
  const { x, y } = freeSpot();
  const m = await edit({ kind: "create_table", name, x, y }, { form });
  if (m.type === "ack") {
    input.value = "";
    const t = doc.tables.find((tt) => tt.name === name);
    if (t) select(t.id);
  }
});

function freeSpot() {
  const taken = doc.tables.map((t) => { const p = posOf(t); return { x: p.x, y: p.y, h: cards.get(t.id)?.offsetHeight || 120 }; });
  for (let i = 0; i < 400; i++) {
    const x = 40 + (i % 4) * 280, y = 40 + Math.floor(i / 4) * 240;
    if (!taken.some((r) => x < r.x + CARD_W + 30 && r.x < x + CARD_W + 30 && y < r.y + r.h + 30 && r.y < y + 150)) return { x, y };
  }
  return { x: 40, y: 40 };
}

// ---- the inspector: rename, columns, relations ------------------------------------
//
// Forms carry data-key (which form) and data-base (the rev they were
// opened at). A form someone is typing in keeps its values and its base
// across re-renders, so an edit made against an older rev comes back stale.

function renderInspector() {
  const t = selected ? table(selected) : null;
  $("#inspector-empty").hidden = !!t;
  $("#inspector-h").textContent = t ? `Table ${t.name}` : "Table";
  if (!t) { inspector.replaceChildren(); return; }
  const saved = new Map();
  for (const f of $$("form[data-key]", inspector)) {
    if (!f.dataset.dirty) continue;
    const values = {};
    for (const el of f.elements) if (el.name) values[el.name] = el.type === "checkbox" ? el.checked : el.value;
    saved.set(f.dataset.key, { base: f.dataset.base, values });
  }
  const active = document.activeElement;
  const focus = active && inspector.contains(active)
    ? { form: active.form?.dataset.key, name: active.name, id: active.id, start: selStart(active) } : null;

  inspector.replaceChildren(...inspectorParts(t));

  for (const f of $$("form[data-key]", inspector)) {
    const s = saved.get(f.dataset.key);
    if (!s) continue;
    f.dataset.dirty = "1";
    f.dataset.base = s.base;
    for (const el of f.elements) {
      if (!el.name || !(el.name in s.values)) continue;
      if (el.type === "checkbox") el.checked = s.values[el.name];
      else el.value = s.values[el.name];
    }
    f.dispatchEvent(new Event("restore"));
  }
  if (focus) {
    const el = (focus.form && focus.name && $(`form[data-key="${CSS.escape(focus.form)}"] [name="${CSS.escape(focus.name)}"]`, inspector))
      || (focus.id && document.getElementById(focus.id));
    if (el) {
      el.focus();
      if (focus.start !== null) try { el.setSelectionRange(focus.start, focus.start); } catch { /* not a text input */ }
    }
  }
}

function selStart(el) { try { return el.selectionStart; } catch { return null; } }

function trackDirty(form) {
  form.addEventListener("input", () => { form.dataset.dirty = "1"; });
  form.addEventListener("change", () => { form.dataset.dirty = "1"; });
  return form;
}

function inspectorParts(t) {
  const parts = [];
  // Rename.
  const rename = trackDirty(h("form", { class: "rename", dataset: { key: `rename:${t.id}`, base: t.rev }, novalidate: true },
    h("div", { class: "field" },
      h("label", { for: "rename-input" }, "Table name"),
      h("div", { class: "amount-row" },
        h("input", { id: "rename-input", name: "name", value: t.name, maxlength: 63, autocomplete: "off", "aria-describedby": "rename-input-error" }),
        h("button", { type: "submit" }, "Rename")),
      h("p", { id: "rename-input-error", class: "field-error", hidden: true })),
    h("p", { class: "form-error", hidden: true })));
  rename.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(rename);
    const name = rename.elements.name.value.trim();
    if (!name) { fieldError(rename.elements.name, $("#rename-input-error"), "A table needs a name."); return; }
    const m = await edit({ kind: "rename_table", table: t.id, name, expect_rev: Number(rename.dataset.base) }, { form: rename });
    if (m.type === "ack") { delete rename.dataset.dirty; renderInspector(); }
  });
  parts.push(rename);

  // Columns.
  const fk = new Map(doc.relations.filter((r) => r.from_table === t.id).map((r) => [r.from_column, r]));
  parts.push(h("h3", {}, `Columns (${t.columns.length})`));
  parts.push(h("ul", { class: "col-list" }, t.columns.map((c) => h("li", {},
    h("div", { class: "col-line" },
      h("span", { class: "cname" }, c.name),
      h("span", { class: "ctype" }, `${c.type}${c.nullable ? "" : " not null"}${c.primary_key ? " · PK" : ""}${c.unique ? " · unique" : ""}${c.default !== null && c.default !== undefined ? ` · default ${c.default}` : ""}`),
      h("button", { type: "button", class: "small", "aria-expanded": String(editingCol === c.id), "aria-label": `Edit column ${c.name}`,
        onclick: () => { editingCol = editingCol === c.id ? null : c.id; renderInspector(); } }, editingCol === c.id ? "Close" : "Edit"),
      h("button", { type: "button", class: "small danger", "aria-label": `Drop column ${c.name}`,
        onclick: () => edit({ kind: "drop_column", table: t.id, column: c.id, expect_rev: c.rev }) }, "Drop")),
    fk.has(c.id) ? h("p", { class: "hint" }, `→ ${relTarget(fk.get(c.id))}`) : null,
    editingCol === c.id ? columnForm(t, c) : null))));
  parts.push(h("h3", {}, "Add a column"));
  parts.push(columnForm(t, null));

  // Relations.
  const rels = doc.relations.filter((r) => r.from_table === t.id || r.to_table === t.id);
  parts.push(h("h3", {}, `Relations (${rels.length})`));
  if (rels.length) {
    parts.push(h("ul", { class: "col-list" }, rels.map((r) => h("li", { class: "col-line" },
      h("span", { class: "cname" }, `${colName(r.from_table, r.from_column)} → ${relTarget(r)}`),
      h("span", { class: "ctype" }, `on delete ${ON_DELETE[r.on_delete] || r.on_delete}`),
      h("button", { type: "button", class: "small danger", "aria-label": "Drop this relation",
        onclick: () => edit({ kind: "drop_relation", relation: r.id, expect_rev: r.rev }) }, "Drop")))));
  }
  parts.push(relationForm(t));

  // Drop the table: a second press confirms, nothing blocks.
  const drop = h("button", { type: "button", class: "danger" }, `Drop table ${t.name}`);
  let armed = 0;
  drop.addEventListener("click", () => {
    if (!armed) {
      drop.textContent = `Press again to drop ${t.name} and its relations`;
      armed = setTimeout(() => { armed = 0; drop.textContent = `Drop table ${t.name}`; }, 4000);
      return;
    }
    clearTimeout(armed);
    edit({ kind: "drop_table", table: t.id, expect_rev: t.rev });
  });
  parts.push(h("h3", {}, "Danger zone"), drop);
  return parts;
}

function colName(tid, cid) {
  const t = table(tid);
  return `${t?.name ?? "?"}.${t?.columns.find((c) => c.id === cid)?.name ?? "?"}`;
}

function relTarget(r) { return colName(r.to_table, r.to_column); }

/** splitType reads "numeric(12,2)" into {base: "numeric", a: 12, b: 2}. */
function splitType(type) {
  const m = /^([a-z ]+?)(?:\((\d+)(?:,(\d+))?\))?$/.exec(type || "");
  if (!m) return { base: "text", a: "", b: "" };
  return { base: m[1], a: m[2] || "", b: m[3] || "" };
}

function columnForm(t, c) {
  const k = c ? `col:${c.id}` : `add-col:${t.id}`;
  const p = (s) => `${c ? c.id : "new"}-${s}`;
  const ty = splitType(c?.type || "text");
  const form = trackDirty(h("form", { class: "col-form", dataset: { key: k, base: c ? c.rev : "" }, novalidate: true },
    h("div", { class: "row" },
      h("div", { class: "field" },
        h("label", { for: p("name") }, "Column name"),
        h("input", { id: p("name"), name: "name", value: c?.name ?? "", maxlength: 63, autocomplete: "off", "aria-describedby": p("name-error") }),
        h("p", { id: p("name-error"), class: "field-error", hidden: true })),
      h("div", { class: "field" },
        h("label", { for: p("type") }, "Type"),
        h("select", { id: p("type"), name: "type" }, TYPES.map((x) => h("option", { value: x, selected: x === ty.base }, x))))),
    h("div", { class: "type-params" },
      h("div", { class: "field", dataset: { for: "numeric" } },
        h("label", { for: p("prec") }, "Precision"),
        h("input", { id: p("prec"), name: "precision", type: "number", min: 1, max: 38, value: ty.base === "numeric" ? ty.a || 12 : 12 })),
      h("div", { class: "field", dataset: { for: "numeric" } },
        h("label", { for: p("scale") }, "Scale"),
        h("input", { id: p("scale"), name: "scale", type: "number", min: 0, max: 38, value: ty.base === "numeric" ? ty.b || 2 : 2 })),
      h("div", { class: "field", dataset: { for: "varchar char" } },
        h("label", { for: p("len") }, "Length"),
        h("input", { id: p("len"), name: "length", type: "number", min: 1, value: ty.a || (ty.base === "char" ? 1 : 255) }))),
    h("div", { class: "checks" },
      h("label", {}, h("input", { type: "checkbox", name: "nullable", checked: c ? c.nullable : true }), "Nullable"),
      h("label", {}, h("input", { type: "checkbox", name: "primary_key", checked: c?.primary_key }), "Primary key"),
      h("label", {}, h("input", { type: "checkbox", name: "unique", checked: c?.unique }), "Unique")),
    h("div", { class: "field" },
      h("label", { for: p("default") }, "Default (optional)"),
      h("input", { id: p("default"), name: "default", value: c?.default ?? "", autocomplete: "off", placeholder: "e.g. 0, 'new', now()", "aria-describedby": p("default-error") }),
      h("p", { id: p("default-error"), class: "field-error", hidden: true })),
    h("p", { class: "form-error", hidden: true }),
    h("button", { type: "submit", class: c ? "" : "primary" }, c ? "Save column" : "Add column")));
  const params = () => {
    const base = form.elements.type.value;
    for (const f of $$("[data-for]", form)) f.hidden = !f.dataset.for.split(" ").includes(base);
  };
  form.elements.type.addEventListener("change", params);
  form.addEventListener("restore", params);
  params();
  form.elements.primary_key.addEventListener("change", () => { if (form.elements.primary_key.checked) form.elements.nullable.checked = false; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const f = form.elements;
    const name = f.name.value.trim();
    if (!name) { fieldError(f.name, document.getElementById(p("name-error")), "A column needs a name."); f.name.focus(); return; }
    const base = f.type.value;
    const type = base === "numeric" ? `numeric(${f.precision.value},${f.scale.value})`
      : base === "varchar" || base === "char" ? `${base}(${f.length.value})` : base;
    const def = f.default.value.trim();
    let op;
    if (!c) {
      op = { kind: "add_column", table: t.id, name, type, nullable: f.nullable.checked, primary_key: f.primary_key.checked, unique: f.unique.checked };
      if (def) op.default = def;
    } else {
      op = { kind: "alter_column", table: t.id, column: c.id, expect_rev: Number(form.dataset.base) };
      if (name !== c.name) op.name = name;
      if (type !== c.type) op.type = type;
      if (f.nullable.checked !== c.nullable) op.nullable = f.nullable.checked;
      if (f.primary_key.checked !== c.primary_key) op.primary_key = f.primary_key.checked;
      if (f.unique.checked !== c.unique) op.unique = f.unique.checked;
      if (def !== (c.default ?? "")) op.default = def === "" ? null : def;
      if (Object.keys(op).length === 4) { notice("Nothing to change.", { ms: 3000 }); return; }
    }
    const m = await edit(op, { form });
    if (m.type === "ack") {
      if (c) editingCol = null;
      delete form.dataset.dirty;
      if (!c) form.reset();
      renderInspector();
      if (!c) document.getElementById(p("name"))?.focus();
    }
  });
  return form;
}

function relationForm(t) {
  const targets = [];
  for (const o of doc.tables) for (const c of o.columns) if (c.primary_key || c.unique) targets.push([`${o.id}/${c.id}`, `${o.name}.${c.name}`]);
  const form = trackDirty(h("form", { class: "rel-form", dataset: { key: `rel:${t.id}` }, novalidate: true },
    h("div", { class: "row" },
      h("div", { class: "field" },
        h("label", { for: "rel-from" }, "From column"),
        h("select", { id: "rel-from", name: "from_column" }, t.columns.map((c) => h("option", { value: c.id }, c.name)))),
      h("div", { class: "field" },
        h("label", { for: "rel-to" }, "References"),
        h("select", { id: "rel-to", name: "to_column" }, targets.map(([v, l]) => h("option", { value: v }, l))))),
    h("div", { class: "row" },
      h("div", { class: "field" },
        h("label", { for: "rel-del" }, "On delete"),
        h("select", { id: "rel-del", name: "on_delete" }, Object.entries(ON_DELETE).map(([v, l]) => h("option", { value: v }, l))))),
    h("p", { class: "form-error", hidden: true }),
    h("button", { type: "submit", disabled: !t.columns.length || !targets.length }, "Add relation"),
    !targets.length ? h("p", { class: "hint" }, "A relation points at a primary-key or unique column: add one first.") : null));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const [toTable, toColumn] = form.elements.to_column.value.split("/");
    const m = await edit({ kind: "add_relation", from_table: t.id, from_column: form.elements.from_column.value,
      to_table: toTable, to_column: toColumn, on_delete: form.elements.on_delete.value }, { form });
    if (m.type === "ack") { delete form.dataset.dirty; renderInspector(); }
  });
  const wrapper = h("div", {}, h("h3", {}, "Add a relation"), form);
  return wrapper;
}

// ---- cursors and presence ---------------------------------------------------------

let pendingPos = null, lastCursor = 0, cursorTimer = 0;

function flushCursor() {
  cursorTimer = 0;
  if (!pendingPos) return;
  hub.cursor(room, pendingPos);
  lastCursor = performance.now();
  pendingPos = null;
}

function queueCursor(pos) {
  pendingPos = pos;
  const wait = CURSOR_EVERY - (performance.now() - lastCursor);
  if (wait <= 0) flushCursor();
  else if (!cursorTimer) cursorTimer = setTimeout(flushCursor, wait);
}

wrap.addEventListener("pointermove", (e) => {
  const r = canvas.getBoundingClientRect();
  queueCursor({ x: Math.round(e.clientX - r.left), y: Math.round(e.clientY - r.top) });
});
wrap.addEventListener("pointerleave", () => queueCursor({ away: true }));

function cursorsFrame(frame) {
  for (const c of frame.cursors || []) {
    let p = people.get(c.user);
    if (!p) {
      p = { name: c.name || c.user, pos: null, el: null };
      people.set(c.user, p);
    }
    p.pos = c.pos;
    if (c.user === me) continue;
    if (!p.el) {
      const color = userColor(c.user);
      p.el = h("div", { class: "rcursor", dataset: { user: c.user } },
        svg("svg", { width: 16, height: 20, viewBox: "0 0 16 20" }, svg("path", { d: "M1 1 L1 16 L5 12 L8 19 L11 17.5 L8 11 L14 11 Z", fill: color, stroke: "#fff", "stroke-width": 1.5 })),
        h("span", {}, p.name));
      p.el.querySelector("span").style.background = color;
      cursorsEl.append(p.el);
    }
    const pos = c.pos;
    const visible = pos && typeof pos.x === "number" && typeof pos.y === "number" && !pos.away;
    p.el.hidden = !visible;
    if (visible) p.el.style.transform = `translate(${pos.x}px, ${pos.y}px)`;
  }
  for (const u of frame.gone || []) {
    people.get(u)?.el?.remove();
    people.delete(u);
  }
  renderPresence();
}

let presenceKey = "";

// The people here: you first, then everyone the hub lists (at most 32, the
// first to arrive: docs/protocol.md, "Cursors and presence"), then how many
// more the presence count says there are.
function renderPresence() {
  const items = [...people.entries()].map(([u, p]) => [u, p.name || u]);
  if (me && !people.has(me)) items.push([me, auth.tokens ? auth.name || me : me]);
  items.sort(([a], [b]) => (a === me ? -1 : b === me ? 1 : a.localeCompare(b)));
  // Beyond a full list, the count says how many more there are. Below it
  // everyone present is listed, and a count that lags a departure by a
  // second must not show a phantom "+1 more".
  const more = people.size >= LISTED_MAX ? Math.max(0, present - items.length) : 0;
  const key = items.map(([u, n]) => `${u}\u0000${n}`).join("\u0001") + `\u0002${me}\u0002${more}`;
  if (key === presenceKey) return;
  presenceKey = key;
  const list = $("#presence");
  list.replaceChildren(...items.map(([u, name]) => {
    const dot = h("span", { class: "dot", "aria-hidden": "true" }, name.slice(0, 1));
    dot.style.background = userColor(u);
    return h("li", { dataset: { user: u } }, dot, u === me ? `${name} (you)` : name);
  }));
  if (more) {
    list.append(h("li", { class: "more", title: `${more} more ${more === 1 ? "person has" : "people have"} this document open; the hub shows the cursors of the first 32 only` },
      `+${more} more`));
  }
  list.setAttribute("aria-label", `People here: ${items.length + more}`);
}

// ---- the side panels: DDL export and the audit log -----------------------------------

const dialect = $("#dialect");
const ddl = $("#ddl");

async function loadDDL() {
  if (missing) return;
  const d = dialect.value;
  const url = `/api/schemas/${encodeURIComponent(docID)}/ddl?dialect=${d}`;
  const link = $("#download-ddl");
  link.href = url;
  link.setAttribute("download", `${(doc?.name || docID).replace(/[^A-Za-z0-9_.-]+/g, "_")}.${d}.sql`);
  const r = await api(url);
  if (r.ok) ddl.textContent = r.data;
  else ddl.textContent = `-- could not export: ${r.error?.message || r.status}`;
}

dialect.addEventListener("change", loadDDL);
$("#copy-ddl").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(ddl.textContent);
    notice("DDL copied to the clipboard.", { kind: "ok", ms: 3000 });
  } catch {
    const range = document.createRange();
    range.selectNodeContents(ddl);
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    notice("The DDL is selected: press Ctrl+C (⌘C) to copy it.", { ms: 5000 });
  }
});

async function loadAudit() {
  if (missing) return;
  const r = await api(`/api/schemas/${encodeURIComponent(docID)}/audit`);
  if (!r.ok || !Array.isArray(r.data)) return;
  // Moves of one table by one person in a row read as one line.
  const lines = [];
  for (const e of r.data) {
    const prev = lines[lines.length - 1];
    if (prev && e.kind === "move_table" && prev.e.kind === "move_table" && prev.e.by === e.by && prev.e.after?.table?.id === e.after?.table?.id) {
      prev.n++;
      prev.e = e;
      continue;
    }
    lines.push({ e, n: 1 });
  }
  $("#audit").replaceChildren(...lines.reverse().slice(0, 200).map(({ e, n }) => h("li", {},
    h("span", { class: "v" }, `v${e.version}`),
    h("strong", {}, e.by === "http" ? "someone" : e.by), " ", auditText(e), n > 1 ? ` (${n}×)` : "", " ",
    h("time", { class: "muted", datetime: e.at }, clockTime(e.at)))));
}

function auditText(e) {
  const b = e.before || {}, a = e.after || {};
  switch (e.kind) {
    case "created": return `created the document “${a.name ?? ""}”`;
    case "create_table": return `added table “${a.table?.name}”`;
    case "rename_table": return `renamed table “${b.table?.name}” to “${a.table?.name}”`;
    case "move_table": return `moved table “${a.table?.name}”`;
    case "drop_table": return `dropped table “${b.table?.name}”`;
    case "add_column": return `added column “${a.column?.name}” ${a.column?.type ?? ""}`;
    case "alter_column": return `changed column “${b.column?.name}”${a.column && a.column.name !== b.column?.name ? ` (now “${a.column.name}”)` : ""}`;
    case "drop_column": return `dropped column “${b.column?.name}”`;
    case "add_relation": return "added a relation";
    case "drop_relation": return "dropped a relation";
    default: return e.kind;
  }
}

const refreshSide = debounce(() => { loadDDL(); loadAudit(); }, 300);
const refreshAudit = debounce(loadAudit, 500);

// A hint for screen-reader users on every card.
document.body.append(h("p", { id: "card-help", class: "sr-only" }, "Press Enter to edit this table, arrow keys to move it (Shift for larger steps)."));
window.addEventListener("resize", debounce(() => doc && drawLinks(), 100));

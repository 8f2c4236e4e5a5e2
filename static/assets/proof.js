// The proof panel: N concurrent bids over M sockets at a fresh auction, the
// answers counted live, then every promise checked against the HTTP API.
import { $, h, api, money, parseCents, mountHeader, showConnection, announce, userName, clearErrors, fieldError, showFormError } from "./common.js";
import { auth, startAuth, socketURL, openSignIn } from "./auth.js";

mountHeader();
await startAuth();
showConnection("open", "");
$("#conn").hidden = true; // no socket of its own until a run

const form = $("#proof-form");
let running = false;

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (running) return;
  clearErrors(form);
  const f = form.elements;
  const n = Number(f.bids.value), m = Number(f.sockets.value), secs = Number(f.seconds.value);
  const bad = [];
  if (!Number.isInteger(n) || n < 1 || n > 3000) bad.push([f.bids, "Concurrent bids must be a whole number from 1 to 3000."]);
  if (!Number.isInteger(m) || m < 1 || m > 60) bad.push([f.sockets, "Sockets must be a whole number from 1 to 60."]);
  else if (Number.isInteger(n) && n / m > 150) bad.push([f.sockets, `With ${n} bids use at least ${Math.ceil(n / 150)} sockets: a socket may send 150 at once before the hub's rate limit.`]);
  if (!Number.isInteger(secs) || secs < 2 || secs > 120) bad.push([f.seconds, "Closes after must be a whole number of seconds from 2 to 120."]);
  if (bad.length) {
    for (const [input, msg] of bad) fieldError(input, document.getElementById(input.id + "-error"), msg);
    bad[0][0].focus();
    return;
  }
  if (!auth.signedIn) {
    showFormError(form, { message: "This hub needs a token: sign in first (with the right to create auctions and to bid)." });
    openSignIn();
    return;
  }
  running = true;
  $("#run").disabled = true;
  try {
    await run(n, m, secs);
  } catch (err) {
    phase(`The run stopped: ${err.message}`);
    verdict(false, `The run could not finish: ${err.message}`);
  } finally {
    running = false;
    $("#run").disabled = false;
  }
});

function phase(text) { $("#phase").textContent = text; }

const counts = { sent: 0, accepted: 0, rejected: 0, attempts: 0, max: 0, conflicts: 0 };
const reasons = {};
let frame = 0;
function bump() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    $("#c-sent").textContent = counts.sent;
    $("#c-accepted").textContent = counts.accepted;
    $("#c-rejected").textContent = counts.rejected;
    $("#c-attempts").textContent = counts.attempts;
    $("#c-max").textContent = counts.max;
    $("#c-conflicts").textContent = counts.conflicts;
    $("#progress").value = counts.accepted + counts.rejected;
    $("#reasons").textContent = Object.keys(reasons).length
      ? "Rejected: " + Object.entries(reasons).map(([r, k]) => `${k} ${r.replaceAll("_", " ")}`).join(", ") : "";
  });
}

/** metricSum sums a Prometheus counter family from /metrics. */
async function metricSum(names) {
  const r = await api("/metrics");
  const out = Object.fromEntries(names.map((n) => [n, 0]));
  if (!r.ok || typeof r.data !== "string") return out;
  for (const line of r.data.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const name = line.split(/[{ ]/, 1)[0];
    if (name in out) out[name] += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  }
  return out;
}

/** Bidder is one socket with what it sent and received. */
class Bidder {
  constructor(user) {
    this.user = user;
    this.events = [];
    this.replies = new Map(); // id -> resolve
    this.acks = [];
    this.sawClose = false;
    this.closedSeen = null;
  }

  /** open connects and waits for the welcome. */
  open() {
    return new Promise((resolve, reject) => {
      // With tokens every socket is the token's holder (the welcome says who).
      const ws = new WebSocket(socketURL(this.user));
      this.ws = ws;
      const timer = setTimeout(() => reject(new Error(`socket ${this.user} did not connect in time`)), 15000);
      ws.onerror = () => { clearTimeout(timer); reject(new Error(`socket ${this.user} could not connect`)); };
      ws.onclose = (e) => { this.closeCode = e.code; this.closedSeen?.(); };
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === "welcome") { this.user = m.user; clearTimeout(timer); resolve(); }
        else if (m.type === "joined" && m.room === this.room) {
          this.joinedAt = m.version;
          if (m.state?.status === "ended") this.seeClose();
          this.onJoined?.();
        } else if (m.type === "event" && m.room === this.room) {
          this.events.push(m);
          if (m.kind === "closed") this.seeClose();
        } else if (m.type === "ack" || m.type === "reject") {
          this.replies.get(m.id)?.(m);
          this.replies.delete(m.id);
        } else if (m.type === "error" && m.ref) {
          this.replies.get(m.ref)?.({ type: "reject", id: m.ref, reason: m.code, message: m.message });
          this.replies.delete(m.ref);
        }
      };
    });
  }

  /** join joins the auction's room and waits for joined. */
  join(room) {
    this.room = room;
    return new Promise((resolve) => {
      this.onJoined = resolve;
      this.ws.send(JSON.stringify({ type: "join", room }));
    });
  }

  seeClose() {
    this.sawClose = true;
    this.closedSeen?.();
  }

  bid(id, amount) {
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      this.ws.send(JSON.stringify({ type: "bid", room: this.room, id, amount, ref: id }));
    });
  }

  closed() {
    if (this.sawClose || this.closeCode !== undefined) return Promise.resolve();
    return new Promise((resolve) => { this.closedSeen = resolve; });
  }

  close() { this.ws?.close(); }
}

function withTimeout(p, ms, what) {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} took longer than ${Math.round(ms / 1000)}s`)), ms))]);
}

async function run(n, m, secs) {
  Object.assign(counts, { sent: 0, accepted: 0, rejected: 0, attempts: 0, max: 0, conflicts: 0 });
  for (const k of Object.keys(reasons)) delete reasons[k];
  $("#progress").max = n;
  $("#invariants").replaceChildren();
  $("#verdict").textContent = "";
  $("#verdict").className = "verdict";
  bump();

  // The sockets connect first, so the auction's clock starts when they
  // are ready.
  phase(`Opening ${m} sockets…`);
  const base = userName().slice(0, 40);
  const bidders = Array.from({ length: m }, (_, i) => new Bidder(`${base}-p${i + 1}`));
  await Promise.all(bidders.map((b) => b.open()));

  phase("Creating a fresh auction…");
  const created = await api("/api/auctions", { method: "POST", body: {
    title: `Proof run: ${n} bids over ${m} sockets`, starting_price: "1.00", increment: "1.00",
    duration_s: secs, anti_snipe_window_s: 0 } });
  if (!created.ok) throw new Error(created.error?.message || "the auction could not be created");
  const a = created.data;
  const room = `auction:${a.id}`;
  $("#proof-auction").replaceChildren("Auction ", h("a", { href: `/auctions/${a.id}` }, a.id), ` closes at ${new Date(a.ends_at).toLocaleTimeString()}.`);
  const before = await metricSum(["hotrow_txn_conflicts_total", "hotrow_txn_attempts_total"]);

  phase("Joining the auction…");
  await withTimeout(Promise.all(bidders.map((b) => b.join(room))), 15000, "joining the auction");

  phase(`Firing ${n} bids at once…`);
  // Rising amounts with jitter as wide as the number of sockets, sent
  // round-robin: the sockets race, so bids arrive partly out of order, and
  // the hub must turn the race into one rising history and one winner.
  const amounts = Array.from({ length: n }, (_, i) => i + 1 + Math.floor(Math.random() * m));
  const run = Date.now().toString(36);
  const replies = amounts.map((x, k) => {
    const b = bidders[k % m];
    const id = `proof-${run}-${k}`;
    const amount = money(x * 100);
    counts.sent++;
    return b.bid(id, amount).then((r) => {
      if (r.type === "ack") {
        counts.accepted++;
        counts.attempts += r.attempts;
        counts.max = Math.max(counts.max, r.attempts);
        b.acks.push({ id, amount, version: r.version });
      } else {
        counts.rejected++;
        reasons[r.reason] = (reasons[r.reason] || 0) + 1;
      }
      bump();
      return r;
    });
  });
  bump();
  await withTimeout(Promise.all(replies), 60000, "answering the bids");

  phase("Resending each socket's first accepted bid (same id)…");
  const resent = [];
  for (const b of bidders) {
    const first = b.acks[0];
    if (!first) continue;
    resent.push(b.bid(first.id, first.amount).then((r) => ({ first, r, user: b.user })));
  }
  const resends = await withTimeout(Promise.all(resent), 30000, "answering the resends");

  phase("Waiting for the auction to close…");
  const left = Date.parse(a.ends_at) - Date.now();
  await withTimeout(bidders[0].closed(), Math.max(0, left) + 20000, "closing the auction");
  // Every socket gets the closed event too; one that does not within 30 s
  // (or was closed by the hub) fails "the same history" below, with why.
  await withTimeout(Promise.all(bidders.map((b) => b.closed())), 30000, "delivering the close").catch(() => {});

  phase("Checking every promise against the HTTP API…");
  const after = await metricSum(["hotrow_txn_conflicts_total", "hotrow_txn_attempts_total"]);
  counts.conflicts = after.hotrow_txn_conflicts_total - before.hotrow_txn_conflicts_total;
  bump();
  const [fin, rows] = await Promise.all([api(`/api/auctions/${a.id}`), api(`/api/auctions/${a.id}/bids`)]);
  if (!fin.ok || !rows.ok) throw new Error("the API could not be read");
  for (const b of bidders) b.close();
  check({ final: fin.data, rows: rows.data, bidders, resends, auction: a,
    txAttempts: after.hotrow_txn_attempts_total - before.hotrow_txn_attempts_total });
}

function check({ final, rows, bidders, resends, auction, txAttempts }) {
  const results = [];
  const inv = (name, ok, detail) => results.push({ name, ok, detail });
  const acks = bidders.flatMap((b) => b.acks.map((x) => ({ ...x, user: b.user })));
  const byVersion = new Map(rows.map((r) => [r.version, r]));

  // 1. No acknowledged bid is lost, and each is recorded as acknowledged.
  const missingAck = acks.filter((x) => {
    const r = byVersion.get(x.version);
    return !r || r.amount !== x.amount || r.bidder !== x.user;
  });
  inv("No acknowledged bid is lost",
    missingAck.length === 0 && rows.length === acks.length,
    `${acks.length} acks, ${rows.length} bid rows${missingAck.length ? `; ${missingAck.length} acks without their row` : ", each ack's version holds its amount and bidder"}`);

  // 2. The price only goes up.
  const sorted = [...rows].sort((x, y) => x.version - y.version);
  const inc = parseCents(auction.increment);
  let falls = 0;
  for (let i = 1; i < sorted.length; i++) if (parseCents(sorted[i].amount) < parseCents(sorted[i - 1].amount) + inc) falls++;
  inv("The price only goes up", falls === 0,
    falls ? `${falls} bids did not beat the one before by the increment` : `${sorted.length} accepted bids, each at least one increment above the one before`);

  // 3. Two bids never both win: one winner, at the highest accepted bid.
  const top = sorted[sorted.length - 1];
  const oneWinner = final.status === "ended" && (top
    ? final.winner === top.bidder && final.final_price === top.amount
    : final.winner === null);
  inv("Exactly one winner, at the highest bid", oneWinner,
    top ? `winner ${final.winner} at ${final.final_price}; highest accepted bid ${top.amount} by ${top.bidder}` : `no bids; winner ${final.winner}`);

  // 4. The last bid before the clock hits zero counts; none after it.
  const late = rows.filter((r) => Date.parse(r.at) >= Date.parse(final.ends_at));
  inv("No bid counted after the close", late.length === 0,
    late.length ? `${late.length} bids at or after ${final.ends_at}` : `every accepted bid committed before ${new Date(final.ends_at).toLocaleTimeString()} by the database's clock`);

  // 5. Everyone in the room sees the same committed history.
  const histories = bidders.map((b) => {
    let prev = b.joinedAt, gaps = 0;
    for (const e of b.events) { if (e.version !== prev + 1) gaps++; prev = e.version; }
    const from = Math.max(...bidders.map((x) => x.joinedAt)) + 1;
    return { gaps, key: b.events.filter((e) => e.version >= from).map((e) => `${e.version}:${e.kind}:${e.data?.amount ?? ""}:${e.data?.bidder ?? ""}`).join(",") };
  });
  const gaps = histories.reduce((s, x) => s + x.gaps, 0);
  const same = histories.every((x) => x.key === histories[0].key);
  const dropped = bidders.filter((b) => b.closeCode !== undefined);
  const last = rows.length ? Math.max(...rows.map((r) => r.version)) : 0;
  const short = bidders.filter((b) => !b.sawClose);
  inv("Every socket saw the same history", gaps === 0 && same && !short.length,
    `${bidders.length} sockets; ${gaps} gaps; ${same ? "identical event sequences" : "the sequences differ"}` +
    (short.length ? `; ${short.length} never saw the close (${short.map((b) => `${b.user}: ${b.events.length} events, last v${b.events.at(-1)?.version ?? b.joinedAt}${b.closeCode !== undefined ? `, closed ${b.closeCode}` : ""}`).join("; ")}; last bid v${last})` : "") +
    (dropped.length ? `; ${dropped.length} sockets closed by the hub` : ""));

  // 6. A resent bid has one effect.
  const changed = resends.filter(({ first, r }) => r.type !== "ack" || r.version !== first.version);
  inv("A resent bid counts once", changed.length === 0 && rows.length === acks.length,
    `${resends.length} bids resent with their id: ${changed.length ? `${changed.length} answered differently` : "each got its first ack again, no new row"}`);

  const ul = $("#invariants");
  ul.replaceChildren(...results.map((r) => h("li", { class: `inv ${r.ok ? "pass" : "fail"}` },
    h("span", { class: "mark", "aria-hidden": "true" }, r.ok ? "✓" : "✗"),
    h("strong", {}, `${r.name}: ${r.ok ? "holds" : "VIOLATED"}`),
    h("span", { class: "detail" }, r.detail))));
  // A run in which nothing was accepted proves nothing.
  if (!acks.length) inv("At least one bid was accepted", false, "the auction closed before the bids arrived: give it more seconds");
  const allOK = results.every((r) => r.ok);
  const perBid = counts.accepted ? (counts.attempts / counts.accepted).toFixed(2) : "–";
  phase(`Done: ${counts.accepted} of ${counts.sent} bids accepted, ${perBid} attempts per accepted bid, ${txAttempts} transaction attempts in all on this hub.`);
  verdict(allOK, allOK ? `All ${results.length} promises held.`
    : !acks.length ? "Inconclusive: no bid was accepted, so nothing was proven."
      : `${results.filter((r) => !r.ok).length} of ${results.length} promises were violated.`);
}

function verdict(ok, text) {
  const v = $("#verdict");
  v.textContent = text;
  v.className = `verdict ${ok ? "pass" : "fail"}`;
  announce(text, true);
}

// The auction room: live price and leader, a countdown on the hub's clock,
// bidding with every answer said as a sentence, bid history, the winner,
// and how many people are watching.
import {
  $, $$, h, api, clock, countdown, clockTime, money, moneyLabel, parseCents, mountHeader, showConnection,
  announce, notice, fieldError,
} from "./common.js";
import { Hub } from "./socket.js";
import { auth, startAuth, currentUser, identity, bindHub, onAuthChange, openSignIn } from "./auth.js";

const id = decodeURIComponent(location.pathname.split("/").pop() || "");
const room = `auction:${id}`;
let st = null; // the auction's state as the hub last sent it
let prevEnds = 0;
let wasLeader = false;
let missing = false;
const history = new Map(); // version -> {amount, bidder, at, missed}

const form = $("#bid-form");
const amountInput = $("#amount");
const watchingEl = h("span", { id: "watching", class: "watching", hidden: true });
let watching = 0; // users in the room, from the hub's presence frames

mountHeader({ onName: (n) => { me = n; hub.setUser(n); render(); } });
await startAuth();
let me = currentUser();

let lastConn = "connecting";
const hub = new Hub({
  identity: identity(),
  onState: (state, detail) => {
    showConnection(state, detail);
    if (state === "open" && lastConn !== "open" && lastConn !== "connecting") announce("Reconnected.", true);
    if (state !== "open" && state !== "signed-out" && lastConn === "open") announce("Connection lost; reconnecting. Bids you place now are sent when it is back.", true);
    if (state !== "open") watchingEl.hidden = true; // the count is stale until the room says it again
    if (state === "signed-out" && !st && !missing) signedOutView();
    lastConn = state;
  },
});
bindHub(hub);
onAuthChange(() => {
  if (auth.user && auth.user !== me) { me = auth.user; render(); }
  if (auth.signedIn && !st && !missing) loadingView();
});

hub.join(room, {
  onState(state, version, { rejoined }) {
    const first = !st;
    setState(state, first);
    if (first || rejoined) loadHistory();
    render();
  },
  onEvent(ev, { replay }) {
    const old = st;
    if (ev.kind === "bid") {
      const d = ev.data;
      history.set(ev.version, { amount: d.amount, bidder: d.bidder, at: ev.at, missed: replay });
    }
    if (ev.state) setState(ev.state, false);
    if (ev.kind === "bid" && old && Date.parse(ev.state.ends_at) > Date.parse(old.ends_at) + 500) {
      const el = $("#extended");
      el.textContent = `Extended: a late bid moved the end to ${clockTime(st.ends_at)} (anti-snipe).`;
      el.hidden = false;
      announce(`A late bid extended the auction to ${clockTime(st.ends_at)}.`);
    }
    if (ev.kind === "closed" && !replay) {
      const w = st.winner;
      announce(w === me ? `The auction has closed. You won at ${moneyLabel(st.final_price)}!`
        : w ? `The auction has closed. ${w} won at ${moneyLabel(st.final_price)}.` : "The auction has closed with no bids.", true);
    }
    render();
  },
  onCaughtUp(n) {
    if (n > 0) {
      notice(`Back online: ${n} missed event${n === 1 ? "" : "s"} caught up.`, { kind: "ok" });
      announce(`Back online; ${n} missed event${n === 1 ? "" : "s"} caught up.`);
    }
  },
  onPresence(m) {
    watching = m.count;
    renderWatching();
  },
  onError(frame) {
    if (frame.code === "not_found") {
      missing = true;
      $("#title").textContent = "Auction not found";
      $("#status-line").textContent = `There is no auction “${id}”. It may have been a mistyped link.`;
      form.hidden = true;
      $("#room").removeAttribute("aria-busy");
    } else if (frame.code === "forbidden") {
      // The token may not watch this auction (or, renewed, no longer may).
      watchingEl.hidden = true;
      const say = "Your token does not give you the right to watch this auction.";
      if (!st) {
        $("#title").textContent = "You may not watch this auction";
        $("#status-line").replaceChildren(say, " ",
          h("button", { type: "button", class: "link-btn", onclick: () => openSignIn() }, "Use another token"));
        $("#room").classList.add("no-room");
        $("#room").removeAttribute("aria-busy");
      } else notice(`${say} What you see here stopped updating.`, { kind: "warn", ms: 0 });
    } else {
      notice(frame.message, { kind: "error" });
    }
  },
});

/** signedOutView: a page opened without a token has nothing to show yet. */
function signedOutView() {
  $("#title").textContent = "Sign in to see this auction";
  $("#status-line").textContent = "This hub needs a token before it shows an auction.";
  $("#room").classList.add("no-room");
}

function loadingView() {
  $("#title").textContent = "Loading auction…";
  $("#status-line").textContent = "";
  $("#room").classList.remove("no-room");
}

function renderWatching() {
  watchingEl.textContent = `${watching} watching`;
  watchingEl.title = watching === 1 ? "Only you have this auction open" : `${watching} people have this auction open, you included`;
  watchingEl.hidden = !hub.open;
}

function setState(s, first) {
  if (!first && st) prevEnds = Date.parse(st.ends_at);
  st = s;
  if (first) prevEnds = Date.parse(s.ends_at);
}

async function loadHistory() {
  const r = await api(`/api/auctions/${encodeURIComponent(id)}/bids`);
  if (!r.ok || !Array.isArray(r.data)) return;
  for (const b of r.data) {
    if (!history.has(b.version)) history.set(b.version, { amount: b.amount, bidder: b.bidder, at: b.at, missed: false });
  }
  render();
}

// ---- rendering ---------------------------------------------------------------

function closed() { return st && (st.status === "ended" || st.winner !== null && st.winner !== undefined); }

function phase() {
  if (!st) return "loading";
  if (closed()) return "ended";
  const now = clock.now();
  if (now < Date.parse(st.starts_at)) return "scheduled";
  if (now >= Date.parse(st.ends_at)) return "closing";
  return "live";
}

function render() {
  if (!st || missing) return;
  $("#room").removeAttribute("aria-busy");
  document.title = `${st.title} · hotrow`;
  $("#title").textContent = st.title;
  const p = phase();
  $("#status-line").replaceChildren(
    h("span", { class: `pill pill-${p}` }, { live: "Live", scheduled: "Not started", closing: "Closing", ended: "Ended" }[p]),
    ` Starting price ${moneyLabel(st.starting_price)} · increment ${moneyLabel(st.increment)}`, watchingEl);
  $("#room").classList.remove("no-room");
  const ended = p === "ended";
  $("#price-label").textContent = ended ? (st.final_price ? "Final price" : "No sale") : st.current_bid ? "Current price" : "Starting price";
  $("#price").textContent = ended ? (st.final_price ? moneyLabel(st.final_price) : "–") : moneyLabel(st.current_bid ?? st.starting_price);
  $("#leader-label").textContent = ended ? "Winner" : "Leader";
  const who = ended ? st.winner : st.leader;
  $("#leader").textContent = who ? (who === me ? `${who} (you)` : who) : ended ? "nobody" : "no bids yet";
  $("#bid-count").textContent = st.bids ? `(${st.bids})` : "";

  // Winner banner and bidding disabled at the close.
  const banner = $("#winner");
  if (ended) {
    banner.hidden = false;
    banner.textContent = st.winner === me ? `You won! Final price ${moneyLabel(st.final_price)}.`
      : st.winner ? `Sold to ${st.winner} for ${moneyLabel(st.final_price)}.` : "This auction ended with no bids.";
    banner.classList.toggle("banner-you", st.winner === me);
    $("#extended").hidden = true;
  } else banner.hidden = true;
  for (const el of form.elements) el.disabled = ended;
  form.classList.toggle("disabled", ended);

  // Quick bids.
  const min = parseCents(st.min_next_bid), inc = parseCents(st.increment);
  for (const b of $$(".quick-bid")) {
    const steps = Number(b.dataset.steps);
    const amount = money(min + steps * inc);
    b.dataset.amount = amount;
    b.textContent = steps === 0 ? `Bid ${moneyLabel(amount)}` : `Bid ${moneyLabel(amount)} (+${steps})`;
    b.setAttribute("aria-label", steps === 0 ? `Bid the minimum, ${moneyLabel(amount)}` : `Bid ${moneyLabel(amount)}, the minimum plus ${steps} increment${steps > 1 ? "s" : ""}`);
  }
  amountInput.placeholder = st.min_next_bid;
  $("#amount-hint").textContent = ended ? "Bidding is closed." : `The next bid must be at least ${moneyLabel(st.min_next_bid)}.`;

  // Winning or outbid.
  const standing = $("#standing");
  const bidHere = [...history.values()].some((b) => b.bidder === me);
  const leader = st.leader === me;
  if (!ended && leader) {
    standing.hidden = false;
    standing.className = "standing winning";
    standing.textContent = `You are winning at ${moneyLabel(st.current_bid)}.`;
  } else if (!ended && bidHere) {
    standing.hidden = false;
    standing.className = "standing outbid";
    standing.textContent = `You have been outbid: ${st.leader} leads at ${moneyLabel(st.current_bid)}.`;
  } else standing.hidden = true;
  if (wasLeader && !leader && !ended) announce(`You have been outbid. ${st.leader} leads at ${moneyLabel(st.current_bid)}.`, true);
  wasLeader = leader;

  renderHistory();
  tick();
}

function renderHistory() {
  const items = [...history.entries()].sort((a, b) => b[0] - a[0]);
  $("#history-empty").hidden = items.length > 0;
  $("#history").replaceChildren(...items.map(([v, b], i) => h("li", { class: `bid${b.bidder === me ? " mine" : ""}${i === 0 ? " top" : ""}`, dataset: { version: v } },
    h("span", { class: "bid-amount" }, moneyLabel(b.amount)),
    h("time", { datetime: b.at, class: "muted" }, clockTime(b.at)),
    h("span", { class: "bid-who" }, b.bidder === me ? `${b.bidder} (you)` : b.bidder),
    b.missed ? h("span", { class: "tag" }, "while you were offline") : null)));
}

function tick() {
  if (!st || missing) return;
  const p = phase();
  const el = $("#countdown"), label = $("#countdown-label");
  const now = clock.now();
  if (p !== "live") el.classList.remove("urgent");
  if (p === "ended") { label.textContent = "Ended"; el.textContent = clockTime(st.ends_at); }
  else if (p === "scheduled") { label.textContent = "Starts in"; el.textContent = countdown(Date.parse(st.starts_at) - now); }
  else if (p === "closing") { label.textContent = "Ends in"; el.textContent = "0:00"; }
  else {
    label.textContent = "Ends in";
    const left = Date.parse(st.ends_at) - now;
    el.textContent = countdown(left);
    el.classList.toggle("urgent", left < 10000);
  }
  const pill = $("#status-line .pill");
  if (pill && !pill.classList.contains(`pill-${p}`)) render();
}
setInterval(tick, 200);

// ---- bidding -------------------------------------------------------------------

form.addEventListener("submit", (e) => {
  e.preventDefault();
  bid(amountInput.value);
});
for (const b of $$(".quick-bid")) b.addEventListener("click", () => bid(b.dataset.amount));

function bid(value) {
  const err = $("#amount-error");
  const cents = parseCents(value);
  if (cents === null || cents <= 0) {
    fieldError(amountInput, err, value.trim() ? `“${value}” is not an amount: use a number like 12 or 12.50.` : "Enter an amount, or use a quick bid.");
    amountInput.focus();
    return;
  }
  fieldError(amountInput, err, "");
  const amount = money(cents);
  const line = h("p", { class: "attempt pending" }, "");
  $("#outcome").prepend(line);
  while ($("#outcome").children.length > 3) $("#outcome").lastElementChild.remove();
  const { queued, done } = hub.mutate({ type: "bid", room, id: Hub.newID("bid"), amount },
    () => { line.textContent = `Sending your bid of ${moneyLabel(amount)}…`; });
  if (queued && hub.state === "signed-out") {
    line.textContent = `You are signed out: your bid of ${moneyLabel(amount)} will be sent once you sign in again.`;
    line.className = "attempt queued";
    announce(line.textContent, true);
  } else if (queued) {
    line.textContent = `You are offline: your bid of ${moneyLabel(amount)} will be sent as soon as the connection is back.`;
    line.className = "attempt queued";
    announce(line.textContent, true);
  }
  done.then((m) => {
    if (m.type === "ack") {
      line.className = "attempt ok";
      line.textContent = `Your bid of ${moneyLabel(amount)} was accepted${m.attempts > 1 ? ` (after ${m.attempts} attempts)` : ""}.`;
      amountInput.value = "";
    } else {
      line.className = "attempt bad";
      line.replaceChildren(rejection(m, amount));
      if (m.reason === "bid_too_low" && m.min) {
        line.append(" ", h("button", { type: "button", class: "link-btn", onclick: () => bid(m.min) }, `Bid ${moneyLabel(m.min)}`));
      }
      announce(line.textContent, true);
    }
  });
}

/** rejection says a reject as a sentence. */
function rejection(m, amount) {
  const a = moneyLabel(amount);
  switch (m.reason) {
    case "bid_too_low": return `Your bid of ${a} was too low: the minimum is now ${moneyLabel(m.min)}.`;
    case "ended": return `The auction has ended: your bid of ${a} did not count.`;
    case "not_started": return `The auction has not started yet: bidding opens at ${clockTime(st?.starts_at)}.`;
    case "invalid_amount": return `${a} is not a valid amount: use a number with at most two decimals, like 12.50.`;
    case "unavailable": return `The server could not record your bid of ${a} just now; it did not count. Please try again.`;
    case "not_found": return "This auction does not exist any more.";
    case "forbidden": return `Your token does not give you the right to bid in this auction, so your bid of ${a} was not placed.`;
    case "signed_out": return `Your bid of ${a} was not sent: ${m.message}`;
    case "rate_limited": return "Too many bids at once: wait a moment and try again.";
    default: return `Your bid of ${a} was refused: ${m.message || m.reason}.`;
  }
}

clock.sync(4).then(() => tick());

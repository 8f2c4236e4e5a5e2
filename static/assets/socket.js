// Hub is the page's one WebSocket to hotrow (wire contract: docs/protocol.md).
// It reconnects by itself with backoff, re-joins every room with `since`
// (the hub replays the missed events, or sends the full state when it
// cannot), detects gaps and re-joins, and keeps every bid or edit that has
// no answer yet: a mutation made while disconnected is queued and sent once
// its room is joined again, and one sent but unanswered when the socket
// dropped is sent again with the same id, so it cannot count twice.
//
// With tokens (auth.js) it connects with ?token=, opens no socket while
// signed out, renews its token in-band with `refresh` when a new one for the
// same holder is given, and stops at `token_expired` (close 4001) instead
// of reconnecting with a token the hub will refuse.

const PING_EVERY = 15000;
const PONG_WITHIN = 10000;

export class Hub {
  /**
   * @param {{identity: {user: string, tokens?: boolean, token?: string|null},
   *          onState?: (state: string, detail: string) => void,
   *          onError?: (frame: object) => void}} opts
   * onExpired(), onRenewed(exp) and onHandshakeFailed() may be set later
   * (auth.js, bindHub).
   */
  constructor({ identity, onState, onError }) {
    this.user = identity.user;
    this.tokens = !!identity.tokens;
    this.token = identity.token || null;
    this.onState = onState || (() => {});
    this.onError = onError || (() => {});
    this.onExpired = () => {};
    this.onRenewed = () => {};
    this.onHandshakeFailed = () => {};
    this.state = "connecting";
    this.ws = null;
    this.rooms = new Map(); // room -> {handler, version, joined, replayUntil, replayed}
    this.pending = new Map(); // mutation id -> {frame, resolve, sent, onSent}
    this.refs = new Map(); // ref -> {kind, room?, id?}
    this.seq = 0;
    this.failures = 0;
    this.everOpen = false;
    this.timer = 0;
    this.pingTimer = 0;
    this.pongTimer = 0;
    window.addEventListener("online", () => { if (this.state !== "open" && this.canConnect()) this.reconnectNow(); });
    // Leaving with a bid or edit still unanswered would drop it silently:
    // the browser asks first.
    window.addEventListener("beforeunload", (e) => {
      if (this.pending.size) { e.preventDefault(); e.returnValue = ""; }
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.state !== "open" && this.canConnect()) this.reconnectNow();
    });
    if (this.canConnect()) this.connect();
    else this.setState("signed-out");
  }

  get open() { return this.state === "open" && this.ws?.readyState === WebSocket.OPEN; }

  /** canConnect: not while the hub wants a token and there is none. */
  canConnect() { return !this.tokens || !!this.token; }

  connect() {
    clearTimeout(this.timer);
    if (!this.canConnect()) { this.setState("signed-out"); return; }
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = this.tokens ? `token=${encodeURIComponent(this.token)}` : `user=${encodeURIComponent(this.user)}`;
    const ws = new WebSocket(`${proto}//${location.host}/ws?${q}`);
    this.ws = ws;
    this.welcomed = false;
    this.setState(this.everOpen ? "reconnecting" : "connecting");
    ws.addEventListener("message", (e) => { if (ws === this.ws) this.frame(e.data); });
    ws.addEventListener("close", (e) => this.closed(ws, e));
  }

  reconnectNow() {
    this.failures = 0;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.drop(this.ws, "reconnecting");
    else this.connect();
  }

  /** setUser reconnects as another user. */
  setUser(user) {
    this.user = user;
    this.everOpen = false;
    this.reconnectNow();
  }

  /**
   * setIdentity follows a change of token: none closes the socket and
   * waits; a token for the holder already connected renews the socket
   * in-band (`refresh`), without leaving a room; another holder's
   * reconnects, and bids or edits still unanswered are dropped, said to be,
   * rather than sent in the new holder's name.
   */
  setIdentity({ tokens, user, token }) {
    if (!tokens) { if (user !== this.user) this.setUser(user); return; }
    this.tokens = true;
    if (!token) { this.stop(); return; }
    const same = user === this.user;
    this.token = token;
    if (same && this.open && this.welcomed) { this.refresh(token); return; }
    if (!same) {
      this.user = user;
      this.everOpen = false;
      for (const room of this.rooms.keys()) this.failPending(room, { code: "signed_out", message: "you signed in as someone else before it went out." });
    }
    this.reconnectNow();
  }

  /** stop closes the socket for good (signed out) until setIdentity. */
  stop() {
    this.token = null;
    clearTimeout(this.timer);
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    for (const r of this.rooms.values()) r.joined = false;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "signed out");
    this.setState("signed-out");
  }

  /** refresh sends the socket a new token for the same holder. */
  refresh(token) {
    this.send({ type: "refresh", token, ref: this.ref({ kind: "refresh", token }) });
  }

  setState(state, detail = "") {
    this.state = state;
    this.onState(state, detail);
  }

  send(obj) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  ref(entry) {
    const r = "r" + ++this.seq;
    this.refs.set(r, entry);
    if (this.refs.size > 1000) this.refs.delete(this.refs.keys().next().value);
    return r;
  }

  frame(data) {
    let m;
    try { m = JSON.parse(data); } catch { return; }
    const r = m.room ? this.rooms.get(m.room) : null;
    switch (m.type) {
      case "welcome":
        this.welcome = m;
        this.welcomed = true;
        this.failures = 0;
        this.everOpen = true;
        this.setState("open");
        for (const room of this.rooms.keys()) this.sendJoin(room);
        this.startPing();
        break;
      case "joined":
        if (!r) return;
        r.joined = true;
        if (m.recovered) {
          r.handler.onRecovered?.(m);
          if (m.version <= r.version) r.handler.onCaughtUp?.(0);
          else { r.replayUntil = m.version; r.replayed = 0; }
        } else {
          r.version = m.version;
          r.replayUntil = 0;
          r.handler.onState(m.state, m.version, { rejoined: r.everJoined });
        }
        r.everJoined = true;
        this.flush(m.room);
        break;
      case "event": {
        if (!r || !r.joined || m.version <= r.version) return;
        if (m.version > r.version + 1) {
          // A gap: ask for what is missing.
          r.joined = false;
          this.sendJoin(m.room);
          return;
        }
        r.version = m.version;
        const replay = r.replayUntil > 0 && m.version <= r.replayUntil;
        r.handler.onEvent(m, { replay });
        if (replay) {
          r.replayed++;
          if (m.version >= r.replayUntil) { r.replayUntil = 0; r.handler.onCaughtUp?.(r.replayed); }
        }
        break;
      }
      case "ack":
      case "reject": {
        const p = this.pending.get(m.id);
        if (p && p.frame.room === m.room) { this.pending.delete(m.id); p.resolve(m); }
        break;
      }
      case "cursors":
        r?.handler.onCursors?.(m);
        break;
      case "presence":
        if (r?.joined) r.handler.onPresence?.(m);
        break;
      case "left":
        // Without a ref of ours: a renewed token may no longer watch it.
        if (r && r.joined && !this.refs.has(m.ref)) {
          r.joined = false;
          r.handler.onError?.({ code: "forbidden", message: "Your new token does not let you watch this room any more." });
        }
        break;
      case "refreshed": {
        const e = this.refs.get(m.ref);
        if (e?.kind !== "refresh") break;
        this.onRenewed(Date.parse(m.exp));
        // Rooms the old token could not watch may be open to this one.
        for (const [room, r] of this.rooms) if (!r.joined) this.sendJoin(room);
        break;
      }
      case "pong":
        clearTimeout(this.pongTimer);
        break;
      case "error": {
        const e = m.ref ? this.refs.get(m.ref) : null;
        if (m.code === "token_expired") {
          // The hub closes the socket with 4001 next: no reconnecting with it.
          this.token = null;
          this.onExpired(m);
        } else if (e?.kind === "refresh") {
          // The hub would not renew in-band: connect afresh with the new token.
          if (this.token === e.token) this.reconnectNow();
        } else if (e?.kind === "join") {
          const jr = this.rooms.get(e.room);
          jr?.handler.onError?.(m);
          if (jr && m.code !== "unavailable") this.failPending(e.room, m);
        } else if (e?.kind === "mutation") {
          const p = this.pending.get(e.id);
          if (p) { this.pending.delete(e.id); p.resolve({ type: "reject", id: e.id, room: p.frame.room, reason: m.code, message: m.message }); }
        } else {
          this.onError(m);
        }
        break;
      }
    }
  }

  closed(ws, e) {
    if (ws !== this.ws) return;
    this.stopPing();
    this.ws = null;
    for (const r of this.rooms.values()) r.joined = false;
    if (e.code === 4001 || !this.canConnect()) {
      // 4001 comes after token_expired, which already signed the page out;
      // should the error frame have been lost, the close says it too.
      const told = !this.token;
      this.token = null;
      this.setState("signed-out");
      if (e.code === 4001 && !told) this.onExpired({ code: "token_expired" });
      return;
    }
    // Refused before the welcome: the token may have been (the browser does
    // not say why): the hub's session endpoint tells, and signs out if so.
    if (this.tokens && !this.welcomed && e.code !== 0) this.onHandshakeFailed();
    this.failures++;
    const delay = Math.min(5000, 250 * 2 ** Math.min(this.failures - 1, 5)) * (0.6 + Math.random() * 0.4);
    const why = e.code === 1012 ? "the hub is restarting" : e.code === 1008 ? "the connection fell behind" : "";
    this.setState(this.failures > 3 ? "offline" : "reconnecting",
      this.failures > 3 ? `retrying in ${Math.ceil(delay / 1000)}s` : why);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** drop abandons a socket that may be dead and connects anew. */
  drop(ws, why) {
    ws.close();
    this.closed(ws, { code: 0, reason: why });
    this.failures = 0;
    clearTimeout(this.timer);
    this.connect();
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      const ws = this.ws;
      if (!this.send({ type: "ping", ref: "ping" })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => { if (ws === this.ws) this.drop(ws, "no answer"); }, PONG_WITHIN);
    }, PING_EVERY);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  /**
   * join subscribes to a room. handler: onState(state, version, {rejoined}),
   * onEvent(event, {replay}), and optionally onRecovered, onCaughtUp(n),
   * onCursors(frame), onError(frame).
   */
  join(room, handler) {
    this.rooms.set(room, { handler, version: 0, joined: false, everJoined: false, replayUntil: 0, replayed: 0 });
    if (this.open) this.sendJoin(room);
  }

  sendJoin(room) {
    const r = this.rooms.get(room);
    if (!r) return;
    const msg = { type: "join", room, ref: this.ref({ kind: "join", room }) };
    if (r.version > 0) msg.since = r.version;
    this.send(msg);
  }

  /** version is the newest version of room this page holds. */
  version(room) { return this.rooms.get(room)?.version || 0; }

  /**
   * mutate sends a bid or an edit ({type, room, id, ...}). It returns
   * {queued, done}: queued is true when it waits for the connection, done
   * resolves to the ack or reject (an error frame becomes a reject with
   * the error's code as reason). onSent is called when it goes out.
   */
  mutate(frame, onSent) {
    let resolve;
    const done = new Promise((r) => { resolve = r; });
    const p = { frame: { ...frame, ref: this.ref({ kind: "mutation", id: frame.id }) }, resolve, sent: false, onSent };
    this.pending.set(frame.id, p);
    const r = this.rooms.get(frame.room);
    const now = this.open && r?.joined;
    if (now) this.transmit(p);
    return { queued: !now, done };
  }

  transmit(p) {
    if (this.send(p.frame)) {
      p.sent = true;
      p.onSent?.();
    }
  }

  /** flush sends every unanswered mutation of room, queued or sent before. */
  flush(room) {
    for (const p of this.pending.values()) if (p.frame.room === room) this.transmit(p);
  }

  failPending(room, err) {
    for (const [id, p] of this.pending) {
      if (p.frame.room !== room) continue;
      this.pending.delete(id);
      p.resolve({ type: "reject", id, room, reason: err.code, message: err.message });
    }
  }

  /** cursor shares a cursor position; dropped (it is ephemeral) when offline. */
  cursor(room, pos) {
    if (this.open && this.rooms.get(room)?.joined) this.send({ type: "cursor", room, pos });
  }

  /** newID makes a mutation id, unique per user and room. */
  static newID(prefix) {
    const b = new Uint8Array(8);
    crypto.getRandomValues(b);
    return `${prefix}-${Date.now().toString(36)}-${[...b].map((x) => x.toString(16).padStart(2, "0")).join("")}`;
  }
}

// Browser scenarios against one hub (the Go test TestBrowserPages starts it
// and passes HOTROW_BASE_URL). Each scenario uses its own contexts, so each
// context is a different user with its own saved name.
import { run, context, open, shot, text, until, assert, api, jwt } from "./lib.mjs";

const uniq = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
// The hub with a token secret (rights and expiry), and tokens for it.
const TOKENS = process.env.HOTROW_TOKEN_URL;
const tok = (claims) => jwt(process.env.HOTROW_TEST_TOKEN_SECRET, claims);
const nowS = () => Math.floor(Date.now() / 1000);

await run({
  // The lobby: forms with errors next to their fields, and a new auction or
  // document showing up in another window without a reload.
  async lobby(s) {
    // The lobby's own validation answers 400 once, on purpose; Chromium
    // logs every 4xx answer to a fetch.
    const a = await open(await context(s, { allow: [/status of 400 \(Bad Request\)/] }), "/");
    const b = await open(await context(s), "/");
    await b.evaluate(() => { window.__noReload = 1; });
    await text(a, "#conn", "Live", "lobby A reachability");

    // An empty title is caught next to the field.
    await a.click("#auction-form button[type=submit]");
    await text(a, "#a-title-error", "Title is required", "empty title error");
    assert(await a.getAttribute("#a-title", "aria-invalid") === "true", "the title input is not marked invalid");

    // The server's own validation lands next to the field it names.
    await a.fill("#a-title", "Too long");
    await a.fill("#a-dur", "31");
    await a.selectOption("#a-unit", "86400");
    await a.click("#auction-form button[type=submit]");
    await text(a, "#a-dur-error", /Runs for must be at most/, "server error next to Runs for");

    // A new auction appears in the other window, without a reload.
    const title = `Brass lamp ${uniq()}`;
    await a.fill("#a-title", title);
    await a.fill("#a-dur", "10");
    await a.selectOption("#a-unit", "60");
    const t0 = Date.now();
    await a.click("#auction-form button[type=submit]");
    await text(b, "#auctions", title, "the new auction in the other lobby");
    console.log(`lobby: a new auction reached the other window in ${Date.now() - t0} ms`);

    // So does a schema document.
    const name = `Warehouse ${uniq()}`;
    await a.fill("#s-name", name);
    const t1 = Date.now();
    await a.click("#schema-form button[type=submit]");
    await text(b, "#schemas", name, "the new document in the other lobby");
    console.log(`lobby: a new schema document reached the other window in ${Date.now() - t1} ms`);

    // User text is text: a hostile title shows as typed and makes no element.
    const hostile = `<img src=x onerror="window.__pwned=1"> <b>bold</b> ${uniq()}`;
    await api("/api/auctions", { title: hostile, starting_price: "1.00", increment: "1.00", duration_s: 600 });
    await text(b, "#auctions", hostile, "the hostile title as text");
    assert(await b.evaluate(() => !document.querySelector("#auctions img, #auctions b") && !window.__pwned),
      "a title was rendered as HTML");
    assert(await b.evaluate(() => window.__noReload === 1), "the other lobby reloaded");
    await shot(b, "lobby");
  },

  // Two people bid in one auction to its close.
  async auction(s) {
    // The pages load first (the lobby), so the auction's clock starts
    // when both people are there.
    const a = await open(await context(s), "/"), b = await open(await context(s), "/");
    const userA = await a.inputValue("#me"), userB = await b.inputValue("#me");
    assert(userA !== userB, "two contexts got the same name");
    // The name persists across a reload.
    await a.reload();
    assert(await a.inputValue("#me") === userA, "the name changed on reload");

    // Anti-snipe keeps the auction open while they bid, however slow the
    // machine: every accepted bid moves the end to 12 s after it. The end
    // is 10 s after the creation, so the first bid always moves it (by 2 s
    // and more), and B always sees the anti-snipe notice, however fast the
    // machine is.
    const au = await api("/api/auctions", { title: `Duel ${uniq()}`, starting_price: "10.00", increment: "1.00",
      duration_s: 10, anti_snipe_window_s: 3600, anti_snipe_extend_s: 12 });
    const opened = Date.now();
    const path = `/auctions/${au.id}`;
    await Promise.all([a.goto(path), b.goto(path)]);
    for (const p of [a, b]) await text(p, "#conn", "Live", "connection");
    // Each sees both of them watching (the hub's presence count).
    for (const p of [a, b]) await text(p, "#watching", /^2 watching$/, "two watching");

    // A bids the minimum and leads; B sees it.
    await text(a, ".quick-bid[data-steps='0']", "Bid 10.00", "minimum quick bid");
    await a.click(".quick-bid[data-steps='0']");
    await text(a, "#standing", "You are winning at 10.00", "A winning");
    await text(b, "#leader", userA, "B sees A lead");
    await text(b, "#price", "10.00", "B sees the price");
    await text(b, "#extended", "Extended: a late bid moved the end", "B sees the anti-snipe notice");

    // A too-low bid is refused with a sentence.
    await a.fill("#amount", "9.50");
    await a.click("#bid-btn");
    await text(a, "#outcome", "Your bid of 9.50 was too low: the minimum is now 11.00.", "too-low sentence");

    // B bids +1 increment above the minimum: 12.00. A is outbid.
    await text(b, ".quick-bid[data-steps='1']", "Bid 12.00", "+1 quick bid");
    await b.click(".quick-bid[data-steps='1']");
    await text(b, "#standing", "You are winning at 12.00", "B winning");
    await text(a, "#standing", `You have been outbid: ${userB} leads at 12.00`, "A outbid");
    await text(a, "#price", "12.00", "A's price");
    await text(a, "#leader", userB, "A sees B lead");
    await text(a, "#history", userB, "A's history");

    // Not an amount: said before anything is sent.
    await a.fill("#amount", "12,345.6.7");
    await a.click("#bid-btn");
    await text(a, "#amount-error", "is not an amount", "invalid amount");
    await shot(a, "auction-live");
    console.log(`auction: the bidding took ${Date.now() - opened} ms`);

    // The countdown reaches zero; both show the winner, bidding disabled.
    for (const [p, who] of [[a, "A"], [b, "B"]]) {
      await p.waitForFunction(() => !document.querySelector("#winner").hidden, null, { timeout: 40000 })
        .catch(() => { throw new Error(`${who} never showed the winner banner`); });
    }
    await text(a, "#winner", `Sold to ${userB} for 12.00`, "A's winner banner");
    await text(b, "#winner", "You won! Final price 12.00", "B's winner banner");
    for (const p of [a, b]) {
      assert(await p.isDisabled("#bid-btn"), "the bid button is enabled after the close");
      assert(await p.isDisabled("#amount"), "the amount field is enabled after the close");
      assert(await p.isDisabled(".quick-bid[data-steps='0']"), "quick bids are enabled after the close");
      await text(p, "#countdown-label", "Ended", "countdown at the end");
    }
    const fin = await api(`/api/auctions/${au.id}`);
    assert(fin.winner === userB && fin.final_price === "12.00", `the API says ${fin.winner} at ${fin.final_price}`);
    await shot(b, "auction-won");
    await shot(a, "auction-ended");
    // B leaves: A's count goes back to one.
    await b.close();
    await text(a, "#watching", /^1 watching$/, "one watching after B left");
  },

  // Two people in one schema document: edits, cursors, a stale edit.
  async schema(s) {
    const doc = await api("/api/schemas", { name: `Shop ${uniq()}` });
    const path = `/schemas/${doc.id}`;
    const a = await open(await context(s), path), b = await open(await context(s), path);
    for (const p of [a, b]) await text(p, "#conn", "Live", "connection");
    const userA = await a.inputValue("#me"), userB = await b.inputValue("#me");

    // A adds a table; B sees the card.
    await a.fill("#t-name", "customers");
    await a.click("#table-form button[type=submit]");
    await text(b, "#tables", "customers", "B sees A's table");
    await text(a, "#inspector-h", "Table customers", "A's inspector");

    // B selects it and adds a primary-key column; A sees it.
    await b.click(".tcard .tcard-head");
    await text(b, "#inspector-h", "Table customers", "B's inspector");
    await b.fill("#new-name", "id");
    await b.selectOption("#new-type", "bigint");
    await b.check("form.col-form input[name=primary_key]");
    await b.click("form.col-form button[type=submit]");
    await text(a, ".tcard", "id", "A sees B's column");
    await text(a, ".tcard", "PK", "A sees the primary key");
    // And a second table related to the first.
    await b.fill("#t-name", "orders");
    await b.click("#table-form button[type=submit]");
    await text(b, "#inspector-h", "Table orders", "B's inspector on orders");
    await b.fill("#new-name", "customer_id");
    await b.selectOption("#new-type", "bigint");
    await b.click("form.col-form button[type=submit]");
    await text(b, "#rel-from", "customer_id", "relation source offered");
    await b.selectOption("#rel-to", { label: "customers.id" });
    await b.click("form.rel-form button[type=submit]");
    await until(a, () => document.querySelectorAll("#links path").length === 1, null, "A draws the relation");

    // Cursors: each sees the other's, with the name, where it is.
    const box = await a.locator("#canvas-wrap").boundingBox();
    await a.mouse.move(box.x + 300, box.y + 250);
    await a.mouse.move(box.x + 320, box.y + 260, { steps: 5 });
    await until(b, (u) => {
      const el = document.querySelector(`.rcursor[data-user="${u}"]`);
      return el && !el.hidden && el.textContent.includes(u) && /translate\(3\d\dpx, 2\d\dpx\)/.test(el.style.transform);
    }, userA, "B sees A's cursor near (320, 260)");
    const bb = await b.locator("#canvas-wrap").boundingBox();
    await b.mouse.move(bb.x + 100, bb.y + 400, { steps: 3 });
    await until(a, (u) => !!document.querySelector(`.rcursor[data-user="${u}"]:not([hidden])`), userB, "A sees B's cursor");
    await text(a, "#presence", userB, "A lists B as present");

    // Dragging a table moves it for the other person too.
    const card = a.locator(".tcard", { hasText: "customers" });
    const head = card.locator(".tcard-head");
    const hb = await head.boundingBox();
    const before = await b.locator(".tcard", { hasText: "customers" }).evaluate((el) => el.offsetTop);
    await a.mouse.move(hb.x + 20, hb.y + 10);
    await a.mouse.down();
    await a.mouse.move(hb.x + 100, hb.y + 240, { steps: 8 });
    await a.mouse.up();
    await until(b, (x) => {
      const el = [...document.querySelectorAll(".tcard")].find((c) => c.textContent.includes("customers"));
      return el && el.offsetTop >= x + 200;
    }, before, "B sees the table moved");

    // From the keyboard: focus the card, arrow right moves it 20 px.
    const left = await b.locator(".tcard", { hasText: "orders" }).evaluate((el) => el.offsetLeft);
    await a.locator(".tcard", { hasText: "orders" }).focus();
    await a.keyboard.press("ArrowRight");
    await until(b, (x) => {
      const el = [...document.querySelectorAll(".tcard")].find((c) => c.textContent.includes("orders"));
      return el && el.offsetLeft === x + 20;
    }, left, "B sees the table moved by A's arrow key");

    // A stale edit: A starts renaming, B renames first, A's edit comes back stale.
    await a.click(".tcard:has-text('customers') .tcard-head");
    await text(a, "#inspector-h", "Table customers", "A's inspector");
    await a.fill("#rename-input", "clients");
    await b.click(".tcard:has-text('customers') .tcard-head");
    await text(b, "#inspector-h", "Table customers", "B's inspector");
    await b.fill("#rename-input", "buyers");
    await b.click("form.rename button[type=submit]");
    await text(a, "#tables", "buyers", "A sees B's rename");
    assert(await a.inputValue("#rename-input") === "clients", "A's unsaved rename was overwritten");
    await a.click("form.rename button[type=submit]");
    await text(a, "#notices", "Someone else changed this table (now named “buyers”)", "the stale notice");
    await text(b, "#tables", "buyers", "B still shows buyers");

    // DDL in both dialects, and the audit log.
    await text(a, "#ddl", 'CREATE TABLE "buyers"', "PostgreSQL DDL");
    await a.selectOption("#dialect", "dsql");
    await text(a, "#ddl", "dialect: dsql", "DSQL DDL");
    assert((await a.getAttribute("#download-ddl", "href")).endsWith("dialect=dsql"), "download link not on dsql");
    await text(a, "#audit", `${userB} renamed table “customers” to “buyers”`, "the audit log");
    await until(a, () => document.querySelectorAll("#presence li[data-user]").length === 2 && !document.querySelector("#presence .more"),
      null, "A lists both of them and no one more");
    await shot(a, "schema");
    await shot(b, "schema-other");

    // A crowd: the hub lists the first 32 (A, B and 30 others), the page
    // draws them and counts the other 4.
    const crowd = await open(await context(s), "/proof");
    await crowd.evaluate(async ({ n, room }) => {
      window.__crowd = await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${location.host}/ws?user=crowd-${i}-${Math.random().toString(36).slice(2, 6)}`);
        ws.onopen = () => ws.send(JSON.stringify({ type: "join", room, ref: "j" }));
        ws.onmessage = (e) => {
          const m = JSON.parse(e.data);
          if (m.type === "joined") resolve(ws);
          else if (m.type === "error") reject(new Error(m.message));
        };
        ws.onerror = () => reject(new Error("a crowd socket failed"));
      })));
    }, { n: 34, room: `schema:${doc.id}` });
    await text(a, "#presence .more", /^\+4 more$/, "the four beyond the 32 drawn");
    assert(await a.$$eval("#presence li[data-user]", (els) => els.length) === 32, "A does not draw 32 people");
    await shot(a, "schema-crowd");
    await crowd.evaluate(() => { for (const ws of window.__crowd) ws.close(); });
    await until(a, () => document.querySelectorAll("#presence li[data-user]").length === 2 && !document.querySelector("#presence .more"),
      null, "A lists the two of them again after the crowd left");

    // B leaves: A is alone.
    await b.close();
    await until(a, (u) => {
      const li = [...document.querySelectorAll("#presence li")];
      return li.length === 1 && li[0].dataset.user === u && document.querySelector("#presence").getAttribute("aria-label") === "People here: 1";
    }, userA, "A alone after B left");
  },

  // The proof panel runs to all green.
  async proof(s) {
    const p = await open(await context(s), "/proof");
    await p.fill("#p-bids", "120");
    await p.fill("#p-sockets", "8");
    await p.fill("#p-secs", "6");
    await p.click("#run");
    await p.waitForFunction(() => /promises (held|were violated)|could not finish|Inconclusive/.test(document.querySelector("#verdict").textContent),
      null, { timeout: 90000 }).catch(() => { throw new Error("the proof never finished"); });
    const verdict = await p.textContent("#verdict");
    const failed = await p.$$eval(".inv.fail", (els) => els.map((e) => e.textContent));
    assert(/^All 6 promises held/.test(verdict) && failed.length === 0, `proof: ${verdict} ${failed.join("; ")}`);
    assert(Number(await p.textContent("#c-accepted")) >= 1, "no bid was accepted");
    assert(Number(await p.textContent("#c-sent")) === 120, "not every bid was sent");
    await shot(p, "proof");
  },

  // A hub with a token secret: a page without a token is told to sign in
  // and opens no socket (any refused request would be a console error);
  // a token that may only watch watches, and its bid is refused in a
  // sentence; a token with every right for the same holder, given while
  // connected, renews the socket in-band, and the bid counts. The token
  // stays with the tab across pages.
  async tokens(s) {
    const ops = tok({ sub: "ops", rights: { create: ["auction"], watch: ["*"] } });
    const au = await api("/api/auctions", { title: `Signed lamp ${uniq()}`, starting_price: "5.00", increment: "1.00", duration_s: 600 }, TOKENS, ops);
    const p = await open(await context(s, { base: TOKENS }), `/auctions/${au.id}`);
    await text(p, "#auth-banner", "This hub needs a token", "told to sign in");
    await text(p, "#conn", "Signed out", "the header without a token");
    await text(p, "#title", "Sign in to see this auction", "the room without a token");
    assert(await p.isHidden("#name-form"), "the name field shows on a hub that needs tokens");

    await p.click("#auth-banner button");
    await p.fill("#token-input", tok({ sub: "wendy", name: "Wendy W.", rights: { watch: [`auction:${au.id}`] } }));
    await p.click("#token-submit");
    await text(p, "#who", "Signed in as Wendy W. (wendy)", "who the token says");
    await text(p, "#conn", "Live", "connected with the token");
    await text(p, "#price", "5.00", "the auction with a watch-only token");
    await text(p, "#watching", /^1 watching$/, "watching");
    assert(await p.isHidden("#auth-banner"), "the sign-in banner stays after signing in");
    await p.click(".quick-bid[data-steps='0']");
    await text(p, "#outcome", "Your token does not give you the right to bid in this auction, so your bid of 5.00 was not placed.", "the refused bid");

    await p.click("#token-btn");
    await p.fill("#token-input", tok({ sub: "wendy", name: "Wendy W.", rights: { watch: ["auction:*"], bid: ["auction:*"] } }));
    await p.click("#token-submit");
    await text(p, "#notices", "Token renewed: you stay connected until", "renewed in-band");
    await p.click(".quick-bid[data-steps='0']");
    await text(p, "#outcome", "Your bid of 5.00 was accepted", "the bid with the right");
    await text(p, "#leader", "wendy (you)", "leading");
    const bids = await api(`/api/auctions/${au.id}/bids`, undefined, TOKENS, ops);
    assert(bids.length === 1 && bids[0].bidder === "wendy", `bids ${JSON.stringify(bids)}`);
    await shot(p, "tokens-auction");

    await p.goto("/");
    await text(p, "#who", "Wendy W.", "the token kept across pages of the tab");
    await text(p, "#auctions", au.title, "the lobby with the token");
  },

  // Expiry, both ways. On the lobby, the list API answers 401 once the
  // token expired: the page says so and stops asking. On an auction (at
  // 375 px), the socket gets token_expired and close 4001: the page says
  // so, does not reconnect with the dead token (a refused upgrade would be
  // a console error), and a new token brings it back.
  async expiry(s) {
    const ops = tok({ sub: "ops", rights: { create: ["auction"], watch: ["*"] } });
    const au = await api("/api/auctions", { title: `Short lamp ${uniq()}`, starting_price: "7.00", increment: "1.00", duration_s: 600 }, TOKENS, ops);
    // The lobby polls; Chromium logs the 401 it gets, and the bad tokens' 401s.
    const lobby = await open(await context(s, { base: TOKENS, allow: [/status of 401 \(Unauthorized\)/] }), "/");
    const room = await open(await context(s, { base: TOKENS, width: 375, height: 740 }), `/auctions/${au.id}`);

    // A token that is not one, and one the hub refuses, are said next to the field.
    await lobby.click("#sign-in");
    await lobby.fill("#token-input", "not a token");
    await lobby.click("#token-submit");
    await text(lobby, "#token-error", "That is not a token", "a malformed token");
    await lobby.fill("#token-input", jwt("another-secret", { sub: "eve" }));
    await lobby.click("#token-submit");
    await text(lobby, "#token-error", "The hub refused this token", "a token signed with another secret");
    await shot(lobby, "tokens-refused");

    // Both sign in with tokens that expire in 4 s (the hub allows 5 more).
    const short = (sub) => tok({ sub, exp: nowS() + 4, rights: { watch: ["*"], bid: ["*"] } });
    await lobby.fill("#token-input", short("lena"));
    await lobby.click("#token-submit");
    await room.click("#auth-banner button");
    await room.fill("#token-input", short("rory"));
    await room.click("#token-submit");
    await text(lobby, "#auctions", au.title, "the lobby signed in");
    await text(room, "#conn", "Live", "the room signed in");
    await text(room, "#price", "7.00", "the auction");

    await text(lobby, "#auth-banner", "Your token has expired. Paste a new one to go on.", "the lobby after a 401");
    await text(lobby, "#conn", "Signed out", "the lobby's header");
    await text(room, "#auth-banner", /Your token expired at .*, so the hub closed the connection\. Paste a new token to go on\./, "the room after token_expired");
    await text(room, "#conn", "Signed out", "the room's header");
    const w = await room.evaluate(() => ({ doc: document.documentElement.scrollWidth, inner: window.innerWidth }));
    assert(w.doc <= w.inner, `the signed-out room at 375 px scrolls sideways: ${JSON.stringify(w)}`);
    await shot(room, "phone-token-expired");

    await room.click("#auth-banner button");
    await room.fill("#token-input", tok({ sub: "rory", rights: { watch: ["*"], bid: ["*"] } }));
    await room.click("#token-submit");
    await text(room, "#conn", "Live", "back with a new token");
    await room.click(".quick-bid[data-steps='0']");
    await text(room, "#outcome", "Your bid of 7.00 was accepted", "a bid after renewing");
    await shot(room, "phone-token-auction");
  },

  // Every page at 375 px: no sideways scroll; labels, icon, 404.
  async phone(s) {
    const au = await api("/api/auctions", { title: "A very long auction title that has to wrap on a small phone screen somehow",
      starting_price: "1234567.00", increment: "1000.00", duration_s: 600 });
    const doc = await api("/api/schemas", { name: `Phone ${uniq()}` });
    const ctx = await context(s, { width: 375, height: 740 });
    // The not-found page is answered 404, which Chromium logs.
    const lost = await context(s, { width: 375, height: 740, allow: [/status of 404 \(Not Found\)/] });
    for (const [name, path] of [["lobby", "/"], ["auction", `/auctions/${au.id}`], ["schema", `/schemas/${doc.id}`],
      ["proof", "/proof"], ["not-found", "/no/such/page"]]) {
      const p = await open(name === "not-found" ? lost : ctx, path);
      await text(p, "#conn", /Live|Connecting/, "the header");
      if (name === "auction") await text(p, "#price", "1,234,567.00", "price on the phone");
      if (name === "lobby") await until(p, () => !document.querySelector("#auctions").hasAttribute("aria-busy"), null, "the lobby's lists");
      if (name === "schema") await text(p, "#doc-name", "Phone", "the document's name");
      const w = await p.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, inner: window.innerWidth }));
      assert(w.doc <= w.inner && w.body <= w.inner, `${name} at 375 px scrolls sideways: ${JSON.stringify(w)}`);
      const unlabeled = await p.evaluate(() => [...document.querySelectorAll("input, select, textarea")]
        .filter((el) => el.type !== "hidden" && !el.labels?.length && !el.getAttribute("aria-label")).map((el) => el.id || el.name));
      assert(unlabeled.length === 0, `${name}: inputs without a label: ${unlabeled.join(", ")}`);
      const icon = await p.evaluate(async () => {
        const l = document.querySelector("link[rel=icon]");
        return l ? (await fetch(l.href)).status : 0;
      });
      assert(icon === 200, `${name}: favicon answered ${icon}`);
      await shot(p, `phone-${name}`);
      await p.close();
    }
  },
});

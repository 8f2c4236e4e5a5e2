// A page survives a hub restart on PostgreSQL. The Go test
// TestBrowserHubRestartPostgres runs two hubs on one database: hub A
// (HOTROW_BASE_URL), which it stops and starts again on the same address
// when asked, and hub B (HOTROW_OTHER_URL).
import { run, context, open, shot, text, until, assert, api, control } from "./lib.mjs";

const OTHER = process.env.HOTROW_OTHER_URL;
// While hub A is down the page's reconnection attempts fail: Chromium logs
// those as console errors of its own. Nothing else may be logged.
const NETWORK = [/WebSocket connection to .* failed/, /Failed to load resource: net::ERR_CONNECTION_REFUSED/];

await run({
  async restart(s) {
    const au = await api("/api/auctions", { title: "Survives a restart", starting_price: "20.00", increment: "2.00",
      duration_s: 600, anti_snipe_window_s: 0 });
    const path = `/auctions/${au.id}`;
    const a = await open(await context(s, { allow: NETWORK }), path);
    const b = await open(await context(s, { base: OTHER }), path);
    for (const p of [a, b]) await text(p, "#conn", "Live", "connection");
    const userA = await a.inputValue("#me"), userB = await b.inputValue("#me");
    await a.evaluate(() => { window.__noReload = 1; });

    await a.click(".quick-bid[data-steps='0']");
    await text(a, "#standing", "You are winning at 20.00", "A's first bid");
    await text(b, "#leader", userA, "B sees A's bid through the other hub");

    // Hub A goes away (drains: close code 1012).
    await control({ cmd: "stop" });
    await text(a, "#conn", /Reconnecting|Offline/, "A shows it lost the hub");

    // A bids while disconnected: the bid waits, visibly.
    await a.fill("#amount", "500");
    await a.click("#bid-btn");
    await text(a, "#outcome", "You are offline: your bid of 500.00 will be sent as soon as the connection is back.", "queued bid");

    // Meanwhile B bids twice through hub B.
    await b.click(".quick-bid[data-steps='0']");
    await text(b, "#standing", "You are winning at 22.00", "B's first bid");
    await b.click(".quick-bid[data-steps='1']");
    await text(b, "#standing", "You are winning at 26.00", "B's second bid");

    // Hub A comes back on the same address.
    await control({ cmd: "start" });
    await text(a, "#conn", "Live", "A reconnected");
    // A caught up on what it missed, without a reload...
    await until(a, () => document.querySelectorAll("#history .tag").length >= 2, null, "A's history marks the missed bids");
    await text(a, "#history", "26.00", "the missed bid in A's history");
    await text(a, "#notices", /Back online: \d+ missed events? caught up/, "the catch-up notice");
    assert(await a.evaluate(() => window.__noReload === 1), "the page reloaded");
    // ...and its queued bid went out once, with its id, and won.
    await text(a, "#outcome", "Your bid of 500.00 was accepted", "the queued bid accepted");
    await text(a, "#standing", "You are winning at 500.00", "A winning after the restart");
    await text(b, "#leader", userA, "B sees A lead at 500");
    const bids = await api(`/api/auctions/${au.id}/bids`, undefined, OTHER);
    assert(bids.length === 4 && bids.filter((x) => x.amount === "500.00").length === 1,
      `bid rows ${JSON.stringify(bids)}`);
    assert(bids.map((x) => x.bidder).join() === [userA, userB, userB, userA].join(), "bids out of order");
    await shot(a, "auction-after-restart");
  },
});

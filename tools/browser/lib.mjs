// The browser suite's harness: launches Debian's Chromium through
// playwright-core (never a downloaded browser), gives every scenario its
// own browser contexts, fails a scenario on any console error or uncaught
// exception, saves screenshots, and talks to the Go test that started the
// hubs over stdin/stdout ("@@ {json}" lines out, one JSON line back).
import { createRequire } from "node:module";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

export const BASE = process.env.HOTROW_BASE_URL;
export const ARTIFACTS = process.env.HOTROW_ARTIFACTS;
const CHROMIUM = process.env.HOTROW_CHROMIUM || "/usr/bin/chromium";
export const T = Number(process.env.HOTROW_BROWSER_WAIT_MS || 20000); // one wait's bound

let browser;

export async function launch() {
  mkdirSync(ARTIFACTS, { recursive: true });
  // launch() gives Chromium a fresh, temporary user-data-dir of its own
  // (removed on close); contexts are isolated like separate profiles.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 60000,
  });
  return browser;
}

export async function close() {
  await browser?.close().catch(() => {});
}

/**
 * context opens a browser context whose pages record console errors and
 * uncaught exceptions into problems (checked at the end of the scenario).
 * allow lists console messages that are expected (a hub restarting).
 */
export async function context(s, { width = 1280, height = 860, base = BASE, allow = [] } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height }, baseURL: base });
  ctx.setDefaultTimeout(T);
  s.contexts.push(ctx);
  ctx.on("page", (page) => watch(s, page, allow));
  return ctx;
}

function watch(s, page, allow) {
  page.on("console", (m) => {
    if (m.type() !== "error" && m.type() !== "warning") return;
    const text = m.text();
    if (m.type() === "warning" && !/error|fail|refused|violat/i.test(text)) return;
    if (allow.some((re) => re.test(text))) return;
    s.problems.push(`console ${m.type()} on ${page.url()}: ${text}`);
  });
  page.on("pageerror", (e) => s.problems.push(`uncaught exception on ${page.url()}: ${e.message}`));
}

/** page opens a new page in ctx at path and waits for it to load. */
export async function open(ctx, path) {
  const page = await ctx.newPage();
  await page.goto(path, { waitUntil: "load" });
  return page;
}

export async function shot(page, name) {
  // From the top: a full-page shot of a scrolled page would paint the
  // sticky header half-way down.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** text waits until the element matched by sel contains want (string or RegExp). */
export async function text(page, sel, want, what) {
  const src = want instanceof RegExp ? { re: want.source, flags: want.flags } : { s: want };
  try {
    await page.waitForFunction(({ sel, src }) => {
      const el = document.querySelector(sel);
      if (!el) return false;
      const t = el.textContent || "";
      return src.re !== undefined ? new RegExp(src.re, src.flags).test(t) : t.includes(src.s);
    }, { sel, src }, { timeout: T });
  } catch {
    const got = await page.$eval(sel, (el) => el.textContent).catch(() => "(no such element)");
    throw new Error(`${what || sel}: waited for ${want} but it shows ${JSON.stringify(got?.trim().slice(0, 300))} (${page.url()})`);
  }
}

/** until waits for fn (run in the page) to return a truthy value. */
export async function until(page, fn, arg, what) {
  try {
    return await page.waitForFunction(fn, arg, { timeout: T });
  } catch (e) {
    throw new Error(`${what}: not true within ${T / 1000}s (${page.url()})`);
  }
}

export function assert(ok, msg) {
  if (!ok) throw new Error(msg);
}

/** api calls the hub's HTTP API from node (with a bearer token when given). */
export async function api(path, body, base = BASE, token = "") {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const r = await fetch(base + path, body === undefined ? { headers } : {
    method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await r.json();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(data)}`);
  return data;
}

/** jwt signs claims with HS256 (exp defaults to an hour from now). */
export function jwt(secret, claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = { exp: Math.floor(Date.now() / 1000) + 3600, ...claims };
  const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(body)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

// ---- talking to the Go test ---------------------------------------------------

const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (l) => waiting.shift()?.(JSON.parse(l)));

/** control asks the Go test to do something (restart a hub) and waits. */
export function control(cmd) {
  return new Promise((resolve, reject) => {
    waiting.push((reply) => (reply.ok ? resolve(reply) : reject(new Error(`${cmd.cmd}: ${reply.error}`))));
    process.stdout.write(`@@ ${JSON.stringify(cmd)}\n`);
  });
}

// ---- running scenarios -------------------------------------------------------------

/**
 * run runs the scenarios concurrently, each with its own contexts, and
 * exits non-zero when any fails. A scenario fails on a thrown error or on
 * any console error or uncaught exception in its pages.
 */
export async function run(scenarios) {
  const only = process.env.HOTROW_BROWSER_ONLY ? new Set(process.env.HOTROW_BROWSER_ONLY.split(",")) : null;
  const chosen = Object.entries(scenarios).filter(([name]) => !only || only.has(name));
  await launch();
  let failed = 0;
  const t0 = Date.now();
  await Promise.all(chosen.map(async ([name, fn]) => {
    const s = { name, contexts: [], problems: [] };
    const start = Date.now();
    try {
      await fn(s);
      if (s.problems.length) throw new Error(s.problems.join("\n  "));
      console.log(`PASS ${name} (${((Date.now() - start) / 1000).toFixed(1)}s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name} (${((Date.now() - start) / 1000).toFixed(1)}s): ${e.message}`);
      for (const ctx of s.contexts) {
        for (const [i, p] of ctx.pages().entries()) await shot(p, `FAILED-${name}-${s.contexts.indexOf(ctx)}-${i}`).catch(() => {});
      }
    } finally {
      for (const ctx of s.contexts) await ctx.close().catch(() => {});
    }
  }));
  await close();
  console.log(`browser scenarios: ${chosen.length - failed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  lines.close();
  process.exit(failed ? 1 : 0);
}

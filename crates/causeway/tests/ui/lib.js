// What every browser scenario shares: Debian's chromium driven by playwright-core, a login
// helper, screenshots into the artifacts folder, and failing loudly.
"use strict";

const path = require("path");
const fs = require("fs");
const assert = require("assert");

let chromium;
try {
  ({ chromium } = require("playwright-core"));
} catch (e) {
  console.error(
    "playwright-core is not installed: run `npm ci` in crates/causeway/tests/ui (npm package playwright-core)"
  );
  process.exit(2);
}

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};

const BASE = env("UI_BASE");
const ARTIFACTS = env("UI_ARTIFACTS");
fs.mkdirSync(ARTIFACTS, { recursive: true });

async function browser() {
  return chromium.launch({
    executablePath: env("UI_CHROMIUM"),
    // The flags that keep Chromium from reaching out to the network at start (there is none).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/// A new page in a fresh context (its own cookies), with confirmations accepted and script
/// errors collected: a page that throws fails the scenario.
async function newPage(b) {
  const ctx = await b.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 860 },
  });
  const page = await ctx.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  page.on("console", (m) => {
    // A refused Content-Security-Policy shows up here only.
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) {
      page.errors.push(m.text());
    }
  });
  page.on("dialog", (d) => d.accept());
  return page;
}

async function login(page, user, password) {
  await page.goto(BASE + "/");
  await page.waitForSelector("#user");
  await page.fill("#user", user);
  await page.fill("#password", password);
  await Promise.all([
    page.waitForNavigation(),
    page.click("button[type=submit]"),
  ]);
  assert.ok(!page.url().includes("/login"), `login of ${user} failed: ${page.url()}`);
}

/// Does `action` (a click that leads somewhere) and waits until htmx has swapped in what it
/// led to, or the browser has loaded a new page. Regions that refresh themselves ask for
/// /fragment/… or a list's rows (part=rows); their swaps do not count.
async function act(page, action) {
  await page.evaluate(() => {
    window.__cwDone = false;
    const done = (ev) => {
      const cfg = ev.detail && ev.detail.requestConfig;
      const path = (cfg && cfg.path) || "";
      if (path.includes("/fragment/") || path.includes("part=rows")) return;
      window.__cwDone = true;
      document.removeEventListener("htmx:afterSettle", done);
    };
    document.addEventListener("htmx:afterSettle", done);
  });
  await action();
  // A new document has no __cwDone at all.
  await page.waitForFunction(() => window.__cwDone !== false, null, { timeout: 20000 });
  await page.waitForLoadState("load");
}

async function click(page, selector) {
  await act(page, () => page.click(selector));
}

/// Waits for a page opened with goto or a plain navigation.
async function settle(page) {
  await page.waitForLoadState("load");
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

function step(name) {
  console.log(`step: ${name}`);
}

async function run(scenario) {
  const b = await browser();
  try {
    await scenario(b);
  } finally {
    await b.close();
  }
}

function main(scenario) {
  run(scenario).then(
    () => console.log("scenario passed"),
    (e) => {
      console.error(e && e.stack ? e.stack : e);
      process.exit(1);
    }
  );
}

module.exports = { BASE, env, newPage, login, settle, act, click, shot, step, main, assert };

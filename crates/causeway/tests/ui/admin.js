// A read-write administrator: logs in, changes a setting, meets a field error, adds and deletes
// a search rule, and takes screenshots of the main pages on the way.
"use strict";

const { BASE, env, newPage, login, settle, act, click, shot, step, main, assert } = require("./lib");

main(async (b) => {
  const page = await newPage(b);

  step("login page");
  await page.goto(BASE + "/login");
  await shot(page, "login");
  await login(page, "admin", env("UI_ADMIN_PASSWORD"));
  await settle(page);
  assert.match(await page.textContent("h1"), /Overview/);
  assert.equal(await page.textContent("#footer-user"), "admin");
  assert.equal(await page.textContent("#footer-level"), "read-write");
  await shot(page, "overview");

  step("change a setting through the menus");
  await page.hover(".menu:has(> a.menu-name:text-is('Configuration'))");
  await click(page, ".menu:has(> a.menu-name:text-is('Configuration')) .drop a:text-is('SIP')");
  assert.match(page.url(), /\/config\/sip$/);
  await page.fill('[name="SIP Registration Standard Refresh Maximum"]', "120");
  await click(page, "form.config button[type=submit]");
  assert.match(await page.textContent("#bars"), /Saved\./);
  assert.equal(await page.inputValue('[name="SIP Registration Standard Refresh Maximum"]'), "120");
  await shot(page, "config-sip-saved");

  step("a value out of range is refused at its field");
  await page.fill('[name="SIP UDP Port"]', "70000");
  await click(page, "form.config button[type=submit]");
  const field = page.locator(".field:has([name='SIP UDP Port'])");
  assert.match(await field.locator(".field-error").textContent(), /70000/);
  assert.equal(await page.inputValue('[name="SIP UDP Port"]'), "70000");
  assert.equal(await field.locator("input").getAttribute("aria-invalid"), "true");
  await field.scrollIntoViewIfNeeded();
  await page.screenshot({ path: require("path").join(env("UI_ARTIFACTS"), "config-field-error.png") });

  step("add a search rule");
  await click(page, ".side a:text-is('Search rules')");
  await click(page, "#add");
  const name = page.locator("input[name$=' Name']").first();
  const nameAttr = await name.getAttribute("name");
  const prefix = nameAttr.slice(0, -" Name".length);
  await page.fill(`[name="${prefix} Name"]`, "Browser rule");
  await page.fill(`[name="${prefix} Priority"]`, "77");
  await page.fill(`[name="${prefix} Pattern String"]`, "lab.example.com");
  await page.selectOption(`[name="${prefix} Pattern Type"]`, "Suffix");
  await shot(page, "search-rule-new");
  await click(page, "form.config button[type=submit]");
  assert.match(page.url(), /\/table\/search-rules$/);
  const row = page.locator("#list tbody tr", { hasText: "Browser rule" });
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /lab\.example\.com/);
  await shot(page, "search-rules");

  step("sort and filter the list");
  await click(page, "#list th a:text-is('Name')");
  assert.match(page.url(), /sort=Name/);
  await page.fill("#q", "browser");
  await click(page, ".filter button");
  assert.equal(await page.locator("#list tbody tr").count(), 1);

  step("delete the search rule");
  await page.locator("#list tbody tr", { hasText: "Browser rule" }).locator("input[type=checkbox]").check();
  await click(page, "#delete-selected");
  assert.match(await page.textContent("#bars"), /Deleted Search rule Browser rule/);
  assert.equal(await page.locator("#list tbody tr", { hasText: "Browser rule" }).count(), 0);

  step("screenshots of the other main pages");
  for (const [path, name] of [
    ["/table/zones", "zones"],
    ["/table/transforms", "transforms"],
    ["/table/domains", "domains"],
    ["/table/accounts", "accounts"],
    ["/users/sessions", "sessions"],
    ["/status/calls", "calls"],
    ["/status/zones", "status-zones"],
    ["/status/searches", "search-history"],
    ["/status/logs/event", "event-log"],
    ["/status/logs/config", "configuration-log"],
    ["/tools/check-pattern?alias=alice%40example.com&type=Suffix&pattern=%40example.com&behavior=Replace&replace=%40example.org", "check-pattern"],
    ["/tools/locate?alias=nobody%40example.com", "locate"],
    ["/tools/restart", "restart"],
  ]) {
    await page.goto(BASE + path);
    await settle(page);
    await shot(page, name);
  }
  assert.match(await page.textContent("h1"), /Restart/);

  step("check pattern answers");
  await page.goto(BASE + "/tools/check-pattern?alias=alice%40example.com&type=Suffix&pattern=%40example.com&behavior=Replace&replace=%40example.org");
  assert.match(await page.textContent("#headline"), /The alias matches; it becomes /);

  step("logout");
  await click(page, "form.logout button");
  assert.match(page.url(), /\/login$/);
  assert.deepEqual(page.errors, []);
});

// Access levels: a read-only administrator sees the settings but cannot save them; an auditor
// sees the overview, the alarms and the two logs, and nothing else.
"use strict";

const { BASE, env, newPage, login, settle, shot, step, main, assert } = require("./lib");

main(async (b) => {
  step("read-only: everything visible, nothing to save");
  const ro = await newPage(b);
  await login(ro, "rob", env("UI_USER_PASSWORD"));
  await settle(ro);
  assert.equal(await ro.textContent("#footer-level"), "read-only");
  await ro.goto(BASE + "/config/sip");
  await settle(ro);
  assert.equal(await ro.locator("form.config button[type=submit]").count(), 0);
  assert.ok(await ro.locator('[name="SIP UDP Port"]').getAttribute("readonly") !== null);
  assert.match(await ro.textContent("form.config .actions"), /cannot be saved/);
  await shot(ro, "read-only-sip");
  // A form sent by hand is refused all the same.
  const status = await ro.evaluate(async () => {
    const token = document.querySelector("input[name=csrf]").value;
    const body = new URLSearchParams({ csrf: token, "SIP UDP Port": "5070" });
    const r = await fetch("/config/sip", { method: "POST", body });
    return r.status;
  });
  assert.equal(status, 403);
  await ro.goto(BASE + "/table/search-rules");
  assert.equal(await ro.locator("#add").count(), 0);
  assert.equal(await ro.locator("#delete-selected").count(), 0);
  await ro.goto(BASE + "/status/registrations");
  assert.equal(await ro.locator("button:text-is('Unregister')").count(), 0);

  step("auditor: the reference's four pages only");
  const au = await newPage(b);
  await login(au, "audrey", env("UI_USER_PASSWORD"));
  await settle(au);
  assert.equal(await au.textContent("#footer-level"), "auditor");
  const menus = await au.locator(".menus .menu-name").allTextContents();
  assert.deepEqual(menus, ["Status", "Users"]);
  const status_pages = await au.locator(".side a").allTextContents();
  assert.deepEqual(status_pages, ["Overview", "Alarms", "Event log", "Configuration log"]);
  await shot(au, "auditor-overview");
  for (const path of ["/status/alarms", "/status/logs/event", "/status/logs/config"]) {
    const r = await au.goto(BASE + path);
    assert.equal(r.status(), 200, path);
  }
  for (const path of ["/config/sip", "/status/registrations", "/table/search-rules", "/tools/locate"]) {
    const r = await au.goto(BASE + path);
    assert.equal(r.status(), 403, path);
  }
  await shot(au, "auditor-refused");
  assert.deepEqual(ro.errors, []);
  assert.deepEqual(au.errors, []);
});

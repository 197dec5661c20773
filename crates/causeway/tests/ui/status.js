// Status pages that act: a registration appears by itself while the page is open, is
// unregistered with its button, or unregistered and blocked (the deny list keeps it out); a call
// is disconnected with its button; a raised alarm shows on every page until it is acknowledged.
"use strict";

const dgram = require("dgram");
const { BASE, env, newPage, login, settle, act, click, shot, step, main, assert } = require("./lib");

/// Registers `user@example.com` over UDP, as a phone would, and waits for the 200.
function register(port, user) {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no answer to the REGISTER of ${user}`));
    }, 10000);
    sock.on("message", (msg) => {
      const text = msg.toString();
      if (text.startsWith("SIP/2.0 100 ")) return;
      clearTimeout(timer);
      sock.close();
      if (text.startsWith("SIP/2.0 200 ")) resolve();
      else reject(new Error(`REGISTER of ${user} answered ${text.split("\r\n")[0]}`));
    });
    sock.bind(0, "127.0.0.1", () => {
      const me = `127.0.0.1:${sock.address().port}`;
      const msg = [
        "REGISTER sip:example.com SIP/2.0",
        `Via: SIP/2.0/UDP ${me};branch=z9hG4bKui${user}`,
        "Max-Forwards: 70",
        `From: <sip:${user}@example.com>;tag=ui`,
        `To: <sip:${user}@example.com>`,
        `Call-ID: ui-${user}`,
        "CSeq: 1 REGISTER",
        `Contact: <sip:${user}@${me}>`,
        "Expires: 300",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      sock.send(msg, Number(port), "127.0.0.1");
    });
  });
}

main(async (b) => {
  const page = await newPage(b);
  await login(page, "admin", env("UI_ADMIN_PASSWORD"));
  await settle(page);

  step("the alarm indicator shows on every page");
  for (const path of ["/", "/config/sip", "/status/calls"]) {
    await page.goto(BASE + path);
    assert.ok(await page.isVisible("#alarm-indicator"), `no alarm indicator on ${path}`);
  }

  step("registrations by device, refreshed while watched");
  await page.goto(BASE + "/status/registrations");
  await settle(page);
  assert.equal(await page.locator("#rows tr", { hasText: "alice@example.com" }).count(), 1);
  await register(env("UI_SIP_PORT"), "carol");
  // No reload: the list refreshes itself.
  await page.waitForSelector("#rows tr:has-text('carol@example.com')", { timeout: 15000 });
  await shot(page, "registrations");
  await click(page, ".tabs a:text-is('By alias')");
  assert.equal(await page.locator("#rows tr", { hasText: "carol@example.com" }).count(), 1);
  await shot(page, "registrations-by-alias");

  step("unregister alice");
  await click(page, ".tabs a:text-is('By device')");
  await act(page, () =>
    page.locator("#rows tr", { hasText: "alice@example.com" }).locator("button:text-is('Unregister')").click()
  );
  assert.match(await page.textContent("#bars"), /removed/);
  assert.equal(await page.locator("#rows tr", { hasText: "alice@example.com" }).count(), 0);
  assert.equal(await page.locator("#rows tr", { hasText: "carol@example.com" }).count(), 1);

  step("the registration history");
  await click(page, ".tabs a:text-is('History')");
  const gone = page.locator("#rows tr", { hasText: "alice@example.com" });
  assert.equal(await gone.count(), 1);
  assert.match(await gone.textContent(), /Operator forced removal/);
  await shot(page, "registrations-history");

  step("unregister and block dave");
  await register(env("UI_SIP_PORT"), "dave");
  await page.goto(BASE + "/status/registrations");
  await settle(page);
  const dave = page.locator("#rows tr", { hasText: "dave@example.com" });
  assert.equal(await dave.count(), 1);
  await act(page, () => dave.locator("button:text-is('Unregister and block')").click());
  assert.match(await page.textContent("#bars"), /deny list/);
  assert.equal(await page.locator("#rows tr", { hasText: "dave@example.com" }).count(), 0);
  await assert.rejects(register(env("UI_SIP_PORT"), "dave"), /403/, "dave registered again");

  step("disconnect the call");
  await page.goto(BASE + "/status/calls");
  await settle(page);
  const call = page.locator("#rows tr", { hasText: "bob@example.com" });
  assert.equal(await call.count(), 1, "the call set up before the scenario is listed");
  await shot(page, "calls");
  await act(page, () => call.locator("button:text-is('Disconnect')").click());
  assert.match(await page.textContent("#bars"), /disconnected/);
  assert.equal(await page.locator("#rows tr", { hasText: "bob@example.com" }).count(), 0);
  await click(page, ".tabs a:text-is('History')");
  const ended = page.locator("#rows tr", { hasText: "bob@example.com" });
  assert.equal(await ended.count(), 1);
  assert.match(await ended.textContent(), /Operator disconnect/);
  await shot(page, "calls-history");

  step("acknowledge the alarm");
  await click(page, "#alarm-indicator");
  assert.match(page.url(), /\/status\/alarms$/);
  const alarm = page.locator("#alarms tbody tr", { hasText: "Restart required" });
  assert.equal(await alarm.count(), 1);
  assert.equal((await alarm.locator("td.state").textContent()).trim(), "New");
  await shot(page, "alarms");
  await act(page, () => alarm.locator("button:text-is('Acknowledge')").click());
  assert.equal(
    (await page.locator("#alarms tbody tr", { hasText: "Restart required" }).locator("td.state").textContent()).trim(),
    "Acknowledged"
  );
  assert.ok(!(await page.isVisible("#alarm-indicator")), "the indicator stays after acknowledging");
  await shot(page, "alarms-acknowledged");
  assert.deepEqual(page.errors, []);
});

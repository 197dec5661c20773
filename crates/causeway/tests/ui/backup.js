// Backup and restore in the browser: a backup is made and downloaded, a setting is changed, and
// the downloaded file is chosen, read by the page's script, confirmed and restored; the server
// restarts with the backup's configuration.
"use strict";

const os = require("os");
const path = require("path");
const fs = require("fs");
const { BASE, env, newPage, login, settle, click, shot, step, main, assert } = require("./lib");

async function setName(page, name) {
  await page.goto(BASE + "/config/system-name");
  await settle(page);
  await page.fill('[name="SystemUnit Name"]', name);
  await click(page, "form.config button[type=submit]");
  assert.match(await page.textContent("#bars"), /Saved\./);
}

/// Waits until the restarted server answers its login page again.
async function waitForServer(page) {
  const deadline = Date.now() + 60000;
  for (;;) {
    try {
      const r = await page.goto(BASE + "/login");
      if (r && r.status() === 200) return;
    } catch (e) {
      // Not listening yet.
    }
    assert.ok(Date.now() < deadline, "the server did not come back after the restore");
    await new Promise((r) => setTimeout(r, 250));
  }
}

main(async (b) => {
  const page = await newPage(b);
  const questions = [];
  page.on("dialog", (d) => questions.push(d.message()));
  const password = env("UI_ADMIN_PASSWORD");
  await login(page, "admin", password);
  await setName(page, "kept-in-backup");

  step("make and download a backup");
  await page.goto(BASE + "/tools/backup");
  await settle(page);
  await page.fill("#b-pw", "browser backup pass");
  await page.fill("#b-pw2", "browser backup pass");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#make-backup")]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "causeway-ui-"));
  const file = path.join(dir, download.suggestedFilename());
  await download.saveAs(file);
  assert.ok(fs.statSync(file).size > 0, "the downloaded backup is empty");

  step("change the setting after the backup");
  await setName(page, "changed-after-backup");

  step("upload the backup and restore it");
  await page.goto(BASE + "/tools/backup");
  await settle(page);
  await page.setInputFiles("#u-file", file);
  await page.fill("#u-pw", "browser backup pass");
  await shot(page, "backup-restore-upload");
  await Promise.all([page.waitForNavigation(), page.click("#restore-upload")]);
  assert.equal(questions.length, 1, "the restore was not confirmed first");
  assert.match(questions[0], /Restore this backup/);
  await page.waitForSelector("#restored");
  await shot(page, "backup-restored");

  step("the server comes back with the backup's configuration");
  await waitForServer(page);
  await login(page, "admin", password);
  await page.goto(BASE + "/config/system-name");
  await settle(page);
  assert.equal(await page.inputValue('[name="SystemUnit Name"]'), "kept-in-backup");
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(page.errors, []);
});

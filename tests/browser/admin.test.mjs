// Browser end-to-end test of the Socket.IO admin UI (@socket.io/admin-ui's page,
// served by chatwire at /admin/ with ADMIN_UI_USER + ADMIN_UI_PASSWORD): the page
// is opened on the expresschat listener, signs in with its own connection form
// (server URL = the listener, the credentials), and shows the sockets of a running
// conversation between two chat users (socket.io-client 4 from node): their two
// sockets, their conversation's room with both in it, and a third user's socket
// coming and going live.
//
// Headless Debian Chromium (/usr/bin/chromium, or CHROMIUM_PATH) driven by
// playwright-core. On failure the page's screenshot and the server's log are saved
// under output/ (CHATWIRE_BROWSER_OUT) and their paths printed;
// CHATWIRE_BROWSER_SCREENSHOTS=always keeps those of a pass too.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { chromium } from "playwright-core";
import { startServer, makeUser, barrier, closeAll, REPO_ROOT } from "../e2e/helpers.mjs";
import { HERE, CHROMIUM, CHROMIUM_ARGS, WAIT, saveEvidence } from "./lib.mjs";

const USER = "ops";
const PASSWORD = "watch the sockets";

/** Every file under `dir`, as paths relative to it, sorted. */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

test("the vendored admin UI is npm's @socket.io/admin-ui ui/dist (without source maps)", () => {
  const vendored = join(REPO_ROOT, "vendor", "socket.io-admin-ui", "dist");
  const npm = join(HERE, "node_modules", "@socket.io", "admin-ui", "ui", "dist");
  const files = filesUnder(vendored);
  assert.deepEqual(files, filesUnder(npm).filter((f) => !f.endsWith(".map")), "the same files (package.json pins the version)");
  for (const file of files) {
    const same = readFileSync(join(vendored, file)).equals(readFileSync(join(npm, file)));
    assert.ok(same, `vendor/socket.io-admin-ui/dist/${file} differs from @socket.io/admin-ui's ui/dist/${file}`);
  }
});

test("the admin UI page signs in and shows the sockets and rooms of a running conversation", { timeout: 120_000 }, async () => {
  const server = await startServer({ ADMIN_UI_USER: USER, ADMIN_UI_PASSWORD: PASSWORD, BCRYPT_COST: "4" });
  const base = server.urls.expresschat;
  const pages = {};
  const pageErrors = [];
  let browser;
  let step = "two chat users connect and talk (socket.io-client)";
  try {
    const alice = await makeUser(server, "Alice");
    const bob = await makeUser(server, "Bob");
    bob.socket.emit("check-chat", { Receiver: alice.id });
    await bob.rec.next("create-chat-result");
    bob.socket.emit("create-personal-chat", { Receiver: alice.id, Partner: alice.name, UserName: bob.name });
    const { ChatId } = await bob.rec.next("create-personal-chat-creator");
    bob.socket.emit("send-personal-message", { ChatId, Content: "hello from the conversation under watch" });
    await alice.rec.next("receive-personal-message");
    await Promise.all([barrier(alice.socket), barrier(bob.socket)]);
    const ids = [alice.socket.id, bob.socket.id];

    step = `start ${CHROMIUM}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(WAIT);
    page.setDefaultNavigationTimeout(WAIT);
    page.on("pageerror", (e) => pageErrors.push(e.message));
    pages.admin = page;
    // No internet here, nor in many operators' networks: the page must not need it
    // for anything but Roboto (which falls back to the system's sans-serif).
    const offsite = [];
    await page.route((url) => url.origin !== new URL(base).origin, (route) => {
      offsite.push(route.request().url());
      return route.abort();
    });

    step = "a wrong password is refused in the form";
    await page.goto(`${base}/admin/`);
    await signIn(page, base, "not the password");
    await page.getByText("Invalid credentials").waitFor();

    step = "the right one signs in (the form closes)";
    await signIn(page, base, PASSWORD);
    await page.getByLabel("Server URL").waitFor({ state: "hidden" });

    step = "the icon font (icon-only buttons) loads from the listener itself";
    const icons = await page.evaluate(async () => {
      await document.fonts.load('24px "Material Design Icons"').catch(() => {});
      return [...document.fonts].filter((f) => f.family.includes("Material Design Icons")).map((f) => f.status);
    });
    assert.ok(icons.includes("loaded"), `icon font: ${JSON.stringify(icons)}`);
    assert.deepEqual(offsite.filter((u) => !u.startsWith("https://fonts.googleapis.com/")), []);

    step = "the sockets page lists exactly the two chat sockets of namespace /";
    await page.goto(`${base}/admin/#/sockets/`);
    for (const id of ids) await page.locator("tbody tr", { hasText: id }).first().waitFor();
    assert.deepEqual(await socketRows(page), [...ids].sort());

    step = "the rooms page shows their conversation's room with both sockets, and each user's room";
    await page.goto(`${base}/admin/#/rooms/`);
    const conv = page.locator("tbody tr", { hasText: /conv:\d+/ });
    await conv.waitFor();
    assert.equal(await conv.count(), 1, "one conversation");
    assert.match(await conv.innerText(), /conv:\d+\s+public\s+2\b/i);
    for (const who of [alice, bob]) {
      const room = `user:${String(who.id).replace(/^\D+/, "")}`;
      await page.locator("tbody tr", { hasText: room }).first().waitFor();
    }

    step = "a socket's page shows its rooms";
    await page.goto(`${base}/admin/#/n/%2F/sockets/${encodeURIComponent(alice.socket.id)}`);
    await page.getByText(/conv:\d+/).first().waitFor();

    step = "a third user's socket appears live on the sockets page, and goes";
    await page.goto(`${base}/admin/#/sockets/`);
    await page.locator("tbody tr", { hasText: ids[0] }).first().waitFor();
    const carol = await makeUser(server, "Carol");
    const carolId = carol.socket.id;
    await page.locator("tbody tr", { hasText: carolId }).first().waitFor();
    carol.socket.disconnect();
    await page.locator("tbody tr", { hasText: carolId }).first().waitFor({ state: "detached" });

    step = "after a reload the page is back in with its session id and lists the two sockets";
    await page.reload();
    for (const id of ids) await page.locator("tbody tr", { hasText: id }).first().waitFor();
    assert.deepEqual(await socketRows(page), [...ids].sort());

    step = "no script errors on the page";
    assert.deepEqual(pageErrors, []);

    if (process.env.CHATWIRE_BROWSER_SCREENSHOTS === "always") {
      console.log(`screenshots: ${(await saveEvidence("admin-pass", pages)).join(", ")}`);
    }
  } catch (e) {
    const saved = await saveEvidence("admin-fail", pages, server);
    console.error(`admin UI browser test failed at: ${step}\nsaved: ${saved.join("\n       ")}`);
    if (pageErrors.length) console.error(`page errors: ${pageErrors.join("; ")}`);
    e.message = `${step}: ${e.message}\nscreenshots and server log: ${saved.join(", ")}`;
    throw e;
  } finally {
    closeAll();
    await browser?.close();
    await server.stop();
  }
});

/** Fills the UI's connection form (server URL = the listener) and submits it. */
async function signIn(page, base, password) {
  const url = page.getByLabel("Server URL");
  await url.waitFor();
  await url.fill(base);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect" }).click();
}

/**
 * The socket ids the sockets page lists (its first column), sorted; the page's
 * other tables (and the dashboard's, while the route's transition runs) hold no
 * socket ids (16 characters of base64url).
 */
async function socketRows(page) {
  const cells = await page.locator("tbody tr td:first-child").allInnerTexts();
  return cells.map((c) => c.trim()).filter((c) => /^[A-Za-z0-9_-]{16}$/.test(c)).sort();
}

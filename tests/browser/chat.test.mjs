// Browser end-to-end test of the demo chat page (examples/web/, served by chatwire
// at /demo/ with CHATWIRE_DEMO_PAGE=true): two users, each in their own browser
// context (own cookies), sign in on the page, open their personal chat and
// exchange messages that appear live on the other page.
//
// Headless Debian Chromium (/usr/bin/chromium, or CHROMIUM_PATH) driven by
// playwright-core; no browser is downloaded. Run with `bash run.sh` (installs what
// is missing) or `node --test` here after `npm ci`.
//
// On failure each page's screenshot and the server's log are saved under
// output/ (CHATWIRE_BROWSER_OUT) and their paths printed.
// CHATWIRE_BROWSER_SCREENSHOTS=always saves the screenshots of a passing run too.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer, newIdentity, signupVerify, REPO_ROOT } from "../e2e/helpers.mjs";
import { HERE, CHROMIUM, CHROMIUM_ARGS, WAIT, saveEvidence } from "./lib.mjs";

test("the vendored socket.io client is npm's socket.io-client browser bundle", () => {
  const vendored = readFileSync(join(REPO_ROOT, "examples", "web", "socket.io.min.js"));
  const fromNpm = readFileSync(join(HERE, "node_modules", "socket.io-client", "dist", "socket.io.min.js"));
  assert.ok(vendored.equals(fromNpm), "examples/web/socket.io.min.js differs from socket.io-client's dist/socket.io.min.js (package.json pins the version)");
});

test("two pages of the demo chat exchange messages live", { timeout: 120_000 }, async () => {
  const server = await startServer({ CHATWIRE_DEMO_PAGE: "true" });
  const base = server.urls.expresschat;
  const alice = newIdentity("Alice");
  const bob = newIdentity("Bob");
  const pages = {};
  const pageErrors = [];
  let browser;
  let step = "sign up two users (REST, verified through the console mailer)";
  try {
    await signupVerify(server, base, alice);
    await signupVerify(server, base, bob);

    step = `start ${CHROMIUM}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    for (const who of ["alice", "bob"]) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 620 } });
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT);
      page.setDefaultNavigationTimeout(WAIT);
      page.on("pageerror", (e) => pageErrors.push(`${who}: ${e.message}`));
      pages[who] = page;
    }
    const A = pages.alice;
    const B = pages.bob;

    step = "both sign in on the page";
    await Promise.all([signIn(A, base, alice), signIn(B, base, bob)]);

    step = "alice finds bob and opens a chat with him";
    await A.fill("#search", bob.name);
    await A.press("#search", "Enter");
    await A.locator(".search-result", { hasText: bob.email }).click();
    await A.locator("#chat-title", { hasText: bob.name }).waitFor();
    await A.locator("#personal-list button", { hasText: bob.name }).waitFor();

    step = "the new chat appears live in bob's list; bob opens it";
    await B.locator("#personal-list button", { hasText: alice.name }).click();
    await B.locator("#chat-title", { hasText: alice.name }).waitFor();

    step = "alice's message appears live on bob's page";
    const hello = `Hi Bob, from a browser (${Date.now()})`;
    await send(A, hello);
    await B.locator("#messages .theirs", { hasText: hello }).waitFor();

    step = "bob has the chat open, so alice's page shows her message read";
    await A.locator("#messages .mine.read", { hasText: hello }).waitFor();

    step = "bob's reply appears live on alice's page";
    const reply = `Hello Alice, it works (${Date.now()})`;
    await send(B, reply);
    await A.locator("#messages .theirs", { hasText: reply }).waitFor();

    step = "after a reload bob is still signed in (cookies) and the history has both messages";
    await B.reload();
    await B.locator("#me", { hasText: bob.name }).waitFor();
    await B.locator("#personal-list button", { hasText: alice.name }).click();
    await B.locator("#messages li", { hasText: reply }).waitFor();
    const texts = await B.locator("#messages .text").allTextContents();
    assert.deepEqual(texts, [hello, reply], "bob's history, oldest first");

    step = "no script errors on either page";
    assert.deepEqual(pageErrors, []);

    if (process.env.CHATWIRE_BROWSER_SCREENSHOTS === "always") {
      console.log(`screenshots: ${(await saveEvidence("pass", pages)).join(", ")}`);
    }
  } catch (e) {
    const saved = await saveEvidence("fail", pages, server);
    console.error(`browser test failed at: ${step}\nsaved: ${saved.join("\n       ")}`);
    if (pageErrors.length) console.error(`page errors: ${pageErrors.join("; ")}`);
    e.message = `${step}: ${e.message}\nscreenshots and server log: ${saved.join(", ")}`;
    throw e;
  } finally {
    await browser?.close();
    await server.stop();
  }
});

/** Opens the page, waits for the sign-in form, signs in, waits for the greeting. */
async function signIn(page, base, { name, email, password }) {
  await page.goto(`${base}/demo/`);
  await page.locator("#sign-in-form").waitFor();
  await page.fill("#sign-in-email", email);
  await page.fill("#sign-in-password", password);
  await page.click("#sign-in-form button[type=submit]");
  await page.locator("#me", { hasText: `Signed in as ${name}` }).waitFor();
}

/** Types a message into the open chat and sends it; it shows on the sender's page at once. */
async function send(page, text) {
  await page.fill("#message", text);
  await page.press("#message", "Enter");
  await page.locator("#messages .mine", { hasText: text }).waitFor();
}

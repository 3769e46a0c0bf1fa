// Browser end-to-end test of every listener's API docs (issue 15): /docs is
// Swagger UI reading the listener's own /openapi.json. In headless Chromium, with
// every request to another origin refused (the test network has no internet, and
// the page must not need it), each listener's page lists all of its documented
// operations under its profile's title; on chatsphere and testcore a route is
// tried from the page ("Try it out", "Execute") and its live answer shown.
//
// Run with `bash run.sh`. On failure a screenshot of the page and the server's
// log are saved under output/ (CHATWIRE_BROWSER_OUT) and their paths printed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer, ALL_PROFILES } from "../e2e/helpers.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = process.env.CHATWIRE_BROWSER_OUT || join(HERE, "output");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const WAIT = 15_000;

/** The operations of a document, as Swagger UI labels them: "GET /path". */
function operations(doc) {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of ["get", "put", "post", "delete", "patch"]) if (item[m]) out.push(`${m.toUpperCase()} ${path}`);
  }
  return out.sort();
}

test("/docs on every listener lists its operations, with no request leaving the listener", { timeout: 180_000 }, async () => {
  const server = await startServer({}, { waitFor: ALL_PROFILES });
  let browser;
  let page;
  let step = `start ${CHROMIUM}`;
  const pageErrors = [];
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    for (const profile of ALL_PROFILES) {
      const base = server.urls[profile];
      const origin = new URL(base).origin;
      const doc = await (await fetch(`${base}/openapi.json`)).json();
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      page = await context.newPage();
      page.setDefaultTimeout(WAIT);
      page.on("pageerror", (e) => pageErrors.push(`${profile}: ${e.message}`));
      const foreign = [];
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (new URL(url).origin === origin || url.startsWith("data:")) return route.continue();
        foreign.push(url);
        return route.abort();
      });

      step = `${profile}: open /docs`;
      await page.goto(`${base}/docs`);
      await page.locator(".swagger-ui .info .title", { hasText: `chatwire: ${profile}` }).waitFor();

      step = `${profile}: every documented operation is listed`;
      await page.locator(".opblock").first().waitFor();
      const listed = await page.$$eval(".opblock", (blocks) =>
        blocks.map((b) => {
          const method = b.querySelector(".opblock-summary-method")?.textContent.trim();
          const path = b.querySelector(".opblock-summary-path")?.getAttribute("data-path");
          return `${method} ${path}`;
        }),
      );
      assert.deepEqual(listed.sort(), operations(doc), `${profile}: operations on the page`);

      if (profile === "chatsphere" || profile === "testcore") {
        const [method, path] = profile === "chatsphere" ? ["get", "/api/health"] : ["get", "/api/v1/user/signup"];
        step = `${profile}: try ${method.toUpperCase()} ${path} from the page`;
        const block = page.locator(`.opblock-${method}`, { has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
        await block.locator(".opblock-summary").click();
        await block.locator(".try-out__btn").click();
        await block.locator(".execute").click();
        await block.locator(".live-responses-table .response-col_status", { hasText: "200" }).waitFor();
      }

      step = `${profile}: nothing was fetched from another origin`;
      assert.deepEqual(foreign, [], `${profile}: requests to other origins`);
      await context.close();
      page = undefined;
    }
    step = "no script errors";
    assert.deepEqual(pageErrors, []);
  } catch (e) {
    const saved = await saveEvidence(page, server);
    console.error(`docs browser test failed at: ${step}\nsaved: ${saved.join("\n       ")}`);
    if (pageErrors.length) console.error(`page errors: ${pageErrors.join("; ")}`);
    e.message = `${step}: ${e.message}\nscreenshot and server log: ${saved.join(", ")}`;
    throw e;
  } finally {
    await browser?.close();
    await server.stop();
  }
});

async function saveEvidence(page, server) {
  const dir = join(OUT, `docs-fail-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  const saved = [];
  if (page) {
    const path = join(dir, "docs.png");
    try {
      await page.screenshot({ path, fullPage: true, timeout: WAIT });
      saved.push(path);
    } catch (e) {
      saved.push(`(no screenshot: ${e.message.split("\n")[0]})`);
    }
  }
  try {
    copyFileSync(server.logPath, join(dir, "server.log"));
    saved.push(join(dir, "server.log"));
  } catch {}
  return saved;
}

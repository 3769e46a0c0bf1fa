// What the browser tests share: the machine's Chromium, how it starts, waits, and
// the evidence saved when a test fails (screenshots of every page, the server's log).

import { mkdirSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const OUT = process.env.CHATWIRE_BROWSER_OUT || join(HERE, "output");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// What the machine's Chromium needs to start headless, quietly, in a closed network;
// Playwright adds a fresh --user-data-dir of its own.
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const WAIT = 10_000; // every wait in a page gives up after this many ms

/** Screenshots of every page (and the server's log, when given) into a fresh folder of OUT. */
export async function saveEvidence(label, pages, server) {
  const dir = join(OUT, `${label}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  const saved = [];
  for (const [who, page] of Object.entries(pages)) {
    const path = join(dir, `${who}.png`);
    try {
      await page.screenshot({ path, timeout: WAIT });
      saved.push(path);
    } catch (e) {
      saved.push(`(no screenshot of ${who}: ${e.message.split("\n")[0]})`);
    }
  }
  if (server) {
    try {
      copyFileSync(server.logPath, join(dir, "server.log"));
      saved.push(join(dir, "server.log"));
    } catch {}
  }
  return saved;
}

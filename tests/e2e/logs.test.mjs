// Logs as an operator reads them from a file or a pipe: human format without
// terminal colour codes (issue 11, point 6).

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, newIdentity, post, sleep } from "./helpers.mjs";

const servers = [];
after(async () => {
  for (const s of servers) await s.stop();
});

/** Resolves once the server's stderr satisfies `ok`, or fails after `ms`. */
async function stderrUntil(server, ok, ms = 5000) {
  const end = Date.now() + ms;
  while (!ok(server.stderr)) {
    if (Date.now() > end) throw new Error(`stderr never matched; it reads: ${server.stderr.slice(-800)}`);
    await sleep(25);
  }
  return server.stderr;
}

test("human logs written to a pipe carry no ANSI colour codes", async () => {
  const server = await startServer({ CHATWIRE_LOG_FORMAT: "human" });
  servers.push(server);
  // A sign-up makes the console mailer log a line with fields (to=..., link=...).
  const id = newIdentity("Logs");
  const r = await post(server.urls.expresschat, "/signup", id);
  assert.ok(r.status < 400, `signup answered ${r.status}`);
  const text = await stderrUntil(server, (t) => t.includes(id.email));
  const line = text.split("\n").find((l) => l.includes(id.email));
  assert.ok(line.includes(`to=${id.email}`), `the mail line names its recipient plainly: ${JSON.stringify(line)}`);
  assert.ok(!text.includes("\x1b["), `no escape sequences in: ${JSON.stringify(line)}`);
});

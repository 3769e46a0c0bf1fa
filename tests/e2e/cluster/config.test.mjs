// Cluster mode's refusals at start: REDIS_URL on SQLite, and REDIS_URL without
// every shared secret. Neither needs Redis or PostgreSQL (the checks come first).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { startServer } from "../helpers.mjs";
import { clusterSecrets } from "./lib.mjs";

const REDIS_URL = "redis://127.0.0.1:1/";
const dir = mkdtempSync(join(tmpdir(), "cw-cluster-config-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

test("REDIS_URL on SQLite: refuses to start, saying PostgreSQL is needed", async () => {
  const sqlite = `sqlite://${join(dir, "refused.db")}?mode=rwc`;
  await assert.rejects(
    startServer({ ...clusterSecrets(), REDIS_URL }, { databaseUrl: sqlite }),
    (e) => {
      assert.match(e.message, /chatwire exited early \(code [1-9]/);
      assert.match(e.message, /cluster mode \(REDIS_URL is set\) needs PostgreSQL/);
      return true;
    },
  );
});

test("REDIS_URL without the shared secrets: refuses to start, naming each missing one", async () => {
  const pg = "postgres://nobody@127.0.0.1:1/none";
  const { JWT_REFRESH_SECRET, MESSAGE_ENCRYPTION_KEY } = clusterSecrets();
  await assert.rejects(
    startServer(
      { REDIS_URL, JWT_ACCESS_SECRET: "", JWT_REFRESH_SECRET, MESSAGE_ENCRYPTION_KEY, API_TOKEN_SECRET: "" },
      { databaseUrl: pg },
    ),
    (e) => {
      assert.match(e.message, /chatwire exited early \(code [1-9]/);
      assert.match(e.message, /needs the same secrets on every node, but JWT_ACCESS_SECRET, API_TOKEN_SECRET are not set/);
      return true;
    },
  );
  const all = clusterSecrets();
  await assert.rejects(startServer({ ...all, REDIS_URL, MESSAGE_ENCRYPTION_KEY: "" }, { databaseUrl: pg }), /but MESSAGE_ENCRYPTION_KEY is not set/);
});

test("without REDIS_URL nothing changes: generated secrets on SQLite, /readyz says just ready", async () => {
  const sqlite = `sqlite://${join(dir, "single.db")}?mode=rwc`;
  const server = await startServer({ REDIS_URL: "" }, { databaseUrl: sqlite });
  try {
    const r = await fetch(`${server.urls.expresschat}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ready");
  } finally {
    await server.stop();
  }
});

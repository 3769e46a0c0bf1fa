// Cluster-mode harness: a private redis-server on a free port and chatwire nodes
// on one fresh PostgreSQL database with the same secrets (README, "Cluster mode").
// Needs DATABASE_URL=postgres://... (an admin URL: a database is created per
// cluster) and redis-server on PATH (scripts/test.sh installs it when missing);
// without PostgreSQL the cluster tests are skipped.

import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { BIN, ALL_PROFILES, startServer, rand, sleep } from "../helpers.mjs";

export const PG = (process.env.DATABASE_URL || "").startsWith("postgres") ? process.env.DATABASE_URL : null;
export const SKIP = PG ? false : "cluster mode needs PostgreSQL: set DATABASE_URL=postgres://...";

/** A free TCP port on 127.0.0.1 (free when asked; fine for a private test server). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const redisChildren = new Set();
process.on("exit", () => {
  for (const c of redisChildren) {
    try {
      c.kill("SIGKILL");
    } catch {}
  }
});

/** Starts redis-server on `port` without persistence; resolves once it accepts connections. */
function spawnRedis(port) {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  redisChildren.add(child);
  child.on("exit", () => redisChildren.delete(child));
  return new Promise((res, rej) => {
    let out = "";
    const t = setTimeout(() => rej(new Error(`redis-server did not start on ${port}:\n${out}`)), 10000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("Ready to accept connections")) {
        clearTimeout(t);
        res(child);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(t);
      rej(new Error(`redis-server exited (${code}):\n${out}`));
    });
  });
}

/** A private Redis: {url, port, stop(), kill(), restart()}. */
export async function startRedis() {
  const port = await freePort();
  let child = await spawnRedis(port);
  const exited = (c) => new Promise((r) => (c.exitCode !== null ? r() : c.once("exit", r)));
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}/`,
    /** Kills the server (SIGKILL: an outage, no goodbye to the clients). */
    async kill() {
      const c = child;
      c.kill("SIGKILL");
      await exited(c);
    },
    /** Starts it again on the same port (empty: no persistence). */
    async start() {
      child = await spawnRedis(port);
    },
    async stop() {
      const c = child;
      if (c.exitCode === null) {
        c.kill("SIGTERM");
        await exited(c);
      }
    },
  };
  return redis;
}

function hex(n) {
  return randomBytes(n).toString("hex");
}

/** The secrets every node of one cluster shares. */
export function clusterSecrets() {
  return {
    JWT_ACCESS_SECRET: hex(32),
    JWT_REFRESH_SECRET: hex(32),
    MESSAGE_ENCRYPTION_KEY: hex(32),
    API_TOKEN_SECRET: hex(32),
  };
}

function createDatabase() {
  const name = `cw_cluster_${rand(12)}`;
  execFileSync("psql", [PG, "-v", "ON_ERROR_STOP=1", "-q", "-c", `CREATE DATABASE ${name}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const u = new URL(PG);
  u.pathname = `/${name}`;
  return { url: u.toString(), name };
}

function dropDatabase(name) {
  try {
    execFileSync("psql", [PG, "-q", "-c", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: "ignore" });
  } catch {}
}

/** The body of a node's /readyz. */
export async function readyz(node) {
  const r = await fetch(`${node.urls.expresschat}/readyz`);
  return { status: r.status, text: await r.text() };
}

/** Polls every node's /readyz until it reports Redis up (bounded). */
export async function waitRedisUp(nodes, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (const n of nodes) {
    for (;;) {
      const r = await readyz(n).catch(() => ({ text: "" }));
      if (r.text.includes("redis: up")) break;
      if (Date.now() > deadline) throw new Error(`node did not report Redis up: ${r.text}`);
      await sleep(50);
    }
  }
}

/**
 * Starts Redis and `nodes` chatwire nodes (every profile, CHATWIRE_NODE_ID n1, n2...)
 * on one fresh PostgreSQL database with shared secrets; resolves once every node
 * reports Redis up. Returns {redis, nodes, env, databaseUrl, startNode(i), stop()}.
 */
export async function startCluster({ nodes: count = 2, env = {} } = {}) {
  const redis = await startRedis();
  const db = createDatabase();
  const shared = { ...clusterSecrets(), REDIS_URL: redis.url, ...env };
  const startNode = (i) =>
    startServer(
      { ...shared, CHATWIRE_NODE_ID: `n${i + 1}` },
      { databaseUrl: db.url, waitFor: ALL_PROFILES, timeoutMs: 30000 },
    );
  const nodes = [];
  try {
    // One at a time: the first migrates the database.
    for (let i = 0; i < count; i++) nodes.push(await startNode(i));
    await waitRedisUp(nodes);
  } catch (e) {
    for (const n of nodes) await n.stop().catch(() => {});
    await redis.stop();
    dropDatabase(db.name);
    throw e;
  }
  return {
    redis,
    nodes,
    env: shared,
    databaseUrl: db.url,
    startNode,
    /** A chatsphere client token minted by the CLI on the cluster's database. */
    clientToken() {
      const out = execFileSync(BIN, ["token", "create", "--client", "--username", `admin-${rand(5)}`], {
        env: {
          ...process.env,
          ...shared,
          REDIS_URL: "",
          DATABASE_URL: db.url,
          CHATWIRE_LOG: "error",
        },
        cwd: nodes[0].dir,
        stdio: ["ignore", "pipe", "pipe"],
      });
      return out.toString().trim().split("\n").pop();
    },
    async stop() {
      for (const n of nodes) await n.stop().catch(() => {});
      await redis.stop();
      dropDatabase(db.name);
    },
  };
}

/** Retries `attempt` (which resolves true once it saw what it waits for) until `timeoutMs`. */
export async function eventually(attempt, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await attempt()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${last.message})` : ""}`);
    await sleep(100);
  }
}

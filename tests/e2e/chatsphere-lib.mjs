// chatsphere end-to-end helpers: a server as on a fresh install (no API token
// secret configured: the generated one lives in the database) and its first client
// token minted by the CLI (`chatwire token create --client`, on the server's own
// database, which is how the CLI and the server agree on the secret), REST with fetch, and a `ws` client that records
// `{type, ...}` frames; `next(type)` awaits the next unconsumed one with a timeout.

import { execFileSync } from "node:child_process";
import WebSocket from "ws";
import { BIN, startServer, request, rand } from "./helpers.mjs";

export { rand };

/** Starts chatwire (chatsphere listener) and mints the first client token. */
export async function startSphere() {
  const server = await startServer({}, { waitFor: ["chatsphere"] });
  const out = execFileSync(BIN, ["token", "create", "--client", "--username", `admin-${rand(5)}`], {
    env: { ...process.env, DATABASE_URL: server.databaseUrl, CHATWIRE_LOG: "error" },
    cwd: server.dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const clientToken = out.toString().trim().split("\n").pop();
  return { server, base: server.urls.chatsphere, clientToken };
}

export const bearer = (token) => (token ? { headers: { authorization: `Bearer ${token}` } } : {});

export const api = (base, method, path, token, body) => request(base, method, path, { ...bearer(token), body });

/** POST /api/users with the client token: {id, username, token, tokenId}. */
export async function makeUser(sphere, prefix = "user") {
  const username = `${prefix}-${rand(6)}`;
  const r = await api(sphere.base, "POST", "/api/users", sphere.clientToken, { username });
  if (r.status !== 201) throw new Error(`create user: ${r.status} ${r.text}`);
  return { id: r.json.user.id, username, token: r.json.token, tokenId: r.json.id };
}

/** POST /api/rooms as `user`, then adds `members`; returns the room id. */
export async function makeRoom(sphere, user, { name = `room-${rand(5)}`, isPrivate = false, members = [] } = {}) {
  const r = await api(sphere.base, "POST", "/api/rooms", user.token, { name, isPrivate });
  if (r.status !== 201) throw new Error(`create room: ${r.status} ${r.text}`);
  for (const m of members) {
    const a = await api(sphere.base, "POST", `/api/rooms/${r.json.id}/users`, user.token, { userId: m.id });
    if (a.status !== 200) throw new Error(`add member: ${a.status} ${a.text}`);
  }
  return r.json.id;
}

const open = new Set();

/**
 * A WebSocket client. `query` is appended to `path` (e.g. `token=..&userId=..`);
 * `headers` are sent with the upgrade (a cookie). Resolves once open; rejects
 * with {status, body} when the upgrade is refused.
 */
export function sphereSocket(base, { path = "/ws", query = "", headers = {} } = {}) {
  const url = base.replace(/^http/, "ws") + path + (query ? `?${query}` : "");
  const ws = new WebSocket(url, { headers });
  const log = [];
  const waiters = [];
  let closeInfo = null;
  const closeWaiters = [];
  ws.on("message", (buf) => {
    let frame;
    try {
      frame = JSON.parse(buf.toString());
    } catch {
      frame = { type: "$unparseable", raw: buf.toString() };
    }
    const entry = { type: frame.type, frame, consumed: false };
    log.push(entry);
    const i = waiters.findIndex((w) => w.type === entry.type);
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      entry.consumed = true;
      w.resolve(frame);
    }
  });
  ws.on("close", (code, reason) => {
    open.delete(client);
    closeInfo = { code, reason: reason.toString() };
    for (const w of closeWaiters.splice(0)) w(closeInfo);
  });
  const client = {
    ws,
    log,
    send(obj) {
      ws.send(typeof obj === "string" ? obj : JSON.stringify(obj));
    },
    /** The next unconsumed frame of `type`. */
    next(type, timeoutMs = 3000) {
      const e = log.find((x) => !x.consumed && x.type === type);
      if (e) {
        e.consumed = true;
        return Promise.resolve(e.frame);
      }
      return new Promise((res, rej) => {
        const w = { type, resolve: (f) => (clearTimeout(t), res(f)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          rej(new Error(`timeout waiting for ${type}; got ${JSON.stringify(log.map((x) => x.frame))}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    /** Types of the frames received so far, in order. */
    types() {
      return log.map((x) => x.type);
    },
    closed(timeoutMs = 3000) {
      if (closeInfo) return Promise.resolve(closeInfo);
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error("socket not closed in time")), timeoutMs);
        closeWaiters.push((c) => (clearTimeout(t), res(c)));
      });
    },
    close() {
      try {
        ws.close();
      } catch {}
    },
  };
  open.add(client);
  return new Promise((res, rej) => {
    ws.once("open", () => res(client));
    ws.once("unexpected-response", (_req, resp) => {
      let body = "";
      resp.on("data", (c) => (body += c));
      resp.on("end", () => rej(Object.assign(new Error(`upgrade refused ${resp.statusCode}`), { status: resp.statusCode, body })));
    });
    ws.once("error", (e) => rej(e));
  });
}

/** Server dialect: `/ws?token=..`. */
export const serverSocket = (sphere, user) => sphereSocket(sphere.base, { query: `token=${encodeURIComponent(user.token)}` });

/** UI dialect: `/ws?token=..&userId=..`. */
export const uiSocket = (sphere, user) =>
  sphereSocket(sphere.base, { query: `token=${encodeURIComponent(user.token)}&userId=${encodeURIComponent(user.id)}` });

export function closeAllSockets() {
  for (const c of open) c.close();
  open.clear();
}

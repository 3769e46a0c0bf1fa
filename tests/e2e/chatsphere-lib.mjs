// chatsphere end-to-end helpers: a server as on a fresh install (no API token
// secret configured: the generated one lives in the database) and its first client
// token minted by the CLI (`chatwire token create --client`, on the server's own
// database, which is how the CLI and the server agree on the secret), REST with
// fetch, and the two WebSocket dialects' URLs (the clients are ws-helpers.mjs's:
// `next(type)` awaits the next unconsumed `{type, ...}` frame with a timeout).

import { execFileSync } from "node:child_process";
import { BIN, startServer, request, rand } from "./helpers.mjs";
import { openSocket, wsUrl } from "./ws-helpers.mjs";

export { rand };

/** Starts chatwire (chatsphere listener, `env` overrides) and mints the first client token. */
export async function startSphere(env = {}) {
  const server = await startServer(env, { waitFor: ["chatsphere"] });
  return { server, base: server.urls.chatsphere, clientToken: mintClientToken(server) };
}

/** A client token for `server`'s chatsphere, minted by the CLI on its database. */
export function mintClientToken(server) {
  const out = execFileSync(BIN, ["token", "create", "--client", "--username", `admin-${rand(5)}`], {
    env: { ...process.env, DATABASE_URL: server.databaseUrl, CHATWIRE_LOG: "error" },
    cwd: server.dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return out.toString().trim().split("\n").pop();
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

/**
 * A WebSocket client. `query` is appended to `path` (e.g. `token=..&userId=..`);
 * `headers` are sent with the upgrade (a cookie). Resolves once open; rejects
 * with {status, body} when the upgrade is refused.
 */
export const sphereSocket = (base, { path = "/ws", query = "", headers = {} } = {}) =>
  openSocket(wsUrl(base, path + (query ? `?${query}` : "")), { headers });

/** Server dialect: `/ws?token=..`. */
export const serverSocket = (sphere, user) => sphereSocket(sphere.base, { query: `token=${encodeURIComponent(user.token)}` });

/** UI dialect: `/ws?token=..&userId=..`. */
export const uiSocket = (sphere, user) =>
  sphereSocket(sphere.base, { query: `token=${encodeURIComponent(user.token)}&userId=${encodeURIComponent(user.id)}` });

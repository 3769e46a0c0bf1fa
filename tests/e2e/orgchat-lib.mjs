// orgchat end-to-end helpers: REST (register, login, rooms), and one client shape
// over both realtime transports the frontend uses:
// - raw WebSocket (ws-helpers.mjs): frames `{event, data}` out, `{type, ...}` in;
// - Socket.IO 4 (helpers.mjs): the same event names, `data` as the payload.
// Both clients are event logs (expectNoneBefore works on either); `next(event)`
// answers the frame or payload as its transport carries it, `nextPayload(event)`
// and `payload(entry)` the payload as the Socket.IO client sees it.

import { post, get, rand, makeSocket, ask } from "./helpers.mjs";
import { openSocket, wsUrl } from "./ws-helpers.mjs";

export { rand };

/** POST /api/auth/register then /api/auth/login. */
export async function orgUser(base, { name, org, role = "user" }) {
  const username = `${name} ${rand(5)}`;
  const email = `${name.toLowerCase()}.${rand(8)}@org.e2e`;
  const password = `pw-${rand(8)}`;
  const r = await post(base, "/api/auth/register", { username, email, password, organizationName: org, role });
  if (r.status !== 201) throw new Error(`register ${username}: ${r.status} ${r.text}`);
  const l = await post(base, "/api/auth/login", { email, password });
  if (l.status !== 200) throw new Error(`login ${email}: ${l.status} ${l.text}`);
  return {
    id: l.json.user.id,
    org: l.json.user.organization_id,
    role: l.json.user.role,
    username,
    email,
    password,
    accessToken: l.json.accessToken,
    refreshToken: l.json.refreshToken,
  };
}

export const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

/** POST /api/chat; returns the room. */
export async function createRoom(base, user, name, invitedUsers) {
  const body = invitedUsers ? { name, invitedUsers } : { name };
  const r = await post(base, "/api/chat", body, bearer(user.accessToken));
  if (r.status !== 201) throw new Error(`create room: ${r.status} ${r.text}`);
  return r.json;
}

export const listRooms = (base, user, query = "") => get(base, `/api/chat${query}`, bearer(user.accessToken));

/**
 * A raw WebSocket client. `via`: "query" (?token=) or "header" (Authorization).
 * Resolves once open; rejects with {status} when the upgrade is refused.
 */
export async function rawClient(base, token, { via = "query" } = {}) {
  const url = via === "query" && token ? wsUrl(base, `/?token=${encodeURIComponent(token)}`) : wsUrl(base);
  const headers = via === "header" && token ? { authorization: `Bearer ${token}` } : {};
  const client = await openSocket(url, { headers });
  return Object.assign(client, {
    kind: "raw",
    emit(event, data) {
      client.send(data === undefined ? { event } : { event, data });
    },
    /** The payload of an entry as the Socket.IO client would see it. */
    payload(e) {
      if (e.event === "notification" || e.event === "newMessage") return e.frame.message;
      const { type, ...rest } = e.frame;
      return rest;
    },
    nextPayload: async (event, timeoutMs) => client.payload(await client.nextEntry(event, timeoutMs)),
  });
}

/** A Socket.IO client authenticated with `auth.token` (or as `opts` say). */
export async function sioClient(base, token, { via = "auth", transports } = {}) {
  const opts = { transports };
  if (via === "auth" && token) opts.auth = { token };
  if (via === "query" && token) opts.query = { token };
  if (via === "header" && token) opts.headers = { authorization: `Bearer ${token}` };
  const socket = makeSocket(base, undefined, opts);
  const rec = socket.rec;
  const client = {
    kind: "sio",
    socket,
    rec,
    log: rec.log,
    next: rec.next,
    nextEntry: rec.nextEntry,
    seen: rec.seen,
    drain: rec.drain,
    expectNone: rec.expectNone,
    emit(event, data) {
      if (data === undefined) socket.emit(event);
      else socket.emit(event, data);
    },
    emitWithAck: (event, data) => ask(socket, event, data),
    payload: (e) => e.args[0],
    nextPayload: (event, timeoutMs) => rec.next(event, timeoutMs),
    close() {
      socket.disconnect();
    },
  };
  const connected = rec.nextOf(["$connect", "$connect_error"], 5000);
  socket.connect();
  const e = await connected;
  if (e.event === "$connect_error") throw new Error(e.args[0]?.message);
  return client;
}

/** Either transport by name. */
export const connectAs = (kind, base, user) => (kind === "raw" ? rawClient(base, user.accessToken) : sioClient(base, user.accessToken));

/**
 * Proves that everything `client` sent before was processed: an unknown event is
 * answered with an error on the same connection, in order.
 */
export async function barrier(client) {
  const tag = `barrier-${rand(6)}`;
  client.emit(tag, {});
  for (;;) {
    const e = await client.nextPayload("error");
    if (e.message && e.message.includes(tag)) return;
  }
}

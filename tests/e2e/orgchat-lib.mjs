// orgchat end-to-end helpers: REST (register, login, rooms) with fetch, and one
// client shape over both realtime transports the frontend uses:
// - raw WebSocket (`ws`): frames `{event, data}` out, `{type, ...}` in;
// - Socket.IO 4 (`socket.io-client`): the same event names, `data` as the payload.
// Both clients record what arrives; `next(event)` awaits the next unconsumed one
// with a timeout, `expectNone(events, ms)` is the bounded negative wait to use
// after a later event has proved the server processed the earlier request.

import WebSocket from "ws";
import { io } from "socket.io-client";
import { post, get, rand, recorder } from "./helpers.mjs";

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

/** ws:// URL of a listener's http:// URL. */
export const wsUrl = (base, path = "/") => base.replace(/^http/, "ws") + path;

const open = new Set();

/**
 * A raw WebSocket client. `via`: "query" (?token=) or "header" (Authorization).
 * Resolves once open; rejects with {status} when the upgrade is refused.
 */
export function rawClient(base, token, { via = "query" } = {}) {
  const url = via === "query" && token ? wsUrl(base, `/?token=${encodeURIComponent(token)}`) : wsUrl(base);
  const headers = via === "header" && token ? { authorization: `Bearer ${token}` } : {};
  const ws = new WebSocket(url, { headers });
  const log = [];
  const waiters = [];
  let closeInfo = null;
  const closeWaiters = [];
  ws.on("message", (buf, isBinary) => {
    let frame;
    try {
      frame = JSON.parse(buf.toString());
    } catch {
      frame = { type: "$unparseable", raw: buf.toString(), isBinary };
    }
    const entry = { event: frame.type, frame, consumed: false };
    log.push(entry);
    const i = waiters.findIndex((w) => w.event === entry.event);
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      entry.consumed = true;
      w.resolve(entry.frame);
    }
  });
  ws.on("close", (code, reason) => {
    open.delete(client);
    closeInfo = { code, reason: reason.toString() };
    for (const w of closeWaiters.splice(0)) w(closeInfo);
  });
  const client = {
    kind: "raw",
    ws,
    log,
    emit(event, data) {
      ws.send(JSON.stringify(data === undefined ? { event } : { event, data }));
    },
    sendText(text) {
      ws.send(text);
    },
    /** The next unconsumed frame of `type`. */
    next(event, timeoutMs = 3000) {
      const e = log.find((x) => !x.consumed && x.event === event);
      if (e) {
        e.consumed = true;
        return Promise.resolve(e.frame);
      }
      return new Promise((res, rej) => {
        const w = { event, resolve: (f) => (clearTimeout(t), res(f)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          rej(new Error(`raw: timeout waiting for ${event}; got ${JSON.stringify(log.map((x) => x.event))}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    /** The payload as the Socket.IO client would see it. */
    async nextPayload(event, timeoutMs) {
      const f = await client.next(event, timeoutMs);
      if (event === "notification" || event === "newMessage") return f.message;
      const { type, ...rest } = f;
      return rest;
    },
    drain() {
      for (const e of log) e.consumed = true;
    },
    async expectNone(events, ms = 250) {
      await new Promise((r) => setTimeout(r, ms));
      const bad = log.filter((e) => !e.consumed && (!events || [].concat(events).includes(e.event)));
      if (bad.length) throw new Error(`raw: unexpected ${bad.map((e) => JSON.stringify(e.frame)).join("; ")}`);
    },
    closed(timeoutMs = 3000) {
      if (closeInfo) return Promise.resolve(closeInfo);
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error("raw: not closed in time")), timeoutMs);
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

/** A Socket.IO client authenticated with `auth.token` (or as `opts` say). */
export function sioClient(base, token, { via = "auth", transports } = {}) {
  const opts = { forceNew: true, reconnection: false, timeout: 5000, autoConnect: false };
  if (transports) opts.transports = transports;
  if (via === "auth" && token) opts.auth = { token };
  if (via === "query" && token) opts.query = { token };
  if (via === "header" && token) opts.extraHeaders = { authorization: `Bearer ${token}` };
  const socket = io(base, opts);
  const rec = recorder(socket);
  const client = {
    kind: "sio",
    socket,
    rec,
    emit(event, data) {
      if (data === undefined) socket.emit(event);
      else socket.emit(event, data);
    },
    emitWithAck(event, data) {
      return socket.timeout(3000).emitWithAck(event, data);
    },
    next: (event, timeoutMs) => rec.next(event, timeoutMs),
    nextPayload: (event, timeoutMs) => rec.next(event, timeoutMs),
    drain: () => rec.drain(),
    expectNone: (events, ms = 250) => rec.expectNone(events, ms),
    close() {
      socket.disconnect();
    },
  };
  open.add(client);
  return new Promise((res, rej) => {
    rec.nextOf(["$connect", "$connect_error"], 5000).then(
      (e) => (e.event === "$connect" ? res(client) : rej(Object.assign(new Error("connect_error"), { message: e.args[0]?.message }))),
      rej,
    );
    socket.connect();
  });
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

export function closeAllClients() {
  for (const c of open) c.close();
  open.clear();
}

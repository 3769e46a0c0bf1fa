// testcore end-to-end helpers: REST under /api/v1 with fetch, and a raw `ws`
// client that records frames; `next()` awaits the next unconsumed frame with a
// timeout, `expectNone(ms)` is the bounded negative wait to use after a later
// event has proved the server processed the earlier frames.

import WebSocket from "ws";
import { request, rand } from "./helpers.mjs";

export { rand };

export const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

/** Registers a user; returns {id, token, email}. */
export async function tcUser(base, name = "User") {
  const email = `${name.toLowerCase()}.${rand(8)}@tc.e2e`;
  const r = await request(base, "POST", "/api/v1/user/register", { body: { name, email, password: "password123" } });
  if (r.status !== 200) throw new Error(`register: ${r.status} ${r.text}`);
  return { id: r.json.data.userData._id, token: r.json.data.accessToken, email, name };
}

export const api = (base, method, path, user, body) =>
  request(base, method, `/api/v1/chat${path}`, { body, ...(user ? bearer(user.token) : {}) });

/** Creates (or opens) a room as `owner` and joins each of `others` to it. */
export async function room(base, owner, name, others = []) {
  const r = await api(base, "POST", "/createChat", owner, { roomName: name });
  if (r.status !== 200) throw new Error(`createChat: ${r.status} ${r.text}`);
  for (const u of others) {
    const j = await api(base, "POST", `/ChatQuery/${name}`, u);
    if (j.status !== 200) throw new Error(`join: ${j.status} ${j.text}`);
  }
  return r.json.data;
}

export const wsUrl = (base, path = "/ws1/") => base.replace(/^http/, "ws") + path;

const open = new Set();

/** A raw client; resolves once open. `token` goes in `?token=`; `cookie` as a header. */
export function tcClient(base, { token, cookie, path = "/ws1/" } = {}) {
  const url = wsUrl(base, token ? `${path}?token=${encodeURIComponent(token)}` : path);
  const ws = new WebSocket(url, { headers: cookie ? { cookie } : {} });
  const log = [];
  const waiters = [];
  let closeInfo = null;
  const closeWaiters = [];
  ws.on("message", (buf) => {
    const entry = { frame: JSON.parse(buf.toString()), consumed: false };
    log.push(entry);
    const w = waiters.shift();
    if (w) {
      entry.consumed = true;
      w(entry.frame);
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
    send(frame) {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    },
    next(timeoutMs = 3000) {
      const e = log.find((x) => !x.consumed);
      if (e) {
        e.consumed = true;
        return Promise.resolve(e.frame);
      }
      return new Promise((res, rej) => {
        const w = (f) => (clearTimeout(t), res(f));
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          rej(new Error(`testcore: no frame within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async expectNone(ms = 200) {
      await new Promise((r) => setTimeout(r, ms));
      const bad = log.filter((e) => !e.consumed);
      if (bad.length) throw new Error(`testcore: unexpected ${bad.map((e) => JSON.stringify(e.frame)).join("; ")}`);
    },
    closed(timeoutMs = 3000) {
      if (closeInfo) return Promise.resolve(closeInfo);
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error("testcore: not closed in time")), timeoutMs);
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
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(client));
    ws.once("error", reject);
  });
}

export function closeAllClients() {
  for (const c of open) c.close();
}

/**
 * Sends a client's first frame in a room and resolves once the server stored it:
 * a connection joins the live feed before its message is stored, so from then on
 * it receives the room's frames. (Bounded polling of the REST history.)
 */
export async function join(base, client, user, frame, timeoutMs = 3000) {
  client.send(frame);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(base, "GET", `/ChatQuery/${frame.roomName}`, user);
    const ids = (r.json?.data?.[0]?.messages ?? []).map((m) => m.MessageId);
    if (ids.includes(frame.MessageId)) return;
    if (Date.now() > deadline) throw new Error(`testcore: ${frame.MessageId} not stored in time`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

export const msg = (typeOfMessage, roomName, MessageId, content, userId) => ({
  MessageId,
  roomName,
  content,
  typeOfMessage,
  userId,
});

// testcore end-to-end helpers: REST under /api/v1 with fetch, the relay's
// WebSocket URL and credentials (the clients are ws-helpers.mjs's; relayed frames
// carry no `type`, so `next()` awaits the next unconsumed frame of any kind), and
// the frame shape.

import { request, rand } from "./helpers.mjs";
import { openSocket, wsUrl } from "./ws-helpers.mjs";

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

/** A relay client; resolves once open. `token` goes in `?token=`; `cookie` as a header. */
export function tcClient(base, { token, cookie, path = "/ws1/" } = {}) {
  const url = wsUrl(base, token ? `${path}?token=${encodeURIComponent(token)}` : path);
  return openSocket(url, { headers: cookie ? { cookie } : {} });
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

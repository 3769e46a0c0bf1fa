// The authorization matrix: every profile's handshake and protected routes tried
// with no token, alg:none, a wrong key, an expired token (validly signed: the suite
// sets the secrets), a refresh token as access, a revoked token, another profile's
// token, and as a non-member, non-admin, member of another organization, or with a
// spoofed userId. Each try is "refused", "accepted" (a failure) or "error" (5xx).

import { createHmac } from "node:crypto";
import { WebSocket, io } from "./deps.mjs";
import { sleep } from "./server.mjs";

export const SECRETS = {
  JWT_ACCESS_SECRET: "reliability-access-secret-0123456789abcdef",
  JWT_REFRESH_SECRET: "reliability-refresh-secret-0123456789abcdef",
  API_TOKEN_SECRET: "reliability-api-token-secret-0123456789abcdef",
};

const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const parts = (jwt) => jwt.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));

function sign(header, payload, key) {
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", key).update(head).digest("base64url")}`;
}

/** Forgeries of a real token: alg none, wrong key, expired (signed with `key`). */
export function forgeries(jwt, key) {
  const [header, payload] = parts(jwt);
  const now = Math.floor(Date.now() / 1000);
  return {
    "alg:none": `${b64({ ...header, alg: "none" })}.${b64(payload)}.`,
    "wrong key": sign(header, payload, "not-the-key-" + key),
    expired: sign(header, { ...payload, iat: now - 7200, exp: now - 3600 }, key),
  };
}

const refusedStatus = (s) => s === 400 || s === 401 || s === 403 || s === 404 || s === 409 || s === 422;

async function rest(base, method, path, { token, cookie, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  try {
    const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: "manual", signal: AbortSignal.timeout(10000) });
    const text = await r.text();
    if (r.status >= 500) return { verdict: "error", detail: `${r.status}` };
    if (r.status >= 200 && r.status < 300) return { verdict: "accepted", detail: `${r.status} ${text.slice(0, 80)}` };
    return { verdict: refusedStatus(r.status) || r.status === 429 ? "refused" : "accepted", detail: `${r.status}` };
  } catch (e) {
    return { verdict: "error", detail: `no answer ${e.cause?.code ?? e.name}` };
  }
}

/** A raw WebSocket upgrade: refused when the upgrade fails or the socket is closed within `holdMs`. */
function wsTry(url, { headers = {}, send, acceptedWhen, holdMs = 600 } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    let done = false;
    const finish = (verdict, detail) => {
      if (done) return;
      done = true;
      try {
        ws.terminate();
      } catch {}
      resolve({ verdict, detail });
    };
    ws.on("error", () => finish("refused", "error"));
    ws.once("unexpected-response", (_q, res) => {
      res.resume();
      finish(res.statusCode >= 500 ? "error" : "refused", `upgrade ${res.statusCode}`);
    });
    ws.on("close", (code) => finish(code === 1011 ? "error" : "refused", `close ${code}`));
    ws.on("message", (buf) => {
      const text = buf.toString();
      if (acceptedWhen?.(text)) finish("accepted", text.slice(0, 100));
      else if (/"type":"error"|error/i.test(text) && send) finish("refused", text.slice(0, 100));
    });
    ws.once("open", () => {
      if (send) for (const f of [].concat(send)) ws.send(JSON.stringify(f));
      setTimeout(() => finish(send ? "refused" : "accepted", send ? "no effect" : "open"), holdMs);
    });
    setTimeout(() => finish("error", "timeout"), 8000);
  });
}

/** A Socket.IO client: `steps(socket)` resolves with the verdict. */
function sioTry(base, opts, steps) {
  return new Promise((resolve) => {
    const s = io(base, { forceNew: true, reconnection: false, transports: ["websocket"], timeout: 5000, ...opts });
    let done = false;
    const finish = (verdict, detail) => {
      if (done) return;
      done = true;
      s.close();
      resolve({ verdict, detail });
    };
    s.on("connect_error", (e) => finish("refused", `connect_error ${e.message}`));
    s.on("disconnect", (r) => finish("refused", `disconnect ${r}`));
    s.on("connect", () => steps(s, finish));
    setTimeout(() => finish("error", "timeout"), 8000);
  });
}

/** expresschat: a socket with `cookie`; accepted when it is greeted as a user (`user-id`). */
const expressSocket = (base, cookie) =>
  sioTry(base, cookie ? { extraHeaders: { cookie } } : {}, (s, finish) => {
    s.on("user-id", (u) => finish("accepted", `user-id ${JSON.stringify(u)}`));
    s.on("auth-failure", () => finish("refused", "auth-failure"));
    setTimeout(() => finish("refused", "no greeting"), 1500);
  });

/** expresschat: `user` emits `event`; accepted when `okEvent` answers, refused on `failEvent` or silence. */
const expressEvent = (base, cookie, event, data, okEvent, failEvent) =>
  sioTry(base, { extraHeaders: { cookie } }, (s, finish) => {
    s.on(okEvent, (d) => finish("accepted", `${okEvent} ${JSON.stringify(d).slice(0, 80)}`));
    if (failEvent) s.on(failEvent, () => finish("refused", failEvent));
    s.once("group-chat-list", () => {
      s.emit(event, data);
      setTimeout(() => finish("refused", "silence"), 1500);
    });
  });

const callsJoin = (base, join) =>
  sioTry(base, {}, (s, finish) => {
    s.on("connected", (d) => finish("accepted", `connected ${JSON.stringify(d)}`));
    s.on("error", (e) => finish("refused", `error ${JSON.stringify(e).slice(0, 80)}`));
    s.emit("join", join);
    setTimeout(() => finish("refused", "silence"), 1500);
  });

const orgSio = (base, token) =>
  sioTry(base, token ? { auth: { token } } : {}, (s, finish) => {
    // accepted only if it may act: a join of its own organization's room would be answered
    finish("accepted", "connected");
  });

/** Every try: [{profile, case, target, run}] */
export function matrix(urls, fx) {
  const T = [];
  const add = (profile, kase, target, run) => T.push({ profile, case: kase, target, run });
  const A = SECRETS.JWT_ACCESS_SECRET;
  const ex = fx.expresschat, c = fx.calls, o = fx.orgchat, s = fx.chatsphere, tc = fx.testcore;
  const wsb = (p) => urls[p].replace(/^http/, "ws");

  // ---- token cases, per profile, on its handshake and a protected route
  const tokenCases = (profile, good, refresh, tries) => {
    const f = forgeries(good, A);
    const cases = { "no token": "", ...f, "refresh as access": refresh };
    for (const [kase, tok] of Object.entries(cases)) if (tok !== undefined) for (const [target, run] of tries) add(profile, kase, target, () => run(tok));
  };
  const exCookie = (t) => (t ? `access_token=${t}` : "");
  tokenCases("expresschat", ex.a.accessToken, ex.a.refreshToken, [
    ["socket handshake (cookie)", (t) => expressSocket(urls.expresschat, exCookie(t))],
    ["socket handshake (query)", (t) => sioTry(urls.expresschat, { query: { token: t } }, (sk, fin) => {
      sk.on("user-id", () => fin("accepted", "user-id"));
      setTimeout(() => fin("refused", "no greeting"), 1500);
    })],
  ]);
  tokenCases("calls", c.a.token, undefined, [
    ["join", (t) => callsJoin(urls.calls, { userId: c.a.id, token: t })],
    ["GET /api/messages", (t) => rest(urls.calls, "GET", `/api/messages?with=${c.b.id}`, { token: t })],
    ["POST /api/messages", (t) => rest(urls.calls, "POST", "/api/messages", { token: t, body: { receiverId: c.b.id, content: "x" } })],
    ["GET /api/calls", (t) => rest(urls.calls, "GET", "/api/calls", { token: t })],
  ]);
  tokenCases("orgchat", o.a.accessToken, o.a.refreshToken, [
    ["raw handshake", (t) => wsTry(`${wsb("orgchat")}/?token=${encodeURIComponent(t)}`)],
    ["Socket.IO handshake", (t) => orgSio(urls.orgchat, t)],
    ["GET /api/chat", (t) => rest(urls.orgchat, "GET", "/api/chat", { token: t })],
    ["POST /api/chat", (t) => rest(urls.orgchat, "POST", "/api/chat", { token: t, body: { name: "x" } })],
    ["GET /api/chat/:id/messages", (t) => rest(urls.orgchat, "GET", `/api/chat/${o.roomId}/messages`, { token: t })],
  ]);
  tokenCases("chatsphere", s.a.token, undefined, [
    ["raw handshake", (t) => wsTry(`${wsb("chatsphere")}/ws?token=${encodeURIComponent(t)}`)],
    ["GET /api/rooms", (t) => rest(urls.chatsphere, "GET", "/api/rooms", { token: t })],
    ["GET /api/rooms/:id/messages", (t) => rest(urls.chatsphere, "GET", `/api/rooms/${s.roomId}/messages`, { token: t })],
    ["POST /api/rooms/:id/messages", (t) => rest(urls.chatsphere, "POST", `/api/rooms/${s.roomId}/messages`, { token: t, body: { content: "x" } })],
    ["GET /api/auth/profile", (t) => rest(urls.chatsphere, "GET", "/api/auth/profile", { token: t })],
  ]);
  tokenCases("testcore", tc.a.token, undefined, [
    ["raw handshake", (t) => wsTry(`${wsb("testcore")}/ws1/?token=${encodeURIComponent(t)}`)],
    ["GET getChat", (t) => rest(urls.testcore, "GET", "/api/v1/chat/getChat", { token: t })],
    ["GET ChatQuery/:room", (t) => rest(urls.testcore, "GET", `/api/v1/chat/ChatQuery/${tc.roomName}`, { token: t })],
    ["POST createChat", (t) => rest(urls.testcore, "POST", "/api/v1/chat/createChat", { token: t, body: { roomName: "x" } })],
  ]);

  // ---- revoked
  add("chatsphere", "revoked", "GET /api/rooms (revoked API token)", async () => rest(urls.chatsphere, "GET", "/api/rooms", { token: fx.revoked.chatsphere }));
  add("chatsphere", "revoked", "raw handshake (revoked API token)", async () => wsTry(`${wsb("chatsphere")}/ws?token=${encodeURIComponent(fx.revoked.chatsphere)}`));
  add("orgchat", "revoked", "POST refresh-token (spent refresh token)", async () => rest(urls.orgchat, "POST", "/api/auth/refresh-token", { body: { refreshToken: fx.revoked.orgchatRefresh } }));
  add("expresschat", "revoked", "POST /update-access-token (refresh token after logout)", async () => rest(urls.expresschat, "POST", "/update-access-token", { cookie: fx.revoked.expressCookie }));

  // ---- non-member
  add("expresschat", "non-member", "fetch-group-chat", () => expressEvent(urls.expresschat, ex.outsider.cookie, "fetch-group-chat", { GroupId: ex.groupId, Limit: 5 }, "group-chat", "fetch-group-chat-fail"));
  add("expresschat", "non-member", "send-group-message", () => expressEvent(urls.expresschat, ex.outsider.cookie, "send-group-message", { GroupId: ex.groupId, Content: "x" }, "receive-group-message", "send-group-message-fail"));
  add("expresschat", "non-member", "fetch-personal-chat", () => expressEvent(urls.expresschat, ex.outsider.cookie, "fetch-personal-chat", { ChatId: ex.chatId, Partner: ex.b.name, Limit: 5 }, "personal-chat", "fetch-personal-chat-fail"));
  add("chatsphere", "non-member", "GET /api/rooms/:id/messages (private room)", async () => rest(urls.chatsphere, "GET", `/api/rooms/${s.roomId}/messages`, { token: s.outsider.token }));
  add("chatsphere", "non-member", "POST /api/rooms/:id/messages (private room)", async () => rest(urls.chatsphere, "POST", `/api/rooms/${s.roomId}/messages`, { token: s.outsider.token, body: { content: "x" } }));
  add("chatsphere", "non-member", "frame join (private room)", () => wsTry(`${wsb("chatsphere")}/ws?token=${encodeURIComponent(s.outsider.token)}`, { send: { type: "join", roomId: s.roomId }, acceptedWhen: (t) => /"type":"(history|joined|room_joined|messages)"/.test(t) }));
  add("calls", "non-member", "message:read of another pair's message", () =>
    sioTry(urls.calls, {}, (sk, finish) => {
      sk.on("connected", () => sk.emit("message:read", { messageId: fx.callsMessageId }, (ack) => finish(ack?.error ? "refused" : "accepted", JSON.stringify(ack).slice(0, 80))));
      sk.emit("join", { userId: c.outsider.id, token: c.outsider.token });
      setTimeout(() => finish("refused", "silence"), 2000);
    }));

  // ---- non-admin
  add("expresschat", "non-admin", "kickout", () => expressEvent(urls.expresschat, ex.b.cookie, "kickout", { GroupId: ex.groupId, Member: ex.a.id }, "kickout-success", "kickout-fail"));
  add("expresschat", "non-admin", "delete-grp", () => expressEvent(urls.expresschat, ex.b.cookie, "delete-grp", { GroupId: ex.groupId }, "delete-grp-success", "delete-grp-fail"));
  add("expresschat", "non-admin", "add-member", () => expressEvent(urls.expresschat, ex.b.cookie, "add-member", { GroupId: ex.groupId, Member: ex.outsider.id }, "add-member-success", "add-member-fail"));
  add("chatsphere", "non-admin", "POST /api/users (user token, client only)", async () => rest(urls.chatsphere, "POST", "/api/users", { token: s.b.token, body: { username: "x" } }));
  add("chatsphere", "non-admin", "DELETE /api/rooms/:id (not the owner)", async () => rest(urls.chatsphere, "DELETE", `/api/rooms/${s.roomId}`, { token: s.b.token }));
  add("chatsphere", "non-admin", "POST /api/tokens/client (user token)", async () => rest(urls.chatsphere, "POST", "/api/tokens/client", { token: s.b.token, body: { username: "x" } }));

  // ---- other organization
  add("orgchat", "other organization", "GET /api/chat/:id/messages", async () => rest(urls.orgchat, "GET", `/api/chat/${o.roomId}/messages`, { token: o.outsider.accessToken }));
  add("orgchat", "other organization", "raw joinRoom", () => wsTry(`${wsb("orgchat")}/?token=${encodeURIComponent(o.outsider.accessToken)}`, { send: { event: "joinRoom", data: { roomId: o.roomId } }, acceptedWhen: (t) => /"type":"notification"/.test(t) }));
  add("orgchat", "other organization", "raw sendMessage", () => wsTry(`${wsb("orgchat")}/?token=${encodeURIComponent(o.outsider.accessToken)}`, { send: { event: "sendMessage", data: { roomId: o.roomId, content: "x" } }, acceptedWhen: (t) => /"type":"newMessage"/.test(t) }));
  add("orgchat", "other organization", "POST /api/chat inviting another org's user", async () => {
    const r = await rest(urls.orgchat, "POST", "/api/chat", { token: o.outsider.accessToken, body: { name: "x", invitedUsers: [o.a.id] } });
    return r.verdict === "accepted" && !/invited|members/.test(r.detail) ? r : r; // any 2xx counts as accepted
  });

  // ---- spoofed userId
  add("calls", "spoofed userId", "join (another's userId, own token)", () => callsJoin(urls.calls, { userId: c.b.id, token: c.a.token }).then((r) => (r.verdict === "accepted" && r.detail.includes(`"userId":${c.b.id}`) ? r : { ...r, verdict: r.verdict === "accepted" ? "refused" : r.verdict })));
  add("orgchat", "spoofed userId", "raw sendMessage", () => wsTry(`${wsb("orgchat")}/?token=${encodeURIComponent(o.a.accessToken)}`, { send: { event: "sendMessage", data: { roomId: o.roomId, content: "x", userId: o.b.id } }, acceptedWhen: (t) => /"type":"newMessage"/.test(t) }));
  add("chatsphere", "spoofed userId", "frame message", () => wsTry(`${wsb("chatsphere")}/ws?token=${encodeURIComponent(s.a.token)}`, { send: [{ type: "join", roomId: s.roomId }, { type: "message", roomId: s.roomId, content: "x", userId: s.b.id }], acceptedWhen: (t) => /"type":"(message|new_message)"/.test(t) }));
  add("testcore", "spoofed userId", "SEND_MESSAGE", () => wsTry(`${wsb("testcore")}/ws1/?token=${encodeURIComponent(tc.a.token)}`, { send: { MessageId: `spoof${Date.now()}`, roomName: tc.roomName, content: "x", typeOfMessage: "SEND_MESSAGE", userId: tc.b.id }, acceptedWhen: (t) => t.includes("spoof") }));

  // ---- another profile's space (defect 2). The rule (README, "Account spaces"):
  // orgchat is the organization space; expresschat, calls, chatsphere and testcore
  // share one space, whose accounts and JWTs legitimately work on each other's
  // listeners. So only pairs across the two spaces are tried here (every ordered
  // pair is covered, with its exact answers, by tests/e2e/spaces.test.mjs).
  const SPACE = { orgchat: "organization" };
  const crosses = (from, to) => (SPACE[from] ?? "shared") !== (SPACE[to] ?? "shared");
  const spaces = {
    expresschat: { token: ex.a.accessToken, email: ex.a.email, password: ex.a.password },
    calls: { token: c.a.token, email: c.a.email, password: c.a.password },
    orgchat: { token: o.a.accessToken, email: o.a.email, password: o.a.password, refresh: o.a.refreshToken },
    chatsphere: { token: s.a.token },
    testcore: { token: tc.a.token, email: tc.a.email, password: "password123" },
  };
  for (const [from, cred] of Object.entries(spaces)) {
    const tok = cred.token;
    if (crosses(from, "expresschat")) {
      add("expresschat", "other profile's space", `socket with ${from}'s token (cookie)`, () => expressSocket(urls.expresschat, `access_token=${tok}`));
      add("expresschat", "other profile's space", `POST /update-access-token with ${from}'s token`, () => rest(urls.expresschat, "POST", "/update-access-token", { cookie: `access_token=${tok}; refresh_token=${cred.refresh ?? tok}` }));
      if (cred.email) add("expresschat", "other profile's space", `POST /login with a ${from} account`, () => rest(urls.expresschat, "POST", "/login", { body: { email: cred.email, password: cred.password } }).then((r) => (r.verdict === "accepted" && !/"success":1/.test(r.detail) ? { ...r, verdict: "refused" } : r)));
    }
    if (crosses(from, "calls")) add("calls", "other profile's space", `GET /api/messages with ${from}'s token`, () => rest(urls.calls, "GET", "/api/messages", { token: tok }));
    if (crosses(from, "orgchat")) {
      add("orgchat", "other profile's space", `GET /api/chat with ${from}'s token`, () => rest(urls.orgchat, "GET", "/api/chat", { token: tok }));
      add("orgchat", "other profile's space", `raw handshake with ${from}'s token`, () => wsTry(`${wsb("orgchat")}/?token=${encodeURIComponent(tok)}`));
    }
    if (crosses(from, "chatsphere")) add("chatsphere", "other profile's space", `GET /api/rooms with ${from}'s token`, () => rest(urls.chatsphere, "GET", "/api/rooms", { token: tok }));
    if (crosses(from, "testcore")) add("testcore", "other profile's space", `GET getChat with ${from}'s token`, () => rest(urls.testcore, "GET", "/api/v1/chat/getChat", { token: tok }));
  }
  add("orgchat", "other profile's space", "POST refresh-token with expresschat's refresh token", () => rest(urls.orgchat, "POST", "/api/auth/refresh-token", { body: { refreshToken: ex.b.refreshToken } }));
  return T;
}

/** Tokens revoked before the matrix: a chatsphere API token, a spent orgchat refresh token, an expresschat session logged out. */
export async function prepareRevoked(urls, fx) {
  const s = fx.chatsphere;
  const r = await fetch(`${urls.chatsphere}/api/tokens/user`, { method: "POST", headers: { authorization: `Bearer ${s.clientToken}`, "content-type": "application/json" }, body: JSON.stringify({ userId: s.b.id }) });
  const issued = await r.json();
  const rv = await fetch(`${urls.chatsphere}/api/tokens/${issued.id}`, { method: "DELETE", headers: { authorization: `Bearer ${s.clientToken}` } });
  await rv.text();
  // orgchat: spend a refresh token once (rotation), keep the spent one
  const o = fx.orgchat;
  const login = await fetch(`${urls.orgchat}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: o.b.email, password: o.b.password }) }).then((x) => x.json());
  const spent = login.refreshToken;
  await fetch(`${urls.orgchat}/api/auth/refresh-token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken: spent }) }).then((x) => x.text());
  // expresschat: log a fresh session in, then out; keep its cookies
  const ex = fx.expresschat;
  const l = await fetch(`${urls.expresschat}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: ex.b.email, password: ex.b.password }) });
  await l.text();
  const jar = l.headers.getSetCookie().map((x) => x.split(";")[0]).join("; ");
  await fetch(`${urls.expresschat}/logout`, { method: "POST", headers: { cookie: jar, "content-type": "application/json" }, body: "{}" }).then((x) => x.text());
  // calls: a message between a and b, for the non-member read
  const m = await fetch(`${urls.calls}/api/messages`, { method: "POST", headers: { authorization: `Bearer ${fx.calls.a.token}`, "content-type": "application/json" }, body: JSON.stringify({ receiverId: fx.calls.b.id, content: "private" }) }).then((x) => x.json());
  fx.callsMessageId = m?.message?.id ?? m?.id ?? m?.data?.id;
  fx.revoked = { chatsphere: issued.token, orgchatRefresh: spent, expressCookie: jar };
}

export async function runAuthz(server, fx, { log = () => {} } = {}) {
  await prepareRevoked(server.urls, fx);
  const rows = [];
  for (const t of matrix(server.urls, fx)) {
    let res;
    try {
      res = await t.run();
    } catch (e) {
      res = { verdict: "error", detail: String(e.message ?? e) };
    }
    rows.push({ profile: t.profile, case: t.case, target: t.target, ...res });
    if (res.verdict !== "refused") log(`  ${res.verdict.toUpperCase()}: ${t.profile} / ${t.case} / ${t.target}: ${res.detail}`);
    await sleep(5);
  }
  return rows;
}

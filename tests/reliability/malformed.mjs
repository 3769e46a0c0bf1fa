// Malformed input on every event and route of every profile: wrong types, missing
// fields, huge strings, deep nesting, binary, invalid UTF-8 and oversized frames on
// raw WebSockets, garbage Engine.IO, bad paths, queries and bodies on REST. Each
// target gets `perTarget` payloads from a seeded generator (the same run twice sends
// the same bytes). Counted per target: 5xx, answers outside the profile's error
// channel (REST: an error status whose body is not a JSON object, or a connection
// reset before an answer; raw WebSocket: a frame that is not JSON or a close without
// a status / 1011), and, for the whole phase, panics in the log and crashes.

import { WebSocket, io } from "./deps.mjs";
import { sleep } from "./server.mjs";

// ------------------------------------------------------------ payload generator

export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
  return r;
}

const WRONG = [null, 0, -1, 1.5, 2 ** 53 + 1, 1e308, -1e308, "", "x", "0", "-1", "1e99", "NaN", true, false, [], [1, 2], {}, { $gt: "" }, [[]], "' OR 1=1 --", "../../etc/passwd", "<script>alert(1)</script>", "\u0000", "\ud800", "😀".repeat(50), "%ff%fe", "9".repeat(400)];

function deep(depth, r) {
  let v = r.next() < 0.5 ? 1 : "x";
  const arr = r.next() < 0.5;
  for (let i = 0; i < depth; i++) v = arr ? [v] : { a: v };
  return v;
}

function randomValue(r, depth = 0) {
  const k = r.int(depth > 3 ? 5 : 8);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.int(2 ** 31) - 2 ** 30;
    case 2:
      return r.next() < 0.5;
    case 3:
      return r.pick(WRONG);
    case 4:
      return Array.from({ length: r.int(12) }, () => String.fromCharCode(r.int(0xd7ff) + 1)).join("");
    case 5: {
      const o = {};
      for (let i = r.int(4); i > 0; i--) o[r.pick(["a", "id", "userId", "roomId", "type", "__proto__", "constructor"])] = randomValue(r, depth + 1);
      return o;
    }
    default:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
  }
}

export const HUGE_SIZES = [20_000, 70_000, 300_000]; // the last is over MAX_FRAME_BYTES (262144)

/**
 * One malformed version of `template` (an object). `binaryOk`: Buffers may appear
 * (Socket.IO binary attachments). Returns the value to send.
 */
export function mutate(template, r, { binaryOk = false } = {}) {
  const keys = Object.keys(template);
  const fam = r.int(8);
  const copy = () => JSON.parse(JSON.stringify(template));
  const field = keys.length ? r.pick(keys) : "x";
  switch (fam) {
    case 0: // not an object at all
      return r.pick([null, 0, -1, "", "text", true, [], [template], 1e308, "😀"]);
    case 1: {
      // fields missing
      const o = copy();
      if (r.next() < 0.3) return {};
      delete o[field];
      return o;
    }
    case 2: {
      const o = copy();
      o[field] = r.pick(WRONG);
      return o;
    }
    case 3: {
      const o = copy();
      o[field] = "a".repeat(r.pick(HUGE_SIZES) + r.int(100));
      return o;
    }
    case 4: {
      const o = copy();
      o[field] = deep(r.pick([64, 129, 500, 2000]), r);
      return o;
    }
    case 5: {
      const o = copy();
      if (binaryOk) o[field] = Buffer.from(Array.from({ length: r.int(2000) + 1 }, () => r.int(256)));
      else o[field] = randomValue(r);
      return o;
    }
    case 6: {
      const o = copy();
      for (let i = r.int(6) + 1; i > 0; i--) o[`k${r.int(1000)}`] = randomValue(r);
      return o;
    }
    default:
      return randomValue(r);
  }
}

// ------------------------------------------------------------ targets

const BOGUS = 987654321;

/** Every event and route of every profile, with a template payload built from the fixtures. */
export function targets(fx) {
  const ex = fx.expresschat;
  const t = [];
  const sio = (profile, name, template, conn) => t.push({ profile, kind: "sio", name, template, conn });
  const raw = (profile, name, template, conn) => t.push({ profile, kind: "raw", name, template, conn });
  const rest = (profile, method, path, { body, query, auth, params } = {}) => t.push({ profile, kind: "rest", name: `${method} ${path}`, method, path, body, query, auth, params });

  // expresschat: Socket.IO events (cookie auth) and REST
  const G = { GroupId: BOGUS };
  for (const [name, tpl] of [
    ["fetch-user-details", {}],
    ["search-user", { Name: "rel", Kind: "user" }],
    ["check-chat", { Receiver: ex.b.id }],
    ["create-personal-chat", { Receiver: ex.b.id, Partner: ex.b.name, UserName: ex.a.name }],
    ["send-personal-message", { ChatId: ex.chatId, Content: "hi" }],
    ["read-personal-message", { ChatId: ex.chatId }],
    ["fetch-personal-chat", { ChatId: ex.chatId, Partner: ex.b.name, After: "m1", Limit: 5 }],
    ["send-self-message", { Content: "hi" }],
    ["fetch-self-chat", { After: "m1", Limit: 5 }],
    ["create-group-chat", { Name: "g", Description: "", Participants: [ex.b.id] }],
    ["send-group-message", { GroupId: ex.groupId, Content: "hi" }],
    ["read-group-message", { GroupId: ex.groupId }],
    ["fetch-group-chat", { GroupId: ex.groupId, After: "m1", Limit: 5 }],
    ["add-member", { ...G, Member: ex.outsider.id }],
    ["kickout", { ...G, Member: ex.b.id }],
    ["change-admin", { ...G, Member: ex.b.id }],
    ["leave-grp", G],
    ["delete-grp", G],
  ])
    sio("expresschat", name, tpl, "cookie");
  rest("expresschat", "POST", "/signup", { body: { name: "n", email: "e@x.test", password: "password1" } });
  rest("expresschat", "POST", "/login", { body: { email: ex.a.email, password: "wrong-password" } });
  rest("expresschat", "GET", "/verify", { query: { token: "x", email: ex.a.email } });
  rest("expresschat", "POST", "/logout", { body: {}, auth: "cookie" });
  rest("expresschat", "POST", "/resend", { body: { email: "nobody@x.test" } });
  rest("expresschat", "POST", "/update-access-token", { body: {}, auth: "cookie-refresh" });

  // calls: Socket.IO events after `join`, and REST
  const c = fx.calls;
  sio("calls", "join", { userId: c.a.id, token: c.a.token }, "none");
  for (const [name, tpl] of [
    ["message", { receiverId: c.b.id, content: "hi" }],
    ["message:read", { messageId: 1 }],
    ["typing:start", { receiverId: c.b.id }],
    ["typing:stop", { receiverId: c.b.id }],
    ["call:initiate", { receiverId: BOGUS, type: "video" }],
    ["call:respond", { callId: BOGUS, accept: true }],
    ["call:end", { callId: BOGUS }],
  ])
    sio("calls", name, tpl, "join");
  rest("calls", "POST", "/api/auth/login", { body: { email: c.a.email, password: "wrong-password" } });
  rest("calls", "POST", "/api/auth/register", { body: { name: "n", email: "e@x.test", password: "password1" } });
  rest("calls", "GET", "/api/messages", { query: { with: String(c.b.id), after: "1", limit: "5" }, auth: c.a.token });
  rest("calls", "POST", "/api/messages", { body: { receiverId: c.b.id, content: "hi" }, auth: c.a.token });
  rest("calls", "GET", "/api/calls", { query: { limit: "5" }, auth: c.a.token });

  // orgchat: the same events on raw WebSocket and Socket.IO, and REST
  const o = fx.orgchat;
  const oEvents = [
    ["joinRoom", { roomId: o.roomId }],
    ["leaveRoom", { roomId: BOGUS }],
    ["sendMessage", { roomId: o.roomId, content: "hi" }],
    ["newChatRoom", { roomName: "r", invitedUsers: [o.b.id] }],
    ["typing", { roomId: o.roomId }],
    ["stopTyping", { roomId: o.roomId }],
    ["reactMessage", { messageId: BOGUS, reaction: "+1" }],
    ["readMessage", { messageId: BOGUS, roomId: o.roomId }],
    ["deleteMessage", { messageId: BOGUS }],
  ];
  for (const [name, tpl] of oEvents) raw("orgchat", name, tpl, "orgchat");
  for (const [name, tpl] of oEvents) sio("orgchat", name, tpl, "auth");
  rest("orgchat", "POST", "/api/auth/register", { body: { username: "u", email: "e@x.test", password: "password1", organizationName: "o", role: "user" } });
  rest("orgchat", "POST", "/api/auth/login", { body: { email: o.a.email, password: "wrong-password" } });
  rest("orgchat", "POST", "/api/auth/refresh-token", { body: { refreshToken: "x.y.z" } });
  rest("orgchat", "POST", "/api/chat", { body: { name: "r", invitedUsers: [o.b.id] }, auth: o.a.accessToken });
  rest("orgchat", "GET", "/api/chat", { query: { page: "1", pageSize: "10" }, auth: o.a.accessToken });
  rest("orgchat", "GET", "/api/chat/:id/messages", { params: { id: o.roomId }, query: { after: "1", limit: "5" }, auth: o.a.accessToken });

  // chatsphere: frames and REST
  const s = fx.chatsphere;
  for (const [name, tpl] of [
    ["join", { type: "join", roomId: s.roomId, after: 1, limit: 5 }],
    ["join_room", { type: "join_room", roomId: s.roomId, userId: s.a.id }],
    ["leave_room", { type: "leave_room", roomId: BOGUS }],
    ["message", { type: "message", roomId: s.roomId, content: "hi" }],
    ["new_message", { type: "new_message", roomId: s.roomId, content: "hi", userId: s.a.id }],
  ])
    raw("chatsphere", name, tpl, "chatsphere");
  const st = s.a.token;
  rest("chatsphere", "GET", "/api/health", {});
  rest("chatsphere", "GET", "/api/auth/profile", { auth: st });
  rest("chatsphere", "PUT", "/api/auth/profile", { body: { username: `ra-x` }, auth: st });
  rest("chatsphere", "GET", "/api/users", { auth: s.clientToken });
  rest("chatsphere", "POST", "/api/users", { body: { username: "u" }, auth: s.clientToken });
  rest("chatsphere", "POST", "/api/tokens/user", { body: { userId: s.b.id }, auth: s.clientToken });
  rest("chatsphere", "POST", "/api/tokens/client", { body: { username: "c" }, auth: s.clientToken });
  rest("chatsphere", "DELETE", "/api/tokens/:id", { params: { id: BOGUS }, auth: s.clientToken });
  rest("chatsphere", "PUT", "/api/tokens/:id/revoke", { params: { id: BOGUS }, body: {}, auth: s.clientToken });
  rest("chatsphere", "GET", "/api/rooms", { auth: st });
  rest("chatsphere", "POST", "/api/rooms", { body: { name: "r", isPrivate: false }, auth: st });
  rest("chatsphere", "GET", "/api/rooms/:id", { params: { id: s.roomId }, auth: st });
  rest("chatsphere", "DELETE", "/api/rooms/:id", { params: { id: BOGUS }, auth: st });
  rest("chatsphere", "POST", "/api/rooms/:id/users", { params: { id: BOGUS }, body: { userId: s.b.id }, auth: st });
  rest("chatsphere", "GET", "/api/rooms/:id/messages", { params: { id: s.roomId }, query: { after: "1", limit: "5" }, auth: st });
  rest("chatsphere", "POST", "/api/rooms/:id/messages", { params: { id: s.roomId }, body: { content: "hi" }, auth: st });
  rest("chatsphere", "GET", "/api/messages", { auth: st });
  rest("chatsphere", "GET", "/api/messages/user", { auth: st });
  rest("chatsphere", "GET", "/api/users/:id/messages", { params: { id: s.b.id }, auth: st });

  // testcore: frames (each refusal closes with 4000) and REST
  const tc = fx.testcore;
  for (const kind of ["SEND_MESSAGE", "MODIFI_MESSAGE", "DELETE_MESSAGE", "LEAVE_ROOM"])
    raw("testcore", kind, { MessageId: `m${BOGUS}`, roomName: kind === "LEAVE_ROOM" ? "nosuchroom" : tc.roomName, content: "hi", typeOfMessage: kind, userId: tc.a.id }, "testcore");
  const tt = tc.a.token;
  rest("testcore", "GET", "/api/v1/user/signup", {});
  rest("testcore", "POST", "/api/v1/user/signup", { body: { name: "n", email: "e@x.test", password: "password1", phoneNumber: "1", address: "a", role: "student", age: 20, collegeID: "c" } });
  rest("testcore", "POST", "/api/v1/user/register", { body: { name: "n", email: "e@x.test", password: "password1" } });
  rest("testcore", "POST", "/api/v1/user/login", { body: { role: "student", email: tc.a.email, password: "wrong-password" } });
  rest("testcore", "POST", "/api/v1/chat/createChat", { body: { roomName: "r" }, auth: tt });
  rest("testcore", "GET", "/api/v1/chat/getChat", { auth: tt });
  rest("testcore", "GET", "/api/v1/chat/ChatQuery/:room", { params: { room: tc.roomName }, query: { after: "1", limit: "5" }, auth: tt });
  rest("testcore", "POST", "/api/v1/chat/ChatQuery/:room", { params: { room: "nosuchroom" }, auth: tt });
  rest("testcore", "PUT", "/api/v1/chat/ChatQuery/:room", { params: { room: "nosuchroom" }, auth: tt });
  rest("testcore", "POST", "/api/v1/chat/connectChat/:room", { params: { room: tc.roomName }, auth: tt });

  // garbage Engine.IO on each Socket.IO listener, oversized frames on each raw one
  for (const p of ["expresschat", "calls", "orgchat"]) t.push({ profile: p, kind: "eio", name: "engine.io garbage" });
  for (const p of ["orgchat", "chatsphere", "testcore"]) t.push({ profile: p, kind: "wsbytes", name: "raw frames (invalid UTF-8, binary, oversized, not JSON)" });
  return t;
}

// ------------------------------------------------------------ runners

function newCounts() {
  return { sent: 0, status5xx: 0, outside: 0, resets: 0, closes: 0, answers: 0, examples: [] };
}

function note(c, what) {
  if (c.examples.length < 3) c.examples.push(what.slice(0, 160));
}

const ABNORMAL_CLOSE = new Set([1005, 1006, 1011]);

/** Raw WebSocket URL and upgrade headers for a profile's authenticated connection. */
function wsTarget(urls, fx, profile) {
  const base = urls[profile].replace(/^http/, "ws");
  if (profile === "orgchat") return `${base}/?token=${encodeURIComponent(fx.orgchat.a.accessToken)}`;
  if (profile === "chatsphere") return `${base}/ws?token=${encodeURIComponent(fx.chatsphere.a.token)}`;
  return `${base}/ws1/?token=${encodeURIComponent(fx.testcore.a.token)}`;
}

/** A raw connection that counts what it receives into `c`; resolves once open (or null). */
function openCounted(url, c, profile) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    let last = Date.now();
    ws.lastFrameAt = () => last;
    ws.on("message", (buf, isBinary) => {
      last = Date.now();
      c.answers++;
      if (isBinary) {
        c.outside++;
        note(c, `binary answer`);
        return;
      }
      try {
        const v = JSON.parse(buf.toString());
        if (profile !== "testcore" && v?.type === undefined && v?.event === undefined) {
          c.outside++;
          note(c, `frame without type: ${buf.toString()}`);
        }
      } catch {
        c.outside++;
        note(c, `not JSON: ${buf.toString()}`);
      }
    });
    ws.on("close", (code) => {
      if (ws.ours) return;
      c.closes++;
      if (ABNORMAL_CLOSE.has(code)) {
        c.outside++;
        note(c, `close ${code}`);
      }
    });
    ws.on("error", () => {});
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_q, res) => {
      res.resume();
      if (res.statusCode >= 500) c.status5xx++;
      resolve(null);
    });
    setTimeout(() => resolve(null), 5000);
  });
}

/** Waits until `lastAt()` is `quietMs` old (at most `maxMs`). */
async function quiet(lastAt, quietMs = 120, maxMs = 3000) {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    if (Date.now() - lastAt() >= quietMs) return;
    await sleep(Math.min(quietMs, 50));
  }
}

const BATCH = 100;
// Between batches: the server has answered everything once it is silent this long
// (the answers of a batch come within a few ms on loopback; 120 ms made the quiet
// waits most of the phase's time, and 10k payloads per target did not fit a run).
const BATCH_QUIET_MS = 50;

async function runRaw(urls, fx, t, n, r) {
  const c = newCounts();
  const url = wsTarget(urls, fx, t.profile);
  let ws = null;
  for (let i = 0; i < n; ) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      ws = await openCounted(url, c, t.profile);
      if (!ws) {
        await sleep(100);
        i++;
        continue;
      }
      if (t.profile === "chatsphere" && t.name !== "join" && t.name !== "join_room") ws.send(JSON.stringify({ type: "join", roomId: fx.chatsphere.roomId }));
    }
    const end = Math.min(n, i + BATCH);
    for (; i < end && ws.readyState === WebSocket.OPEN; i++) {
      let v = mutate(t.template, r);
      let frame;
      if (t.profile === "orgchat") frame = r.next() < 0.15 ? v : { event: t.name, data: v };
      else if (v && typeof v === "object" && !Array.isArray(v) && r.next() < 0.85) frame = { ...v, [t.profile === "testcore" ? "typeOfMessage" : "type"]: t.name };
      else frame = v;
      let text;
      try {
        text = JSON.stringify(frame);
      } catch {
        text = "{";
      }
      ws.send(text ?? "null");
      c.sent++;
    }
    await quiet(ws.lastFrameAt, BATCH_QUIET_MS);
  }
  if (ws) {
    ws.ours = true;
    ws.terminate();
  }
  return c;
}

/** Invalid UTF-8, binary, oversized and non-JSON frames; each may close the connection. */
async function runWsBytes(urls, fx, t, n, r) {
  const c = newCounts();
  const url = wsTarget(urls, fx, t.profile);
  let ws = null;
  for (let i = 0; i < n; i++) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      ws = await openCounted(url, c, t.profile);
      if (!ws) continue;
    }
    const k = r.int(6);
    if (k === 0) ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    else if (k === 1) ws.send(Buffer.from(Array.from({ length: r.int(64) + 2 }, () => 0x80 + r.int(64))), { binary: false });
    else if (k === 2) ws.send(Buffer.from(Array.from({ length: r.int(3000) + 1 }, () => r.int(256))), { binary: true });
    else if (k === 3 && r.next() < 0.2) ws.send("x".repeat(300_000 + r.int(1000))); // over MAX_FRAME_BYTES
    else if (k === 4) ws.send("{".repeat(r.int(5000) + 1));
    else ws.send(String.fromCharCode(...Array.from({ length: r.int(50) + 1 }, () => r.int(0xd7ff) + 1)));
    c.sent++;
    if (i % 50 === 49) await quiet(ws.lastFrameAt, 80, 1000);
  }
  if (ws) {
    ws.ours = true;
    ws.terminate();
  }
  return c;
}

/** A Socket.IO client of the profile, authenticated as its fixtures' `a`. */
async function sioConnect(urls, fx, t, c) {
  const base = urls[t.profile];
  const opts = { forceNew: true, reconnection: false, transports: ["websocket"], timeout: 5000 };
  if (t.conn === "cookie") opts.extraHeaders = { cookie: fx.expresschat.a.cookie };
  if (t.conn === "auth") opts.auth = { token: fx.orgchat.a.accessToken };
  const s = io(base, opts);
  let last = Date.now();
  s.lastAt = () => last;
  s.onAny((event, ...args) => {
    last = Date.now();
    c.answers++;
  });
  s.on("disconnect", (reason) => {
    if (reason !== "io client disconnect") c.closes++;
  });
  const ok = await new Promise((res) => {
    s.once("connect", () => res(true));
    s.once("connect_error", () => res(false));
    setTimeout(() => res(false), 6000);
  });
  if (!ok) {
    s.close();
    return null;
  }
  if (t.conn === "join") {
    const joined = new Promise((res) => {
      s.once("connected", () => res(true));
      setTimeout(() => res(false), 5000);
    });
    s.emit("join", { userId: fx.calls.a.id, token: fx.calls.a.token });
    await joined;
  }
  return s;
}

async function runSio(urls, fx, t, n, r) {
  const c = newCounts();
  let s = null;
  for (let i = 0; i < n; ) {
    if (!s || !s.connected) {
      s?.close();
      s = await sioConnect(urls, fx, t, c);
      if (!s) {
        i++;
        await sleep(100);
        continue;
      }
    }
    const end = Math.min(n, i + BATCH);
    for (; i < end && s.connected; i++) {
      const v = mutate(t.template, r, { binaryOk: true });
      try {
        if (r.next() < 0.1) s.emit(t.name);
        else if (r.next() < 0.1) s.emit(t.name, v, randomValue(r));
        else s.emit(t.name, v);
        c.sent++;
      } catch {
        // the client itself cannot encode it (too deep for its recursion)
      }
    }
    await quiet(s.lastAt, BATCH_QUIET_MS);
  }
  s?.close();
  return c;
}

/** Garbage Engine.IO packets over a raw WebSocket and over HTTP long-polling. */
async function runEio(urls, fx, t, n, r) {
  const c = newCounts();
  const base = urls[t.profile];
  const garbage = () =>
    r.pick([
      () => "9zz",
      () => "4",
      () => "42[",
      () => '42["x",' + "[".repeat(r.int(3000)),
      () => "40/nope,{",
      () => "2probe".repeat(r.int(100)),
      () => "4" + "x".repeat(300_000),
      () => "451-" + JSON.stringify(["message", { _placeholder: true, num: r.int(99) }]),
      () => String.fromCharCode(...Array.from({ length: r.int(40) + 1 }, () => r.int(0xd7ff) + 1)),
      () => "6",
      () => "1",
    ])();
  let ws = null;
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        ws = await openCounted(`${base.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`, newCounts(), "sio");
        if (!ws) continue;
      }
      if (r.next() < 0.1) ws.send(Buffer.from([0xff, 0xfe, 0x00]), { binary: r.next() < 0.5 });
      else ws.send(garbage());
    } else {
      const q = r.pick(["EIO=4&transport=polling", "EIO=4&transport=polling&sid=nope", "EIO=3&transport=polling", "EIO=4&transport=bogus", "EIO=x", `EIO=4&transport=polling&sid=${"%ff".repeat(50)}`]);
      const method = r.pick(["GET", "POST"]);
      try {
        const res = await fetch(`${base}/socket.io/?${q}`, { method, body: method === "POST" ? garbage() : undefined, signal: AbortSignal.timeout(10000) });
        await res.arrayBuffer();
        if (res.status >= 500) {
          c.status5xx++;
          note(c, `${method} ${q} -> ${res.status}`);
        }
      } catch (e) {
        c.resets++;
      }
    }
    c.sent++;
  }
  if (ws) {
    ws.ours = true;
    ws.terminate();
  }
  return c;
}

const BAD_PARAMS = ["%ff", "%", "-1", "0", "1e99", "abc", "99999999999999999999999", "1;DROP TABLE users", "..%2f..", "😀", "x".repeat(5000), "%00", "null", "[]"];

function authHeaders(fx, t, r) {
  const h = {};
  if (t.auth === "cookie") h.cookie = fx.expresschat.a.cookie;
  else if (t.auth === "cookie-refresh") h.cookie = fx.expresschat.a.cookie;
  else if (t.auth) h.authorization = `Bearer ${t.auth}`;
  if (r.next() < 0.05) h.authorization = r.pick(["Bearer", "Bearer ", "Basic x", `Bearer ${"a".repeat(9000)}`, "Bearer a.b.c", "Bearer \u00ff"]);
  return h;
}

async function restOnce(base, fx, t, r, c) {
  let path = t.path;
  for (const [k, v] of Object.entries(t.params ?? {})) path = path.replace(`:${k}`, r.next() < 0.4 ? r.pick(BAD_PARAMS) : encodeURIComponent(String(v)));
  const q = new URLSearchParams(t.query ?? {});
  const headers = authHeaders(fx, t, r);
  let body;
  const fam = r.int(10);
  if (fam === 0) {
    for (const k of [...q.keys(), "limit", "after", "before", "page"]) q.set(k, String(r.pick(WRONG)));
  } else if (fam === 1) {
    path += `?${"a=" + "x".repeat(r.pick([100, 70_000]))}&%ff=%fe`;
  } else if (fam === 2) {
    headers["content-type"] = "application/json";
    body = r.pick(["{", "[", "nul", '{"a":', "\u0000", "{}".repeat(1000), "[".repeat(r.int(20000))]);
  } else if (fam === 3) {
    headers["content-type"] = "application/json";
    body = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
  } else if (fam === 4) {
    headers["content-type"] = r.pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/json; charset=latin1"]);
    body = "a=1&b=2";
  } else if (fam === 5 && r.next() < 0.3) {
    headers["content-type"] = "application/json";
    body = JSON.stringify({ content: "a".repeat(400_000) }); // over MAX_FRAME_BYTES
  } else if (t.body || t.method !== "GET") {
    headers["content-type"] = "application/json";
    body = JSON.stringify(mutate(t.body ?? {}, r) ?? null);
  } else {
    for (let j = r.int(4); j >= 0; j--) q.set(r.pick(["after", "before", "limit", "with", "page", "pageSize", "token", "email"]), String(r.pick(WRONG)));
  }
  const qs = q.toString();
  const url = `${base}${path}${qs && !path.includes("?") ? `?${qs}` : ""}`;
  c.sent++;
  try {
    const res = await fetch(url, { method: t.method, headers, body: t.method === "GET" || t.method === "HEAD" ? undefined : body, redirect: "manual", signal: AbortSignal.timeout(15000) });
    const text = await res.text();
    if (res.status >= 500) {
      c.status5xx++;
      note(c, `${t.method} ${url.slice(0, 80)} -> ${res.status} ${text.slice(0, 60)}`);
    }
    if (res.status >= 400) {
      let ok = false;
      try {
        const v = JSON.parse(text);
        ok = v !== null && typeof v === "object";
      } catch {}
      if (!ok) {
        c.outside++;
        note(c, `${t.method} ${url.slice(base.length, base.length + 60)} -> ${res.status} ${JSON.stringify(text.slice(0, 40))} (${res.headers.get("content-type")})`);
      }
    }
  } catch (e) {
    c.resets++;
    c.outside++;
    note(c, `${t.method} ${url.slice(base.length, base.length + 60)} -> no answer: ${e.cause?.code ?? e.name}`);
  }
}

async function runRest(urls, fx, t, n, r) {
  const c = newCounts();
  const base = urls[t.profile];
  let i = 0;
  const worker = async () => {
    while (i < n) {
      i++;
      await restOnce(base, fx, t, r, c);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return c;
}

/**
 * Sends `perTarget` payloads to every target; returns rows {profile, kind, name, ...counts}.
 * `onTarget` is called after each target (for crash checks).
 */
export async function runMalformed(server, fx, { perTarget, seed = 1, log = () => {} }) {
  const rows = [];
  for (const [k, t] of targets(fx).entries()) {
    if (!server.running) break;
    const r = prng(seed * 1000 + k);
    const run = { sio: runSio, raw: runRaw, rest: runRest, eio: runEio, wsbytes: runWsBytes }[t.kind];
    const started = Date.now();
    const c = await run(server.urls, fx, t, perTarget, r);
    rows.push({ profile: t.profile, kind: t.kind, name: t.name, ms: Date.now() - started, ...c });
    log(`  ${t.profile} ${t.kind} ${t.name}: ${c.sent} sent, ${c.status5xx} 5xx, ${c.outside} outside, ${Date.now() - started} ms${c.examples.length ? ` e.g. ${c.examples.join(" | ")}` : ""}`);
  }
  return rows;
}

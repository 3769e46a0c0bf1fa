// calls profile (seed 004): authentication (join, handshake tokens), direct
// messages, read receipts, typing, presence, REST, and bad input — driven with
// socket.io-client 4 the way the calls frontend talks.
//
// Assumptions where the contract is silent:
// - ids are strings of numbers ("7"); a message's id likewise.
// - the sending socket gets its message as the ack only (no `message` event).
// - typing to a user who is not connected answers `error {code:"USER_NOT_CONNECTED"}`.
// - an unknown event after join answers `error {code:"INVALID_DATA"}`.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll } from "./helpers.mjs";
import { api, registerCalls, connectRaw, joinCalls, ask, disconnected, ISO } from "./calls_helpers.mjs";

let server;
let base;

before(async () => {
  server = await startServer({}, { waitFor: ["expresschat", "calls"] });
  base = server.urls.calls;
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

test("join: connected, auth:error, and AUTH_REQUIRED before it", async () => {
  const u = await registerCalls(base, "Joiner");
  const s = await connectRaw(base);
  s.emit("message", { to: "1", content: "too early" });
  const early = await s.rec.next("error");
  assert.equal(early.code, "AUTH_REQUIRED");
  assert.equal(typeof early.message, "string");
  s.emit("call:initiate", { to: "1", callType: "voice" });
  assert.equal((await s.rec.next("error")).code, "AUTH_REQUIRED");

  s.emit("join", { userId: u.id, token: "not-a-jwt" });
  assert.equal(typeof (await s.rec.next("auth:error")).message, "string");
  s.emit("join", { userId: String(Number(u.id) + 1000), token: u.token });
  await s.rec.next("auth:error");
  s.emit("join", "garbage");
  await s.rec.next("auth:error");
  s.emit("typing:start", { to: "1" });
  assert.equal((await s.rec.next("error")).code, "AUTH_REQUIRED", "still not joined");

  s.emit("join", { userId: u.id, token: u.token });
  const hello = await s.rec.next("connected");
  assert.deepEqual(Object.keys(hello).sort(), ["socketId", "userId"]);
  assert.equal(hello.userId, u.id);
  assert.equal(hello.socketId, s.id);
  // A number as userId is the same user; joining again is harmless.
  const again = await ask(s, "join", { userId: Number(u.id), token: u.token });
  assert.equal(again.userId, u.id);
  await s.rec.next("connected");
});

test("handshake tokens authenticate up front; a bad one is refused", async () => {
  const u = await registerCalls(base, "Shake");
  const a = await connectRaw(base, { auth: { token: u.token } });
  assert.equal((await a.rec.next("connected")).userId, u.id);
  const b = await connectRaw(base, { headers: { authorization: `Bearer ${u.token}` } });
  assert.equal((await b.rec.next("connected")).userId, u.id);
  await assert.rejects(connectRaw(base, { auth: { token: "forged" } }), /Authentication failed/);
});

test("message: every socket of the recipient and the sender's other sockets; the sender's ack", async () => {
  const alice = await registerCalls(base, "Alice");
  const bob = await registerCalls(base, "Bob");
  const [a1, a2, b1, b2] = await Promise.all([
    joinCalls(base, alice),
    joinCalls(base, alice),
    joinCalls(base, bob),
    joinCalls(base, bob),
  ]);
  const ack = await ask(a1, "message", { to: bob.id, content: "Hello Bob!", type: "text" });
  assert.deepEqual(Object.keys(ack).sort(), [
    "content",
    "id",
    "receiverId",
    "senderId",
    "senderName",
    "timestamp",
    "type",
  ]);
  assert.equal(ack.senderId, alice.id);
  assert.equal(ack.senderName, alice.name);
  assert.equal(ack.receiverId, bob.id);
  assert.equal(ack.content, "Hello Bob!");
  assert.equal(ack.type, "text");
  assert.match(ack.timestamp, ISO);
  assert.match(ack.id, /^\d+$/);
  for (const s of [b1, b2, a2]) assert.deepEqual(await s.rec.next("message"), ack);
  await a1.rec.expectNone(["message"]);

  // Without an ack the sending socket gets nothing; types image and file pass.
  a1.emit("message", { to: bob.id, content: "https://x.test/cat.png", type: "image" });
  const img = await b1.rec.next("message");
  assert.equal(img.type, "image");
  assert.deepEqual(await b2.rec.next("message"), img);
  assert.deepEqual(await a2.rec.next("message"), img);
  b2.emit("message", { to: alice.id, content: "report.pdf", type: "file" });
  const back = await a1.rec.next("message");
  assert.equal(back.senderId, bob.id);
  assert.equal(back.receiverId, alice.id);
  await b1.rec.next("message");
  await a2.rec.next("message");
  await b2.rec.expectNone(["message"]);

  // message:read goes back to the original sender only.
  b1.emit("message:read", { messageId: ack.id, userId: bob.id });
  for (const s of [a1, a2]) {
    const r = await s.rec.next("message:read");
    assert.equal(r.messageId, ack.id);
    assert.equal(r.userId, bob.id);
    assert.match(r.readAt, ISO);
  }
  await b2.rec.expectNone(["message:read"]);
  // Reading as someone else is refused.
  b1.emit("message:read", { messageId: ack.id, userId: alice.id });
  assert.equal((await b1.rec.next("error")).code, "PERMISSION_DENIED");
  // A stranger cannot acknowledge it.
  const eve = await registerCalls(base, "Eve");
  const e1 = await joinCalls(base, eve);
  e1.emit("message:read", { messageId: ack.id, userId: eve.id });
  assert.equal((await e1.rec.next("error")).code, "NOT_FOUND");
  await a1.rec.expectNone(["message:read"]);
});

test("typing:start / typing:stop reach the recipient", async () => {
  const alice = await registerCalls(base, "Typer");
  const bob = await registerCalls(base, "Reader");
  const [a, b] = await Promise.all([joinCalls(base, alice), joinCalls(base, bob)]);
  a.emit("typing:start", { to: bob.id });
  assert.deepEqual(await b.rec.next("typing:start"), { from: alice.id, fromName: alice.name });
  a.emit("typing:stop", { to: bob.id });
  assert.deepEqual(await b.rec.next("typing:stop"), { from: alice.id });
  await a.rec.expectNone(["typing:start", "typing:stop"], 100);
  const offline = await registerCalls(base, "Away");
  a.emit("typing:start", { to: offline.id });
  assert.equal((await a.rec.next("error")).code, "USER_NOT_CONNECTED");
  a.emit("typing:start", { to: "424242" });
  assert.equal((await a.rec.next("error")).code, "USER_NOT_FOUND");
});

test("presence: user:online on the first socket, user:offline after the last", async () => {
  const carol = await registerCalls(base, "Carol");
  const dave = await registerCalls(base, "Dave");
  const stranger = await registerCalls(base, "Stranger");
  // Sharing a conversation is what makes them contacts.
  const sent = await api(base, "POST", "/api/messages", {
    token: carol.token,
    body: { receiverId: dave.id, content: "hi", type: "text" },
  });
  assert.equal(sent.status, 201);
  const c = await joinCalls(base, carol);
  const s = await joinCalls(base, stranger);
  const d1 = await joinCalls(base, dave);
  const on = await c.rec.next("user:online");
  assert.equal(on.userId, dave.id);
  assert.equal(on.status, "online");
  assert.match(on.timestamp, ISO);
  const d2 = await joinCalls(base, dave);
  d1.disconnect();
  await c.rec.expectNone(["user:online", "user:offline"], 300);
  d2.disconnect();
  const off = await c.rec.next("user:offline");
  assert.equal(off.userId, dave.id);
  assert.equal(off.status, "offline");
  assert.match(off.timestamp, ISO);
  await s.rec.expectNone(["user:online", "user:offline"], 100);
});

test("bad input: INVALID_DATA (and the socket keeps working)", async () => {
  const alice = await registerCalls(base, "Fuzz");
  const bob = await registerCalls(base, "Target");
  const [a, b] = await Promise.all([joinCalls(base, alice), joinCalls(base, bob)]);
  const bad = [
    ["message", { content: "no recipient" }],
    ["message", { to: bob.id }],
    ["message", { to: bob.id, content: "x", type: "video" }],
    ["message", { to: bob.id, content: "   " }],
    ["message", { to: bob.id, content: "x".repeat(10001) }],
    ["message", { to: alice.id, content: "to myself" }],
    ["message", "just a string"],
    ["message", 42],
    ["message", null],
    ["message:read", {}],
    ["typing:start", { to: [1, 2] }],
    ["call:initiate", { to: bob.id, callType: "hologram" }],
    ["call:initiate", { to: bob.id }],
    ["call:respond", { callId: "1_x", response: "maybe" }],
    ["call:end", {}],
    ["no-such-event", {}],
  ];
  for (const [event, data] of bad) {
    a.emit(event, data);
    const e = await a.rec.next("error");
    assert.equal(e.code, "INVALID_DATA", `${event} ${JSON.stringify(data)}: ${JSON.stringify(e)}`);
    assert.equal(typeof e.message, "string");
  }
  a.emit("message", { to: "999999", content: "nobody" });
  assert.equal((await a.rec.next("error")).code, "USER_NOT_FOUND");
  // An ack asked for on a refused event still comes back, with the error.
  const refused = await ask(a, "message", { to: bob.id });
  assert.equal(refused.error.code, "INVALID_DATA");
  await a.rec.next("error");
  const ok = await ask(a, "message", { to: Number(bob.id), content: "still alive" });
  assert.equal(ok.content, "still alive");
  assert.equal((await b.rec.next("message")).content, "still alive");
  await b.rec.expectNone(["error"], 100);
  assert.ok(a.connected);
});

test("REST: POST /api/messages is delivered like a socket message; GET pages", async () => {
  const alice = await registerCalls(base, "Rest");
  const bob = await registerCalls(base, "Api");
  const [a, b] = await Promise.all([joinCalls(base, alice), joinCalls(base, bob)]);
  const r = await api(base, "POST", "/api/messages", {
    token: alice.token,
    body: { receiverId: bob.id, content: "over REST", type: "text" },
  });
  assert.equal(r.status, 201);
  assert.equal(r.json.success, true);
  assert.deepEqual(await b.rec.next("message"), r.json.message);
  assert.deepEqual(await a.rec.next("message"), r.json.message, "the sender's sockets too");
  for (let i = 0; i < 3; i++) await ask(b, "message", { to: alice.id, content: `reply ${i}` });
  const page = await api(base, "GET", `/api/messages?with=${bob.id}&limit=2`, { token: alice.token });
  assert.equal(page.status, 200);
  assert.deepEqual(
    page.json.messages.map((m) => m.content),
    ["reply 1", "reply 2"],
  );
  assert.equal(page.json.hasMore, true);
  const older = await api(
    base,
    "GET",
    `/api/messages?with=${bob.id}&before=${page.json.messages[0].id}`,
    { token: alice.token },
  );
  assert.deepEqual(
    older.json.messages.map((m) => m.content),
    ["over REST", "reply 0"],
  );
  const unauth = await api(base, "GET", "/api/messages");
  assert.equal(unauth.status, 401);
  assert.deepEqual(unauth.json.success, false);
  assert.equal(unauth.json.error.code, "UNAUTHORIZED");
  const missing = await api(base, "POST", "/api/messages", {
    token: alice.token,
    body: { receiverId: "999999", content: "x" },
  });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.code, "USER_NOT_FOUND");
  a.disconnect();
  await disconnected(a);
});

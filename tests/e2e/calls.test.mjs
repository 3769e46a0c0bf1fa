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
import { startServer, closeAll, connect, ask, disconnected, expectNoneBefore } from "./helpers.mjs";
import { api, registerCalls, joinCalls, ISO } from "./calls-lib.mjs";

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
  const s = await connect(base);
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
  const a = await connect(base, undefined, { auth: { token: u.token } });
  assert.equal((await a.rec.next("connected")).userId, u.id);
  const b = await connect(base, undefined, { headers: { authorization: `Bearer ${u.token}` } });
  assert.equal((await b.rec.next("connected")).userId, u.id);
  await assert.rejects(connect(base, undefined, { auth: { token: "forged" } }), /Authentication failed/);
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
  // Bob's typing reaches alice's sockets on the bus after her message did.
  b1.emit("typing:start", { to: alice.id });
  await expectNoneBefore(a1.rec, "message", a1.rec.nextEntry("typing:start"));

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
  a1.emit("typing:start", { to: bob.id });
  await expectNoneBefore(b2.rec, "message", b2.rec.nextEntry("typing:start"));

  // message:read goes back to the original sender only.
  b1.emit("message:read", { messageId: ack.id, userId: bob.id });
  for (const s of [a1, a2]) {
    const r = await s.rec.next("message:read");
    assert.equal(r.messageId, ack.id);
    assert.equal(r.userId, bob.id);
    assert.match(r.readAt, ISO);
  }
  a1.emit("typing:start", { to: bob.id });
  await expectNoneBefore(b2.rec, "message:read", b2.rec.nextEntry("typing:start"));
  // Reading as someone else is refused.
  b1.emit("message:read", { messageId: ack.id, userId: alice.id });
  assert.equal((await b1.rec.next("error")).code, "PERMISSION_DENIED");
  // A stranger cannot acknowledge it.
  const eve = await registerCalls(base, "Eve");
  const e1 = await joinCalls(base, eve);
  e1.emit("message:read", { messageId: ack.id, userId: eve.id });
  assert.equal((await e1.rec.next("error")).code, "NOT_FOUND");
  b1.emit("typing:start", { to: alice.id });
  await expectNoneBefore(a1.rec, "message:read", a1.rec.nextEntry("typing:start"));
});

test("typing:start / typing:stop reach the recipient", async () => {
  const alice = await registerCalls(base, "Typer");
  const bob = await registerCalls(base, "Reader");
  const [a, b] = await Promise.all([joinCalls(base, alice), joinCalls(base, bob)]);
  a.emit("typing:start", { to: bob.id });
  assert.deepEqual(await b.rec.next("typing:start"), { from: alice.id, fromName: alice.name });
  a.emit("typing:stop", { to: bob.id });
  assert.deepEqual(await b.rec.next("typing:stop"), { from: alice.id });
  // Bob's message reaches alice on the bus after her typing would have.
  await ask(b, "message", { to: alice.id, content: "typed back" });
  await expectNoneBefore(a.rec, ["typing:start", "typing:stop"], a.rec.nextEntry("message"));
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
  // Timed: nothing tells the client when the server has handled d1's disconnect.
  await c.rec.expectNone(["user:online", "user:offline"], 300);
  d2.disconnect();
  const off = await c.rec.next("user:offline");
  assert.equal(off.userId, dave.id);
  assert.equal(off.status, "offline");
  assert.match(off.timestamp, ISO);
  // Carol's typing reaches the stranger on the bus after dave's presence would have.
  c.emit("typing:start", { to: stranger.id });
  await expectNoneBefore(s.rec, ["user:online", "user:offline"], s.rec.nextEntry("typing:start"));
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
  // It was sent after every refused event was answered: no error reached b before it.
  await expectNoneBefore(b.rec, "error", b.rec.seen("message"));
  assert.equal((await b.rec.next("message")).content, "still alive");
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

// Per-user message budgets (MESSAGES_PER_MINUTE, here 3) on every profile: a user
// past the budget is refused on the profile's own channel with its rate-limit
// shape (a retry time in seconds), nothing of the refused message is stored or
// delivered, the connection stays open, and another user's messages still go
// through. The budget is the user's across profiles (calls and expresschat share
// accounts). calls' own CALLS_MESSAGES_PER_MINUTE (default 100) is left as it is:
// the shared budget refuses first here.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll, makeUser, ask, groupBarrier, expectNoneBefore, ALL_PROFILES } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { api as callsApi, registerCalls, loginCalls, joinCalls } from "./calls-lib.mjs";
import { orgUser, createRoom, rawClient, sioClient, rand } from "./orgchat-lib.mjs";
import { mintClientToken, makeUser as sphereUser, makeRoom, api as sphereApi, serverSocket } from "./chatsphere-lib.mjs";
import { tcUser, room as tcRoom, tcClient, join as tcJoin, api as tcApi, msg } from "./testcore-lib.mjs";

const BUDGET = 3;
let server;
let sphere;

before(async () => {
  server = await startServer({ MESSAGES_PER_MINUTE: String(BUDGET), BCRYPT_COST: "4" }, { waitFor: ALL_PROFILES });
  sphere = { server, base: server.urls.chatsphere, clientToken: mintClientToken(server) };
});

after(async () => {
  closeAll();
  closeAllSockets();
  if (server) await server.stop();
});

/** A retry time as the refusals carry it: whole seconds, within the minute. */
function assertRetry(secs, label) {
  assert.ok(Number.isInteger(secs) && secs >= 1 && secs <= 60, `${label}: retry after ${secs}`);
}

test("expresschat: past the budget a send answers <event>-fail {Message, RetryAfter}; others still send", async () => {
  const amy = await makeUser(server, "Amy");
  const bo = await makeUser(server, "Bo");
  amy.socket.emit("create-personal-chat", { Receiver: bo.id, Partner: bo.name, UserName: amy.name });
  const { ChatId } = await amy.rec.next("create-personal-chat-creator");
  await bo.rec.next("create-personal-chat-partner");
  amy.socket.emit("create-group-chat", { Name: "g", Description: "", Participants: [bo.id] });
  const { GroupId } = await amy.rec.next("create-group-chat-creator");
  await bo.rec.next("create-group-chat-receiver");

  for (let i = 0; i < BUDGET; i++) {
    amy.socket.emit("send-personal-message", { ChatId, Content: `m${i}` });
    assert.equal((await bo.rec.next("receive-personal-message")).Content, `m${i}`);
  }
  amy.socket.emit("send-personal-message", { ChatId, Content: "one too many" });
  const fail = await amy.rec.next("send-personal-message-fail");
  assert.match(fail.Message, /too many messages/i);
  assertRetry(fail.RetryAfter, "send-personal-message-fail");
  amy.socket.emit("send-group-message", { GroupId, Content: "group too" });
  assertRetry((await amy.rec.next("send-group-message-fail")).RetryAfter, "send-group-message-fail");
  amy.socket.emit("send-self-message", { Content: "note" });
  assertRetry((await amy.rec.next("send-self-message-fail")).RetryAfter, "send-self-message-fail");

  // Nothing refused reached Bo (the barrier group is told after anything published before).
  const told = groupBarrier(amy, [bo]);
  await expectNoneBefore(bo.rec, ["receive-personal-message", "receive-group-message"], told(bo.rec));
  // Bo's budget is his own, and Amy's socket is still connected and served.
  bo.socket.emit("send-personal-message", { ChatId, Content: "from bo" });
  assert.equal((await amy.rec.next("receive-personal-message")).Content, "from bo");
  assert.ok(amy.socket.connected);
  amy.socket.emit("fetch-personal-chat", { ChatId, Partner: bo.name });
  const stored = (await amy.rec.next("personal-chat")).Messages.map((m) => m.Content);
  assert.deepEqual(stored, ["from bo", "m2", "m1", "m0"], "the refused message was not stored");
});

test("calls: past the budget socket `error {code:RATE_LIMITED}` and REST 429 with Retry-After; others still send", async () => {
  const base = server.urls.calls;
  const alice = await registerCalls(base, "Spender");
  const bob = await registerCalls(base, "Saver");
  const [a, b] = await Promise.all([joinCalls(base, alice), joinCalls(base, bob)]);
  for (let i = 0; i < BUDGET - 1; i++) await ask(a, "message", { to: bob.id, content: `m${i}` });
  const rest = await callsApi(base, "POST", "/api/messages", { token: alice.token, body: { receiverId: bob.id, content: "m2" } });
  assert.equal(rest.status, 201, rest.text);

  const acked = await ask(a, "message", { to: bob.id, content: "one too many" });
  assert.equal(acked.error.code, "RATE_LIMITED");
  const e = await a.rec.next("error");
  assert.equal(e.code, "RATE_LIMITED");
  assert.match(e.message, /retry in \d+ s/);
  const refused = await callsApi(base, "POST", "/api/messages", { token: alice.token, body: { receiverId: bob.id, content: "still" } });
  assert.equal(refused.status, 429);
  assert.deepEqual(refused.json.error.code, "RATE_LIMITED");
  assert.equal(refused.json.success, false);
  assertRetry(Number(refused.headers.get("retry-after")), "Retry-After");

  // Bob still sends; Alice's socket still receives and still types.
  const ok = await ask(b, "message", { to: alice.id, content: "hi" });
  assert.equal(ok.content, "hi");
  assert.equal((await a.rec.next((e) => e.event === "message" && e.args[0].content === "hi")).senderId, bob.id);
  a.emit("typing:start", { to: bob.id });
  await b.rec.next("typing:start");
  const got = b.rec.all("message").map((m) => m.content);
  assert.deepEqual(got, ["m0", "m1", "m2"], "nothing refused was delivered");
});

test("the budget is the user's across profiles: spent on calls, refused on expresschat", async () => {
  const eve = await makeUser(server, "Eve");
  const login = await loginCalls(server.urls.calls, eve.email, eve.password);
  const eveCalls = await joinCalls(server.urls.calls, { id: login.user.id, token: login.token });
  const cal = await registerCalls(server.urls.calls, "Cal");
  const c = await joinCalls(server.urls.calls, cal);
  await ask(c, "message", { to: login.user.id, content: "hello eve" });
  const { ChatId } = await eve.rec.next("create-personal-chat-partner");
  for (let i = 0; i < BUDGET; i++) await ask(eveCalls, "message", { to: cal.id, content: `c${i}` });

  eve.socket.emit("send-personal-message", { ChatId, Content: "from expresschat" });
  assertRetry((await eve.rec.next("send-personal-message-fail")).RetryAfter, "expresschat refusal");
  // Cal still gets through to both of Eve's sockets.
  await ask(c, "message", { to: login.user.id, content: "still here" });
  const still = await eve.rec.next((e) => e.event === "receive-personal-message" && e.args[0].Content === "still here");
  assert.equal(still.Sender, cal.name);
  assert.equal((await eveCalls.rec.next((e) => e.event === "message" && e.args[0].content === "still here")).senderId, cal.id);
});

test("orgchat: past the budget `error {message, event, retryAfter}` on either transport; others still send", async () => {
  const base = server.urls.orgchat;
  const org = `Budgets ${rand(5)}`;
  const ann = await orgUser(base, { name: "Ann", org, role: "admin" });
  const ben = await orgUser(base, { name: "Ben", org });
  const cy = await orgUser(base, { name: "Cy", org });
  const room = await createRoom(base, ann, "budget room");
  const a = await rawClient(base, ann.accessToken);
  const b = await sioClient(base, ben.accessToken);
  const c = await rawClient(base, cy.accessToken);
  for (const cl of [a, b, c]) {
    cl.emit("joinRoom", { roomId: room.id });
    await cl.nextPayload("notification");
  }

  for (let i = 0; i < BUDGET; i++) {
    a.emit("sendMessage", { roomId: room.id, content: `a${i}` });
    assert.equal((await c.nextPayload("newMessage")).content, `a${i}`);
  }
  a.emit("sendMessage", { roomId: room.id, content: "a too many" });
  const raw = await a.next("error");
  assert.equal(raw.event, "sendMessage");
  assert.match(raw.message, /too many/i);
  assertRetry(raw.retryAfter, "raw error frame");

  for (let i = 0; i < BUDGET; i++) {
    const row = await b.emitWithAck("sendMessage", { roomId: room.id, content: `b${i}` });
    assert.equal(row.content, `b${i}`);
  }
  const acked = await b.emitWithAck("sendMessage", { roomId: room.id, content: "b too many" });
  assert.match(acked.error, /too many/i);
  const sio = await b.nextPayload("error");
  assert.equal(sio.event, "sendMessage");
  assertRetry(sio.retryAfter, "Socket.IO error event");

  // Cy still sends, and both refused users' connections still receive.
  c.emit("sendMessage", { roomId: room.id, content: "from cy" });
  for (const cl of [a, b, c]) {
    await cl.nextEntry((e) => e.event === "newMessage" && cl.payload(e).content === "from cy");
  }
  const contents = c.log.filter((e) => e.event === "newMessage").map((e) => e.frame.message.content);
  assert.deepEqual(contents, ["a0", "a1", "a2", "b0", "b1", "b2", "from cy"], "nothing refused was delivered");
  assert.equal(a.ws.readyState, a.ws.OPEN);
});

test("chatsphere: past the budget `{type:error, message, retryAfter}` and REST 429 with Retry-After; others still send", async () => {
  const alice = await sphereUser(sphere, "alice");
  const bob = await sphereUser(sphere, "bob");
  const room = await makeRoom(sphere, alice, { members: [bob] });
  const a = await serverSocket(sphere, alice);
  const b = await serverSocket(sphere, bob);
  for (const [s, u] of [[a, alice], [b, bob]]) {
    s.send({ type: "join", userId: u.id, roomId: room });
    await s.next("previous_messages");
  }
  for (let i = 0; i < BUDGET - 1; i++) {
    a.send({ type: "message", roomId: room, content: `a${i}` });
    assert.equal((await b.next("new_message")).message.content, `a${i}`);
  }
  const posted = await sphereApi(sphere.base, "POST", `/api/rooms/${room}/messages`, alice.token, { content: "a2" });
  assert.equal(posted.status, 201, posted.text);
  assert.equal((await b.next("new_message")).message.content, "a2");

  a.send({ type: "message", roomId: room, content: "one too many" });
  const e = await a.next("error");
  assert.match(e.message, /too many messages/i);
  assertRetry(e.retryAfter, "error frame");
  const refused = await sphereApi(sphere.base, "POST", `/api/rooms/${room}/messages`, alice.token, { content: "still" });
  assert.equal(refused.status, 429, refused.text);
  assert.match(refused.json.error, /too many messages/i);
  assertRetry(Number(refused.headers.get("retry-after")), "Retry-After");

  b.send({ type: "message", roomId: room, content: "from bob" });
  const got = await a.next((e) => e.event === "new_message" && e.frame.message.content === "from bob");
  assert.equal(got.message.userId, bob.id);
  const h = await sphereApi(sphere.base, "GET", `/api/rooms/${room}/messages`, bob.token);
  assert.deepEqual(h.json.map((m) => m.content), ["a0", "a1", "a2", "from bob"], "nothing refused was stored");
});

test("testcore: past the budget a RATE_LIMITED frame answers and the connection stays open; others still send", async () => {
  const base = server.urls.testcore;
  const alice = await tcUser(base, "Alice");
  const bob = await tcUser(base, "Bob");
  const name = `budget-${rand(5)}`;
  await tcRoom(base, alice, name, [bob]);
  const a = await tcClient(base, { token: alice.token });
  const b = await tcClient(base, { token: bob.token });
  await tcJoin(base, b, bob, msg("SEND_MESSAGE", name, "b0", "hello", bob.id));
  await tcJoin(base, a, alice, msg("SEND_MESSAGE", name, "a0", "a0", alice.id));
  for (let i = 1; i < BUDGET; i++) {
    a.send(msg("SEND_MESSAGE", name, `a${i}`, `a${i}`, alice.id));
    assert.equal((await b.next((e) => e.frame.MessageId === `a${i}`)).content, `a${i}`);
  }
  a.send(msg("SEND_MESSAGE", name, "a3", "one too many", alice.id));
  const f = await a.next((e) => e.frame.typeOfMessage === "RATE_LIMITED");
  assert.deepEqual(
    { MessageId: f.MessageId, roomName: f.roomName, typeOfMessage: f.typeOfMessage, userId: f.userId },
    { MessageId: "a3", roomName: name, typeOfMessage: "RATE_LIMITED", userId: alice.id },
  );
  assert.match(f.content, /too many messages/i);
  assertRetry(f.retryAfter, "RATE_LIMITED frame");

  // Bob still sends; Alice's connection still gets the room's frames.
  b.send(msg("SEND_MESSAGE", name, "b1", "from bob", bob.id));
  assert.equal((await a.next((e) => e.frame.MessageId === "b1")).content, "from bob");
  assert.equal(a.ws.readyState, a.ws.OPEN);
  const r = await tcApi(base, "GET", `/ChatQuery/${name}`, bob);
  const ids = r.json.data[0].messages.map((m) => m.MessageId);
  assert.deepEqual(ids, ["b0", "a0", "a1", "a2", "b1"], "the refused message was not stored");
});

// orgchat over both transports of one port: every event over Socket.IO (same
// names, `data` as the payload), raw WebSocket and Socket.IO clients in one room
// seeing each other, the three ways to present the token, refusals without one,
// and Socket.IO acknowledgements.
//
// Assumptions where the contract is silent (choices written in the README):
// - Socket.IO `notification` carries the bare string; raw wraps it as
//   `{type:"notification", message}`. Socket.IO `newMessage` carries the row
//   itself; raw wraps it as `{type:"newMessage", message}`.
// - A refused raw upgrade answers HTTP 401; a refused Socket.IO handshake is a
//   `connect_error` whose message starts with "Unauthorized".
// - An event with an acknowledgement callback is acknowledged with the result
//   (`{roomId}`, the message row...) or `{error}`.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll, expectNoneBefore } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, createRoom, rawClient, sioClient, barrier, rand } from "./orgchat-lib.mjs";

let server;
let base;
let ann, bob, cat;

before(async () => {
  server = await startServer({ BCRYPT_COST: "4" }, { waitFor: ["orgchat"] });
  base = server.urls.orgchat;
  const org = `Transports ${rand(5)}`;
  ann = await orgUser(base, { name: "Ann", org, role: "admin" });
  bob = await orgUser(base, { name: "Bob", org, role: "moderator" });
  cat = await orgUser(base, { name: "Cat", org, role: "user" });
});

after(async () => {
  closeAll();
  closeAllSockets();
  if (server) await server.stop();
});

test("every event over Socket.IO", async () => {
  const room = await createRoom(base, ann, "sio room");
  const [a, b, c] = await Promise.all([ann, bob, cat].map((u) => sioClient(base, u.accessToken)));
  for (const [cl, u, seen] of [
    [a, ann, [a]],
    [b, bob, [a, b]],
    [c, cat, [a, b, c]],
  ]) {
    cl.emit("joinRoom", { roomId: room.id, userId: u.id });
    for (const s of seen) assert.equal(await s.next("notification"), `User ${u.id} joined the room`);
  }
  b.emit("sendMessage", { roomId: room.id, userId: bob.id, content: "hi all" });
  const rows = await Promise.all([a, b, c].map((s) => s.next("newMessage")));
  const row = rows[0];
  for (const r of rows) assert.deepEqual(r, row);
  assert.deepEqual(Object.keys(row).sort(), ["chat_room_id", "content", "created_at", "id", "is_encrypted", "user_id"]);
  assert.deepEqual([row.user_id, row.chat_room_id, row.content], [bob.id, room.id, "hi all"]);

  c.emit("typing", { roomId: room.id, userId: cat.id });
  for (const s of [a, b]) assert.deepEqual(await s.next("typing"), { userId: cat.id });
  c.emit("stopTyping", { roomId: room.id, userId: cat.id });
  for (const s of [a, b]) assert.deepEqual(await s.next("stopTyping"), { userId: cat.id });

  a.emit("reactMessage", { userId: ann.id, messageId: row.id, reaction: "❤️" });
  for (const s of [a, b, c]) {
    assert.deepEqual(await s.next("messageReaction"), { userId: ann.id, messageId: row.id, reaction: "❤️" });
  }
  c.emit("readMessage", { userId: cat.id, messageId: row.id });
  for (const s of [a, b, c]) assert.deepEqual(await s.next("messageRead"), { userId: cat.id, messageId: row.id });

  a.emit("newChatRoom", { roomName: "sio invite", invitedUsers: [bob.id, cat.id], organizationId: ann.org });
  for (const s of [b, c]) {
    const n = await s.next("newChatRoom");
    assert.equal(n.roomName, "sio invite");
    assert.equal(n.organizationId, ann.org);
    assert.equal(typeof n.notification, "string");
  }

  c.emit("deleteMessage", { roomId: room.id, messageId: row.id });
  assert.deepEqual(await c.next("error"), { message: "Forbidden: Insufficient permissions", event: "deleteMessage" });
  a.emit("deleteMessage", { roomId: room.id, messageId: row.id });
  for (const s of [a, b, c]) assert.deepEqual(await s.next("messageDeleted"), { messageId: row.id });

  c.emit("leaveRoom", { roomId: room.id, userId: cat.id });
  for (const s of [a, b]) assert.equal(await s.next("notification"), `User ${cat.id} left the room`);
  b.emit("sendMessage", { roomId: room.id, content: "cat is gone" });
  // This message was sent after all of the above: nothing unexpected reached a before it.
  await expectNoneBefore(a, ["typing", "stopTyping", "newChatRoom", "error"], a.seen("newMessage"));
  await a.next("newMessage");
  await b.next("newMessage");
  // c's next delivery, an invitation sent after that message, comes first.
  b.emit("newChatRoom", { roomName: "after cat left", invitedUsers: [cat.id] });
  await expectNoneBefore(c, ["newMessage", "notification", "typing"], c.nextEntry("newChatRoom"));
});

test("raw and Socket.IO clients share a room both ways", async () => {
  const room = await createRoom(base, ann, "mixed room");
  const raw = await rawClient(base, ann.accessToken, { via: "header" });
  const sio = await sioClient(base, bob.accessToken, { via: "query" });
  raw.emit("joinRoom", { roomId: room.id });
  await raw.next("notification");
  sio.emit("joinRoom", { roomId: room.id });
  assert.equal((await raw.next("notification")).message, `User ${bob.id} joined the room`);
  assert.equal(await sio.next("notification"), `User ${bob.id} joined the room`);

  sio.emit("sendMessage", { roomId: room.id, content: "from socket.io" });
  const viaRaw = await raw.next("newMessage");
  const viaSio = await sio.next("newMessage");
  assert.deepEqual(viaRaw.message, viaSio);
  raw.emit("sendMessage", { roomId: room.id, content: "from ws" });
  assert.equal((await sio.next("newMessage")).content, "from ws");
  assert.equal((await raw.next("newMessage")).message.content, "from ws");
  raw.emit("typing", { roomId: room.id });
  assert.deepEqual(await sio.next("typing"), { userId: ann.id });
  sio.emit("typing", { roomId: room.id });
  assert.deepEqual(await raw.next("typing"), { type: "typing", userId: bob.id });
});

test("one user in two tabs: joined rooms are per connection", async () => {
  const room = await createRoom(base, ann, "tabs");
  const tab1 = await sioClient(base, cat.accessToken);
  const tab2 = await rawClient(base, cat.accessToken);
  const other = await sioClient(base, bob.accessToken);
  tab1.emit("joinRoom", { roomId: room.id });
  await tab1.next("notification");
  other.emit("joinRoom", { roomId: room.id });
  await other.next("notification");
  await tab1.next("notification");
  other.emit("sendMessage", { roomId: room.id, content: "only tab1" });
  await tab1.next("newMessage");
  await other.next("newMessage");
  // tab2 (not in the room) gets an invitation sent after that message first.
  other.emit("newChatRoom", { roomName: "for cat", invitedUsers: [cat.id] });
  await expectNoneBefore(tab2, ["newMessage", "notification"], tab2.nextEntry("newChatRoom"));
  // Leaving a room this connection never joined tells nobody.
  tab2.emit("leaveRoom", { roomId: room.id });
  await barrier(tab2);
  other.emit("sendMessage", { roomId: room.id, content: "proof" });
  await expectNoneBefore(other, "notification", other.seen("newMessage"));
  await expectNoneBefore(tab1, "notification", tab1.seen("newMessage"));
  await other.next("newMessage");
  await tab1.next("newMessage");
  // The typist's other tab in the room gets no typing of its own user.
  const tab3 = await sioClient(base, cat.accessToken);
  tab3.emit("joinRoom", { roomId: room.id });
  await tab3.next("notification");
  tab1.emit("typing", { roomId: room.id });
  await other.next("typing");
  other.emit("sendMessage", { roomId: room.id, content: "after typing" });
  await expectNoneBefore(tab3, "typing", tab3.nextEntry("newMessage"));
});

test("the token comes from auth.token, the header or the query; none or a bad one is refused", async () => {
  for (const via of ["auth", "header", "query"]) {
    const s = await sioClient(base, ann.accessToken, { via, transports: ["websocket"] });
    s.close();
  }
  for (const via of ["query", "header"]) {
    const r = await rawClient(base, ann.accessToken, { via });
    r.close();
  }
  await assert.rejects(sioClient(base, undefined), (e) => e.message.startsWith("Unauthorized"));
  await assert.rejects(sioClient(base, "not-a-jwt"), (e) => e.message.startsWith("Unauthorized"));
  await assert.rejects(sioClient(base, ann.refreshToken), (e) => e.message.startsWith("Unauthorized"));
  await assert.rejects(rawClient(base, undefined), (e) => e.status === 401);
  await assert.rejects(rawClient(base, "not-a-jwt"), (e) => e.status === 401);
  await assert.rejects(rawClient(base, ann.refreshToken, { via: "header" }), (e) => e.status === 401);
});

test("Socket.IO acknowledgements carry the result or the error", async () => {
  const room = await createRoom(base, ann, "acks");
  const s = await sioClient(base, ann.accessToken);
  assert.deepEqual(await s.emitWithAck("joinRoom", { roomId: room.id }), { roomId: room.id });
  const row = await s.emitWithAck("sendMessage", { roomId: room.id, content: "acked" });
  assert.equal(row.content, "acked");
  assert.equal((await s.next("newMessage")).id, row.id);
  const made = await s.emitWithAck("newChatRoom", { roomName: "made by ack" });
  assert.equal(made.roomName, "made by ack");
  assert.equal(typeof made.roomId, "number");
  const bad = await s.emitWithAck("joinRoom", { roomId: 999999 });
  assert.deepEqual(bad, { error: "Room not found" });
  assert.equal((await s.next("error")).message, "Room not found");
});

test("a connection's events are handled in the order sent, on both transports", async () => {
  const room = await createRoom(base, ann, "order");
  for (const kind of ["raw", "sio"]) {
    const sender = kind === "raw" ? await rawClient(base, bob.accessToken) : await sioClient(base, bob.accessToken);
    sender.emit("joinRoom", { roomId: room.id });
    await sender.next("notification");
    const n = 150;
    for (let i = 0; i < n; i++) sender.emit("sendMessage", { roomId: room.id, content: `${kind} ${i}` });
    const seen = [];
    for (let i = 0; i < n; i++) seen.push((await sender.nextPayload("newMessage")).content);
    assert.deepEqual(seen, Array.from({ length: n }, (_, i) => `${kind} ${i}`));
    sender.close();
  }
});

test("shutdown closes raw connections with 1001 and Socket.IO ones cleanly", async () => {
  const own = await startServer({ BCRYPT_COST: "4" }, { waitFor: ["orgchat"] });
  const u = await orgUser(own.urls.orgchat, { name: "Shut", org: `Shut ${rand(5)}` });
  const raw = await rawClient(own.urls.orgchat, u.accessToken);
  const sio = await sioClient(own.urls.orgchat, u.accessToken);
  // Both connections are live on the server (their events are answered).
  await barrier(raw);
  await barrier(sio);
  const rawClosed = raw.closed(10000);
  const sioGone = sio.rec.nextOf(["$disconnect"], 10000);
  const exit = await own.stop();
  assert.equal(exit.code, 0);
  assert.deepEqual(await rawClosed, { code: 1001, reason: "server shutting down" });
  // socketioxide closes the engine: the client sees the transport close.
  assert.ok(["transport close", "io server disconnect"].includes((await sioGone).args[0]));
});

// chatsphere end to end: both WebSocket dialects in one room (sender included),
// a REST-posted message delivered over WebSocket, history on join (last 50,
// ascending), with the first client token minted by the CLI.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { closeAllSockets } from "./ws-helpers.mjs";
import { startSphere, makeUser, makeRoom, api, serverSocket, uiSocket } from "./chatsphere-lib.mjs";

let sphere;
before(async () => {
  sphere = await startSphere();
});
after(async () => {
  closeAllSockets();
  await sphere?.server.stop();
});

test("the CLI-minted client token is a client token", async () => {
  const r = await api(sphere.base, "GET", "/api/messages", sphere.clientToken);
  assert.equal(r.status, 200, r.text);
  const u = await api(sphere.base, "GET", "/api/health");
  assert.equal(u.json.status, "ok");
});

test("server dialect: join, previous_messages, message to the room, sender included", async () => {
  const alice = await makeUser(sphere, "alice");
  const bob = await makeUser(sphere, "bob");
  const room = await makeRoom(sphere, alice, { members: [bob] });
  await api(sphere.base, "POST", `/api/rooms/${room}/messages`, alice.token, { content: "before" });

  const a = await serverSocket(sphere, alice);
  const b = await serverSocket(sphere, bob);
  a.send({ type: "join", userId: alice.id, roomId: room });
  assert.deepEqual(await a.next("join_confirmation"), { type: "join_confirmation", roomId: room });
  const prev = await a.next("previous_messages");
  assert.equal(prev.messages.length, 1);
  assert.equal(prev.messages[0].content, "before");
  assert.deepEqual(prev.messages[0].user, { id: alice.id, username: alice.username });
  b.send({ type: "join", userId: bob.id, roomId: room });
  await b.next("previous_messages");

  a.send({ type: "message", content: "hello bob", userId: alice.id, roomId: room });
  for (const s of [a, b]) {
    const f = await s.next("new_message");
    assert.equal(f.message.content, "hello bob");
    assert.equal(f.message.userId, alice.id);
    assert.equal(f.message.roomId, room);
    assert.deepEqual(f.message.user, { id: alice.id, username: alice.username });
    assert.ok(f.message.id && f.message.createdAt && f.message.updatedAt);
  }
  // Stored: REST history has both, ascending.
  const h = await api(sphere.base, "GET", `/api/rooms/${room}/messages`, bob.token);
  assert.deepEqual(h.json.map((m) => m.content), ["before", "hello bob"]);
});

test("UI dialect and server dialect share a room; each gets its own shape", async () => {
  const carol = await makeUser(sphere, "carol");
  const dan = await makeUser(sphere, "dan");
  const room = await makeRoom(sphere, carol, { members: [dan] });

  const c = await uiSocket(sphere, carol);
  const d = await serverSocket(sphere, dan);
  c.send({ type: "join_room", roomId: room });
  const hist = await c.next("message_history");
  assert.deepEqual(hist.messages, []);
  d.send({ type: "join", userId: dan.id, roomId: room });
  await d.next("previous_messages");

  c.send({ type: "new_message", content: "flat hello", roomId: room });
  const flat = await c.next("new_message");
  assert.equal(flat.content, "flat hello");
  assert.equal(flat.userId, carol.id);
  assert.equal(flat.username, carol.username);
  assert.ok("userImage" in flat && flat.id && flat.createdAt && flat.updatedAt);
  const wrapped = await d.next("new_message");
  assert.equal(wrapped.message.content, "flat hello");
  assert.equal(wrapped.message.id, flat.id);

  // After leave_room the UI connection gets nothing more from the room: dan's
  // next message reaches dan, and carol's next frame is her own join answer.
  c.send({ type: "leave_room", roomId: room });
  // A frame answered with an error proves the leave was handled (in order).
  c.send({ type: "join_room", roomId: "no-such-room" });
  assert.equal((await c.next("error")).message, "Room not found");
  d.send({ type: "message", content: "after leave", userId: dan.id, roomId: room });
  await d.next("new_message");
  c.send({ type: "join_room", roomId: room });
  const again = await c.next("message_history");
  assert.deepEqual(again.messages.map((m) => m.content), ["flat hello", "after leave"]);
  assert.deepEqual(c.types(), ["message_history", "new_message", "error", "message_history"]);
});

test("a message posted over REST is delivered over WebSocket to both dialects", async () => {
  const erin = await makeUser(sphere, "erin");
  const fay = await makeUser(sphere, "fay");
  const room = await makeRoom(sphere, erin, { members: [fay] });
  const e = await serverSocket(sphere, erin);
  const f = await uiSocket(sphere, fay);
  e.send({ type: "join", userId: erin.id, roomId: room });
  await e.next("previous_messages");
  f.send({ type: "join_room", roomId: room });
  await f.next("message_history");

  const r = await api(sphere.base, "POST", `/api/rooms/${room}/messages`, erin.token, { content: "via REST" });
  assert.equal(r.status, 201);
  const got = await e.next("new_message");
  assert.deepEqual(got.message, r.json);
  const flat = await f.next("new_message");
  assert.equal(flat.id, r.json.id);
  assert.equal(flat.content, "via REST");
});

test("joining answers the last 50 messages, oldest first", async () => {
  const gus = await makeUser(sphere, "gus");
  const room = await makeRoom(sphere, gus);
  for (let i = 1; i <= 55; i++) {
    const r = await api(sphere.base, "POST", `/api/rooms/${room}/messages`, gus.token, { content: `m${i}` });
    assert.equal(r.status, 201);
  }
  const expected = Array.from({ length: 50 }, (_, i) => `m${i + 6}`);
  const s = await serverSocket(sphere, gus);
  s.send({ type: "join", userId: gus.id, roomId: room });
  const prev = await s.next("previous_messages");
  assert.deepEqual(prev.messages.map((m) => m.content), expected);
  const u = await uiSocket(sphere, gus);
  u.send({ type: "join_room", roomId: room });
  const hist = await u.next("message_history");
  assert.deepEqual(hist.messages.map((m) => m.content), expected);
  // REST history has all 55, ascending.
  const h = await api(sphere.base, "GET", `/api/rooms/${room}/messages`, gus.token);
  assert.equal(h.json.length, 55);
  assert.equal(h.json[0].content, "m1");
});

test("joining a public room makes a member; a private one is refused", async () => {
  const hal = await makeUser(sphere, "hal");
  const ivy = await makeUser(sphere, "ivy");
  const open = await makeRoom(sphere, hal);
  const closed = await makeRoom(sphere, hal, { isPrivate: true });
  const s = await serverSocket(sphere, ivy);
  s.send({ type: "join", userId: ivy.id, roomId: closed });
  const err = await s.next("error");
  assert.equal(err.message, "You don't have access to this room");
  s.send({ type: "join", userId: ivy.id, roomId: open });
  await s.next("previous_messages");
  const r = await api(sphere.base, "GET", `/api/rooms/${open}/messages`, ivy.token);
  assert.equal(r.status, 200);
  const rooms = await api(sphere.base, "GET", "/api/rooms", ivy.token);
  assert.deepEqual(rooms.json.map((x) => x.id), [open]);
});

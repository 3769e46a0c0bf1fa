// orgchat: the API document's Postman flow between three users of one
// organization, over the raw WebSocket the document tests with: register, login,
// refresh, rooms with pagination, then joinRoom / sendMessage / typing /
// reactMessage / readMessage / newChatRoom / deleteMessage / leaveRoom.
//
// Assumptions where the contract is silent (choices written in the README):
// - "User X joined the room": X is the user's id.
// - The sender of sendMessage gets its own newMessage (the contract says "sender
//   included"); typing goes to everyone in the room but the typist.
// - newMessage carries the message row {id, user_id, chat_room_id, content,
//   created_at, is_encrypted}; content is plaintext on the wire.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, post, closeAll, expectNoneBefore } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, createRoom, listRooms, rawClient, rand } from "./orgchat-lib.mjs";

let server;
let base;
let admin, moder, user;
const org = `Acme SN Corp ${rand(5)}`;

before(async () => {
  server = await startServer({ BCRYPT_COST: "4" }, { waitFor: ["orgchat"] });
  base = server.urls.orgchat;
  admin = await orgUser(base, { name: "Manoj", org, role: "admin" });
  moder = await orgUser(base, { name: "Mona", org, role: "moderator" });
  user = await orgUser(base, { name: "Uma", org, role: "user" });
});

after(async () => {
  closeAll();
  closeAllSockets();
  if (server) await server.stop();
});

test("register puts the three users in one organization with their roles", () => {
  assert.equal(admin.org, moder.org);
  assert.equal(moder.org, user.org);
  assert.deepEqual([admin.role, moder.role, user.role], ["admin", "moderator", "user"]);
  for (const u of [admin, moder, user]) assert.equal(typeof u.id, "number");
});

test("refresh-token rotates the refresh token and the new access token works", async () => {
  const r = await post(base, "/api/auth/refresh-token", { refreshToken: user.refreshToken });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.accessToken && r.json.refreshToken);
  assert.notEqual(r.json.refreshToken, user.refreshToken);
  const again = await post(base, "/api/auth/refresh-token", { refreshToken: user.refreshToken });
  assert.equal(again.status, 403, "a spent refresh token is refused");
  const l = await listRooms(base, { accessToken: r.json.accessToken });
  assert.equal(l.status, 200);
});

test("rooms: create eleven, page through them newest first", async () => {
  const made = [];
  for (let i = 0; i < 11; i++) made.push(await createRoom(base, admin, `z y ${i}`));
  const p1 = await listRooms(base, moder, "?page=1&pageSize=10");
  assert.equal(p1.status, 200);
  assert.equal(p1.json.total, 11);
  assert.equal(p1.json.pages, 2);
  assert.equal(p1.json.currentPage, 1);
  assert.equal(p1.json.data.length, 10);
  assert.equal(p1.json.data[0].id, made[10].id);
  assert.deepEqual(Object.keys(p1.json.data[0]).sort(), ["createdAt", "id", "name", "organization_id", "updatedAt"]);
  assert.equal(p1.json.data[0].organization_id, admin.org);
  const p2 = await listRooms(base, moder, "?page=2&pageSize=10");
  assert.deepEqual(
    { total: p2.json.total, pages: p2.json.pages, currentPage: p2.json.currentPage, ids: p2.json.data.map((r) => r.id) },
    { total: 11, pages: 2, currentPage: 2, ids: [made[0].id] },
  );
});

test("the realtime flow between three users", async () => {
  const room = await createRoom(base, admin, "General Discussion");
  const [c1, c2, c3] = await Promise.all([admin, moder, user].map((u) => rawClient(base, u.accessToken)));

  // joinRoom: the room, joiner included, is told. roomId as a string, as in the document.
  c1.emit("joinRoom", { roomId: String(room.id), userId: admin.id });
  assert.deepEqual(await c1.next("notification"), { type: "notification", message: `User ${admin.id} joined the room` });
  c2.emit("joinRoom", { roomId: room.id, userId: moder.id });
  for (const c of [c1, c2]) assert.equal((await c.next("notification")).message, `User ${moder.id} joined the room`);
  c3.emit("joinRoom", { roomId: room.id }); // userId may be left out: the token says who
  for (const c of [c1, c2, c3]) assert.equal((await c.next("notification")).message, `User ${user.id} joined the room`);

  // sendMessage: everyone in the room, sender included.
  const content = "Hello, All User";
  c3.emit("sendMessage", { roomId: String(room.id), userId: user.id, content });
  const got = await Promise.all([c1, c2, c3].map((c) => c.next("newMessage")));
  for (const f of got) {
    assert.deepEqual(Object.keys(f).sort(), ["message", "type"]);
    assert.deepEqual(f.message, got[0].message);
  }
  const msg = got[0].message;
  assert.equal(typeof msg.id, "number");
  assert.equal(msg.user_id, user.id);
  assert.equal(msg.chat_room_id, room.id);
  assert.equal(msg.content, content);
  assert.equal(msg.is_encrypted, true, "ORGCHAT_ENCRYPT_MESSAGES is on by default");
  assert.ok(!Number.isNaN(Date.parse(msg.created_at)) && msg.created_at.endsWith("Z"));

  // typing / stopTyping: everyone but the typist.
  c1.emit("typing", { roomId: room.id, userId: admin.id });
  for (const c of [c2, c3]) assert.deepEqual(await c.next("typing"), { type: "typing", userId: admin.id });
  c1.emit("stopTyping", { roomId: room.id, userId: admin.id });
  for (const c of [c2, c3]) assert.deepEqual(await c.next("stopTyping"), { type: "stopTyping", userId: admin.id });

  // reactMessage and readMessage: the message's room.
  c2.emit("reactMessage", { userId: moder.id, messageId: msg.id, reaction: "👍" });
  // (the typist got no typing of its own before this reaction, sent after)
  await expectNoneBefore(c1, ["typing", "stopTyping"], c1.seen("messageReaction"));
  for (const c of [c1, c2, c3]) {
    assert.deepEqual(await c.next("messageReaction"), {
      type: "messageReaction",
      userId: moder.id,
      messageId: msg.id,
      reaction: "👍",
    });
  }
  c1.emit("readMessage", { userId: admin.id, messageId: String(msg.id) });
  for (const c of [c1, c2, c3]) {
    assert.deepEqual(await c.next("messageRead"), { type: "messageRead", userId: admin.id, messageId: msg.id });
  }

  // newChatRoom: each invitee is told, the inviter is not.
  c1.emit("newChatRoom", { roomName: "Project Updates", invitedUsers: [moder.id, String(user.id)], organizationId: admin.org });
  const inv = await Promise.all([c2, c3].map((c) => c.next("newChatRoom")));
  for (const f of inv) {
    assert.equal(f.roomName, "Project Updates");
    assert.equal(f.organizationId, admin.org);
    assert.equal(typeof f.roomId, "number");
    assert.equal(typeof f.notification, "string");
  }
  assert.equal(inv[0].roomId, inv[1].roomId);
  const listed = await listRooms(base, user);
  assert.equal(listed.json.data[0].id, inv[0].roomId, "the new room is listed for the organization");

  // deleteMessage: a user may not delete another's message; a moderator may.
  c1.emit("sendMessage", { roomId: room.id, content: "admin says" });
  // (the inviter got no newChatRoom before its own message, sent after)
  await expectNoneBefore(c1, "newChatRoom", c1.seen("newMessage"));
  const adminMsg = (await c3.next("newMessage")).message;
  await c1.next("newMessage");
  await c2.next("newMessage");
  c3.emit("deleteMessage", { roomId: room.id, messageId: adminMsg.id });
  assert.deepEqual(await c3.next("error"), {
    type: "error",
    message: "Forbidden: Insufficient permissions",
    event: "deleteMessage",
  });
  c2.emit("deleteMessage", { roomId: room.id, messageId: adminMsg.id });
  for (const c of [c1, c2, c3]) assert.deepEqual(await c.next("messageDeleted"), { type: "messageDeleted", messageId: adminMsg.id });
  c3.emit("deleteMessage", { roomId: room.id, messageId: msg.id });
  for (const c of [c1, c2, c3]) assert.deepEqual(await c.next("messageDeleted"), { type: "messageDeleted", messageId: msg.id });

  // leaveRoom: the room is told; the leaver then gets nothing more from it.
  c3.emit("leaveRoom", { roomId: room.id, userId: user.id });
  for (const c of [c1, c2]) assert.equal((await c.next("notification")).message, `User ${user.id} left the room`);
  c1.emit("sendMessage", { roomId: room.id, content: "after the leave" });
  await c2.next("newMessage");
  await c1.next("newMessage");
  // c3's next delivery, an invitation sent after that message, comes first.
  c1.emit("newChatRoom", { roomName: "After the leave", invitedUsers: [user.id] });
  await expectNoneBefore(c3, ["newMessage", "notification"], c3.nextEntry("newChatRoom"));
});

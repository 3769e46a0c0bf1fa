// orgchat drop-in (issue 11): what the API document's own flows send (its
// Postman requests: the register/login bodies, `{event, data}` frames with
// `"roomId": "1"` as a string and `userId` as a number, the token as a Bearer
// header), and the texts its user reads, word for word where the contract lists
// them: "User X joined the room", "User X left the room",
// "Forbidden: Insufficient permissions". Also the serde alias audit:
// `sendMessage` may carry both `isEncrypted` and the message row's `is_encrypted`
// (an alias refused that as a duplicate field). Refusals without a token stay.
//
// Assumptions where the contract is silent (choices in docs/orgchat.md):
// - X in the notifications is the user's id (the document's frames carry ids).
// - When the two spellings of is_encrypted disagree, the message is encrypted.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, createRoom, rawClient, sioClient, rand } from "./orgchat-lib.mjs";

let server;
let base;
let admin, user;

before(async () => {
  // Encryption at rest is per message here, so `is_encrypted` shows what was asked.
  server = await startServer({ BCRYPT_COST: "4", ORGCHAT_ENCRYPT_MESSAGES: "false" }, { waitFor: ["orgchat"] });
  base = server.urls.orgchat;
  // orgUser posts the document's bodies: register {username, email, password,
  // organizationName, role}, then login {email, password}.
  const org = `Acme SN Corp ${rand(5)}`;
  admin = await orgUser(base, { name: "Manoj", org, role: "admin" });
  user = await orgUser(base, { name: "Uma", org, role: "user" });
});

after(async () => {
  closeAll();
  closeAllSockets();
  if (server) await server.stop();
});

/** The document's frame, as Postman sends it: a JSON text `{event, data}`. */
const frame = (event, data) => JSON.stringify({ event, data });

test("raw WebSocket: the document's frames read the document's notifications and refusal", async () => {
  const room = await createRoom(base, admin, "General Discussion");
  const a = await rawClient(base, admin.accessToken, { via: "header" });
  const u = await rawClient(base, user.accessToken, { via: "header" });

  a.send(frame("joinRoom", { roomId: String(room.id), userId: admin.id }));
  assert.deepEqual(await a.next("notification"), { type: "notification", message: `User ${admin.id} joined the room` });
  u.send(frame("joinRoom", { roomId: String(room.id), userId: user.id }));
  for (const c of [a, u]) {
    assert.deepEqual(await c.next("notification"), { type: "notification", message: `User ${user.id} joined the room` });
  }

  a.send(frame("sendMessage", { roomId: String(room.id), userId: admin.id, content: "Hello, User B!" }));
  const msg = (await u.next("newMessage")).message;
  await a.next("newMessage");
  u.send(frame("deleteMessage", { roomId: String(room.id), messageId: msg.id }));
  assert.deepEqual(await u.next("error"), {
    type: "error",
    message: "Forbidden: Insufficient permissions",
    event: "deleteMessage",
  });

  u.send(frame("leaveRoom", { roomId: String(room.id), userId: user.id }));
  assert.deepEqual(await a.next("notification"), { type: "notification", message: `User ${user.id} left the room` });
});

test("Socket.IO: the same events read the same texts", async () => {
  const room = await createRoom(base, admin, "Project Updates");
  const a = await sioClient(base, admin.accessToken);
  const u = await sioClient(base, user.accessToken);

  a.emit("joinRoom", { roomId: String(room.id), userId: admin.id });
  assert.equal(await a.next("notification"), `User ${admin.id} joined the room`);
  u.emit("joinRoom", { roomId: String(room.id), userId: user.id });
  for (const c of [a, u]) assert.equal(await c.next("notification"), `User ${user.id} joined the room`);

  a.emit("sendMessage", { roomId: String(room.id), userId: admin.id, content: "Hello, All User" });
  const msg = await u.next("newMessage");
  await a.next("newMessage");
  u.emit("deleteMessage", { roomId: String(room.id), messageId: msg.id });
  assert.deepEqual(await u.next("error"), { message: "Forbidden: Insufficient permissions", event: "deleteMessage" });

  u.emit("leaveRoom", { roomId: String(room.id), userId: user.id });
  assert.equal(await a.next("notification"), `User ${user.id} left the room`);
});

for (const kind of ["raw", "sio"]) {
  test(`sendMessage reads isEncrypted and is_encrypted, also both at once (${kind})`, async () => {
    const room = await createRoom(base, admin, `secrets ${kind}`);
    const c = kind === "raw" ? await rawClient(base, admin.accessToken, { via: "header" }) : await sioClient(base, admin.accessToken);
    c.emit("joinRoom", { roomId: String(room.id), userId: admin.id });
    await c.next("notification");
    const cases = [
      [{}, false],
      [{ isEncrypted: true }, true],
      [{ is_encrypted: true }, true],
      [{ isEncrypted: true, is_encrypted: true }, true],
      [{ isEncrypted: false, is_encrypted: false }, false],
      [{ isEncrypted: false, is_encrypted: true }, true],
    ];
    for (const [flags, encrypted] of cases) {
      const content = `flags ${JSON.stringify(flags)}`;
      c.emit("sendMessage", { roomId: String(room.id), userId: admin.id, content, ...flags });
      // A refusal would come as `error` instead; the row comes in order.
      const e = await c.nextEntry((x) => x.event === "newMessage" || x.event === "error");
      const row = c.payload(e);
      assert.equal(e.event, "newMessage", `${content}: ${JSON.stringify(row)}`);
      assert.equal(row.content, content);
      assert.equal(row.is_encrypted, encrypted, content);
    }
  });
}

test("a connection without a token is still refused, with the same text on both transports", async () => {
  await assert.rejects(rawClient(base, undefined), (e) => {
    assert.equal(e.status, 401);
    assert.deepEqual(JSON.parse(e.body), { message: "Unauthorized: no token provided" });
    return true;
  });
  await assert.rejects(rawClient(base, "not-a-jwt", { via: "header" }), (e) => {
    assert.equal(e.status, 401);
    assert.deepEqual(JSON.parse(e.body), { message: "Unauthorized: invalid or expired token" });
    return true;
  });
  await assert.rejects(sioClient(base, undefined), { message: "Unauthorized: no token provided" });
  await assert.rejects(sioClient(base, "not-a-jwt"), { message: "Unauthorized: invalid or expired token" });
});

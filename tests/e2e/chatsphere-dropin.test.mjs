// chatsphere as a drop-in for the original's UI (SaidBC/chatsphere,
// src/services/websocket.ts, src/services/api.ts, src/components/ChatRoom.tsx),
// issue 11 point 4. The UI keeps a chatsphere API token in localStorage and opens
// `new WebSocket(`${WS_URL}?token=${apiToken}&userId=${session.user.id}`)`, the
// session id coming from the UI's own (Prisma, cuid) database: it is not the
// token's user. The token decides who the connection is; the `userId` is ignored,
// never used. On open the UI sends `join_room` twice (its connect handler, then
// its "rejoin the current room"), reads `message_history`, `new_message` (flat)
// and `error`; its send button sends `{type: <the text>}` (a bug of the UI).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { expectNoneBefore } from "./helpers.mjs";
import { openSocket, wsUrl, closeAllSockets } from "./ws-helpers.mjs";
import { startSphere, makeUser, makeRoom, api, serverSocket } from "./chatsphere-lib.mjs";

/** A NextAuth session user id as the UI's Prisma database makes them. */
const SESSION_ID = "cm4x9k2p10000qz8y3v7d1abc";

let sphere;
before(async () => {
  sphere = await startSphere();
});
after(async () => {
  closeAllSockets();
  await sphere?.server.stop();
});

/** The UI's fetchWithAuth: Bearer header and `?token=` (unencoded), JSON. */
function uiFetch(token, method, path, body) {
  return fetch(`${sphere.base}/api${path}?token=${token}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, json: await r.json() }));
}

/** websocketService.connect(session.user.id), then its onopen: join_room twice. */
async function openChatPage(token, sessionId, roomId) {
  const ui = await openSocket(wsUrl(sphere.base, `/ws?token=${token}&userId=${sessionId}`));
  ui.send({ type: "join_room", roomId });
  ui.send({ type: "join_room", roomId });
  return ui;
}

test("the UI's URL with its own session userId connects as the token's user", async () => {
  const ann = await makeUser(sphere, "ann");
  const bob = await makeUser(sphere, "bob");
  // The dashboard: roomsApi.createRoom, then the room page's roomsApi.getRoom.
  const created = await uiFetch(ann.token, "POST", "/rooms", { name: "lobby", description: "", isPrivate: false });
  assert.equal(created.status, 201);
  const roomId = created.json.id;
  const got = await uiFetch(ann.token, "GET", `/rooms/${roomId}`);
  assert.equal(got.status, 200);
  assert.equal(got.json.name, "lobby");

  const peer = await serverSocket(sphere, bob);
  peer.send({ type: "join", userId: bob.id, roomId });
  await peer.next("previous_messages");

  const ui = await openChatPage(ann.token, SESSION_ID, roomId);
  for (let i = 0; i < 2; i++) {
    const h = await ui.next("message_history");
    assert.deepEqual(h.messages, []);
  }

  // handleSendMessage -> sendMessage(text): the text goes out as the frame's type.
  // Nothing to deliver: no answer, and the socket carries on.
  ui.send({ type: "hello from the UI" });
  // websocketService.sendMessage("new_message", text): the service's text message.
  ui.send({ type: "new_message", content: "first", roomId });
  ui.send({ type: "new_message", content: "second", roomId });
  const first = (await expectNoneBefore(ui, "error", ui.nextEntry("new_message"), "ui")).frame;
  assert.equal(first.content, "first");
  assert.equal(first.userId, ann.id);
  assert.equal(first.username, ann.username);
  assert.equal(first.roomId, roomId);
  assert.ok(first.id && first.createdAt && first.updatedAt);
  // Joined twice, delivered once: the next delivery is the next message.
  assert.equal((await ui.next("new_message")).content, "second");

  const seen = await peer.next("new_message");
  assert.equal(seen.message.content, "first");
  assert.equal(seen.message.userId, ann.id);
  assert.equal(seen.message.user.username, ann.username);

  const history = await uiFetch(ann.token, "GET", `/rooms/${roomId}/messages`);
  assert.deepEqual(
    history.json.map((m) => [m.content, m.userId]),
    [
      ["first", ann.id],
      ["second", ann.id],
    ],
  );
  // A page opened later shows the same history, still as ann's.
  const again = await openChatPage(ann.token, SESSION_ID, roomId);
  const h = await again.next("message_history");
  assert.deepEqual(
    h.messages.map((m) => [m.content, m.userId, m.username]),
    [
      ["first", ann.id, ann.username],
      ["second", ann.id, ann.username],
    ],
  );
});

test("a userId naming another real user gives none of that user's rights", async () => {
  const cat = await makeUser(sphere, "cat");
  const dov = await makeUser(sphere, "dov");
  const dovsRoom = await makeRoom(sphere, dov, { isPrivate: true });
  const open = await makeRoom(sphere, cat);

  // cat's token, dov's id: the connection is cat's.
  const ui = await openChatPage(cat.token, dov.id, dovsRoom);
  assert.equal((await ui.next("error")).message, "You don't have access to this room");
  assert.equal((await ui.next("error")).message, "You don't have access to this room");
  ui.send({ type: "new_message", content: "not as dov", roomId: dovsRoom });
  assert.equal((await ui.next("error")).message, "You don't have access to this room");
  const dovs = await api(sphere.base, "GET", `/api/rooms/${dovsRoom}/messages`, dov.token);
  assert.deepEqual(dovs.json, []);

  ui.send({ type: "join_room", roomId: open });
  await ui.next("message_history");
  ui.send({ type: "new_message", content: "as cat", roomId: open });
  const m = await ui.next("new_message");
  assert.equal(m.userId, cat.id);
  assert.equal(m.username, cat.username);
});

test("a frame's userId is a claim: another user's is refused, never acted on", async () => {
  const eve = await makeUser(sphere, "eve");
  const fay = await makeUser(sphere, "fay");
  const room = await makeRoom(sphere, eve, { members: [fay] });
  const s = await serverSocket(sphere, eve);
  s.send({ type: "join", userId: fay.id, roomId: room });
  assert.equal((await s.next("error")).message, "userId does not match the authenticated user");
  s.send({ type: "message", content: "as fay", userId: fay.id, roomId: room });
  assert.equal((await s.next("error")).message, "userId does not match the authenticated user");
  // The UI's session id in a frame is refused the same way.
  s.send({ type: "message", content: "as the session", userId: SESSION_ID, roomId: room });
  assert.equal((await s.next("error")).message, "userId does not match the authenticated user");
  s.send({ type: "join", userId: eve.id, roomId: room });
  assert.deepEqual((await s.next("previous_messages")).messages, []);
});

test("strict as before: no token, a bad token or a revoked one is refused with the UI's URL", async () => {
  const gil = await makeUser(sphere, "gil");
  const refused = (query) => openSocket(wsUrl(sphere.base, `/ws?${query}`));
  await assert.rejects(refused(`userId=${SESSION_ID}`), (e) => e.status === 401 && JSON.parse(e.body).error === "Unauthorized: No token provided");
  await assert.rejects(refused(`token=&userId=${SESSION_ID}`), (e) => e.status === 401 && JSON.parse(e.body).error === "Unauthorized: No token provided");
  await assert.rejects(refused(`token=null&userId=${SESSION_ID}`), (e) => e.status === 401 && JSON.parse(e.body).error === "Unauthorized: Invalid token");
  await assert.rejects(refused(`token=garbage&userId=${gil.id}`), (e) => e.status === 401 && JSON.parse(e.body).error === "Unauthorized: Invalid token");
  const r = await api(sphere.base, "PUT", `/api/tokens/${gil.tokenId}/revoke`, sphere.clientToken);
  assert.equal(r.status, 200);
  await assert.rejects(refused(`token=${gil.token}&userId=${gil.id}`), (e) => e.status === 401 && JSON.parse(e.body).error === "Unauthorized: Invalid token");
});

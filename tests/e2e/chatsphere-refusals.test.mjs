// chatsphere refusals end to end: upgrades without a valid token, revocation
// cutting off REST and an open WebSocket, malformed frames answered with error
// frames while the connection (and everyone else's) carries on.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startSphere,
  makeUser,
  makeRoom,
  api,
  sphereSocket,
  serverSocket,
  uiSocket,
} from "./chatsphere-lib.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";

let sphere;
before(async () => {
  sphere = await startSphere();
});
after(async () => {
  closeAllSockets();
  await sphere?.server.stop();
});

test("an upgrade needs a valid token; the token, not a claimed userId, is who connects", async () => {
  const jan = await makeUser(sphere, "jan");
  const kim = await makeUser(sphere, "kim");
  await assert.rejects(sphereSocket(sphere.base), (e) => e.status === 401 && JSON.parse(e.body).error === "Unauthorized: No token provided");
  await assert.rejects(sphereSocket(sphere.base, { query: "token=garbage" }), (e) => e.status === 401 && JSON.parse(e.body).error === "Unauthorized: Invalid token");
  // Issue 11: the UI sends its own session id as userId; it was refused with 403
  // and is now ignored (chatsphere-dropin.test.mjs checks the connection acts as
  // the token's user only).
  (await sphereSocket(sphere.base, { query: `token=${jan.token}&userId=${kim.id}` })).close();
  // The cookie the UI keeps, on any path.
  const s = await sphereSocket(sphere.base, { path: "/", headers: { cookie: `user_api_token=${jan.token}` } });
  const room = await makeRoom(sphere, jan);
  s.send({ type: "join_room", roomId: room });
  await s.next("message_history");
  // A `userId` in a frame must be the token's user.
  s.send({ type: "join", userId: kim.id, roomId: room });
  assert.match((await s.next("error")).message, /userId does not match/);
  s.send({ type: "message", content: "as kim", userId: kim.id, roomId: room });
  assert.match((await s.next("error")).message, /userId does not match/);
  const h = await api(sphere.base, "GET", `/api/rooms/${room}/messages`, jan.token);
  assert.deepEqual(h.json, []);
});

test("revoking a token cuts off REST and its open WebSocket, not other tokens", async () => {
  const lee = await makeUser(sphere, "lee");
  const room = await makeRoom(sphere, lee);
  const second = await api(sphere.base, "POST", "/api/tokens/user", sphere.clientToken, { userId: lee.id });
  assert.equal(second.status, 201);
  const other = { ...lee, token: second.json.token };

  const doomed = await serverSocket(sphere, lee);
  const kept = await serverSocket(sphere, other);
  for (const s of [doomed, kept]) {
    s.send({ type: "join", userId: lee.id, roomId: room });
    await s.next("previous_messages");
  }
  const r = await api(sphere.base, "DELETE", `/api/tokens/${lee.tokenId}`, sphere.clientToken);
  assert.equal(r.status, 200);
  assert.equal(r.json.message, "Token revoked successfully");

  assert.deepEqual(await doomed.closed(), { code: 1008, reason: "token revoked" });
  const rest = await api(sphere.base, "GET", "/api/rooms", lee.token);
  assert.equal(rest.status, 401);
  assert.equal(rest.json.error, "Unauthorized: Invalid token");
  await assert.rejects(serverSocket(sphere, lee), (e) => e.status === 401);

  // The other token of the same user carries on.
  kept.send({ type: "message", content: "still on", userId: lee.id, roomId: room });
  assert.equal((await kept.next("new_message")).message.content, "still on");
});

test("a token revoked while a connection is open is refused at its next frame", async () => {
  const mo = await makeUser(sphere, "mo");
  const room = await makeRoom(sphere, mo);
  const s = await uiSocket(sphere, mo);
  // Revoked before the connection sent anything, so it is not cut off at once.
  const r = await api(sphere.base, "PUT", `/api/tokens/${mo.tokenId}/revoke`, sphere.clientToken);
  assert.equal(r.status, 200);
  s.send({ type: "join_room", roomId: room });
  assert.deepEqual(await s.closed(), { code: 1008, reason: "token revoked" });
  assert.ok(!s.types().includes("message_history"));
});

test("malformed frames get error frames; the connection and the room carry on", async () => {
  const ned = await makeUser(sphere, "ned");
  const ola = await makeUser(sphere, "ola");
  const room = await makeRoom(sphere, ned, { members: [ola] });
  const bad = await serverSocket(sphere, ned);
  const peer = await serverSocket(sphere, ola);
  peer.send({ type: "join", userId: ola.id, roomId: room });
  await peer.next("previous_messages");

  const cases = [
    ["not json", "Invalid JSON"],
    ["[1,2]", /JSON object/],
    ['{"roomId": 1}', /type/],
    ['{"type": 7}', /type/],
    [{ type: "join", roomId: [1] }, /Invalid frame/],
    [{ type: "join", userId: ned.id, roomId: "999999" }, "Room not found"],
    [{ type: "message", userId: ned.id, roomId: room }, "Message content is required"],
    [{ type: "new_message", content: "x".repeat(10001), roomId: room }, /longer than/],
  ];
  for (const [frame, expected] of cases) {
    bad.send(frame);
    const e = await bad.next("error");
    if (expected instanceof RegExp) assert.match(e.message, expected, JSON.stringify(frame));
    else assert.equal(e.message, expected, JSON.stringify(frame));
  }
  bad.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.match((await bad.next("error")).message, /Binary/);

  // Unknown types are ignored: the next answer is the join's, with no error between.
  const before = bad.types().length;
  bad.send({ type: "typing", roomId: room });
  bad.send({ type: "join", userId: ned.id, roomId: room });
  await bad.next("previous_messages");
  assert.deepEqual(bad.types().slice(before), ["join_confirmation", "previous_messages"]);

  bad.send({ type: "message", content: "still fine", userId: ned.id, roomId: room });
  assert.equal((await peer.next("new_message")).message.content, "still fine");
  assert.equal((await bad.next("new_message")).message.content, "still fine");
  assert.deepEqual(peer.types(), ["join_confirmation", "previous_messages", "new_message"]);
});

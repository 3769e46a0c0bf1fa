// chatsphere: a reconnecting client fetches every room message it missed (issue
// 14, defect 11). Both joins (`join`, `join_room`) and `GET /api/rooms/:id/
// messages` take `after` / `before` (message ids) and `limit`, an extension;
// without them they answer as the original (the last 50 on a join, the newest
// HISTORY_PAGE over REST), ascending. HISTORY_PAGE is 10 here and 25 messages
// are missed.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { closeAllSockets } from "./ws-helpers.mjs";
import { startSphere, makeUser, makeRoom, api, serverSocket, uiSocket } from "./chatsphere-lib.mjs";

let sphere;
before(async () => {
  sphere = await startSphere({ HISTORY_PAGE: "10" });
});
after(async () => {
  closeAllSockets();
  await sphere?.server.stop();
});

const texts = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

async function postAll(user, room, contents) {
  const out = [];
  for (const content of contents) {
    const r = await api(sphere.base, "POST", `/api/rooms/${room}/messages`, user.token, { content });
    assert.equal(r.status, 201, r.text);
    out.push(r.json);
  }
  return out;
}

const page = (user, room, query) => api(sphere.base, "GET", `/api/rooms/${room}/messages${query}`, user.token);

test("a reconnecting member catches up on 25 missed messages: the join's page, then REST pages", async () => {
  const alice = await makeUser(sphere, "alice");
  const bob = await makeUser(sphere, "bob");
  const room = await makeRoom(sphere, alice, { members: [bob] });

  const b = await serverSocket(sphere, bob);
  b.send({ type: "join", roomId: room });
  await b.next("previous_messages");
  await postAll(alice, room, ["seen 1", "seen 2"]);
  await b.next("new_message");
  let seen = (await b.next("new_message")).message.id;
  b.close();
  await b.closed();

  const missed = texts("missed", 25);
  const sent = await postAll(alice, room, missed);

  // Reconnected: the join asks for what came after the last message seen.
  const back = await serverSocket(sphere, bob);
  back.send({ type: "join", roomId: room, after: seen, limit: 10 });
  await back.next("join_confirmation");
  const first = (await back.next("previous_messages")).messages;
  assert.deepEqual(first.map((m) => m.content), missed.slice(0, 10));
  const got = [...first];
  seen = first.at(-1).id;
  for (let i = 0; i < 8; i++) {
    const r = await page(bob, room, `?after=${seen}&limit=10`);
    assert.equal(r.status, 200, r.text);
    if (r.json.length === 0) break;
    assert.ok(r.json.length <= 10);
    got.push(...r.json);
    seen = r.json.at(-1).id;
  }
  assert.deepEqual(got.map((m) => m.content), missed);
  assert.deepEqual(got, sent, "the same Message objects as the posts answered");

  // The UI dialect's join takes the same page fields.
  const ui = await uiSocket(sphere, bob);
  ui.send({ type: "join_room", roomId: room, after: sent[19].id, limit: "3" });
  const hist = await ui.next("message_history");
  assert.deepEqual(hist.messages.map((m) => m.content), missed.slice(20, 23));

  // Paging back from the newest page over REST reaches the first message.
  const back10 = await page(bob, room, "");
  assert.deepEqual(back10.json.map((m) => m.content), missed.slice(15));
  const older = await page(bob, room, `?before=${back10.json[0].id}&limit=100000`);
  assert.deepEqual(older.json.map((m) => m.content), missed.slice(5, 15));
  const oldest = await page(bob, room, `?before=${older.json[0].id}`);
  assert.deepEqual(oldest.json.map((m) => m.content), ["seen 1", "seen 2", ...missed.slice(0, 5)]);
});

test("bad cursors are refused: 400 {error} over REST, an error frame on a join", async () => {
  const carol = await makeUser(sphere, "carol");
  const room = await makeRoom(sphere, carol);
  const elsewhere = await makeRoom(sphere, carol);
  const [mine] = await postAll(carol, room, ["here"]);
  const [foreign] = await postAll(carol, elsewhere, ["there"]);
  const cases = [
    ["?after=-1", "after must be a message id"],
    ["?after=abc", "after must be a message id"],
    ["?before=1.5", "before must be a message id"],
    [`?after=${foreign.id}`, "after is not a message of this conversation"],
    ["?limit=-1", "limit must be a positive integer"],
    ["?limit=many", "limit must be a positive integer"],
  ];
  for (const [query, error] of cases) {
    const r = await page(carol, room, query);
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.deepEqual(r.json, { error }, query);
  }
  const huge = await page(carol, room, "?limit=99999999999");
  assert.deepEqual(huge.json, [mine]);

  const s = await serverSocket(sphere, carol);
  for (const [frame, message] of [
    [{ after: "x" }, "after must be a message id"],
    [{ after: -4 }, "after must be a message id"],
    [{ limit: 0 }, "limit must be a positive integer"],
    [{ before: foreign.id }, "before is not a message of this conversation"],
    [{ after: [1] }, "after must be a string or a number"],
  ]) {
    s.send({ type: "join", roomId: room, ...frame });
    assert.deepEqual(await s.next("error"), { type: "error", message }, JSON.stringify(frame));
  }
  assert.deepEqual(s.types(), ["error", "error", "error", "error", "error"], "no join answered");
});

test("a cursor reads nothing it could not read otherwise", async () => {
  const owner = await makeUser(sphere, "owner");
  const outsider = await makeUser(sphere, "outsider");
  const secret = await makeRoom(sphere, owner, { isPrivate: true });
  const [hidden] = await postAll(owner, secret, ["secret"]);
  // Not a member of the private room: refused with or without a cursor.
  for (const query of ["", `?after=${hidden.id}`, `?before=${hidden.id + 1}&limit=5`]) {
    const r = await page(outsider, secret, query);
    assert.equal(r.status, 403, `${query}: ${r.text}`);
    assert.deepEqual(r.json, { error: "You don't have access to this room" });
  }
  const s = await serverSocket(sphere, outsider);
  s.send({ type: "join", roomId: secret, after: hidden.id });
  assert.deepEqual(await s.next("error"), { type: "error", message: "You don't have access to this room" });
  // A refused join changes nothing: joining a public room with a bad cursor
  // makes no member of the outsider.
  const open = await makeRoom(sphere, owner);
  s.send({ type: "join", roomId: open, before: hidden.id });
  assert.deepEqual(await s.next("error"), { type: "error", message: "before is not a message of this conversation" });
  assert.equal((await page(outsider, open, "")).status, 403);
  s.send({ type: "join", roomId: open });
  await s.next("previous_messages");
  assert.equal((await page(outsider, open, "")).status, 200);
  // A member of another room cannot use a message of the private one as a cursor.
  const own = await makeRoom(sphere, outsider);
  await postAll(outsider, own, ["mine"]);
  const r = await page(outsider, own, `?after=${hidden.id}`);
  assert.equal(r.status, 400, r.text);
  assert.ok(!r.text.includes("secret"));
});

// orgchat: a reconnecting client fetches every room message it missed (issue 14,
// defect 11). The original had no history call at all; chatwire adds
// `GET /api/chat/:roomId/messages?after=&before=&limit=` (members of the room's
// organization only): `{data: [row], hasMore}`, rows oldest first and shaped as
// `newMessage` carries them, content decrypted. HISTORY_PAGE is 10 here and 25
// messages are missed.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, get, closeAll } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, createRoom, rawClient, sioClient, bearer, rand } from "./orgchat-lib.mjs";

let server;
let base;
let ann, ben, eve;
const org = `History Org ${rand(5)}`;

before(async () => {
  server = await startServer({ BCRYPT_COST: "4", HISTORY_PAGE: "10" }, { waitFor: ["orgchat"] });
  base = server.urls.orgchat;
  ann = await orgUser(base, { name: "Ann", org, role: "user" });
  ben = await orgUser(base, { name: "Ben", org, role: "user" });
  eve = await orgUser(base, { name: "Eve", org: `Other Org ${rand(5)}`, role: "admin" });
});

after(async () => {
  closeAll();
  closeAllSockets();
  if (server) await server.stop();
});

const history = (user, roomId, query = "") => get(base, `/api/chat/${roomId}/messages${query}`, bearer(user.accessToken));

const texts = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

async function joined(client, roomId) {
  client.emit("joinRoom", { roomId });
  await client.nextPayload("notification");
}

/** `client` (in the room) sends `contents`; resolves with the rows once all are stored. */
async function sendAll(client, roomId, contents) {
  for (const content of contents) client.emit("sendMessage", { roomId, content });
  const rows = [];
  for (let i = 0; i < contents.length; i++) rows.push(await client.nextPayload("newMessage"));
  return rows;
}

test("a reconnecting member fetches all 25 missed messages once, in order, with after", async () => {
  const room = await createRoom(base, ann, `Catch up ${rand(4)}`);
  const sender = await rawClient(base, ann.accessToken);
  await joined(sender, room.id);
  const reader = await sioClient(base, ben.accessToken);
  await joined(reader, room.id);
  await sendAll(sender, room.id, ["seen 1", "seen 2"]);
  const seenRows = [await reader.nextPayload("newMessage"), await reader.nextPayload("newMessage")];
  let seen = seenRows[1].id;
  reader.close();

  const missed = texts("missed", 25);
  const sentRows = await sendAll(sender, room.id, missed);

  // Reconnected (on the other transport this time), it asks for what came after.
  const back = await rawClient(base, ben.accessToken);
  await joined(back, room.id);
  const got = [];
  const more = [];
  for (let i = 0; i < 8; i++) {
    const r = await history(ben, room.id, `?after=${seen}&limit=10`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ["data", "hasMore"]);
    if (r.json.data.length === 0) break;
    assert.ok(r.json.data.length <= 10);
    got.push(...r.json.data);
    more.push(r.json.hasMore);
    seen = r.json.data.at(-1).id;
  }
  assert.deepEqual(got.map((m) => m.content), missed);
  assert.deepEqual(more, [true, true, false]);
  // Each row is the row newMessage carried, content decrypted (stored encrypted).
  assert.deepEqual(got, sentRows);
  assert.ok(got.every((m) => m.is_encrypted === true));

  // Without a cursor: the newest page; `before` pages back to the first message.
  const newest = await history(ben, room.id);
  assert.equal(newest.status, 200);
  assert.deepEqual(newest.json.data.map((m) => m.content), missed.slice(15));
  assert.equal(newest.json.hasMore, true);
  const older = await history(ben, room.id, `?before=${newest.json.data[0].id}&limit=100000`);
  assert.deepEqual(older.json.data.map((m) => m.content), missed.slice(5, 15));
  const oldest = await history(ben, room.id, `?before=${older.json.data[0].id}&limit=10`);
  assert.deepEqual(oldest.json.data, [...seenRows, ...sentRows.slice(0, 5)]);
  assert.equal(oldest.json.hasMore, false);
});

test("bad cursors are refused with 400 {message}; a huge limit is clamped", async () => {
  const room = await createRoom(base, ann, `Bad ${rand(4)}`);
  const other = await createRoom(base, ann, `Other ${rand(4)}`);
  const c = await rawClient(base, ann.accessToken);
  await joined(c, room.id);
  const [mine] = await sendAll(c, room.id, ["here"]);
  await joined(c, other.id);
  const [foreign] = await sendAll(c, other.id, ["there"]);
  const cases = [
    ["?after=-1", "after must be a message id"],
    ["?after=abc", "after must be a message id"],
    ["?before=0", "before must be a message id"],
    [`?after=${foreign.id}`, "after is not a message of this conversation"],
    ["?limit=-3", "limit must be a positive integer"],
    ["?limit=ten", "limit must be a positive integer"],
    ["?limit=0", "limit must be a positive integer"],
  ];
  for (const [query, message] of cases) {
    const r = await history(ann, room.id, query);
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.deepEqual(r.json, { message }, query);
  }
  const huge = await history(ann, room.id, "?limit=99999999999999999999999");
  assert.equal(huge.status, 200);
  assert.deepEqual(huge.json, { data: [mine], hasMore: false });
});

test("only members of the room's organization may read it", async () => {
  const room = await createRoom(base, ann, `Private ${rand(4)}`);
  const c = await rawClient(base, ann.accessToken);
  await joined(c, room.id);
  const [row] = await sendAll(c, room.id, ["internal"]);
  // A colleague who never joined may read (any member of the organization may enter).
  const colleague = await history(ben, room.id, "?limit=5");
  assert.equal(colleague.status, 200);
  assert.deepEqual(colleague.json.data, [row]);
  for (const query of ["", `?after=${row.id}`, `?before=${row.id + 1}`]) {
    const r = await history(eve, room.id, query);
    assert.equal(r.status, 404, `${query}: ${r.text}`);
    assert.deepEqual(r.json, { message: "Room not found" });
  }
  const noToken = await get(base, `/api/chat/${room.id}/messages`);
  assert.equal(noToken.status, 401);
  assert.deepEqual(noToken.json, { message: "Unauthorized: no token provided" });
  const badToken = await get(base, `/api/chat/${room.id}/messages`, bearer("x.y.z"));
  assert.equal(badToken.status, 401);
  const nothing = await history(ann, "nope");
  assert.equal(nothing.status, 404);
  assert.deepEqual(nothing.json, { message: "Room not found" });
});

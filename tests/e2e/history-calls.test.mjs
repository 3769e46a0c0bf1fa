// calls: a reconnecting client fetches every direct message it missed (issue 14,
// defect 11). `GET /api/messages` takes `after` (a message id of the caller's)
// besides its `before` and `limit`: the oldest `limit` messages newer than it,
// oldest first, `hasMore` telling whether newer ones remain. HISTORY_PAGE is 10
// here and 25 messages are missed.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll, disconnected } from "./helpers.mjs";
import { api, registerCalls, joinCalls } from "./calls-lib.mjs";

let server;
let base;

before(async () => {
  server = await startServer({ HISTORY_PAGE: "10" }, { waitFor: ["calls"] });
  base = server.urls.calls;
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

async function sendAll(from, to, texts) {
  for (const content of texts) {
    const r = await api(base, "POST", "/api/messages", { token: from.token, body: { receiverId: to.id, content } });
    assert.equal(r.status, 201, r.text);
  }
}

const texts = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

test("a reconnecting client fetches all 25 missed messages once, in order, with after", async () => {
  const [a, b] = await Promise.all([registerCalls(base, "Ann"), registerCalls(base, "Ben")]);
  const live = await joinCalls(base, b);
  await sendAll(a, b, ["seen 1", "seen 2"]);
  const seenLive = [await live.rec.next("message"), await live.rec.next("message")];
  assert.deepEqual(seenLive.map((m) => m.content), ["seen 1", "seen 2"]);
  let seen = seenLive[1].id;
  live.disconnect();
  await disconnected(live);

  const missed = texts("missed", 25);
  await sendAll(a, b, missed);
  const back = await joinCalls(base, b);

  const got = [];
  const more = [];
  for (let i = 0; i < 8; i++) {
    const r = await api(base, "GET", `/api/messages?with=${a.id}&after=${seen}&limit=10`, { token: b.token });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.messages.length <= 10);
    if (r.json.messages.length === 0) break;
    got.push(...r.json.messages);
    more.push(r.json.hasMore);
    seen = r.json.messages.at(-1).id;
  }
  assert.deepEqual(got.map((m) => m.content), missed);
  assert.equal(new Set(got.map((m) => m.id)).size, 25);
  assert.deepEqual(more, [true, true, false], "hasMore says whether newer ones remain");

  // Across every partner too (no `with`), and with a huge limit clamped.
  const all = await api(base, "GET", `/api/messages?after=${seenLive[0].id}&limit=100000`, {
    token: b.token,
  });
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.json.messages.map((m) => m.content), ["seen 2", ...missed.slice(0, 9)]);
  back.disconnect();
});

test("bad cursors are refused with INVALID_DATA", async () => {
  const [a, b, c] = await Promise.all([registerCalls(base, "Cat"), registerCalls(base, "Dov"), registerCalls(base, "Eli")]);
  await sendAll(a, b, ["ours"]);
  await sendAll(b, c, ["theirs"]);
  const foreign = (await api(base, "GET", `/api/messages?with=${b.id}`, { token: c.token })).json.messages[0].id;
  const cases = [
    ["after=-1", "after must be a message id"],
    ["after=abc", "after must be a message id"],
    ["after=1.5", "after must be a message id"],
    [`after=${foreign}`, "after is not one of your messages"],
    [`with=${b.id}&after=${foreign}`, "after is not one of your messages"],
    ["limit=-1", "limit must be a positive number"],
  ];
  for (const [query, message] of cases) {
    const r = await api(base, "GET", `/api/messages?${query}`, { token: a.token });
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.deepEqual(r.json, { success: false, error: { code: "INVALID_DATA", message } }, query);
  }
});

test("a non-party cannot read a chat through a cursor", async () => {
  const [a, b, eve] = await Promise.all([registerCalls(base, "Fay"), registerCalls(base, "Gus"), registerCalls(base, "Eve")]);
  await sendAll(a, b, ["private 1", "private 2"]);
  const first = (await api(base, "GET", `/api/messages?with=${b.id}`, { token: a.token })).json.messages[0].id;
  for (const query of [`after=${first}`, `with=${a.id}&after=${first}`]) {
    const r = await api(base, "GET", `/api/messages?${query}`, { token: eve.token });
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.equal(r.json.error.message, "after is not one of your messages");
    assert.ok(!r.text.includes("private"));
  }
  const none = await api(base, "GET", `/api/messages?with=${a.id}`, { token: eve.token });
  assert.deepEqual(none.json.messages, []);
});

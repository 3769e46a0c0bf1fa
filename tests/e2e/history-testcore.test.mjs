// testcore: a reconnecting client fetches every room message it missed (issue
// 14, defect 11). `GET /api/v1/chat/ChatQuery/:room` takes `after` / `before`
// (a `MessageId` as the history shows it) and `limit`, an extension; without
// them its `messages` are the original answer (the newest HISTORY_PAGE, oldest
// first). HISTORY_PAGE is 10 here and 25 messages are missed while the client is
// away from the relay (which keeps nothing for it).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { tcUser, api, room, tcClient, msg, rand, join } from "./testcore-lib.mjs";

let server;
let base;

before(async () => {
  server = await startServer({ HISTORY_PAGE: "10", TESTCORE_RATE_LIMIT: "100000" }, { waitFor: ["testcore"] });
  base = server.urls.testcore;
});

after(async () => {
  closeAllSockets();
  if (server) await server.stop();
});

const chatQuery = (user, name, query = "") => api(base, "GET", `/ChatQuery/${name}${query}`, user);

/** Resolves once the room's newest page holds `id` (bounded polling). */
async function stored(user, name, id, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await chatQuery(user, name);
    if ((r.json?.data?.[0]?.messages ?? []).some((m) => m.MessageId === id)) return;
    if (Date.now() > deadline) throw new Error(`${id} not stored in time`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

test("a reconnecting member fetches all 25 missed messages once, in order, with after", async () => {
  const [ann, bob] = [await tcUser(base, "Ann"), await tcUser(base, "Bob")];
  const name = `Catchup-${rand(5)}`;
  await room(base, ann, name, [bob]);
  const a = await tcClient(base, { token: ann.token });
  const b = await tcClient(base, { token: bob.token });
  await join(base, b, bob, msg("SEND_MESSAGE", name, `b-${rand(6)}`, "bob here", bob.id));
  await join(base, a, ann, msg("SEND_MESSAGE", name, `seen-${rand(6)}`, "seen 1", ann.id));
  const first = await b.next();
  a.send(msg("SEND_MESSAGE", name, `seen-${rand(6)}`, "seen 2", ann.id));
  let seen = (await b.next()).MessageId;
  assert.notEqual(seen, first.MessageId);
  b.close();
  await b.closed();

  const missed = ids(`missed-${rand(4)}`, 25);
  for (const [i, id] of missed.entries()) a.send(msg("SEND_MESSAGE", name, id, `missed ${i}`, ann.id));
  await stored(ann, name, missed.at(-1));

  const got = [];
  for (let i = 0; i < 8; i++) {
    const r = await chatQuery(bob, name, `?after=${encodeURIComponent(seen)}&limit=10`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.success, true);
    const page = r.json.data[0].messages;
    if (page.length === 0) break;
    assert.ok(page.length <= 10);
    got.push(...page);
    seen = page.at(-1).MessageId;
  }
  assert.deepEqual(got.map((m) => m.MessageId), missed);
  assert.deepEqual(got.map((m) => m.content), missed.map((_, i) => `missed ${i}`));

  // Without a cursor, the newest page; `before` pages back.
  const newest = (await chatQuery(bob, name)).json.data[0].messages;
  assert.deepEqual(newest.map((m) => m.MessageId), missed.slice(15));
  const older = (await chatQuery(bob, name, `?before=${newest[0].MessageId}&limit=100000`)).json.data[0].messages;
  assert.deepEqual(older.map((m) => m.MessageId), missed.slice(5, 15));
});

test("bad cursors are refused in the envelope; a huge limit is clamped", async () => {
  const cat = await tcUser(base, "Cat");
  const name = `Bad-${rand(5)}`;
  const other = `Other-${rand(5)}`;
  await room(base, cat, name);
  await room(base, cat, other);
  const c = await tcClient(base, { token: cat.token });
  await join(base, c, cat, msg("SEND_MESSAGE", name, "here-1", "here", cat.id));
  await join(base, c, cat, msg("SEND_MESSAGE", other, "there-1", "there", cat.id));
  const cases = [
    ["?after=-1", "after is not a message of this conversation"],
    ["?after=nope", "after is not a message of this conversation"],
    ["?after=there-1", "after is not a message of this conversation"],
    ["?before=there-1", "before is not a message of this conversation"],
    ["?limit=-1", "limit must be a positive integer"],
    ["?limit=abc", "limit must be a positive integer"],
    ["?limit=0", "limit must be a positive integer"],
  ];
  for (const [query, message] of cases) {
    const r = await chatQuery(cat, name, query);
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.deepEqual(r.json, { statusCode: 400, data: null, message, success: false, errors: [] }, query);
  }
  const huge = await chatQuery(cat, name, "?limit=99999999999999999999");
  assert.equal(huge.status, 200);
  assert.deepEqual(huge.json.data[0].messages.map((m) => m.MessageId), ["here-1"]);
});

test("a non-member cannot read the history, with or without a cursor", async () => {
  const [dee, eve] = [await tcUser(base, "Dee"), await tcUser(base, "Eve")];
  const name = `Members-${rand(5)}`;
  await room(base, dee, name);
  const d = await tcClient(base, { token: dee.token });
  await join(base, d, dee, msg("SEND_MESSAGE", name, "private-1", "private", dee.id));
  // The original's answer: the room without `messages`.
  const plain = await chatQuery(eve, name);
  assert.equal(plain.status, 200);
  assert.equal("messages" in plain.json.data[0], false);
  // Asking for a page is refused outright.
  for (const query of ["?after=private-1", "?limit=5", "?before=private-1"]) {
    const r = await chatQuery(eve, name, query);
    assert.equal(r.status, 409, `${query}: ${r.text}`);
    assert.equal(r.json.message, "user don't have access to chat");
    assert.ok(!r.text.includes("private\""));
  }
});

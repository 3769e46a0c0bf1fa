// testcore end to end: relay without echo, join on first frame, LEAVE_ROOM,
// edits and deletes persisted, chat tokens, strict mode off.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, expectNoneBefore } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { tcUser, api, room, tcClient, msg, rand, join } from "./testcore-lib.mjs";

const servers = [];
after(async () => {
  closeAllSockets();
  for (const s of servers) await s.stop();
});

async function server(env = {}) {
  const s = await startServer(env, { waitFor: ["testcore"] });
  servers.push(s);
  return s.urls.testcore;
}

const history = async (base, user, name) => (await api(base, "GET", `/ChatQuery/${name}`, user)).json.data[0].messages;

/** Matches the relayed frame with MessageId `id` (and type `type`, when given). */
const frame = (id, type) => (e) => e.frame.MessageId === id && (!type || e.frame.typeOfMessage === type);

test("relay to the room's other connections, no echo, join on first frame", async () => {
  const base = await server();
  const [ann, bob, cid] = [await tcUser(base, "Ann"), await tcUser(base, "Bob"), await tcUser(base, "Cid")];
  const name = `Delhi/CSE-${rand(4)}`;
  await room(base, ann, name, [bob, cid]);
  const a = await tcClient(base, { token: ann.token });
  const a2 = await tcClient(base, { token: ann.token });
  const b = await tcClient(base, { token: bob.token });
  const c = await tcClient(base, { token: cid.token });

  // Bob and Ann's second tab join by sending; Cid has sent nothing yet.
  await join(base, b, bob, msg("SEND_MESSAGE", name, "b-0", "bob here", bob.id));
  await join(base, a2, ann, msg("SEND_MESSAGE", name.toLowerCase(), "a-0", "ann tab 2", ann.id));
  // Relayed with the room's stored name.
  assert.deepEqual(await b.next(), msg("SEND_MESSAGE", name, "a-0", "ann tab 2", ann.id));

  a.send(msg("SEND_MESSAGE", name, "a-1", "hello", ann.id));
  assert.deepEqual(await b.next(), msg("SEND_MESSAGE", name, "a-1", "hello", ann.id));

  await join(base, c, cid, msg("SEND_MESSAGE", name, "c-1", "cid joins", cid.id));
  assert.equal((await b.next()).MessageId, "c-1");
  // The sender's connections get no echo of a-1: c-1, relayed later, comes first.
  await expectNoneBefore(a, undefined, a.seen(frame("c-1")));
  await expectNoneBefore(a2, undefined, a2.seen(frame("c-1")));
  assert.equal((await a.next()).MessageId, "c-1");
  assert.equal((await a2.next()).MessageId, "c-1");
  b.send(msg("SEND_MESSAGE", name, "b-1", "to all", bob.id));
  // Cid had not joined the live feed when a-1 was relayed: b-1 is his first frame.
  await expectNoneBefore(c, undefined, c.seen(frame("b-1")));
  assert.equal((await c.next()).MessageId, "b-1");
  assert.equal((await a.next()).MessageId, "b-1");
  assert.equal((await a2.next()).MessageId, "b-1");

  // LEAVE_ROOM: Cid leaves and is closed; later messages do not reach him.
  c.send(msg("LEAVE_ROOM", name, "c-2", "bye", cid.id));
  assert.equal((await c.closed()).code, 1000);
  b.send(msg("SEND_MESSAGE", name, "b-2", "after", bob.id));
  assert.equal((await a.next()).MessageId, "b-2");

  const h = await history(base, ann, name);
  assert.deepEqual(h.map((m) => m.MessageId), ["b-0", "a-0", "a-1", "c-1", "b-1", "b-2"]);
});

test("edits and deletes: only the author, relayed and persisted", async () => {
  const base = await server();
  const [ann, bob] = [await tcUser(base, "Ann"), await tcUser(base, "Bob")];
  const name = `edit-${rand(4)}`;
  await room(base, ann, name, [bob]);
  const a = await tcClient(base, { token: ann.token });
  const b = await tcClient(base, { token: bob.token });
  await join(base, b, bob, msg("SEND_MESSAGE", name, "b-0", "joined", bob.id));
  a.send(msg("SEND_MESSAGE", name, "m1", "first", ann.id));
  a.send(msg("SEND_MESSAGE", name, "m2", "second", ann.id));
  assert.equal((await b.next()).MessageId, "m1");
  assert.equal((await b.next()).MessageId, "m2");

  a.send(msg("MODIFI_MESSAGE", name, "m1", "first, edited", ann.id));
  assert.deepEqual(await b.next(), msg("MODIFI_MESSAGE", name, "m1", "first, edited", ann.id));
  a.send(msg("DELETE_MESSAGE", name, "m2", "-", ann.id));
  assert.deepEqual(await b.next(), msg("DELETE_MESSAGE", name, "m2", "", ann.id));
  const h = await history(base, bob, name);
  assert.deepEqual(h.map((m) => [m.MessageId, m.content, m.edited]), [["b-0", "joined", false], ["m1", "first, edited", true]]);

  // Bob may not edit or delete Ann's message: closed, nothing changed.
  b.send(msg("MODIFI_MESSAGE", name, "m1", "hacked", bob.id));
  assert.deepEqual(await b.closed(), { code: 4000, reason: "only the author can change a message" });
  const b2 = await tcClient(base, { token: bob.token });
  b2.send(msg("DELETE_MESSAGE", name, "m1", "-", bob.id));
  assert.equal((await b2.closed()).code, 4000);
  const b3 = await tcClient(base, { token: bob.token });
  b3.send(msg("MODIFI_MESSAGE", name, "nope", "x", bob.id));
  assert.deepEqual(await b3.closed(), { code: 4000, reason: "message not found" });
  // None of it reached Ann: Bob's edit of his own message, sent after, comes first.
  const b4 = await tcClient(base, { token: bob.token });
  b4.send(msg("MODIFI_MESSAGE", name, "b-0", "joined, edited", bob.id));
  await expectNoneBefore(a, undefined, a.nextEntry(frame("b-0", "MODIFI_MESSAGE")));
  assert.equal((await history(base, ann, name))[1].content, "first, edited");
});

test("chat tokens: the cookie and ?token= admit their own room only", async () => {
  const base = await server();
  const [ann, bob] = [await tcUser(base, "Ann"), await tcUser(base, "Bob")];
  const one = `one-${rand(4)}`;
  const two = `two-${rand(4)}`;
  await room(base, ann, one, [bob]);
  await room(base, ann, two);
  const r = await api(base, "POST", `/connectChat/${one}`, ann);
  assert.equal(r.status, 200);
  const cookie = `UserChatToken=${r.cookies.UserChatToken.value}`;
  assert.ok(r.cookies.UserChatToken.attrs.httponly);

  const b = await tcClient(base, { token: bob.token });
  await join(base, b, bob, msg("SEND_MESSAGE", one, "b0", "hi", bob.id));
  const viaCookie = await tcClient(base, { cookie });
  viaCookie.send(msg("SEND_MESSAGE", one, "c1", "by cookie", ann.id));
  assert.equal((await b.next()).MessageId, "c1");
  viaCookie.send(msg("SEND_MESSAGE", two, "c2", "other room", ann.id));
  assert.deepEqual(await viaCookie.closed(), { code: 4000, reason: "the token does not admit this room" });

  const viaQuery = await tcClient(base, { token: r.json.data.token, path: "/" });
  viaQuery.send(msg("SEND_MESSAGE", one, "q1", "by query", ann.id));
  assert.equal((await b.next()).MessageId, "q1");

  // Ann's chat token with Bob's userId: refused.
  viaQuery.send(msg("SEND_MESSAGE", one, "q2", "spoof", bob.id));
  assert.deepEqual(await viaQuery.closed(), { code: 4000, reason: "userId does not match the token" });
  // None of it reached Bob: Ann's edit of c1, sent after, comes first.
  const ann2 = await tcClient(base, { token: ann.token });
  ann2.send(msg("MODIFI_MESSAGE", one, "c1", "by cookie, edited", ann.id));
  await expectNoneBefore(b, undefined, b.nextEntry(frame("c1", "MODIFI_MESSAGE")));
  const h = await history(base, bob, one);
  assert.deepEqual(h.map((m) => m.MessageId), ["b0", "c1", "q1"]);
});

test("strict mode off: the original client sends no token", async () => {
  const base = await server({ TESTCORE_STRICT_TOKENS: "false" });
  const [ann, bob] = [await tcUser(base, "Ann"), await tcUser(base, "Bob")];
  const name = `open-${rand(4)}`;
  await room(base, ann, name, [bob]);
  const a = await tcClient(base);
  const b = await tcClient(base);
  await join(base, b, bob, msg("SEND_MESSAGE", name, "b0", "hi", bob.id));
  a.send(msg("SEND_MESSAGE", name, "a1", "no token", ann.id));
  assert.deepEqual(await b.next(), msg("SEND_MESSAGE", name, "a1", "no token", ann.id));
  // No echo of a1: Bob's edit of his own b0, sent after, comes first.
  b.send(msg("MODIFI_MESSAGE", name, "b0", "hi, edited", bob.id));
  await expectNoneBefore(a, undefined, a.nextEntry(frame("b0", "MODIFI_MESSAGE")));
  // A connection keeps the user of its first frame.
  a.send(msg("SEND_MESSAGE", name, "a2", "now bob?", bob.id));
  assert.deepEqual(await a.closed(), { code: 4000, reason: "userId does not match the token" });
  const ghost = await tcClient(base);
  ghost.send(msg("SEND_MESSAGE", name, "g", "boo", "999999"));
  assert.deepEqual(await ghost.closed(), { code: 4000, reason: "userId does not name a user" });
  // A token, when given, is still checked.
  const forged = await tcClient(base, { token: "forged" });
  assert.equal((await forged.closed()).code, 4000);
  // None of it reached Bob: Ann's edit of a1, from a new connection, comes first.
  const ann2 = await tcClient(base);
  ann2.send(msg("MODIFI_MESSAGE", name, "a1", "no token, edited", ann.id));
  await expectNoneBefore(b, undefined, b.nextEntry(frame("a1", "MODIFI_MESSAGE")));
  assert.deepEqual((await history(base, ann, name)).map((m) => m.MessageId), ["b0", "a1"]);
});

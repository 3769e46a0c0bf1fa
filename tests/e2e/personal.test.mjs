// expresschat personal (1:1) and self chats, driven like the original web client:
// search-user, check-chat, create-personal-chat, send/read/fetch personal messages,
// unread counts in the greeting lists, self chat, multi-tab delivery.
//
// Assumptions where the contract is silent:
// - search-user results are users whose Name contains the query case-insensitively; the
//   searcher may or may not be among them (the client filters itself out). Unverified
//   accounts are not relied upon: all searched users here are verified.
// - `searched-user`/`added-user-match` `_id` equals that user's `user-id.userId`.
// - A personal message's `Sender` in fetch-personal-chat is the sender's userId (the
//   client compares it with `UserId`); `Timestamp` parses with `new Date()`.
// - read-personal-message marks every message the reader received as "Read". Whether
//   replying also marks the partner's earlier messages as read is not asserted.
// - A sender's own other tabs do not get `receive-personal-message` (contract: receiver
//   only); every tab of the receiver does.
// - A refused request from a non-participant may be answered with an error event or with
//   nothing, but never with the chat's data, and never reaches the participants.
// - When `Unread` is 0 the client hides the counter: Unread is the number 0, not absent.
//
// "Nobody else got it" is checked against a later delivery to the same socket (a
// throwaway group's notice, groupBarrier) with expectNoneBefore, not a fixed wait.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  newIdentity,
  signupVerify,
  connectUser,
  makeUser,
  closeAll,
  barrier,
  groupBarrier,
  expectNoneBefore,
  rand,
  sleep,
} from "./helpers.mjs";

let server;
let base;
let alice, bob, carol, dave;

before(async () => {
  server = await startServer();
  base = server.urls.expresschat;
  [alice, bob, carol, dave] = await Promise.all([
    makeUser(server, "Alice"),
    makeUser(server, "Bob"),
    makeUser(server, "Carol"),
    makeUser(server, "Dave"),
  ]);
});

// Each test starts with nothing pending on the long-lived sockets.
beforeEach(() => {
  for (const u of [alice, bob, carol, dave]) u?.rec.drain();
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

const isoish = (ts) => typeof ts === "string" || typeof ts === "number";
function assertTimestamp(ts, what) {
  assert.ok(isoish(ts) && !Number.isNaN(new Date(ts).getTime()), `${what}: bad Timestamp ${ts}`);
}

/** create-personal-chat from `a` to `b` as the client does; returns ChatId. */
async function createChat(a, b) {
  a.socket.emit("check-chat", { Receiver: b.id });
  const r = await a.rec.next("create-chat-result");
  assert.deepEqual(r, { Exists: 0, Partner: b.name });
  a.socket.emit("create-personal-chat", { Receiver: b.id, Partner: b.name, UserName: a.name });
  const mine = await a.rec.next("create-personal-chat-creator");
  const theirs = await b.rec.next("create-personal-chat-partner");
  assert.equal(typeof mine.ChatId, "string");
  assert.deepEqual(mine, { ChatId: mine.ChatId, Partner: b.name });
  assert.deepEqual(theirs, { ChatId: mine.ChatId, Partner: a.name });
  return mine.ChatId;
}

let chatAB;
async function getChatAB() {
  if (!chatAB) chatAB = await createChat(alice, bob);
  return chatAB;
}

test("search-user: Search ≤ 8, Add ≤ 3, case-insensitive substring of the name", async () => {
  const tag = rand(5);
  const idents = Array.from({ length: 9 }, (_, i) => {
    const x = newIdentity("Srch");
    return { ...x, name: `Zq${tag.toUpperCase()}mid ${String.fromCharCode(97 + i)}` };
  });
  await Promise.all(idents.map((x) => signupVerify(server, base, x)));
  const query = `${tag}MID`.toLowerCase().replace("mid", "Mi"); // mixed case part of the name

  alice.socket.emit("search-user", { Name: query, Type: "Search" });
  const s = await alice.rec.next("searched-user");
  assert.deepEqual(Object.keys(s), ["Users"]);
  assert.equal(s.Users.length, 8, `Search returns at most 8 (9 match): ${JSON.stringify(s)}`);
  const names = new Set(idents.map((x) => x.name));
  for (const u of s.Users) {
    assert.deepEqual(Object.keys(u).sort(), ["Email", "Name", "_id"]);
    assert.equal(typeof u._id, "string");
    assert.ok(names.has(u.Name), `unexpected match ${u.Name}`);
    assert.equal(u.Email, idents.find((x) => x.name === u.Name).email);
  }
  assert.equal(new Set(s.Users.map((u) => u._id)).size, 8, "distinct users");

  alice.socket.emit("search-user", { Name: query.toUpperCase(), Type: "Add" });
  const a = await alice.rec.next("added-user-match");
  assert.equal(a.Users.length, 3, `Add returns at most 3: ${JSON.stringify(a)}`);
  for (const u of a.Users) assert.ok(names.has(u.Name));

  // a search for a real user gives the id the client will use as Receiver
  alice.socket.emit("search-user", { Name: bob.name.slice(4).toLowerCase(), Type: "Search" });
  const b = await alice.rec.next("searched-user");
  assert.deepEqual(b.Users, [{ _id: bob.id, Name: bob.name, Email: bob.email }]);

  // no match → empty list
  alice.socket.emit("search-user", { Name: "no-such-name-" + rand(8), Type: "Search" });
  assert.deepEqual(await alice.rec.next("searched-user"), { Users: [] });
});

test("check-chat / create-personal-chat: both sides notified, then Exists:1 both ways", async () => {
  const chatId = await getChatAB();
  alice.socket.emit("check-chat", { Receiver: bob.id });
  assert.deepEqual(await alice.rec.next("create-chat-result"), {
    Exists: 1,
    ChatId: chatId,
    Partner: bob.name,
  });
  bob.socket.emit("check-chat", { Receiver: alice.id });
  assert.deepEqual(await bob.rec.next("create-chat-result"), {
    Exists: 1,
    ChatId: chatId,
    Partner: alice.name,
  });
  // nobody else heard about it: carol's next delivery from alice comes first
  const told = groupBarrier(alice, [carol]);
  await expectNoneBefore(carol.rec, ["create-personal-chat-partner", "create-personal-chat-creator"], told(carol.rec));
  // a new connection lists it on both sides
  const a2 = await connectUser(base, alice.cookie);
  const b2 = await connectUser(base, bob.cookie);
  const la = a2.personal.find((c) => c._id === chatId);
  const lb = b2.personal.find((c) => c._id === chatId);
  assert.ok(la && lb, "new chat listed for both");
  assert.equal(la.Partner, bob.name);
  assert.equal(lb.Partner, alice.name);
  assert.equal(la.Unread, 0);
  assert.equal(lb.Unread, 0);
  assertTimestamp(la.LastChat, "LastChat");
  assert.deepEqual(Object.keys(la).sort(), ["LastChat", "Partner", "Unread", "_id"]);
  a2.socket.disconnect();
  b2.socket.disconnect();
});

test("send-personal-message: every tab of the receiver gets it; no echo; nobody else", async () => {
  const chatId = await getChatAB();
  const aliceTab2 = await connectUser(base, alice.cookie, { transports: ["websocket"] });
  const bobTab2 = await connectUser(base, bob.cookie, { transports: ["websocket"] });
  const content = "hello bob " + rand(6);
  alice.socket.emit("send-personal-message", { ChatId: chatId, Content: content });
  const expected = { ChatId: chatId, Content: content, Sender: alice.name };
  assert.deepEqual(await bob.rec.next("receive-personal-message"), expected);
  assert.deepEqual(await bobTab2.rec.next("receive-personal-message"), expected);
  const told = groupBarrier(alice, [carol, dave]);
  for (const u of [alice, aliceTab2, carol, dave]) {
    await expectNoneBefore(u.rec, "receive-personal-message", told(u.rec));
  }

  // and back: bob replies from his second tab; alice's tabs both get it, bob's first tab not
  const reply = "hi alice " + rand(6);
  bobTab2.socket.emit("send-personal-message", { ChatId: chatId, Content: reply });
  const back = { ChatId: chatId, Content: reply, Sender: bob.name };
  assert.deepEqual(await alice.rec.next("receive-personal-message"), back);
  assert.deepEqual(await aliceTab2.rec.next("receive-personal-message"), back);
  const toldBob = groupBarrier(bobTab2);
  await expectNoneBefore(bobTab2.rec, "receive-personal-message", toldBob(bobTab2.rec));
  // Assumption: the sender's other tabs are not sent its own message (contract: receiver only)
  await expectNoneBefore(bob.rec, "receive-personal-message", toldBob(bob.rec));

  aliceTab2.socket.disconnect();
  bobTab2.socket.disconnect();
});

test("read-personal-message: ack to the partner (every tab), never to the reader", async () => {
  const chatId = await getChatAB();
  const aliceTab2 = await connectUser(base, alice.cookie, { transports: ["polling"] });
  alice.socket.emit("send-personal-message", { ChatId: chatId, Content: "read me" });
  await bob.rec.next("receive-personal-message");
  bob.socket.emit("read-personal-message", { ChatId: chatId });
  assert.deepEqual(await alice.rec.next("read-personal-msg-ack"), { ChatId: chatId });
  assert.deepEqual(await aliceTab2.rec.next("read-personal-msg-ack"), { ChatId: chatId });
  const told = groupBarrier(bob, [carol]);
  await expectNoneBefore(bob.rec, "read-personal-msg-ack", told(bob.rec));
  await expectNoneBefore(carol.rec, "read-personal-msg-ack", told(carol.rec));
  aliceTab2.socket.disconnect();
});

test("fetch-personal-chat: newest first, Sender ids, ReadStatus keyed by receiver", async () => {
  const chatId = await createChat(alice, carol);
  const sent = [];
  for (let i = 1; i <= 3; i++) {
    const c = `a→c #${i} ${rand(4)}`;
    alice.socket.emit("send-personal-message", { ChatId: chatId, Content: c });
    sent.push({ from: alice, to: carol, c });
    assert.equal((await carol.rec.next("receive-personal-message")).Content, c, "order kept");
  }
  // before carol does anything, alice's messages are Unread for carol
  alice.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: carol.name });
  const before = await alice.rec.next("personal-chat");
  assert.deepEqual(
    before.Messages.map((m) => m.ReadStatus[carol.id]),
    ["Unread", "Unread", "Unread"],
    `ReadStatus keyed by the receiver's id: ${JSON.stringify(before.Messages.map((m) => m.ReadStatus))}`,
  );

  const r = `c→a ${rand(4)}`;
  carol.socket.emit("send-personal-message", { ChatId: chatId, Content: r });
  sent.push({ from: carol, to: alice, c: r });
  await alice.rec.next("receive-personal-message");

  alice.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: carol.name });
  const pc = await alice.rec.next("personal-chat");
  assert.deepEqual(Object.keys(pc).sort(), ["Messages", "Partner", "User", "UserId"]);
  assert.equal(pc.UserId, alice.id);
  assert.equal(pc.User, alice.name);
  assert.equal(pc.Partner, carol.name);
  assert.equal(pc.Messages.length, 4);
  const newestFirst = [...sent].reverse();
  pc.Messages.forEach((m, i) => {
    const want = newestFirst[i];
    assert.equal(m.Content, want.c, `message ${i} newest first`);
    assert.equal(m.Sender, want.from.id);
    assert.equal(typeof m._id, "string");
    assertTimestamp(m.Timestamp, "personal message");
    assert.ok(["Read", "Unread"].includes(m.ReadStatus[want.to.id]), `ReadStatus for ${want.to.name}`);
  });
  // carol's reply is unread by alice (replying may count as carol having read the chat)
  assert.equal(pc.Messages[0].ReadStatus[alice.id], "Unread");
  assert.equal(new Set(pc.Messages.map((m) => m._id)).size, 4, "distinct message ids");
  for (let i = 1; i < pc.Messages.length; i++) {
    assert.ok(
      new Date(pc.Messages[i - 1].Timestamp) >= new Date(pc.Messages[i].Timestamp),
      "Timestamps descending",
    );
  }

  // carol opens the chat: read, then fetch → alice's three messages are Read by carol
  carol.socket.emit("read-personal-message", { ChatId: chatId });
  await alice.rec.next("read-personal-msg-ack");
  carol.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: alice.name });
  const pc2 = await carol.rec.next("personal-chat");
  assert.equal(pc2.UserId, carol.id);
  assert.equal(pc2.User, carol.name);
  assert.equal(pc2.Partner, alice.name);
  for (const m of pc2.Messages) {
    if (m.Sender === alice.id) assert.equal(m.ReadStatus[carol.id], "Read");
    else assert.equal(m.ReadStatus[alice.id], "Unread", "alice has not read carol's reply");
  }
});

test("unread counts and LastChat order in personal-chat-list after reconnect", async () => {
  const chatDB = await createChat(dave, bob);
  const chatCB = await createChat(carol, bob);
  dave.socket.emit("send-personal-message", { ChatId: chatDB, Content: "d1" });
  dave.socket.emit("send-personal-message", { ChatId: chatDB, Content: "d2" });
  await bob.rec.next("receive-personal-message");
  await bob.rec.next("receive-personal-message");
  // not waiting for an event: keeps the two chats' LastChat apart by more than 1 ms
  await sleep(15);
  carol.socket.emit("send-personal-message", { ChatId: chatCB, Content: "c1" });
  await bob.rec.next("receive-personal-message");

  const b2 = await connectUser(base, bob.cookie);
  const ids = b2.personal.map((c) => c._id);
  assert.ok(ids.indexOf(chatCB) >= 0 && ids.indexOf(chatDB) >= 0, JSON.stringify(b2.personal));
  assert.equal(ids[0], chatCB, "most recent chat first");
  assert.equal(ids[1], chatDB);
  const byId = Object.fromEntries(b2.personal.map((c) => [c._id, c]));
  assert.equal(byId[chatCB].Unread, 1);
  assert.equal(byId[chatDB].Unread, 2);
  assert.equal(byId[chatDB].Partner, dave.name);
  assert.equal(byId[chatCB].Partner, carol.name);
  for (let i = 1; i < b2.personal.length; i++) {
    assert.ok(
      new Date(b2.personal[i - 1].LastChat) >= new Date(b2.personal[i].LastChat),
      "sorted by LastChat, newest first",
    );
  }
  // the senders have nothing unread in those chats
  const d2 = await connectUser(base, dave.cookie);
  assert.equal(d2.personal.find((c) => c._id === chatDB).Unread, 0);

  // bob reads dave's chat → 0 on the next connect, carol's stays 1
  b2.socket.emit("read-personal-message", { ChatId: chatDB });
  await dave.rec.next("read-personal-msg-ack");
  const b3 = await connectUser(base, bob.cookie);
  const byId3 = Object.fromEntries(b3.personal.map((c) => [c._id, c]));
  assert.equal(byId3[chatDB].Unread, 0);
  assert.equal(byId3[chatCB].Unread, 1);
  // and the ack went to dave's connections only
  await d2.rec.next("read-personal-msg-ack");
  await expectNoneBefore(bob.rec, "read-personal-msg-ack", groupBarrier(b2)(bob.rec));
  for (const c of [b2, d2, b3]) c.socket.disconnect();
});

test("self chat: send-self-message answers nothing; fetch-self-chat newest first", async () => {
  const me = await makeUser(server, "Selfie");
  const tab2 = await connectUser(base, me.cookie);
  const contents = ["note one", "note two", "note three"];
  for (const c of contents) me.socket.emit("send-self-message", { Content: c });
  const told = groupBarrier(me);
  await expectNoneBefore(me.rec, undefined, told(me.rec));
  await expectNoneBefore(tab2.rec, undefined, told(tab2.rec));
  me.socket.emit("fetch-self-chat", {});
  const sc = await me.rec.next("self-chat");
  assert.deepEqual(Object.keys(sc).sort(), ["Messages", "Name"]);
  assert.equal(sc.Name, me.name);
  assert.deepEqual(
    sc.Messages.map((m) => m.Content),
    [...contents].reverse(),
  );
  for (const m of sc.Messages) {
    assert.equal(typeof m._id, "string");
    assertTimestamp(m.Timestamp, "self message");
  }
  // the same history from the other tab; the self chat is not a personal chat
  tab2.socket.emit("fetch-self-chat", {});
  assert.deepEqual((await tab2.rec.next("self-chat")).Messages, sc.Messages);
  const again = await connectUser(base, me.cookie);
  assert.deepEqual(again.personal, []);
  for (const c of [me, tab2, again]) c.socket.disconnect();
});

test("non-participants cannot send, read or fetch a personal chat", async () => {
  const chatId = await getChatAB();
  const secret = "secret " + rand(6);
  alice.socket.emit("send-personal-message", { ChatId: chatId, Content: secret });
  await bob.rec.next("receive-personal-message");

  const intruder = "intrusion " + rand(6);
  dave.socket.emit("send-personal-message", { ChatId: chatId, Content: intruder });
  dave.socket.emit("read-personal-message", { ChatId: chatId });
  dave.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: alice.name });
  await barrier(dave.socket);
  const told = groupBarrier(dave, [alice, bob]);
  for (const u of [alice, bob]) {
    await expectNoneBefore(u.rec, ["receive-personal-message", "read-personal-msg-ack"], told(u.rec));
  }
  for (const pc of dave.rec.pending("personal-chat").map((e) => e.args[0])) {
    assert.ok(
      !JSON.stringify(pc).includes(secret),
      `intruder got the chat's messages: ${JSON.stringify(pc).slice(0, 300)}`,
    );
  }
  dave.rec.drain();

  // nothing was stored, and bob still has the secret unread (dave's read had no effect)
  alice.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: bob.name });
  const pc = await alice.rec.next("personal-chat");
  assert.ok(!pc.Messages.some((m) => m.Content === intruder), "intruder message not stored");
  assert.equal(pc.Messages[0].Content, secret);
  assert.equal(pc.Messages[0].ReadStatus[bob.id], "Unread");

  // check-chat by dave about alice says no chat (dave's view), never bob's chat id
  dave.socket.emit("check-chat", { Receiver: alice.id });
  const cc = await dave.rec.next("create-chat-result");
  assert.notEqual(cc.ChatId, chatId);
});

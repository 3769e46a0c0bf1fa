// expresschat: a reconnecting client fetches every message it missed (issue 14,
// defect 11). `fetch-personal-chat`, `fetch-group-chat` and `fetch-self-chat`
// take `After` / `Before` (message ids as the answers show them, `m40`) and
// `Limit`, an extension; without them the answer is the original's (the newest
// HISTORY_PAGE). HISTORY_PAGE is 10 here and 25 messages are missed, so the
// newest page alone cannot hold them. A fetch that names a page field and is
// refused is answered on `fetch-*-fail {Message}`; one that names none is still
// answered with nothing, as the original.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  makeUser,
  connectUser,
  closeAll,
  barrier,
  expectNoneBefore,
  rand,
} from "./helpers.mjs";

let server;
let base;
let alice, bob, carol;

before(async () => {
  server = await startServer({ HISTORY_PAGE: "10" });
  base = server.urls.expresschat;
  [alice, bob, carol] = await Promise.all([
    makeUser(server, "Alice"),
    makeUser(server, "Bob"),
    makeUser(server, "Carol"),
  ]);
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

async function personalChat(a, b) {
  a.socket.emit("create-personal-chat", { Receiver: b.id, Partner: b.name, UserName: a.name });
  const mine = await a.rec.next("create-personal-chat-creator");
  await b.rec.next("create-personal-chat-partner");
  return mine.ChatId;
}

async function groupChat(admin, members) {
  const Name = `History ${rand(5)}`;
  admin.socket.emit("create-group-chat", { Name, Description: "", Participants: members.map((m) => m.id) });
  const mine = await admin.rec.next("create-group-chat-creator");
  for (const m of members) await m.rec.next("create-group-chat-receiver");
  return mine.GroupId;
}

/** Sends `texts` (each with the fields `to`) and returns once the server has stored them all. */
async function sendAll(user, event, to, texts) {
  for (const Content of texts) user.socket.emit(event, { ...to, Content });
  await barrier(user.socket); // a socket's events are handled in order
}

/**
 * Pages forward from `seen` with `fetch` (which answers Messages newest first)
 * until an empty page; at most `maxPages` pages, so a server that ignores the
 * cursor fails instead of looping. Returns the messages oldest first.
 */
async function catchUp(fetch, seen, idOf, maxPages = 8) {
  const got = [];
  for (let i = 0; i < maxPages; i++) {
    const page = (await fetch(seen)).Messages;
    assert.ok(page.length <= 10, `a page holds at most HISTORY_PAGE: ${page.length}`);
    if (page.length === 0) return got;
    const oldestFirst = [...page].reverse();
    got.push(...oldestFirst);
    seen = idOf(oldestFirst[oldestFirst.length - 1]);
  }
  assert.fail(`still not caught up after ${maxPages} pages: ${got.length} messages, ${new Set(got.map(idOf)).size} distinct`);
}

const texts = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

test("a reconnecting partner fetches all 25 missed personal messages once, in order, with After", async () => {
  const a = await makeUser(server, "Ann");
  const b = await makeUser(server, "Ben");
  const chat = await personalChat(a, b);
  await sendAll(a, "send-personal-message", { ChatId: chat }, ["seen 1", "seen 2"]);
  b.socket.emit("fetch-personal-chat", { ChatId: chat, Partner: a.name });
  const before = await b.rec.next("personal-chat");
  assert.deepEqual(before.Messages.map((m) => m.Content), ["seen 2", "seen 1"]);
  const seen = before.Messages[0]._id;
  b.socket.disconnect();

  const missed = texts("missed", 25);
  await sendAll(a, "send-personal-message", { ChatId: chat }, missed);

  const back = await connectUser(base, b.cookie);
  // The original's fetch still answers the newest page only.
  back.socket.emit("fetch-personal-chat", { ChatId: chat, Partner: a.name });
  const newest = await back.rec.next("personal-chat");
  assert.equal(newest.Messages.length, 10);
  assert.equal(newest.Messages[0].Content, "missed 24");

  const fetch = async (After) => {
    back.socket.emit("fetch-personal-chat", { ChatId: chat, Partner: a.name, After, Limit: 10 });
    return back.rec.next("personal-chat");
  };
  const got = await catchUp(fetch, seen, (m) => m._id);
  assert.deepEqual(got.map((m) => m.Content), missed);
  assert.equal(new Set(got.map((m) => m._id)).size, 25, "each once");
  for (const m of got) assert.equal(m.Sender, a.id);
});

test("group history pages forward with After and back with Before, every message once", async () => {
  const group = await groupChat(alice, [bob, carol]);
  await sendAll(alice, "send-group-message", { GroupId: group }, ["g seen"]);
  bob.socket.emit("fetch-group-chat", { GroupId: group });
  const first = await bob.rec.next("group-chat");
  const seen = first.Messages[0].Id;

  const missed = texts("g missed", 25);
  await sendAll(carol, "send-group-message", { GroupId: group }, missed);

  const fetch = async (After) => {
    bob.socket.emit("fetch-group-chat", { GroupId: group, After, Limit: 1000 });
    return bob.rec.next("group-chat");
  };
  const got = await catchUp(fetch, seen, (m) => m.Id);
  assert.deepEqual(got.map((m) => m.Content), missed);
  assert.deepEqual([...new Set(got.map((m) => m.Sender))], [carol.name]);

  // Backwards from the newest page: all 26, newest first, each once.
  const back = [];
  let cursor;
  for (let i = 0; i < 6; i++) {
    bob.socket.emit("fetch-group-chat", cursor ? { GroupId: group, Before: cursor } : { GroupId: group });
    const page = (await bob.rec.next("group-chat")).Messages;
    if (page.length === 0) break;
    back.push(...page);
    cursor = page[page.length - 1].Id;
  }
  assert.deepEqual(back.map((m) => m.Content), [...missed].reverse().concat(["g seen"]));
});

test("the self chat pages with After too", async () => {
  const u = await makeUser(server, "Solo");
  await sendAll(u, "send-self-message", {}, ["note 0"]);
  u.socket.emit("fetch-self-chat", {});
  const seen = (await u.rec.next("self-chat")).Messages[0]._id;
  const notes = texts("note", 12).slice(1);
  await sendAll(u, "send-self-message", {}, notes);
  const fetch = async (After) => {
    u.socket.emit("fetch-self-chat", { After, Limit: 5 });
    return u.rec.next("self-chat");
  };
  const got = await catchUp(fetch, seen, (m) => m._id);
  assert.deepEqual(got.map((m) => m.Content), notes);
});

test("bad cursors are refused on fetch-*-fail; a huge Limit is clamped", async () => {
  const chat = await personalChat(alice, carol);
  await sendAll(alice, "send-personal-message", { ChatId: chat }, ["one", "two"]);
  const ask = (extra) => alice.socket.emit("fetch-personal-chat", { ChatId: chat, Partner: carol.name, ...extra });
  const refusals = [
    [{ After: "-1" }, "After must be a message id"],
    [{ After: "abc" }, "After must be a message id"],
    [{ After: -5 }, "After must be a message id"],
    [{ Before: "c1" }, "Before must be a message id"],
    [{ After: { id: 1 } }, "After must be a string or a number"],
    [{ Limit: -1 }, "Limit must be a positive integer"],
    [{ Limit: "ten" }, "Limit must be a positive integer"],
    [{ Limit: 0 }, "Limit must be a positive integer"],
    [{ Limit: 2.5 }, "Limit must be a positive integer"],
  ];
  for (const [extra, Message] of refusals) {
    ask(extra);
    assert.deepEqual(await alice.rec.next("fetch-personal-chat-fail"), { Message }, JSON.stringify(extra));
  }
  // A message of another chat is no cursor of this one.
  const other = await personalChat(alice, bob);
  await sendAll(alice, "send-personal-message", { ChatId: other }, ["elsewhere"]);
  alice.socket.emit("fetch-personal-chat", { ChatId: other, Partner: bob.name });
  const foreign = (await alice.rec.next("personal-chat")).Messages[0]._id;
  ask({ After: foreign });
  assert.deepEqual(await alice.rec.next("fetch-personal-chat-fail"), {
    Message: "after is not a message of this conversation",
  });
  // Clamped, not refused.
  ask({ Limit: 99999999999999999999 });
  const all = await alice.rec.next("personal-chat");
  assert.deepEqual(all.Messages.map((m) => m.Content), ["two", "one"]);
  ask({ Limit: "1" });
  assert.deepEqual((await alice.rec.next("personal-chat")).Messages.map((m) => m.Content), ["two"]);
  assert.equal(alice.rec.pending("personal-chat").length, 0);
});

test("a non-member cannot read a chat or a group with a cursor (and the original's fetch stays unanswered)", async () => {
  const dan = await makeUser(server, "Dan");
  const chat = await personalChat(alice, dan);
  await sendAll(alice, "send-personal-message", { ChatId: chat }, ["private"]);
  alice.socket.emit("fetch-personal-chat", { ChatId: chat, Partner: dan.name });
  const seen = (await alice.rec.next("personal-chat")).Messages[0]._id;
  const outsider = await makeUser(server, "Eve");

  outsider.socket.emit("fetch-personal-chat", { ChatId: chat, Partner: "x", After: seen });
  assert.deepEqual(await outsider.rec.next("fetch-personal-chat-fail"), { Message: "Chat not found" });

  const group = await groupChat(alice, [bob]);
  outsider.socket.emit("fetch-group-chat", { GroupId: group, Before: seen, Limit: 5 });
  assert.deepEqual(await outsider.rec.next("fetch-group-chat-fail"), { Message: "Group not found" });

  // Without page fields: no answer at all, as the original.
  outsider.socket.emit("fetch-personal-chat", { ChatId: chat, Partner: "x" });
  outsider.socket.emit("fetch-user-details", {});
  await expectNoneBefore(
    outsider.rec,
    ["fetch-personal-chat-fail", "personal-chat", "group-chat"],
    outsider.rec.nextEntry("user-details"),
    "original fetch by an outsider",
  );
  assert.equal(outsider.rec.log.filter((e) => e.event === "personal-chat" || e.event === "group-chat").length, 0);
});

// expresschat group chats: create, send/read, fetch, add-member, kickout, change-admin,
// leave-grp, delete-grp, the admin checks (Fix) and unread counts in group-chat-list.
//
// Assumptions where the contract is silent:
// - "other members" / "members" / "remaining members" exclude the acting user (and, for
//   kickout, the kicked user), as in the original server; the acting admin therefore gets
//   only its own `*-creator`/`-successful` event.
// - `user-left-grp.User` identifies the leaver (its value is not asserted: the client only
//   logs it). `*-fail.Message` is a non-empty string (its wording is not fixed).
// - `group-left-fail` carries no payload: the client sees `undefined` (null tolerated).
// - A group message's `ReadStatus` is an object; its content is not asserted.
// - A member who has left, been kicked out, or whose group was deleted can no longer
//   send to or fetch that group; refused requests may get an error event or nothing, but
//   never the group's data, and the members see nothing.
//
// "Nobody else got it" is checked against a later delivery to the same socket (a
// throwaway group's notice, groupBarrier) with expectNoneBefore, not a fixed wait.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
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
let ann, ben, cat, dan, eve;

before(async () => {
  server = await startServer();
  base = server.urls.expresschat;
  [ann, ben, cat, dan, eve] = await Promise.all([
    makeUser(server, "Ann"),
    makeUser(server, "Ben"),
    makeUser(server, "Cat"),
    makeUser(server, "Dan"),
    makeUser(server, "Eve"),
  ]);
});

beforeEach(() => {
  for (const u of [ann, ben, cat, dan, eve]) u?.rec.drain();
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

function assertTimestamp(ts, what) {
  assert.ok(
    (typeof ts === "string" || typeof ts === "number") && !Number.isNaN(new Date(ts).getTime()),
    `${what}: bad timestamp ${ts}`,
  );
}

function assertFail(payload, what) {
  assert.ok(payload && typeof payload.Message === "string" && payload.Message.length > 0,
    `${what}: expected {Message}, got ${JSON.stringify(payload)}`);
}

/** admin creates a group with `members`; returns GroupId after everyone was told. */
async function createGroup(admin, members, name = "Group " + rand(5), description = "desc " + rand(5)) {
  admin.socket.emit("create-group-chat", {
    Name: name,
    Description: description,
    Participants: members.map((m) => m.id),
  });
  const mine = await admin.rec.next("create-group-chat-creator");
  assert.equal(typeof mine.GroupId, "string");
  assert.deepEqual(mine, { GroupId: mine.GroupId, Name: name });
  for (const m of members) {
    assert.deepEqual(await m.rec.next("create-group-chat-receiver"), {
      GroupId: mine.GroupId,
      Name: name,
    });
  }
  return { id: mine.GroupId, name, description };
}

async function fetchGroup(user, groupId) {
  user.socket.emit("fetch-group-chat", { GroupId: groupId });
  return user.rec.next("group-chat");
}

/** user's group-chat-list entry for groupId on a fresh connection (undefined if absent). */
async function listedGroup(user, groupId) {
  const c = await connectUser(base, user.cookie);
  c.socket.disconnect();
  return c.groups.find((g) => g._id === groupId);
}

/** sends from `who`; no one in `nobody` gets a group message before who's next delivery to them. */
async function assertRefusedSend(who, groupId, nobody) {
  const content = "refused " + rand(6);
  who.socket.emit("send-group-message", { GroupId: groupId, Content: content });
  const told = groupBarrier(who, nobody);
  for (const u of nobody) await expectNoneBefore(u.rec, "receive-group-message", told(u.rec));
  return content;
}

async function assertRefusedFetch(who, groupId, secret) {
  who.socket.emit("fetch-group-chat", { GroupId: groupId });
  await barrier(who.socket);
  for (const g of who.rec.pending("group-chat").map((e) => e.args[0])) {
    assert.ok(!JSON.stringify(g).includes(secret), `refused user got group data: ${JSON.stringify(g).slice(0, 300)}`);
  }
  who.rec.drain();
}

test("create-group-chat: creator gets -creator only, participants -receiver, outsiders nothing", async () => {
  const g = await createGroup(ann, [ben, cat]);
  const told = groupBarrier(ann, [dan]);
  await expectNoneBefore(ann.rec, "create-group-chat-receiver", told(ann.rec));
  await expectNoneBefore(dan.rec, ["create-group-chat-receiver", "create-group-chat-creator"], told(dan.rec));
  for (const u of [ann, ben, cat]) {
    const entry = await listedGroup(u, g.id);
    assert.ok(entry, `${u.name} lists the new group`);
    assert.deepEqual(Object.keys(entry).sort(), ["LastChat", "Name", "Unread", "_id"]);
    assert.equal(entry.Name, g.name);
    assert.equal(entry.Unread, 0);
    assertTimestamp(entry.LastChat, "LastChat");
  }
  assert.equal(await listedGroup(dan, g.id), undefined, "outsider does not list it");
});

test("send/read group messages: other members on every tab, no echo, acks to others", async () => {
  const g = await createGroup(ann, [ben, cat]);
  const catTab2 = await connectUser(base, cat.cookie, { transports: ["websocket"] });
  const content = "hi group " + rand(5);
  ben.socket.emit("send-group-message", { GroupId: g.id, Content: content });
  const expected = { ChatId: g.id, Sender: ben.name, Content: content };
  assert.deepEqual(await ann.rec.next("receive-group-message"), expected);
  assert.deepEqual(await cat.rec.next("receive-group-message"), expected);
  assert.deepEqual(await catTab2.rec.next("receive-group-message"), expected);
  const toldSent = groupBarrier(ben, [dan]);
  await expectNoneBefore(ben.rec, "receive-group-message", toldSent(ben.rec));
  await expectNoneBefore(dan.rec, "receive-group-message", toldSent(dan.rec));

  cat.socket.emit("read-group-message", { GroupId: g.id });
  const ack = { Reader: cat.id, ChatId: g.id };
  assert.deepEqual(await ann.rec.next("read-grp-msg-ack"), ack);
  assert.deepEqual(await ben.rec.next("read-grp-msg-ack"), ack);
  const toldRead = groupBarrier(cat, [dan]);
  for (const r of [cat.rec, catTab2.rec, dan.rec]) await expectNoneBefore(r, "read-grp-msg-ack", toldRead(r));
  catTab2.socket.disconnect();
});

test("fetch-group-chat: Admin, Name, Description, Participants map, Messages newest first with Id", async () => {
  const g = await createGroup(ann, [ben, cat]);
  const sent = [
    [ann, "first " + rand(4)],
    [ben, "second " + rand(4)],
    [cat, "third " + rand(4)],
  ];
  for (const [u, c] of sent) {
    u.socket.emit("send-group-message", { GroupId: g.id, Content: c });
    const other = u === ann ? ben : ann;
    assert.equal((await other.rec.next("receive-group-message")).Content, c);
  }
  const gc = await fetchGroup(ben, g.id);
  assert.deepEqual(Object.keys(gc).sort(), [
    "Admin",
    "Description",
    "Messages",
    "Name",
    "Participants",
  ]);
  assert.equal(gc.Admin, ann.id);
  assert.equal(gc.Name, g.name);
  assert.equal(gc.Description, g.description);
  assert.deepEqual(gc.Participants, { [ann.id]: ann.name, [ben.id]: ben.name, [cat.id]: cat.name });
  assert.deepEqual(
    gc.Messages.map((m) => [m.Sender, m.Content]),
    [...sent].reverse().map(([u, c]) => [u.name, c]),
    "newest first, Sender is the name",
  );
  for (const m of gc.Messages) {
    assert.equal(typeof m.Id, "string", "message Id");
    assert.equal(typeof m.ReadStatus, "object");
    assert.ok(m.ReadStatus !== null);
    assertTimestamp(m.Timestamp, "group message");
  }
  assert.equal(new Set(gc.Messages.map((m) => m.Id)).size, 3);
});

test("group-chat-list Unread counts after reconnect; read-group-message resets", async () => {
  const g = await createGroup(ann, [ben, cat]);
  for (const c of ["u1", "u2", "u3"]) {
    ann.socket.emit("send-group-message", { GroupId: g.id, Content: c });
    await ben.rec.next("receive-group-message");
  }
  assert.equal((await listedGroup(ben, g.id)).Unread, 3);
  assert.equal((await listedGroup(cat, g.id)).Unread, 3);
  assert.equal((await listedGroup(ann, g.id)).Unread, 0, "sender has nothing unread");
  ben.socket.emit("read-group-message", { GroupId: g.id });
  await ann.rec.next("read-grp-msg-ack");
  assert.equal((await listedGroup(ben, g.id)).Unread, 0);
  assert.equal((await listedGroup(cat, g.id)).Unread, 3);
  // the most recently active group is listed first
  const g2 = await createGroup(ann, [ben]);
  await sleep(15); // not waiting for an event: keeps LastChat values more than 1 ms apart
  ann.socket.emit("send-group-message", { GroupId: g2.id, Content: "newer" });
  await ben.rec.next("receive-group-message");
  const c = await connectUser(base, ben.cookie);
  c.socket.disconnect();
  assert.equal(c.groups[0]._id, g2.id);
  for (let i = 1; i < c.groups.length; i++) {
    assert.ok(new Date(c.groups[i - 1].LastChat) >= new Date(c.groups[i].LastChat), "LastChat desc");
  }
});

test("add-member: non-admin and already-member fail; success to all members, new-grp-added", async () => {
  const g = await createGroup(ann, [ben, cat]);

  ben.socket.emit("add-member", { GroupId: g.id, Member: dan.id });
  assertFail(await ben.rec.next("add-member-fail"), "non-admin add-member");
  ann.socket.emit("add-member", { GroupId: g.id, Member: ben.id });
  assertFail(await ann.rec.next("add-member-fail"), "already a member");
  const told = groupBarrier(ann, [dan, cat]);
  await expectNoneBefore(dan.rec, ["new-grp-added", "add-member-success"], told(dan.rec));
  await expectNoneBefore(cat.rec, "add-member-success", told(cat.rec));
  assert.equal(Object.keys((await fetchGroup(ann, g.id)).Participants).length, 3);

  ann.socket.emit("add-member", { GroupId: g.id, Member: dan.id });
  const ok = { ChatId: g.id, Member: dan.id };
  assert.deepEqual(await ann.rec.next("add-member-success"), ok, "admin included");
  assert.deepEqual(await ben.rec.next("add-member-success"), ok);
  assert.deepEqual(await cat.rec.next("add-member-success"), ok);
  assert.deepEqual(await dan.rec.next("new-grp-added"), { ChatId: g.id });
  await expectNoneBefore(eve.rec, ["new-grp-added", "add-member-success"], groupBarrier(ann, [eve])(eve.rec));

  // the new member is a full member now
  const gc = await fetchGroup(dan, g.id);
  assert.equal(gc.Participants[dan.id], dan.name);
  dan.socket.emit("send-group-message", { GroupId: g.id, Content: "dan here" });
  assert.equal((await cat.rec.next("receive-group-message")).Sender, dan.name);
  // ...and receives the group's messages on the connection that was open when added
  ann.socket.emit("send-group-message", { GroupId: g.id, Content: "welcome dan" });
  assert.equal((await dan.rec.next("receive-group-message")).Content, "welcome dan");
  assert.ok(await listedGroup(dan, g.id), "listed for the new member");
});

test("a connection opened after the group was made gets its messages; closing it leaves the other tab's", async () => {
  const g = await createGroup(ann, [ben]);
  const tab = await connectUser(base, ben.cookie);
  try {
    ann.socket.emit("send-group-message", { GroupId: g.id, Content: "to every tab" });
    assert.equal((await tab.rec.next("receive-group-message")).Content, "to every tab");
    assert.equal((await ben.rec.next("receive-group-message")).Content, "to every tab");
    tab.socket.disconnect();
    ann.socket.emit("send-group-message", { GroupId: g.id, Content: "after close" });
    assert.equal((await ben.rec.next("receive-group-message")).Content, "after close");
  } finally {
    tab.socket.disconnect();
  }
});

test("kickout: non-admin refused (Fix); admin kicks; kicked member is out", async () => {
  const g = await createGroup(ann, [ben, cat, dan]);
  const secret = "before kick " + rand(5);
  ann.socket.emit("send-group-message", { GroupId: g.id, Content: secret });
  for (const u of [ben, cat, dan]) await u.rec.next("receive-group-message");

  ben.socket.emit("kickout", { GroupId: g.id, Member: cat.id });
  assertFail(await ben.rec.next("kickout-fail"), "non-admin kickout");
  const told = groupBarrier(ben, [cat, ann]);
  await expectNoneBefore(cat.rec, ["kicked-out", "someone-kicked-out"], told(cat.rec));
  await expectNoneBefore(ann.rec, "someone-kicked-out", told(ann.rec));
  assert.ok((await fetchGroup(ann, g.id)).Participants[cat.id], "cat still a member");

  ann.socket.emit("kickout", { GroupId: g.id, Member: cat.id });
  assert.deepEqual(await ann.rec.next("kickout-successful"), { GroupId: g.id });
  assert.deepEqual(await cat.rec.next("kicked-out"), { GroupId: g.id, GroupName: g.name });
  assert.deepEqual(await ben.rec.next("someone-kicked-out"), { GroupId: g.id });
  assert.deepEqual(await dan.rec.next("someone-kicked-out"), { GroupId: g.id });
  const toldKicked = groupBarrier(ann, [cat]);
  await expectNoneBefore(ann.rec, "someone-kicked-out", toldKicked(ann.rec));
  await expectNoneBefore(cat.rec, "someone-kicked-out", toldKicked(cat.rec));

  const gc = await fetchGroup(ann, g.id);
  assert.equal(gc.Participants[cat.id], undefined, "cat removed");
  await assertRefusedSend(cat, g.id, [ann, ben, dan]);
  await assertRefusedFetch(cat, g.id, secret);
  // the kicked member no longer gets the group's messages
  ann.socket.emit("send-group-message", { GroupId: g.id, Content: "after kick" });
  await ben.rec.next("receive-group-message");
  await expectNoneBefore(cat.rec, "receive-group-message", groupBarrier(ann, [cat])(cat.rec));
  assert.equal(await listedGroup(cat, g.id), undefined);
});

test("change-admin: non-admin refused (Fix); -creator to self, -receiver to the others", async () => {
  const g = await createGroup(ann, [ben, cat]);
  cat.socket.emit("change-admin", { GroupId: g.id, Member: cat.id });
  assertFail(await cat.rec.next("change-admin-fail"), "non-admin change-admin");
  await expectNoneBefore(ann.rec, "change-admin-success-receiver", groupBarrier(cat, [ann])(ann.rec));
  assert.equal((await fetchGroup(ann, g.id)).Admin, ann.id);

  ann.socket.emit("change-admin", { GroupId: g.id, Member: ben.id });
  assert.deepEqual(await ann.rec.next("change-admin-success-creator"), { GroupId: g.id });
  assert.deepEqual(await ben.rec.next("change-admin-success-receiver"), { GroupId: g.id });
  assert.deepEqual(await cat.rec.next("change-admin-success-receiver"), { GroupId: g.id });
  await expectNoneBefore(ann.rec, "change-admin-success-receiver", groupBarrier(ann)(ann.rec));
  assert.equal((await fetchGroup(cat, g.id)).Admin, ben.id);

  // the old admin has lost the rights, the new one has them
  ann.socket.emit("add-member", { GroupId: g.id, Member: dan.id });
  assertFail(await ann.rec.next("add-member-fail"), "former admin add-member");
  ann.socket.emit("kickout", { GroupId: g.id, Member: cat.id });
  assertFail(await ann.rec.next("kickout-fail"), "former admin kickout");
  ben.socket.emit("add-member", { GroupId: g.id, Member: dan.id });
  assert.deepEqual(await dan.rec.next("new-grp-added"), { ChatId: g.id });
});

test("leave-grp: admin gets group-left-fail; member leaves, remaining members told", async () => {
  const g = await createGroup(ann, [ben, cat]);
  ann.socket.emit("leave-grp", { GroupId: g.id });
  const fail = await ann.rec.nextEntry("group-left-fail");
  assert.ok(fail.args.length === 0 || fail.args[0] == null, `no payload, got ${JSON.stringify(fail.args)}`);
  await expectNoneBefore(ben.rec, "user-left-grp", groupBarrier(ann, [ben])(ben.rec));
  assert.equal(Object.keys((await fetchGroup(ann, g.id)).Participants).length, 3);

  cat.socket.emit("leave-grp", { GroupId: g.id });
  const ok = await cat.rec.next("group-left-success");
  assert.equal(ok.GroupId, g.id);
  assert.equal(typeof ok.Message, "string");
  for (const u of [ann, ben]) {
    const left = await u.rec.next("user-left-grp");
    assert.equal(left.GroupId, g.id);
    assert.ok(left.User !== undefined && left.User !== null, "User present");
  }
  await expectNoneBefore(cat.rec, "user-left-grp", groupBarrier(cat)(cat.rec));
  assert.equal((await fetchGroup(ann, g.id)).Participants[cat.id], undefined);
  await assertRefusedSend(cat, g.id, [ann, ben]);
  // the one who left no longer gets the group's messages
  ann.socket.emit("send-group-message", { GroupId: g.id, Content: "after leave" });
  await ben.rec.next("receive-group-message");
  await expectNoneBefore(cat.rec, "receive-group-message", groupBarrier(ann, [cat])(cat.rec));
  assert.equal(await listedGroup(cat, g.id), undefined);
});

test("delete-grp: non-admin refused (Fix); admin deletes, members told, group gone", async () => {
  const g = await createGroup(ann, [ben, cat]);
  const secret = "doomed " + rand(5);
  ann.socket.emit("send-group-message", { GroupId: g.id, Content: secret });
  await ben.rec.next("receive-group-message");
  await cat.rec.next("receive-group-message");

  ben.socket.emit("delete-grp", { GroupId: g.id });
  assertFail(await ben.rec.next("delete-grp-fail"), "non-admin delete-grp");
  await expectNoneBefore(cat.rec, "delete-grp-success-receiver", groupBarrier(ben, [cat])(cat.rec));
  assert.equal((await fetchGroup(cat, g.id)).Name, g.name, "still there");

  ann.socket.emit("delete-grp", { GroupId: g.id });
  assert.deepEqual(await ann.rec.next("delete-group-chat-creator"), { GroupId: g.id });
  assert.deepEqual(await ben.rec.next("delete-grp-success-receiver"), { GroupId: g.id });
  assert.deepEqual(await cat.rec.next("delete-grp-success-receiver"), { GroupId: g.id });
  const told = groupBarrier(ann, [dan]);
  await expectNoneBefore(ann.rec, "delete-grp-success-receiver", told(ann.rec));
  await expectNoneBefore(dan.rec, "delete-grp-success-receiver", told(dan.rec));

  for (const u of [ann, ben, cat]) assert.equal(await listedGroup(u, g.id), undefined);
  await assertRefusedSend(ben, g.id, [ann, cat]);
  await assertRefusedFetch(ann, g.id, secret);
});

test("outsiders cannot use a group's id for anything", async () => {
  const g = await createGroup(ann, [ben]);
  const secret = "members only " + rand(5);
  ann.socket.emit("send-group-message", { GroupId: g.id, Content: secret });
  await ben.rec.next("receive-group-message");

  await assertRefusedSend(eve, g.id, [ann, ben]);
  await assertRefusedFetch(eve, g.id, secret);
  eve.socket.emit("read-group-message", { GroupId: g.id });
  eve.socket.emit("add-member", { GroupId: g.id, Member: eve.id });
  eve.socket.emit("kickout", { GroupId: g.id, Member: ben.id });
  eve.socket.emit("change-admin", { GroupId: g.id, Member: eve.id });
  eve.socket.emit("leave-grp", { GroupId: g.id });
  eve.socket.emit("delete-grp", { GroupId: g.id });
  const told = groupBarrier(eve, [ann, ben]);
  await expectNoneBefore(ann.rec, undefined, told(ann.rec));
  await expectNoneBefore(ben.rec, undefined, told(ben.rec));
  await told(eve.rec); // eve's own deliveries so far have arrived too
  for (const e of ["new-grp-added", "kickout-successful", "change-admin-success-creator",
    "group-left-success", "delete-group-chat-creator"]) {
    assert.equal(eve.rec.all(e).length, 0, `outsider must not get ${e}`);
  }
  const gc = await fetchGroup(ann, g.id);
  assert.equal(gc.Admin, ann.id);
  assert.deepEqual(gc.Participants, { [ann.id]: ann.name, [ben.id]: ben.name });
  assert.equal(gc.Messages.length, 1);
  assert.equal((await listedGroup(ben, g.id)).Unread, 1, "eve's read did not touch ben's count");
});

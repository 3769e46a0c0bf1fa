// expresschat: malformed and unauthorized input. Every bad payload must have no effect
// (nothing delivered, nothing stored), must not crash the server, and must leave the
// sending socket usable — proved each time by a following valid request.
//
// Assumptions where the contract is silent:
// - A refused event may be answered with an error event or with nothing; we only assert
//   that no success event / delivery happens and that the socket still works.
// - Wrong JSON types are refused, not coerced (e.g. Content: 42 is not sent as "42").
// - `search-user` matches a literal part of the name: regex metacharacters match
//   nothing unless a name contains them (names here don't).
// - `fetch-user-details` takes "any" payload, including none.
// - HUGE_CONTENT (100,000 characters, override with CHATWIRE_E2E_HUGE) is beyond the
//   server's content-length limit but within its WebSocket frame limit; it is sent over
//   the websocket transport (long-polling has its own 100 KB packet limit).

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, connectUser, makeUser, closeAll, barrier, expectNoneBefore, rand } from "./helpers.mjs";

const HUGE = Number(process.env.CHATWIRE_E2E_HUGE || 100_000);

let server;
let base;
let amy, bo, cy, dee; // amy+bo personal chat; amy(admin)+bo+cy group; dee outsider (but for cy+dee's chat)
let chatId, groupId, cyDee;

before(async () => {
  server = await startServer();
  base = server.urls.expresschat;
  [amy, bo, cy, dee] = await Promise.all([
    makeUser(server, "Amy", { transports: ["websocket"] }),
    makeUser(server, "Bo"),
    makeUser(server, "Cy"),
    makeUser(server, "Dee"),
  ]);
  amy.socket.emit("create-personal-chat", { Receiver: bo.id, Partner: bo.name, UserName: amy.name });
  chatId = (await amy.rec.next("create-personal-chat-creator")).ChatId;
  await bo.rec.next("create-personal-chat-partner");
  amy.socket.emit("create-group-chat", { Name: "G " + rand(4), Description: "d", Participants: [bo.id, cy.id] });
  groupId = (await amy.rec.next("create-group-chat-creator")).GroupId;
  await bo.rec.next("create-group-chat-receiver");
  await cy.rec.next("create-group-chat-receiver");
  cy.socket.emit("create-personal-chat", { Receiver: dee.id, Partner: dee.name, UserName: cy.name });
  cyDee = (await cy.rec.next("create-personal-chat-creator")).ChatId;
  await dee.rec.next("create-personal-chat-partner");
});

beforeEach(() => {
  for (const u of [amy, bo, cy, dee]) u?.rec.drain();
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

const SUCCESS_EVENTS = [
  "receive-personal-message",
  "read-personal-msg-ack",
  "create-personal-chat-creator",
  "create-personal-chat-partner",
  "create-group-chat-creator",
  "create-group-chat-receiver",
  "receive-group-message",
  "read-grp-msg-ack",
  "add-member-success",
  "new-grp-added",
  "kickout-successful",
  "kicked-out",
  "someone-kicked-out",
  "change-admin-success-creator",
  "change-admin-success-receiver",
  "group-left-success",
  "user-left-grp",
  "delete-group-chat-creator",
  "delete-grp-success-receiver",
];

const deep = (n) => {
  let v = "x";
  for (let i = 0; i < n; i++) v = [v];
  return v;
};

/** junk for a field that must hold an id */
const ID_JUNK = [undefined, null, 42, -1.5, true, "", {}, [], ["x"], { $ne: null }, deep(200)];
/** junk for a text field (empty text is not junk: the original client can send it) */
const TEXT_JUNK = [undefined, null, 42, true, {}, [], ["x"], deep(200)];
/** junk for the Participants list (an array of ids) */
const LIST_JUNK = [undefined, null, 42, "str", {}, deep(200)];

/**
 * payload variants: whole-payload junk plus each listed field replaced by junk.
 * `fields` maps field name → junk list; unlisted fields keep their valid value.
 */
function variants(valid, fields) {
  const out = [[], [null], [42], ["str"], [[]], [[valid]], [true], [{}]];
  for (const [k, junk] of Object.entries(fields)) {
    for (const j of junk) {
      const p = { ...valid };
      if (j === undefined) delete p[k];
      else p[k] = j;
      out.push([p]);
    }
  }
  return out;
}

/**
 * Later deliveries (read acks on the bus) to amy, bo, cy and dee: cy reads the
 * group (amy and bo are told), cy and dee read their chat (each tells the other).
 * Call once the requests to check were handled (barrier()); returns
 * `later(user)`, the promise of that user's ack entry, a barrier for expectNoneBefore.
 */
function laterDeliveries() {
  cy.socket.emit("read-group-message", { GroupId: groupId });
  cy.socket.emit("read-personal-message", { ChatId: cyDee });
  dee.socket.emit("read-personal-message", { ChatId: cyDee });
  const byCy = (e) => e.event === "read-grp-msg-ack" && e.args[0].Reader === cy.id;
  const onCyDee = (e) => e.event === "read-personal-msg-ack" && e.args[0].ChatId === cyDee;
  return (u) => u.rec.nextEntry(u === cy || u === dee ? onCyDee : byCy);
}

/** emit every variant from `who`, then prove the socket works and nobody got anything. */
async function hammer(who, event, valid, fields, { watchers = [amy, bo, cy, dee] } = {}) {
  for (const args of variants(valid, fields)) who.socket.emit(event, ...args);
  const d = await barrier(who.socket);
  assert.equal(d.Id, who.id, `socket of ${who.name} still works after malformed ${event}`);
  const later = laterDeliveries();
  for (const w of watchers) {
    await expectNoneBefore(w.rec, SUCCESS_EVENTS, later(w), `${w.name} must get nothing from malformed ${event}`);
  }
  assert.equal(server.exited, null, "server alive");
}

async function assertPersonalRoundTrip() {
  const c = "still fine " + rand(5);
  amy.socket.emit("send-personal-message", { ChatId: chatId, Content: c });
  assert.deepEqual(await bo.rec.next("receive-personal-message"), {
    ChatId: chatId,
    Content: c,
    Sender: amy.name,
  });
  return c;
}

// [who, event, valid payload, fields to spoil]; each spoiled variant must have no effect.
// Evaluated lazily (users and ids exist only after before()).
const CASES = [
  ["amy", "send-personal-message", () => ({ ChatId: chatId, Content: "bad " + rand(4) }),
    { ChatId: ID_JUNK, Content: TEXT_JUNK }],
  ["amy", "read-personal-message", () => ({ ChatId: chatId }), { ChatId: ID_JUNK }],
  ["amy", "create-personal-chat", () => ({ Receiver: dee.id, Partner: dee.name, UserName: amy.name }),
    { Receiver: ID_JUNK }],
  ["amy", "fetch-personal-chat", () => ({ ChatId: chatId, Partner: bo.name }),
    { ChatId: ID_JUNK, Partner: TEXT_JUNK }],
  ["amy", "check-chat", () => ({ Receiver: bo.id }), { Receiver: ID_JUNK }],
  ["amy", "send-self-message", () => ({ Content: "self " + rand(4) }), { Content: TEXT_JUNK }],
  ["amy", "search-user", () => ({ Name: "Bo", Type: "Search" }), { Name: TEXT_JUNK, Type: TEXT_JUNK }],
  ["amy", "fetch-self-chat", () => ({}), {}],
  ["amy", "send-group-message", () => ({ GroupId: groupId, Content: "bad " + rand(4) }),
    { GroupId: ID_JUNK, Content: TEXT_JUNK }],
  ["bo", "read-group-message", () => ({ GroupId: groupId }), { GroupId: ID_JUNK }],
  ["amy", "create-group-chat", () => ({ Name: "N", Description: "D", Participants: [dee.id] }),
    { Name: TEXT_JUNK, Participants: LIST_JUNK }],
  ["amy", "fetch-group-chat", () => ({ GroupId: groupId }), { GroupId: ID_JUNK }],
  ["amy", "add-member", () => ({ GroupId: groupId, Member: dee.id }), { GroupId: ID_JUNK, Member: ID_JUNK }],
  ["amy", "kickout", () => ({ GroupId: groupId, Member: cy.id }), { GroupId: ID_JUNK, Member: ID_JUNK }],
  ["amy", "change-admin", () => ({ GroupId: groupId, Member: bo.id }), { GroupId: ID_JUNK, Member: ID_JUNK }],
  ["bo", "leave-grp", () => ({ GroupId: groupId }), { GroupId: ID_JUNK }],
  ["amy", "delete-grp", () => ({ GroupId: groupId }), { GroupId: ID_JUNK }],
];

for (const [who, event, valid, fields] of CASES) {
  const spoiled = Object.keys(fields).join(", ") || "payload";
  test(`malformed ${event} (${spoiled}) has no effect`, async () => {
    const users = { amy, bo };
    await hammer(users[who], event, valid(), fields);
  });
}

test("after the malformed personal-chat events: nothing stored, chat works", async () => {
  const ok = await assertPersonalRoundTrip();
  amy.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: bo.name });
  const pc = await amy.rec.next("personal-chat");
  assert.deepEqual(pc.Messages.map((m) => m.Content), [ok], "only the valid message is stored");
  amy.socket.emit("fetch-self-chat", {});
  const sc = await amy.rec.next("self-chat");
  assert.ok(sc.Messages.every((m) => typeof m.Content === "string" && m.Content.startsWith("self ")),
    `self chat holds only valid strings: ${JSON.stringify(sc.Messages).slice(0, 300)}`);
  // no personal chat with dee was created by the malformed create-personal-chat
  const again = await connectUser(base, amy.cookie);
  assert.deepEqual(again.personal.map((c) => c._id), [chatId]);
  again.socket.disconnect();
});

test("after the malformed group events: group intact, nothing stored, group works", async () => {
  amy.socket.emit("fetch-group-chat", { GroupId: groupId });
  const g = await amy.rec.next("group-chat");
  assert.equal(g.Admin, amy.id);
  assert.deepEqual(Object.keys(g.Participants).sort(), [amy.id, bo.id, cy.id].sort());
  assert.deepEqual(g.Messages, []);
  amy.socket.emit("send-group-message", { GroupId: groupId, Content: "ok" });
  assert.equal((await cy.rec.next("receive-group-message")).Content, "ok");
  const d = await connectUser(base, dee.cookie);
  assert.deepEqual(d.groups, [], "no group was created with dee");
  d.socket.disconnect();
});


test("create-group-chat with junk inside Participants creates nothing", async () => {
  for (const Participants of [[42], [null], [{}], [[bo.id]], [bo.id, 42], "not-an-array", { 0: bo.id }]) {
    amy.socket.emit("create-group-chat", { Name: "Junk", Description: "x", Participants });
  }
  await barrier(amy.socket);
  const later = laterDeliveries();
  await expectNoneBefore(bo.rec, "create-group-chat-receiver", later(bo));
  await later(amy);
  assert.equal(amy.rec.pending("create-group-chat-creator").length, 0);
});

test("unknown ids are refused: nonexistent chat, group and user ids", async () => {
  const ghost = "ffffffffffffffffffffffff";
  for (const id of [ghost, "0", "-1", "00000000-0000-0000-0000-000000000000", groupId]) {
    if (id === chatId) continue; // ids are opaque: never send the valid one by accident
    amy.socket.emit("send-personal-message", { ChatId: id, Content: "ghost" });
    amy.socket.emit("read-personal-message", { ChatId: id });
  }
  for (const id of [ghost, "-1", "00000000-0000-0000-0000-000000000000"]) {
    amy.socket.emit("create-personal-chat", { Receiver: id, Partner: "Ghost", UserName: amy.name });
  }
  for (const id of [ghost, "0", chatId, amy.id]) {
    if (id === groupId) continue;
    amy.socket.emit("send-group-message", { GroupId: id, Content: "ghost" });
    amy.socket.emit("read-group-message", { GroupId: id });
    amy.socket.emit("add-member", { GroupId: id, Member: dee.id });
    amy.socket.emit("delete-grp", { GroupId: id });
  }
  await barrier(amy.socket);
  const later = laterDeliveries();
  for (const w of [amy, bo, cy, dee]) {
    await expectNoneBefore(w.rec, SUCCESS_EVENTS, later(w), `${w.name} got nothing`);
  }
  // the self chat id is not a personal or group chat for others either
  dee.socket.emit("send-personal-message", { ChatId: amy.id, Content: "into amy's self chat" });
  dee.socket.emit("fetch-personal-chat", { ChatId: amy.id, Partner: amy.name });
  await barrier(dee.socket);
  amy.socket.emit("fetch-self-chat", {});
  const sc = await amy.rec.next("self-chat");
  assert.ok(!sc.Messages.some((m) => m.Content === "into amy's self chat"));
  await assertPersonalRoundTrip();
});

test("search-user treats the query as literal text", async () => {
  for (const Name of [".*", "((", "[", "\\", "^.+$", "(a+)+$"]) {
    amy.socket.emit("search-user", { Name, Type: "Search" });
    assert.deepEqual(await amy.rec.next("searched-user"), { Users: [] }, `query ${Name}`);
  }
  amy.socket.emit("search-user", { Name: bo.name, Type: "Search" });
  const r = await amy.rec.next("searched-user");
  assert.deepEqual(r.Users.map((u) => u._id), [bo.id]);
});

test("fetch-user-details accepts any payload", async () => {
  for (const args of [[], [null], [42], ["x"], [{ a: 1 }]]) {
    amy.socket.emit("fetch-user-details", ...args);
    const d = await amy.rec.next("user-details");
    assert.deepEqual(d, { Name: amy.name, Email: amy.email, Id: amy.id });
  }
});

test("unknown events, binary and deeply nested payloads are ignored", async () => {
  amy.socket.emit("no-such-event", { a: 1 });
  amy.socket.emit("send-personal-message", Buffer.from([0xff, 0xfe, 0x00]));
  amy.socket.emit("send-personal-message", { ChatId: chatId, Content: Buffer.from("bin") });
  amy.socket.emit("send-personal-message", { ChatId: chatId, Content: deep(3000) });
  amy.socket.emit("send-group-message", { GroupId: groupId, Content: deep(3000) });
  await barrier(amy.socket);
  const later = laterDeliveries();
  await expectNoneBefore(bo.rec, ["receive-personal-message", "receive-group-message"], later(bo));
  await expectNoneBefore(cy.rec, "receive-group-message", later(cy));
  await assertPersonalRoundTrip();
});

test(`huge content (${HUGE} chars) is refused; the socket keeps working`, async () => {
  const huge = "x".repeat(HUGE);
  amy.socket.emit("send-personal-message", { ChatId: chatId, Content: huge });
  amy.socket.emit("send-group-message", { GroupId: groupId, Content: huge });
  amy.socket.emit("send-self-message", { Content: huge });
  amy.socket.emit("create-group-chat", { Name: huge, Description: "d", Participants: [bo.id] });
  const d = await barrier(amy.socket);
  assert.equal(d.Id, amy.id);
  const later = laterDeliveries();
  await expectNoneBefore(bo.rec, ["receive-personal-message", "receive-group-message", "create-group-chat-receiver"], later(bo));
  await expectNoneBefore(cy.rec, "receive-group-message", later(cy));
  await later(amy);
  assert.equal(amy.rec.pending("create-group-chat-creator").length, 0);
  const ok = await assertPersonalRoundTrip();
  amy.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: bo.name });
  const pc = await amy.rec.next("personal-chat");
  assert.equal(pc.Messages[0].Content, ok);
  assert.ok(pc.Messages.every((m) => m.Content.length < HUGE), "huge message not stored");
  amy.socket.emit("fetch-self-chat", {});
  const sc = await amy.rec.next("self-chat");
  assert.ok(sc.Messages.every((m) => m.Content.length < HUGE), "huge self message not stored");
});

test("other users' connections are unaffected by all of the above", async () => {
  const c = "bo to amy " + rand(4);
  bo.socket.emit("send-personal-message", { ChatId: chatId, Content: c });
  assert.equal((await amy.rec.next("receive-personal-message")).Content, c);
  cy.socket.emit("send-group-message", { GroupId: groupId, Content: c });
  assert.equal((await amy.rec.next("receive-group-message")).Content, c);
  assert.equal((await bo.rec.next("receive-group-message")).Content, c);
  assert.ok(amy.socket.connected && bo.socket.connected && cy.socket.connected && dee.socket.connected);
});

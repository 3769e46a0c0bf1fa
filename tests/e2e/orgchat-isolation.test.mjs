// orgchat isolation (Fix): nothing of one organization is visible to, joinable by
// or deliverable to another, on every event and both transports; and the acting
// user is always the token's user: a `userId` naming anyone else is an error and
// nothing is broadcast.
//
// Assumptions where the contract is silent (choices written in the README):
// - Another organization's room or message answers as if it did not exist:
//   "Room not found" / "Message not found" / "User not found" /
//   "Organization not found" (so ids cannot be probed).
// - A mismatching userId answers "userId does not match the authenticated user".
// - Absence is asserted against a later legitimate delivery to the same connection
//   (the server renders bus events in order, a connection receives them in order).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll, expectNoneBefore } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, createRoom, connectAs, rand } from "./orgchat-lib.mjs";

let server;
let base;
let ann, amy, eve, eva; // eva: eve's colleague
let room, msg;
let watchers; // ann on raw, amy on Socket.IO, both joined to `room`

const FORBIDDEN_OUT = ["notification", "newMessage", "typing", "stopTyping", "messageReaction", "messageRead", "messageDeleted", "newChatRoom"];

before(async () => {
  server = await startServer({ BCRYPT_COST: "4" }, { waitFor: ["orgchat"] });
  base = server.urls.orgchat;
  const orgA = `Acme ${rand(5)}`;
  ann = await orgUser(base, { name: "Ann", org: orgA, role: "admin" });
  amy = await orgUser(base, { name: "Amy", org: orgA, role: "user" });
  const orgE = `Evil ${rand(5)}`;
  eve = await orgUser(base, { name: "Eve", org: orgE, role: "admin" });
  eva = await orgUser(base, { name: "Eva", org: orgE, role: "user" });
  room = await createRoom(base, ann, "acme private");
  const a = await connectAs("raw", base, ann);
  const m = await connectAs("sio", base, amy);
  a.emit("joinRoom", { roomId: room.id });
  await a.next("notification");
  m.emit("joinRoom", { roomId: room.id });
  await a.next("notification");
  await m.next("notification");
  a.emit("sendMessage", { roomId: room.id, content: "acme secret" });
  msg = (await a.next("newMessage")).message;
  await m.next("newMessage");
  watchers = [a, m];
});

after(async () => {
  closeAll();
  closeAllSockets();
  if (server) await server.stop();
});

/** A legitimate message from ann reaches the watchers after anything leaked before. */
async function proveNothingLeaked() {
  const [a, m] = watchers;
  const content = `proof ${rand(6)}`;
  a.emit("sendMessage", { roomId: room.id, content });
  for (const w of watchers) {
    const proof = (e) => e.event === "newMessage" && w.payload(e).content === content;
    await expectNoneBefore(w, FORBIDDEN_OUT, w.seen(proof));
  }
  assert.equal((await a.next("newMessage")).message.content, content);
  assert.equal((await m.next("newMessage")).content, content);
}

function attempts(r, m) {
  return [
    ["joinRoom", { roomId: r }, "Room not found"],
    ["leaveRoom", { roomId: r }, "Room not found"],
    ["sendMessage", { roomId: r, content: "intrusion" }, "Room not found"],
    ["typing", { roomId: r }, "Room not found"],
    ["stopTyping", { roomId: String(r) }, "Room not found"],
    ["reactMessage", { messageId: m, reaction: "💀" }, "Message not found"],
    ["readMessage", { messageId: m }, "Message not found"],
    ["deleteMessage", { roomId: r, messageId: m }, "Message not found"],
    ["deleteMessage", { messageId: m }, "Message not found"],
    ["newChatRoom", { roomName: "lure", invitedUsers: [ann.id] }, "User not found"],
    ["newChatRoom", { roomName: "lure", invitedUsers: [], organizationId: ann.org }, "Organization not found"],
    ["newChatRoom", { roomId: r, roomName: "x", invitedUsers: [amy.id] }, "Room not found"],
  ];
}

for (const kind of ["raw", "sio"]) {
  test(`another organization is refused on every event (${kind})`, async () => {
    const e = await connectAs(kind, base, eve);
    for (const [event, data, message] of attempts(room.id, msg.id)) {
      e.emit(event, { ...data, userId: eve.id });
      const err = await e.nextPayload("error");
      assert.equal(err.message, message, `${event} ${JSON.stringify(data)}`);
      assert.equal(err.event, event);
    }
    await proveNothingLeaked();
    // eva's invitation reaches e on the bus after anything leaked to it before.
    const lure = `not a lure ${rand(5)}`;
    await createRoom(base, eva, lure, [eve.id]);
    const invited = (x) => x.event === "newChatRoom" && e.payload(x).roomName === lure;
    await expectNoneBefore(e, FORBIDDEN_OUT, e.nextEntry(invited));
    e.close();
  });

  test(`a userId that is not the token's user is refused on every event (${kind})`, async () => {
    const c = await connectAs(kind, base, amy);
    const events = [
      ["joinRoom", { roomId: room.id }],
      ["leaveRoom", { roomId: room.id }],
      ["sendMessage", { roomId: room.id, content: "spoofed" }],
      ["typing", { roomId: room.id }],
      ["stopTyping", { roomId: room.id }],
      ["reactMessage", { messageId: msg.id, reaction: "👍" }],
      ["readMessage", { messageId: msg.id }],
      ["deleteMessage", { roomId: room.id, messageId: msg.id }],
      ["newChatRoom", { roomName: "spoof", invitedUsers: [ann.id] }],
    ];
    for (const claimed of [ann.id, String(ann.id), "somebody"]) {
      for (const [event, data] of events) {
        c.emit(event, { ...data, userId: claimed });
        const err = await c.nextPayload("error");
        assert.equal(err.message, "userId does not match the authenticated user", `${event} as ${claimed}`);
      }
    }
    await proveNothingLeaked();
    c.close();
  });
}

test("a room id of another organization cannot be probed through REST either", async () => {
  const { get } = await import("./helpers.mjs");
  const r = await get(base, "/api/chat?pageSize=100", { headers: { authorization: `Bearer ${eve.accessToken}` } });
  assert.equal(r.status, 200);
  assert.ok(!r.json.data.some((x) => x.id === room.id));
});

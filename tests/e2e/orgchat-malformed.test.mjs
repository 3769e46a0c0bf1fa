// orgchat bad input on both transports: non-JSON frames, JSON that is not an
// object, missing or mistyped event names, unknown events, missing or mistyped
// `data`, binary frames and oversized frames. Each gets an error answer (or, for
// an oversized frame, a close with a clear code); the connection keeps working
// where it stays open, and other connections are never affected.
//
// Assumptions where the contract is silent (choices written in the README):
// - Raw error frames are `{type:"error", message}` (plus `event` when the frame
//   named one); Socket.IO errors are `error {message, event}`.
// - A raw frame above MAX_FRAME_BYTES closes the connection with 1009 (message
//   too big); on Socket.IO the engine closes the socket (the client sees a
//   disconnect).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, get, closeAll, expectNoneBefore } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, createRoom, rawClient, sioClient, rand } from "./orgchat-lib.mjs";

const MAX_FRAME = 8192;
let server;
let base;
let ann, bob;
let room;

before(async () => {
  server = await startServer(
    { BCRYPT_COST: "4", MAX_FRAME_BYTES: String(MAX_FRAME), MAX_CONTENT_LEN: "500" },
    { waitFor: ["orgchat"] },
  );
  base = server.urls.orgchat;
  const org = `Malformed ${rand(5)}`;
  ann = await orgUser(base, { name: "Ann", org, role: "admin" });
  bob = await orgUser(base, { name: "Bob", org, role: "user" });
  room = await createRoom(base, ann, "sturdy");
});

after(async () => {
  closeAll();
  closeAllSockets();
  if (server) await server.stop();
});

async function joined(kind, user) {
  const c = kind === "raw" ? await rawClient(base, user.accessToken) : await sioClient(base, user.accessToken);
  c.emit("joinRoom", { roomId: room.id });
  await c.next("notification");
  return c;
}

test("raw: every kind of bad frame gets an error frame and the connection goes on", async () => {
  const c = await rawClient(base, ann.accessToken);
  const cases = [
    ["not json at all", /Invalid JSON/],
    ["{\"event\": \"joinRoom\",", /Invalid JSON/],
    ["[1, 2]", /JSON object/],
    ["42", /JSON object/],
    ["\"joinRoom\"", /JSON object/],
    ["null", /JSON object/],
    [JSON.stringify({ data: { roomId: room.id } }), /event/],
    [JSON.stringify({ event: 5, data: {} }), /event/],
    [JSON.stringify({ event: "", data: {} }), /event/],
    [JSON.stringify({ event: "nope", data: {} }), /Unknown event: nope/],
    [JSON.stringify({ event: "joinRoom" }), /joinRoom: data is required/],
    [JSON.stringify({ event: "joinRoom", data: null }), /joinRoom: data is required/],
    [JSON.stringify({ event: "joinRoom", data: "1" }), /Invalid data for joinRoom/],
    [JSON.stringify({ event: "joinRoom", data: {} }), /Invalid data for joinRoom.*roomId/],
    [JSON.stringify({ event: "joinRoom", data: { roomId: { id: 1 } } }), /Invalid data for joinRoom/],
    [JSON.stringify({ event: "joinRoom", data: { roomId: true } }), /Invalid data for joinRoom/],
    [JSON.stringify({ event: "joinRoom", data: { roomId: "abc" } }), /Room not found/],
    [JSON.stringify({ event: "sendMessage", data: { roomId: room.id, content: 5 } }), /Invalid data for sendMessage/],
    [JSON.stringify({ event: "sendMessage", data: { roomId: room.id, content: "  " } }), /content is required/],
    [JSON.stringify({ event: "sendMessage", data: { roomId: room.id, content: "x".repeat(501) } }), /longer than 500/],
    [JSON.stringify({ event: "reactMessage", data: { messageId: "message-123", reaction: "👍" } }), /Message not found/],
    [JSON.stringify({ event: "reactMessage", data: { messageId: 1 } }), /Invalid data for reactMessage.*reaction/],
    [JSON.stringify({ event: "newChatRoom", data: { invitedUsers: [] } }), /roomName is required/],
    [JSON.stringify({ event: "newChatRoom", data: { roomName: "x", invitedUsers: "all" } }), /Invalid data for newChatRoom/],
    [JSON.stringify({ event: "deleteMessage", data: { roomId: room.id } }), /Invalid data for deleteMessage.*messageId/],
  ];
  for (const [text, pattern] of cases) {
    c.send(text);
    const f = await c.next("error");
    assert.match(f.message, pattern, text);
    assert.deepEqual(Object.keys(f).filter((k) => k !== "event").sort(), ["message", "type"]);
  }
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.match((await c.next("error")).message, /Binary frames/);
  // Still open and working.
  c.emit("joinRoom", { roomId: room.id });
  assert.equal((await c.next("notification")).message, `User ${ann.id} joined the room`);
});

test("Socket.IO: bad payloads and unknown events get error events and the socket goes on", async () => {
  const s = await sioClient(base, ann.accessToken);
  const cases = [
    [["nope", { a: 1 }], /Unknown event: nope/],
    [["joinRoom"], /joinRoom: data is required/],
    [["joinRoom", null], /joinRoom: data is required/],
    [["joinRoom", "1"], /Invalid data for joinRoom/],
    [["joinRoom", 7], /Invalid data for joinRoom/],
    [["joinRoom", { roomId: [1] }], /Invalid data for joinRoom/],
    [["sendMessage", { roomId: room.id }], /Invalid data for sendMessage.*content/],
    [["typing", { roomId: null }], /Invalid data for typing/],
  ];
  for (const [[event, data], pattern] of cases) {
    if (data === undefined) s.socket.emit(event);
    else s.socket.emit(event, data);
    const e = await s.next("error");
    assert.match(e.message, pattern, `${event} ${JSON.stringify(data)}`);
  }
  s.emit("joinRoom", { roomId: room.id });
  assert.equal(await s.next("notification"), `User ${ann.id} joined the room`);
});

test("an oversized raw frame closes that connection with 1009; others are unaffected", async () => {
  const bystander = await joined("sio", bob);
  const rawBystander = await joined("raw", bob);
  const big = await rawClient(base, ann.accessToken);
  big.emit("sendMessage", { roomId: room.id, content: "y".repeat(MAX_FRAME * 2) });
  const closed = await big.closed();
  assert.equal(closed.code, 1009, JSON.stringify(closed));
  const a = await joined("raw", ann);
  await bystander.next("notification");
  await rawBystander.next("notification");
  a.emit("sendMessage", { roomId: room.id, content: "still here" });
  assert.equal((await bystander.next("newMessage")).content, "still here");
  assert.equal((await rawBystander.next("newMessage")).message.content, "still here");
  assert.equal((await a.next("newMessage")).message.content, "still here");
});

test("an oversized Socket.IO packet drops that socket only", async () => {
  const bystander = await joined("raw", bob);
  const big = await sioClient(base, ann.accessToken, { transports: ["websocket"] });
  const gone = big.rec.nextOf(["$disconnect"], 5000);
  big.emit("sendMessage", { roomId: room.id, content: "z".repeat(MAX_FRAME * 2) });
  await gone;
  const a = await joined("sio", ann);
  await bystander.next("notification");
  a.emit("sendMessage", { roomId: room.id, content: "after the flood" });
  // The flood was refused when its socket was dropped, before `a` joined: had it
  // been relayed, it would have come first.
  const later = (e) => e.event === "newMessage" && bystander.payload(e).content === "after the flood";
  await expectNoneBefore(bystander, "newMessage", bystander.seen(later));
  assert.equal((await bystander.next("newMessage")).message.content, "after the flood");
  const health = await get(base, "/healthz");
  assert.equal(health.status, 200);
});

// The flood cut-off of raw WebSockets (orgchat, chatsphere, testcore), the
// counterpart of Socket.IO's full inbox: a connection may send INBOX_CAPACITY
// frames at once, then WS_FRAMES_PER_SECOND; one that sends faster for longer is
// closed with 1008 "too many frames" (testcore: 4000, as its other refusals),
// counted in chatwire_flooders_closed_total. Only that connection: a canary of
// another user and the flooder's own other tab keep sending and receiving.
// Small limits here (a burst of 50, then 10 a second) so that even a slow debug
// server handles frames faster than the bound.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, get } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, createRoom, rawClient, rand } from "./orgchat-lib.mjs";
import { mintClientToken, makeUser as sphereUser, makeRoom, serverSocket } from "./chatsphere-lib.mjs";
import { tcUser, room as tcRoom, tcClient, join as tcJoin, msg } from "./testcore-lib.mjs";

const FLOOD = 2000;
let server;

before(async () => {
  server = await startServer(
    { WS_FRAMES_PER_SECOND: "10", INBOX_CAPACITY: "50", BCRYPT_COST: "4" },
    { waitFor: ["orgchat", "chatsphere", "testcore"] },
  );
});

after(async () => {
  closeAllSockets();
  if (server) await server.stop();
});

/** The flooders closed on `profile`'s listener so far, from /metrics. */
async function floodersClosed(profile) {
  const r = await get(server.urls[profile], "/metrics");
  const m = new RegExp(`^chatwire_flooders_closed_total\\{profile="${profile}"\\} (\\d+)`, "m").exec(r.text);
  return m ? Number(m[1]) : 0;
}

test("orgchat: a raw flooder is closed with 1008; a canary and the flooder's other tab keep working", async () => {
  const base = server.urls.orgchat;
  const org = `Flood ${rand(5)}`;
  const ann = await orgUser(base, { name: "Ann", org, role: "admin" });
  const ben = await orgUser(base, { name: "Ben", org });
  const room = await createRoom(base, ann, "flood room");
  const flooder = await rawClient(base, ann.accessToken);
  const tab = await rawClient(base, ann.accessToken);
  const canary = await rawClient(base, ben.accessToken);
  for (const c of [flooder, tab, canary]) {
    c.emit("joinRoom", { roomId: room.id });
    await c.next("notification");
  }

  for (let i = 0; i < FLOOD; i++) flooder.emit("sendMessage", { roomId: room.id, content: `flood ${i}` });
  assert.deepEqual(await flooder.closed(15000), { code: 1008, reason: "too many frames" });

  canary.emit("sendMessage", { roomId: room.id, content: "canary" });
  tab.emit("sendMessage", { roomId: room.id, content: "tab" });
  for (const c of [canary, tab]) {
    for (const content of ["canary", "tab"]) {
      await c.nextEntry((e) => e.event === "newMessage" && e.frame.message.content === content, 5000);
    }
  }
  const flood = canary.log.filter((e) => e.event === "newMessage" && e.frame.message.content.startsWith("flood"));
  assert.ok(flood.length < FLOOD, `the flood was cut short: ${flood.length} of ${FLOOD} stored`);
  assert.equal(await floodersClosed("orgchat"), 1);
});

test("chatsphere: a flooder is closed with 1008; a canary and the flooder's other tab keep working", async () => {
  const sphere = { server, base: server.urls.chatsphere, clientToken: mintClientToken(server) };
  const alice = await sphereUser(sphere, "alice");
  const bob = await sphereUser(sphere, "bob");
  const room = await makeRoom(sphere, alice, { members: [bob] });
  const flooder = await serverSocket(sphere, alice);
  const tab = await serverSocket(sphere, alice);
  const canary = await serverSocket(sphere, bob);
  for (const [c, u] of [[flooder, alice], [tab, alice], [canary, bob]]) {
    c.send({ type: "join", userId: u.id, roomId: room });
    await c.next("previous_messages");
  }

  for (let i = 0; i < FLOOD; i++) flooder.send({ type: "message", roomId: room, content: `flood ${i}` });
  assert.deepEqual(await flooder.closed(15000), { code: 1008, reason: "too many frames" });

  canary.send({ type: "message", roomId: room, content: "canary" });
  tab.send({ type: "message", roomId: room, content: "tab" });
  for (const c of [canary, tab]) {
    for (const content of ["canary", "tab"]) {
      await c.nextEntry((e) => e.event === "new_message" && e.frame.message.content === content, 5000);
    }
  }
  assert.equal(await floodersClosed("chatsphere"), 1);
});

test("testcore: a flooder is closed with 4000 and a reason; a canary and the flooder's other tab keep working", async () => {
  const base = server.urls.testcore;
  const alice = await tcUser(base, "Alice");
  const bob = await tcUser(base, "Bob");
  const name = `flood-${rand(5)}`;
  await tcRoom(base, alice, name, [bob]);
  const flooder = await tcClient(base, { token: alice.token });
  const tab = await tcClient(base, { token: alice.token });
  const canary = await tcClient(base, { token: bob.token });
  await tcJoin(base, canary, bob, msg("SEND_MESSAGE", name, "b0", "hello", bob.id));
  await tcJoin(base, tab, alice, msg("SEND_MESSAGE", name, "t0", "tab here", alice.id));

  for (let i = 0; i < FLOOD; i++) flooder.send(msg("SEND_MESSAGE", name, `f${i}`, `flood ${i}`, alice.id));
  assert.deepEqual(await flooder.closed(15000), { code: 4000, reason: "too many frames" });

  // Relays skip the sender's own connections: Bob and Alice's tab hear each other.
  canary.send(msg("SEND_MESSAGE", name, "b1", "canary", bob.id));
  assert.equal((await tab.next((e) => e.frame.MessageId === "b1", 5000)).content, "canary");
  tab.send(msg("SEND_MESSAGE", name, "t1", "tab", alice.id));
  assert.equal((await canary.next((e) => e.frame.MessageId === "t1", 5000)).content, "tab");
  assert.equal(await floodersClosed("testcore"), 1);
});

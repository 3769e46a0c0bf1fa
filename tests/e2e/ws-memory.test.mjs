// Memory per raw WebSocket connection (orgchat here; chatsphere and testcore share
// transport/ws.rs). tungstenite's default read buffer is 128 KiB, kept for the
// connection's life once it has read a frame: 10,000 connections of the reliability
// soak held 1.2 GB. chatwire reads 4 KiB at a time (a larger frame grows the buffer),
// so a connection that joined a room and received a message costs a few KiB.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, sleep } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, createRoom, rawClient, rand } from "./orgchat-lib.mjs";

const CONNS = 300;
let server;

before(async () => {
  server = await startServer({ BCRYPT_COST: "4" }, { waitFor: ["orgchat"] });
});

after(async () => {
  closeAllSockets();
  if (server) await server.stop();
});

const rssKB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))[1]);

test(`${CONNS} raw WebSocket connections that read and received a frame cost under 40 KiB each`, async () => {
  const base = server.urls.orgchat;
  const ann = await orgUser(base, { name: "Ann", org: `Mem ${rand(5)}`, role: "admin" });
  const room = await createRoom(base, ann, "memory room");
  // Warm up (first connection, first message: lazily built state), then measure.
  const first = await rawClient(base, ann.accessToken);
  first.emit("joinRoom", { roomId: room.id });
  await first.next("notification");
  await sleep(500);
  const before = rssKB();
  const clients = [];
  for (let i = 0; i < CONNS; i++) {
    const c = await rawClient(base, ann.accessToken);
    c.emit("joinRoom", { roomId: room.id });
    clients.push(c);
  }
  for (const c of clients) await c.next("notification");
  first.emit("sendMessage", { roomId: room.id, content: "hello all" });
  for (const c of clients) await c.next("newMessage");
  await sleep(500);
  const perConn = (rssKB() - before) / CONNS;
  console.log(`RSS per raw WebSocket connection: ${perConn.toFixed(1)} KiB`);
  assert.ok(perConn < 40, `RSS per connection ${perConn.toFixed(1)} KiB`);
});

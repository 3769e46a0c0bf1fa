// Per-connection order: socketioxide runs each incoming event in its own task, so
// without chatwire's per-socket inbox a burst of emits could be handled out of order.
// A burst of messages must arrive at the receiver, and be stored, in the order sent,
// on websocket and on polling.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, makeUser, closeAll } from "./helpers.mjs";

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

const BURST = 300;

for (const transports of [["websocket"], ["polling"]]) {
  test(`a burst of ${BURST} messages keeps its order (${transports[0]})`, async () => {
    const a = await makeUser(server, "Ann", { transports });
    const b = await makeUser(server, "Ben", { transports });
    a.socket.emit("create-personal-chat", { Receiver: b.id, Partner: b.name, UserName: a.name });
    const { ChatId } = await a.rec.next("create-personal-chat-creator");
    await b.rec.next("create-personal-chat-partner");

    for (let i = 0; i < BURST; i++) {
      a.socket.emit("send-personal-message", { ChatId, Content: `m${i}` });
    }
    const got = [];
    for (let i = 0; i < BURST; i++) {
      got.push((await b.rec.next("receive-personal-message", 10000)).Content);
    }
    assert.deepEqual(got, Array.from({ length: BURST }, (_, i) => `m${i}`), "delivered in order");

    b.socket.emit("fetch-personal-chat", { ChatId, Partner: a.name });
    const stored = (await b.rec.next("personal-chat", 10000)).Messages.map((m) => m.Content);
    assert.deepEqual(stored, got.slice().reverse(), "stored in order (listed newest first)");
  });
}

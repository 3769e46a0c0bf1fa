// A socket's consecutive sends are queued for the writer together (pipelined: the
// next send starts before the previous one is committed), but a client must not be
// able to tell: every other event waits until the earlier sends are committed, and
// refusals come out in arrival order. Here the sender's budget (MESSAGES_PER_MINUTE)
// refuses the end of a burst, and a fetch emitted right after the burst must list
// every accepted message and arrive after every refusal.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, makeUser, closeAll } from "./helpers.mjs";

const BUDGET = 40;
const BURST = 60;

let server;

before(async () => {
  server = await startServer({ MESSAGES_PER_MINUTE: String(BUDGET) });
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

for (const transports of [["websocket"], ["polling"]]) {
  test(`a fetch right after a burst of sends sees all of them, after their refusals (${transports[0]})`, async () => {
    const a = await makeUser(server, "Ann", { transports });
    const b = await makeUser(server, "Ben", { transports });
    a.socket.emit("create-personal-chat", { Receiver: b.id, Partner: b.name, UserName: a.name });
    const { ChatId } = await a.rec.next("create-personal-chat-creator");
    await b.rec.next("create-personal-chat-partner");

    for (let i = 0; i < BURST; i++) {
      a.socket.emit("send-personal-message", { ChatId, Content: `m${i}` });
    }
    a.socket.emit("fetch-personal-chat", { ChatId, Partner: b.name });
    const listed = await a.rec.next("personal-chat", 10000);

    const accepted = Array.from({ length: BUDGET }, (_, i) => `m${i}`);
    assert.deepEqual(
      listed.Messages.map((m) => m.Content),
      accepted.slice().reverse(),
      "the fetch lists every accepted message of the burst (newest first)",
    );
    const fails = a.rec.all("send-personal-message-fail");
    assert.equal(fails.length, BURST - BUDGET, "each refused send is answered before the fetch");
    const order = a.rec.events.filter((e) => e === "send-personal-message-fail" || e === "personal-chat");
    assert.equal(order.at(-1), "personal-chat", "the fetch's answer comes after every refusal");

    const got = [];
    for (let i = 0; i < BUDGET; i++) {
      got.push((await b.rec.next("receive-personal-message", 10000)).Content);
    }
    assert.deepEqual(got, accepted, "the receiver gets the accepted messages in order");
  });
}

// expresschat over each Engine.IO transport the clients use: long-polling only,
// WebSocket only, and the browser default (polling first, then upgrade to WebSocket).
// Each does an authenticated message round trip in both directions. Also: a Socket.IO
// client on the default path is served from the same origin as the REST routes.
//
// Assumptions where the contract is silent: none beyond the contract (namespace `/`,
// path `/socket.io/`, cookies in the handshake headers).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, connectUser, makeUser, closeAll, groupBarrier, expectNoneBefore, rand, once } from "./helpers.mjs";

let server;
let base;
let sam, tia;
let chatId;

before(async () => {
  server = await startServer();
  base = server.urls.expresschat;
  [sam, tia] = await Promise.all([makeUser(server, "Sam"), makeUser(server, "Tia")]);
  sam.socket.emit("create-personal-chat", { Receiver: tia.id, Partner: tia.name, UserName: sam.name });
  chatId = (await sam.rec.next("create-personal-chat-creator")).ChatId;
  await tia.rec.next("create-personal-chat-partner");
  sam.socket.disconnect();
  tia.socket.disconnect();
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

async function roundTrip(a, b) {
  const c1 = "ping " + rand(6);
  a.socket.emit("send-personal-message", { ChatId: chatId, Content: c1 });
  assert.deepEqual(await b.rec.next("receive-personal-message"), { ChatId: chatId, Content: c1, Sender: sam.name });
  b.socket.emit("read-personal-message", { ChatId: chatId });
  assert.deepEqual(await a.rec.next("read-personal-msg-ack"), { ChatId: chatId });
  const c2 = "pong " + rand(6);
  b.socket.emit("send-personal-message", { ChatId: chatId, Content: c2 });
  assert.deepEqual(await a.rec.next("receive-personal-message"), { ChatId: chatId, Content: c2, Sender: tia.name });
  // history from the server, over the same transport
  a.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: tia.name });
  const pc = await a.rec.next("personal-chat");
  assert.deepEqual(pc.Messages.slice(0, 2).map((m) => m.Content), [c2, c1]);
}

for (const [label, transports] of [
  ["polling only", ["polling"]],
  ["websocket only", ["websocket"]],
]) {
  test(`${label}: greeting and message round trip`, async () => {
    const a = await connectUser(base, sam.cookie, { transports });
    const b = await connectUser(base, tia.cookie, { transports });
    assert.equal(a.socket.io.engine.transport.name, transports[0]);
    assert.equal(b.socket.io.engine.transport.name, transports[0]);
    await roundTrip(a, b);
    assert.equal(a.socket.io.engine.transport.name, transports[0], "no transport change");
    a.socket.disconnect();
    b.socket.disconnect();
  });
}

test("polling then upgrade to websocket (browser default): round trip after upgrade", async () => {
  const a = await connectUser(base, sam.cookie);
  const b = await connectUser(base, tia.cookie, { transports: ["polling", "websocket"] });
  for (const c of [a, b]) {
    if (c.socket.io.engine.transport.name !== "websocket") {
      const t = await once(c.socket.io.engine, "upgrade", 5000);
      assert.equal(t.name, "websocket");
    }
    assert.equal(c.socket.io.engine.transport.name, "websocket");
  }
  await roundTrip(a, b);
  a.socket.disconnect();
  b.socket.disconnect();
});

test("mixed transports between sender and receiver, and a user on both at once", async () => {
  const a = await connectUser(base, sam.cookie, { transports: ["polling"] });
  const b1 = await connectUser(base, tia.cookie, { transports: ["websocket"] });
  const b2 = await connectUser(base, tia.cookie, { transports: ["polling"] });
  const c = "mixed " + rand(6);
  a.socket.emit("send-personal-message", { ChatId: chatId, Content: c });
  const want = { ChatId: chatId, Content: c, Sender: sam.name };
  assert.deepEqual(await b1.rec.next("receive-personal-message"), want);
  assert.deepEqual(await b2.rec.next("receive-personal-message"), want);
  await expectNoneBefore(a.rec, "receive-personal-message", groupBarrier(a)(a.rec));
  for (const x of [a, b1, b2]) x.socket.disconnect();
});

test("client disconnect is clean and the user can reconnect at once", async () => {
  const a = await connectUser(base, sam.cookie, { transports: ["websocket"] });
  a.socket.disconnect();
  assert.equal(await a.rec.next("$disconnect"), "io client disconnect");
  const again = await connectUser(base, sam.cookie, { transports: ["polling"] });
  assert.equal(again.userId, sam.id);
  assert.ok(again.personal.some((p) => p._id === chatId));
  again.socket.disconnect();
});

test("SIGTERM: the server closes every connection and exits cleanly", async () => {
  const own = await startServer();
  const u = await makeUser(own, "Term");
  const ws = await connectUser(own.urls.expresschat, u.cookie, { transports: ["websocket"] });
  const exit = await own.stop();
  for (const s of [u.socket, ws.socket]) {
    const reason = await s.rec.next("$disconnect", 5000);
    assert.ok(
      ["io server disconnect", "transport close", "transport error"].includes(reason),
      `disconnect reason ${reason}`,
    );
  }
  assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
});

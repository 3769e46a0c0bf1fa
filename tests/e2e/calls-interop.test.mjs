// calls and expresschat share accounts and direct conversations: an expresschat
// user logs in on calls with the same email and password, and messages and read
// receipts flow both ways between an expresschat client and a calls client.
//
// Assumptions: expresschat's user id "u7" is calls' "7" (the same account).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll, makeUser, ask } from "./helpers.mjs";
import { registerCalls, loginCalls, joinCalls } from "./calls-lib.mjs";

let server;

before(async () => {
  server = await startServer({}, { waitFor: ["expresschat", "calls"] });
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

test("one account, one conversation: expresschat <-> calls", async () => {
  const calls = server.urls.calls;
  // Eve signs up on expresschat (verified by mail) and is connected there.
  const eve = await makeUser(server, "Eve");
  // She logs in on calls with the same email and password.
  const login = await loginCalls(calls, eve.email, eve.password);
  assert.equal(login.user.name, eve.name);
  assert.equal(`u${login.user.id}`, eve.id, "the same account");
  const eveCalls = { id: login.user.id, token: login.token };
  const e2 = await joinCalls(calls, eveCalls);
  // Cal exists only on calls.
  const cal = await registerCalls(calls, "Cal");
  const c = await joinCalls(calls, cal);

  // calls -> expresschat
  const sent = await ask(c, "message", { to: eveCalls.id, content: "hello from calls", type: "text" });
  const created = await eve.rec.next("create-personal-chat-partner");
  assert.equal(created.Partner, cal.name);
  const got = await eve.rec.next("receive-personal-message");
  assert.deepEqual(got, { ChatId: created.ChatId, Content: "hello from calls", Sender: cal.name });
  assert.deepEqual(await e2.rec.next("message"), sent, "and on her calls socket");

  // expresschat -> calls
  eve.socket.emit("send-personal-message", { ChatId: created.ChatId, Content: "hello from expresschat" });
  const back = await c.rec.next("message");
  assert.equal(back.senderId, eveCalls.id);
  assert.equal(back.senderName, eve.name);
  assert.equal(back.receiverId, cal.id);
  assert.equal(back.content, "hello from expresschat");
  assert.equal(back.type, "text");
  assert.deepEqual(await e2.rec.next("message"), back, "Eve's other (calls) socket");

  // Read receipts both ways.
  eve.socket.emit("read-personal-message", { ChatId: created.ChatId });
  const read = await c.rec.next("message:read");
  assert.equal(read.messageId, sent.id);
  assert.equal(read.userId, eveCalls.id);
  c.emit("message:read", { messageId: back.id, userId: cal.id });
  assert.deepEqual(await eve.rec.next("read-personal-msg-ack"), { ChatId: created.ChatId });

  // The history is the same conversation on both sides.
  eve.socket.emit("fetch-personal-chat", { ChatId: created.ChatId, Partner: cal.name });
  const hist = await eve.rec.next("personal-chat");
  assert.deepEqual(
    hist.Messages.map((m) => m.Content),
    ["hello from expresschat", "hello from calls"],
  );
});

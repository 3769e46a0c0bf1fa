// The calls document's "Sample Socket.IO Client Connection", run unmodified
// (only the URL and the token values are filled in) against the demo users
// that `chatwire demo` creates (alice = "1", bob = "2").

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { io } from "socket.io-client";
import { startServer, closeAll, BIN, once } from "./helpers.mjs";
import { loginCalls } from "./calls-lib.mjs";

let server;
const sockets = [];

before(async () => {
  server = await startServer({}, { waitFor: ["expresschat", "calls"] });
});

after(async () => {
  for (const s of sockets) s.disconnect();
  closeAll();
  if (server) await server.stop();
});

function demo() {
  return execFileSync(BIN, ["demo"], {
    env: { ...process.env, DATABASE_URL: server.databaseUrl, CHATWIRE_LOG: "warn" },
    cwd: server.dir, // where the server keeps its secrets file on PostgreSQL
    encoding: "utf8",
  });
}

test("chatwire demo creates alice and bob once", () => {
  const first = demo();
  assert.match(first, /alice@example\.com> id 1 \(created\)/);
  assert.match(first, /bob@example\.com> id 2 \(created\)/);
  const second = demo();
  assert.match(second, /alice@example\.com> id 1 \(exists\)/);
  assert.match(second, /bob@example\.com> id 2 \(exists\)/);
});

test("two sample clients: join, message, call:initiate", async () => {
  const base = server.urls.calls;
  const alice = await loginCalls(base, "alice@example.com", "password123");
  const bob = await loginCalls(base, "bob@example.com", "password123");
  assert.equal(alice.user.id, "1");
  assert.equal(bob.user.id, "2");
  assert.equal(alice.user.name, "Alice Johnson");

  // Bob's client, written like the sample (the receiving side).
  const bobSocket = io(base);
  sockets.push(bobSocket);
  bobSocket.emit("join", {
    userId: "2",
    token: bob.token,
  });
  await once(bobSocket, "connected");
  const bobGotMessage = once(bobSocket, "message", 5000);
  const bobGotCall = once(bobSocket, "call:incoming", 5000);

  // ---- the document's sample, verbatim but for the URL and the token ----
  const socket = io(base);

  // Authenticate
  socket.emit("join", {
    userId: "1",
    token: alice.token,
  });

  // Send a message
  socket.emit("message", {
    to: "2",
    content: "Hello Bob!",
    type: "text",
  });

  // Initiate video call
  socket.emit("call:initiate", {
    to: "2",
    callType: "video",
  });
  // ---- end of the sample ----
  sockets.push(socket);
  const aliceInitiated = once(socket, "call:initiated", 5000);

  const msg = await bobGotMessage;
  assert.equal(msg.content, "Hello Bob!");
  assert.equal(msg.senderId, "1");
  assert.equal(msg.senderName, "Alice Johnson");
  assert.equal(msg.receiverId, "2");
  const call = await bobGotCall;
  assert.equal(call.from, "1");
  assert.equal(call.fromName, "Alice Johnson");
  assert.equal(call.type, "video");
  assert.equal(call.roomName, `call_${call.id}`);
  const initiated = await aliceInitiated;
  assert.equal(initiated.id, call.id);
  assert.equal(initiated.status, "ringing");
});

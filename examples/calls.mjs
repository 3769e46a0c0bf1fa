// calls: two demo users chat, type and place a video call over Socket.IO, the way
// the calls frontend does: log in over REST (a Bearer token), connect, `join`,
// then direct messages, typing, read receipts and call signalling (Jitsi room).
//
//   cargo run -- demo                      # once: alice@example.com, bob@example.com
//   cd examples && npm ci && node calls.mjs
//
// CALLS_URL (default http://127.0.0.1:3001) names the calls listener.

import { io } from "socket.io-client";

const BASE = process.env.CALLS_URL || "http://127.0.0.1:3001";
const fail = (msg) => {
  console.error(`calls example FAILED: ${msg}`);
  process.exit(1);
};
const watchdog = setTimeout(() => fail("no result within 15 s"), 15_000);

/** Every event a socket receives, queued in order; next(event) takes the first one. */
function inbox(who) {
  const queue = [], waiting = [];
  return {
    push(type, data) {
      const i = waiting.findIndex((w) => w.type === type);
      if (i >= 0) waiting.splice(i, 1)[0].resolve(data);
      else queue.push({ type, data });
    },
    next(type, ms = 5000) {
      const i = queue.findIndex((e) => e.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0].data);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${who} got no "${type}" within ${ms} ms`)), ms);
        waiting.push({ type, resolve: (d) => (clearTimeout(timer), resolve(d)) });
      });
    },
  };
}

/** POST /api/auth/login answers {success, token, user:{id, name, email}}. */
async function login(email, password) {
  const res = await fetch(`${BASE}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json();
  if (!body.success) {
    const hint = res.status === 429 ? "" : " (did you run `chatwire demo`?)";
    throw new Error(`login ${email}: ${res.status} ${JSON.stringify(body)}${hint}`);
  }
  return body;
}

/** Connects without credentials, then authenticates with `join {userId, token}`. */
async function connect(who, { token, user }) {
  const socket = io(BASE, { reconnection: false, forceNew: true });
  const box = inbox(who);
  socket.onAny((event, data) => box.push(event, data));
  socket.on("connect_error", (e) => fail(`${who} cannot connect: ${e.message}`));
  socket.on("error", (e) => fail(`${who} got error ${JSON.stringify(e)}`));
  socket.on("auth:error", (e) => fail(`${who} got auth:error ${JSON.stringify(e)}`));
  socket.emit("join", { userId: user.id, token }); // buffered until connected
  const hello = await box.next("connected");
  console.log(`${who} joined as ${user.name} (user ${hello.userId})`);
  return { socket, next: box.next, ...user };
}

async function main() {
  const alice = await connect("alice", await login("alice@example.com", "password123"));
  const bob = await connect("bob", await login("bob@example.com", "password123"));

  // A message reaches the recipient as `message`; the sender gets it as the ack.
  const say = async (from, to, content) => {
    const sent = await from.socket.timeout(5000).emitWithAck("message", { to: to.id, content, type: "text" });
    const got = await to.next("message");
    console.log(`${got.senderName} -> ${to.name}: ${got.content}   (message ${sent.id})`);
    return got;
  };

  const hello = await say(alice, bob, "Hi Bob, got a minute?");
  bob.socket.emit("message:read", { messageId: hello.id, userId: bob.id });
  const read = await alice.next("message:read");
  console.log(`alice sees bob read message ${read.messageId} at ${read.readAt}`);

  bob.socket.emit("typing:start", { to: alice.id });
  console.log(`alice sees ${(await alice.next("typing:start")).fromName} typing...`);
  bob.socket.emit("typing:stop", { to: alice.id });
  await alice.next("typing:stop");
  console.log("alice sees bob stop typing");
  await say(bob, alice, "Sure, call me.");

  // Alice rings Bob; Bob accepts; both are told; Alice hangs up.
  alice.socket.emit("call:initiate", { to: bob.id, callType: "video" });
  const call = await alice.next("call:initiated");
  const ring = await bob.next("call:incoming");
  console.log(`alice calls bob (${call.type}, ${call.status}); bob's phone rings: call ${ring.id} from ${ring.fromName}`);
  bob.socket.emit("call:respond", { callId: ring.id, response: "accept", to: alice.id });
  await alice.next("call:accepted");
  await bob.next("call:accepted");
  console.log(`bob accepts; both join the Jitsi room ${call.roomName} on ${call.domain}`);
  alice.socket.emit("call:end", { callId: call.id, to: bob.id });
  const ended = await bob.next("call:ended");
  await alice.next("call:ended");
  console.log(`alice hangs up: call:ended (reason ${ended.reason}, ${ended.duration} s)`);

  await say(alice, bob, "Thanks, bye!");
  alice.socket.disconnect();
  bob.socket.disconnect();
}

try {
  await main();
  clearTimeout(watchdog);
  console.log("calls example: OK");
} catch (e) {
  fail(e.cause?.code === "ECONNREFUSED" ? `cannot reach ${BASE} (is chatwire running?)` : e.message);
}

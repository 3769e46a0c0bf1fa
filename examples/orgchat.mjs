// orgchat: two new users of a new organization talk in a room over the raw
// WebSocket, the way the orgchat frontend does: register into the organization,
// log in (access token), create a room over REST, then joinRoom, sendMessage,
// typing / stopTyping, a reaction, a read receipt and leaveRoom.
// orgchat accounts live in their organization, not in the shared space of the
// `chatwire demo` users, so this example registers its own two users.
//
//   cd examples && npm ci && node orgchat.mjs
//
// ORGCHAT_URL (default http://127.0.0.1:3002) names the orgchat listener.

import WebSocket from "ws";
import { randomBytes } from "node:crypto";

const BASE = process.env.ORGCHAT_URL || "http://127.0.0.1:3002";
const fail = (msg) => {
  console.error(`orgchat example FAILED: ${msg}`);
  process.exit(1);
};
const watchdog = setTimeout(() => fail("no result within 15 s"), 15_000);

/** Every frame a connection receives, queued in order; next(type) takes the first one. */
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

async function post(path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(BASE + path, { method: "POST", headers, body: JSON.stringify(body) });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Registers into `organizationName` (created by its first member), then logs in. */
async function signUp(name, organizationName, role) {
  const tag = randomBytes(3).toString("hex");
  const email = `${name}.${tag}@example.org`;
  const password = `pw-${tag}-example`;
  await post("/api/auth/register", { username: `${name}-${tag}`, email, password, organizationName, role });
  const { accessToken, user } = await post("/api/auth/login", { email, password });
  console.log(`${name} registered as ${user.username ?? name} (user ${user.id}, ${user.role} of organization ${user.organization_id})`);
  return { name, accessToken, id: user.id };
}

/** Opens the raw WebSocket (token in the query): frames {event, data} out, {type, ...} in. */
async function connect(user) {
  const ws = new WebSocket(`${BASE.replace(/^http/, "ws")}/?token=${encodeURIComponent(user.accessToken)}`);
  const box = inbox(user.name);
  ws.on("message", (buf) => {
    const frame = JSON.parse(buf.toString());
    if (frame.type === "error") fail(`${user.name} got an error frame: ${buf}`);
    box.push(frame.type, frame);
  });
  ws.on("error", (e) => fail(`${user.name}'s WebSocket: ${e.message}`));
  await new Promise((resolve) => ws.once("open", resolve));
  const emit = (event, data) => ws.send(JSON.stringify({ event, data }));
  return { ...user, ws, emit, next: box.next };
}

async function main() {
  const org = `Example Org ${randomBytes(3).toString("hex")}`;
  const alice = await connect(await signUp("alice", org, "admin"));
  const bob = await connect(await signUp("bob", org, "user"));
  const room = await post("/api/chat", { name: "General" }, alice.accessToken);
  console.log(`alice created room ${room.id} "${room.name}"`);

  alice.emit("joinRoom", { roomId: room.id, userId: alice.id });
  console.log(`alice sees: ${(await alice.next("notification")).message}`);
  bob.emit("joinRoom", { roomId: room.id, userId: bob.id });
  console.log(`alice sees: ${(await alice.next("notification")).message}`);
  await bob.next("notification");

  // A message goes to everyone in the room, the sender included.
  const say = async (from, to, content) => {
    from.emit("sendMessage", { roomId: room.id, userId: from.id, content });
    const { message } = await to.next("newMessage");
    await from.next("newMessage");
    console.log(`${from.name} -> ${to.name}: ${message.content}   (message ${message.id})`);
    return message;
  };

  const first = await say(alice, bob, "Welcome to the team, Bob!");
  bob.emit("typing", { roomId: room.id, userId: bob.id });
  console.log(`alice sees user ${(await alice.next("typing")).userId} (bob) typing...`);
  bob.emit("stopTyping", { roomId: room.id, userId: bob.id });
  await alice.next("stopTyping");
  console.log("alice sees bob stop typing");
  await say(bob, alice, "Thanks Alice, glad to be here.");

  bob.emit("reactMessage", { userId: bob.id, messageId: first.id, reaction: "👍" });
  const reaction = await alice.next("messageReaction");
  console.log(`alice sees bob react ${reaction.reaction} to message ${reaction.messageId}`);
  bob.emit("readMessage", { userId: bob.id, messageId: first.id });
  await alice.next("messageRead");
  console.log(`alice sees bob read message ${first.id}`);

  bob.emit("leaveRoom", { roomId: room.id, userId: bob.id });
  console.log(`alice sees: ${(await alice.next("notification")).message}`);
  alice.ws.close();
  bob.ws.close();
}

try {
  await main();
  clearTimeout(watchdog);
  console.log("orgchat example: OK");
} catch (e) {
  fail(e.cause?.code === "ECONNREFUSED" ? `cannot reach ${BASE} (is chatwire running?)` : e.message);
}

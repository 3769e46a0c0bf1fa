// testcore: the two demo users talk in a room over the raw WebSocket relay at
// `/ws1/`, the way the Testcore client does: log in over REST (access token),
// create and join a room, then SEND_MESSAGE / MODIFI_MESSAGE / LEAVE_ROOM frames.
// The relay sends a frame to the room's *other* connections, and a connection
// joins the room's live feed with the first frame it sends there; what was said
// before that is read from the room's history (REST).
//
//   cargo run -- demo                      # once: alice@example.com, bob@example.com
//   cd examples && npm ci && node testcore.mjs
//
// TESTCORE_URL (default http://127.0.0.1:3004) names the testcore listener.

import WebSocket from "ws";
import { randomBytes } from "node:crypto";

const BASE = process.env.TESTCORE_URL || "http://127.0.0.1:3004";
const fail = (msg) => {
  console.error(`testcore example FAILED: ${msg}`);
  process.exit(1);
};
const watchdog = setTimeout(() => fail("no result within 15 s"), 15_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** REST under /api/v1: {statusCode, data, message, success}. */
async function api(method, path, token, body) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers["content-type"] = "application/json";
  const res = await fetch(`${BASE}/api/v1${path}`, { method, headers, body: body && JSON.stringify(body) });
  const json = await res.json().catch(() => null);
  if (!res.ok || !json?.success) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

async function login(name, email) {
  const body = { role: "user", email, password: "password123" };
  const { userData, accessToken } = await api("POST", "/user/login", null, body).catch((e) => {
    throw new Error(e.message.includes(": 401 ") ? `${e.message} (did you run \`chatwire demo\`?)` : e.message);
  });
  const id = userData.Id ?? userData._id;
  console.log(`${name} logged in as ${userData.name} (user ${id})`);
  return { name, id, token: accessToken };
}

/** Opens `/ws1/?token=..`; relayed frames carry no type, so next() takes any frame. */
async function connect(user) {
  const ws = new WebSocket(`${BASE.replace(/^http/, "ws")}/ws1/?token=${encodeURIComponent(user.token)}`);
  const queue = [], waiting = [];
  ws.on("message", (buf) => {
    const frame = JSON.parse(buf.toString());
    if (waiting.length) waiting.shift()(frame);
    else queue.push(frame);
  });
  ws.on("close", (code, reason) => {
    if (code !== 1000) fail(`${user.name}'s connection closed with ${code} ${reason}`);
  });
  ws.on("error", (e) => fail(`${user.name}'s WebSocket: ${e.message}`));
  await new Promise((resolve) => ws.once("open", resolve));
  const next = () =>
    queue.length
      ? Promise.resolve(queue.shift())
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${user.name} got no frame within 5000 ms`)), 5000);
          waiting.push((f) => (clearTimeout(timer), resolve(f)));
        });
  return { ...user, ws, next };
}

async function main() {
  const alice = await connect(await login("alice", "alice@example.com"));
  const bob = await connect(await login("bob", "bob@example.com"));
  const roomName = `Example/${randomBytes(3).toString("hex")}`;
  await api("POST", "/chat/createChat", alice.token, { roomName });
  await api("POST", `/chat/ChatQuery/${roomName}`, bob.token); // bob joins the room
  console.log(`alice created room "${roomName}"; bob joined it`);
  console.log("(testcore has no typing indicator on the wire)");

  const frame = (user, typeOfMessage, MessageId, content) =>
    user.ws.send(JSON.stringify({ MessageId, roomName, content, typeOfMessage, userId: user.id }));
  const history = async (user) => (await api("GET", `/chat/ChatQuery/${roomName}`, user.token))[0].messages ?? [];

  // Alice's first frame puts her on the room's live feed; wait until it is stored.
  frame(alice, "SEND_MESSAGE", "a1", "Hi Bob, anyone here?");
  for (let i = 0; !(await history(alice)).some((m) => m.MessageId === "a1"); i++) {
    if (i === 50) throw new Error("alice's first message was not stored within 5 s");
    await sleep(100);
  }
  console.log("alice -> room: Hi Bob, anyone here?   (bob is not on the live feed yet)");

  // Bob sends his first frame; alice gets it relayed. Bob reads what he missed.
  frame(bob, "SEND_MESSAGE", "b1", "Hi Alice, just got here.");
  const got = await alice.next();
  console.log(`bob -> alice: ${got.content}   (${got.typeOfMessage} ${got.MessageId})`);
  const missed = (await history(bob)).find((m) => m.MessageId === "a1");
  console.log(`bob reads the room's history: alice said "${missed.content}"`);

  frame(alice, "SEND_MESSAGE", "a2", "Welcome! Meeting at 3.");
  let f = await bob.next();
  console.log(`alice -> bob: ${f.content}   (${f.typeOfMessage} ${f.MessageId})`);
  frame(alice, "MODIFI_MESSAGE", "a2", "Welcome! Meeting at 4.");
  f = await bob.next();
  console.log(`bob sees alice edit ${f.MessageId}: ${f.content}`);
  frame(bob, "SEND_MESSAGE", "b2", "OK, see you at 4.");
  f = await alice.next();
  console.log(`bob -> alice: ${f.content}   (${f.typeOfMessage} ${f.MessageId})`);

  // LEAVE_ROOM leaves the live feed; the server closes that connection (1000).
  const closed = new Promise((resolve) => bob.ws.once("close", (code, reason) => resolve(`${code} ${reason}`)));
  frame(bob, "LEAVE_ROOM", "b3", "bye");
  console.log(`bob leaves the room: connection closed (${await closed})`);
  alice.ws.close(1000);
}

try {
  await main();
  clearTimeout(watchdog);
  console.log("testcore example: OK");
} catch (e) {
  fail(e.cause?.code === "ECONNREFUSED" ? `cannot reach ${BASE} (is chatwire running?)` : e.message);
}

// chatsphere: the two demo users talk in a room over the raw WebSocket, the way
// the chatsphere UI does: with a client API token, issue each of them a user
// token (REST), create a room and add Bob, then join_room / new_message over
// `/ws?token=..`, plus one message posted over REST and delivered live.
//
// chatsphere has no password login: every call carries an API token, and the
// first client token comes from the command line (on the server's database):
//
//   cargo run -- demo                      # once: alice@example.com, bob@example.com
//   export CHATSPHERE_CLIENT_TOKEN=$(cargo run -q -- token create --client --username examples-admin | tail -n1)
//   cd examples && npm ci && node chatsphere.mjs
//
// CHATSPHERE_URL (default http://127.0.0.1:3003) names the chatsphere listener.

import WebSocket from "ws";
import { randomBytes } from "node:crypto";

const BASE = process.env.CHATSPHERE_URL || "http://127.0.0.1:3003";
const CLIENT_TOKEN = process.env.CHATSPHERE_CLIENT_TOKEN;
const fail = (msg) => {
  console.error(`chatsphere example FAILED: ${msg}`);
  process.exit(1);
};
if (!CLIENT_TOKEN) {
  fail("set CHATSPHERE_CLIENT_TOKEN to a client API token: from the repository root, run\n" +
    "  export CHATSPHERE_CLIENT_TOKEN=$(cargo run -q -- token create --client --username examples-admin | tail -n1)");
}
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

/** REST with an API token as Bearer; bare JSON bodies, errors as {error}. */
async function api(method, path, token, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body) headers["content-type"] = "application/json";
  const res = await fetch(BASE + path, { method, headers, body: body && JSON.stringify(body) });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A user token for the shared-space user called `username` (a demo user). */
async function signIn(name, username, users) {
  const user = users.find((u) => u.username === username);
  if (!user) throw new Error(`no user "${username}" (did you run \`chatwire demo\`?)`);
  const issued = await api("POST", "/api/tokens/user", CLIENT_TOKEN, { userId: user.id });
  console.log(`${name} signed in as ${user.username} (user ${user.id}) with a user API token`);
  return { name, id: user.id, username, token: issued.token, tokenId: issued.id };
}

/** The UI's WebSocket: `/ws?token=..&userId=..`, frames {type, ...} both ways. */
async function connect(user) {
  const query = `token=${encodeURIComponent(user.token)}&userId=${encodeURIComponent(user.id)}`;
  const ws = new WebSocket(`${BASE.replace(/^http/, "ws")}/ws?${query}`);
  const box = inbox(user.name);
  ws.on("message", (buf) => {
    const frame = JSON.parse(buf.toString());
    if (frame.type === "error") fail(`${user.name} got an error frame: ${buf}`);
    box.push(frame.type, frame);
  });
  ws.on("error", (e) => fail(`${user.name}'s WebSocket: ${e.message}`));
  await new Promise((resolve) => ws.once("open", resolve));
  return { ...user, ws, send: (frame) => ws.send(JSON.stringify(frame)), next: box.next };
}

async function main() {
  const users = await api("GET", "/api/users", CLIENT_TOKEN);
  const alice = await connect(await signIn("alice", "Alice Johnson", users));
  const bob = await connect(await signIn("bob", "Bob Smith", users));

  const room = await api("POST", "/api/rooms", alice.token, { name: `example-${randomBytes(3).toString("hex")}` });
  await api("POST", `/api/rooms/${room.id}/users`, alice.token, { userId: bob.id });
  console.log(`alice created room ${room.id} "${room.name}" and added bob`);

  for (const u of [alice, bob]) {
    u.send({ type: "join_room", roomId: room.id });
    console.log(`${u.name} joined the room: ${(await u.next("message_history")).messages.length} earlier message(s)`);
  }
  console.log("(chatsphere has no typing indicator on the wire)");

  // A message goes to everyone in the room, the sender included.
  const say = async (from, to, content) => {
    from.send({ type: "new_message", content, roomId: room.id });
    const got = await to.next("new_message");
    await from.next("new_message");
    console.log(`${got.username} -> ${to.username}: ${got.content}   (message ${got.id})`);
  };
  await say(alice, bob, "Hi Bob, welcome to the room.");
  await say(bob, alice, "Hi Alice! Nice and quiet here.");

  const posted = await api("POST", `/api/rooms/${room.id}/messages`, alice.token, { content: "Posted over REST." });
  const live = await bob.next("new_message");
  await alice.next("new_message");
  console.log(`alice posts over REST, bob gets it live: ${live.username}: ${live.content} (message ${posted.id})`);

  const history = await api("GET", `/api/rooms/${room.id}/messages`, bob.token);
  console.log(`the room's history holds ${history.length} messages, oldest first: "${history[0].content}"`);

  alice.ws.close();
  bob.ws.close();
  // The user tokens were for this run only: revoke them.
  for (const u of [alice, bob]) await api("DELETE", `/api/tokens/${u.tokenId}`, CLIENT_TOKEN);
  console.log("alice's and bob's user tokens revoked");
}

try {
  await main();
  clearTimeout(watchdog);
  console.log("chatsphere example: OK");
} catch (e) {
  fail(e.cause?.code === "ECONNREFUSED" ? `cannot reach ${BASE} (is chatwire running?)` : e.message);
}

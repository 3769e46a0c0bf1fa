// expresschat: two demo users chat one-to-one over Socket.IO, the way the
// ExpressChat web client does: log in over REST (cookies), connect with the
// cookies, find the partner, open a personal chat, exchange messages, read them.
//
//   cargo run -- demo                      # once: alice@example.com, bob@example.com
//   cd examples && npm ci && node expresschat.mjs
//
// EXPRESSCHAT_URL (default http://127.0.0.1:3000) names the expresschat listener.

import { io } from "socket.io-client";

const BASE = process.env.EXPRESSCHAT_URL || "http://127.0.0.1:3000";
const fail = (msg) => {
  console.error(`expresschat example FAILED: ${msg}`);
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

/** POST /login sets the httpOnly cookies access_token and refresh_token. */
async function login(email, password) {
  const res = await fetch(`${BASE}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json();
  if (body.success !== 1) {
    const hint = res.status === 429 ? "" : " (did you run `chatwire demo`?)";
    throw new Error(`login ${email}: ${res.status} ${JSON.stringify(body)}${hint}`);
  }
  return res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
}

/** Connects with the login cookies; the server greets with user-id and the chat lists. */
async function connect(who, cookie) {
  const socket = io(BASE, { extraHeaders: { cookie }, reconnection: false, forceNew: true });
  const box = inbox(who);
  socket.onAny((event, data) => box.push(event, data));
  socket.on("connect_error", (e) => fail(`${who} cannot connect: ${e.message}`));
  socket.on("auth-failure", (e) => fail(`${who}: auth-failure ${JSON.stringify(e)}`));
  const me = await box.next("user-id");
  const chats = await box.next("personal-chat-list");
  console.log(`${who} connected as ${me.userName} (${me.userId}), ${chats.PersonalChatList.length} personal chat(s)`);
  return { socket, next: box.next, id: me.userId, name: me.userName };
}

async function main() {
  const alice = await connect("alice", await login("alice@example.com", "password123"));
  const bob = await connect("bob", await login("bob@example.com", "password123"));

  // Alice finds Bob by name, then opens (or reuses) their personal chat.
  alice.socket.emit("search-user", { Name: "bob", Type: "Search" });
  const found = (await alice.next("searched-user")).Users.find((u) => u.Email === "bob@example.com");
  if (!found) throw new Error("search-user did not find bob@example.com");
  alice.socket.emit("check-chat", { Receiver: found._id });
  const check = await alice.next("create-chat-result");
  let chatId = check.ChatId;
  if (check.Exists !== 1) {
    alice.socket.emit("create-personal-chat", { Receiver: found._id, Partner: found.Name, UserName: alice.name });
    chatId = (await alice.next("create-personal-chat-creator")).ChatId;
    const told = await bob.next("create-personal-chat-partner");
    console.log(`bob is told that ${told.Partner} opened chat ${told.ChatId}`);
  }
  console.log(`alice and bob share personal chat ${chatId}`);

  // Messages go to the partner only (the sender's page renders its own message).
  const say = async (from, to, text) => {
    from.socket.emit("send-personal-message", { ChatId: chatId, Content: text });
    const got = await to.next("receive-personal-message");
    console.log(`${got.Sender} -> ${to.name}: ${got.Content}`);
    // The receiver marks the chat read; the sender sees the read receipt.
    to.socket.emit("read-personal-message", { ChatId: chatId });
    await from.next("read-personal-msg-ack");
    console.log(`  ${from.name} sees that ${to.name} read it`);
  };
  console.log("(expresschat has no typing indicator on the wire; its frontend shows read receipts)");
  await say(alice, bob, "Hi Bob! Trying chatwire.");
  await say(bob, alice, "Hi Alice, it works.");
  await say(alice, bob, "Great, see you later.");

  // The history, as the client loads it when a chat is opened (newest first).
  bob.socket.emit("fetch-personal-chat", { ChatId: chatId, Partner: alice.name });
  const history = await bob.next("personal-chat");
  console.log(`bob's history of the chat holds ${history.Messages.length} message(s); newest: "${history.Messages[0]?.Content}"`);

  alice.socket.disconnect();
  bob.socket.disconnect();
}

try {
  await main();
  clearTimeout(watchdog);
  console.log("expresschat example: OK");
} catch (e) {
  fail(e.cause?.code === "ECONNREFUSED" ? `cannot reach ${BASE} (is chatwire running?)` : e.message);
}

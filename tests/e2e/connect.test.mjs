// expresschat Socket.IO connection: greeting events in order, auth by cookies (web) and
// by query tokens (Android), auth-failure for missing/bad credentials.
//
// Assumptions where the contract is silent:
// - With auth failure, the namespace connect itself succeeds ("the handshake is never
//   rejected"), then `auth-failure` arrives, then the server disconnects the socket
//   (client reason "io server disconnect"); no greeting event is sent.
// - `LastChat` in the lists is a timestamp the client can pass to `new Date()`.
// - The user's own self chat is not listed in `personal-chat-list`.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  newIdentity,
  signupVerifyLogin,
  tokensFromCookieHeader,
  makeSocket,
  connect,
  connectUser,
  makeUser,
  closeAll,
  barrier,
} from "./helpers.mjs";

let server;
let base;

before(async () => {
  server = await startServer();
  base = server.urls.expresschat;
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

async function expectAuthFailure(socket) {
  const rec = socket.rec;
  const failure = await rec.next("auth-failure", 5000);
  assert.deepEqual(failure, { reason: "Authentication failed" });
  const reason = await rec.next("$disconnect", 5000);
  assert.equal(reason, "io server disconnect");
  for (const e of ["user-id", "personal-chat-list", "group-chat-list"]) {
    assert.equal(rec.all(e).length, 0, `no ${e} on a failed auth`);
  }
}

test("greeting: user-id, personal-chat-list, group-chat-list, in this order, first", async () => {
  const id = newIdentity("Greeter");
  const cookie = await signupVerifyLogin(server, base, id);
  const socket = await connect(base, cookie);
  const rec = socket.rec;
  const hello = await rec.next("user-id");
  const pl = await rec.next("personal-chat-list");
  const gl = await rec.next("group-chat-list");
  const names = rec.events.filter((e) => !e.startsWith("$"));
  assert.deepEqual(names.slice(0, 3), ["user-id", "personal-chat-list", "group-chat-list"]);

  assert.equal(typeof hello.userId, "string");
  assert.ok(hello.userId.length > 0);
  assert.equal(hello.userName, id.name);
  assert.deepEqual(Object.keys(hello).sort(), ["userId", "userName"]);
  assert.deepEqual(pl, { PersonalChatList: [] });
  assert.deepEqual(gl, { GroupChatList: [] });

  // fetch-user-details answers with the same identity
  socket.emit("fetch-user-details", {});
  const d = await rec.next("user-details");
  assert.deepEqual(d, { Name: id.name, Email: id.email, Id: hello.userId });

  // the self chat's id equals userId: fetch-self-chat works right after connect
  socket.emit("fetch-self-chat", {});
  const self = await rec.next("self-chat");
  assert.deepEqual(self, { Messages: [], Name: id.name });
  socket.disconnect();
});

test("no credentials → auth-failure then disconnect", async () => {
  const s = makeSocket(base, undefined);
  s.connect();
  await expectAuthFailure(s);
});

test("garbage / forged tokens → auth-failure then disconnect", async () => {
  const forgedNone =
    Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url") +
    "." +
    Buffer.from(JSON.stringify({ sub: "1", exp: 9999999999 })).toString("base64url") +
    ".";
  for (const cookie of [
    "access_token=garbage; refresh_token=garbage",
    `access_token=${forgedNone}; refresh_token=${forgedNone}`,
    "unrelated=1",
  ]) {
    const s = makeSocket(base, cookie);
    s.connect();
    await expectAuthFailure(s);
  }
  // query variant with garbage
  const q = makeSocket(base, undefined, { query: { accessToken: "x", refreshToken: "y" } });
  q.connect();
  await expectAuthFailure(q);
});

test("tokens with a tampered signature → auth-failure", async () => {
  const id = newIdentity("Tamper");
  const cookie = await signupVerifyLogin(server, base, id);
  const { accessToken, refreshToken } = tokensFromCookieHeader(cookie);
  const flip = (t) => t.slice(0, -2) + (t.endsWith("AA") ? "BB" : "AA");
  const s = makeSocket(base, `access_token=${flip(accessToken)}; refresh_token=${flip(refreshToken)}`);
  s.connect();
  await expectAuthFailure(s);
});

test("Android: query {accessToken, refreshToken} authenticates (polling and websocket)", async () => {
  const id = newIdentity("Droid");
  const cookie = await signupVerifyLogin(server, base, id);
  const query = tokensFromCookieHeader(cookie);
  for (const transports of [["websocket"], ["polling"], undefined]) {
    const c = await connectUser(base, undefined, { query, transports });
    assert.equal(c.userName, id.name);
    assert.equal(typeof c.userId, "string");
    await barrier(c.socket);
    c.socket.disconnect();
  }
});

test("the server never emits access-token for a fresh, valid access token", async () => {
  const u = await makeUser(server, "Fresh");
  await barrier(u.socket);
  assert.equal(u.rec.all("access-token").length, 0);
  assert.equal(u.rec.all("auth-failure").length, 0);
  u.socket.disconnect();
});

test("two tabs of one user both get the greeting with the same userId", async () => {
  const id = newIdentity("Tabby");
  const cookie = await signupVerifyLogin(server, base, id);
  const a = await connectUser(base, cookie);
  const b = await connectUser(base, cookie, { transports: ["websocket"] });
  assert.equal(a.userId, b.userId);
  a.socket.disconnect();
  b.socket.disconnect();
});

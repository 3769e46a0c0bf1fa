// The Socket.IO admin UI's server side (namespace /admin, @socket.io/admin-ui 0.5
// protocol) and its page at /admin/, driven with socket.io-client 4 as the UI
// connects: `io(base + "/admin", {auth: {username, password}})`, later
// `{auth: {sessionId}}`.
//
// - off by default: /admin is an unknown namespace and /admin/ is not served;
// - refused without, and with wrong, credentials ("invalid credentials", what the
//   UI shows); a session id from `session` lets the UI back in;
// - `config`, `all_sockets` (a chat user's socket and its rooms), `server_stats`;
// - live: `socket_connected`, `room_joined`, `socket_disconnected` + `room_left`
//   as a chat client comes, opens a chat and goes;
// - operations `_disconnect`, `join`, `leave` on a socket id, and their refusals;
// - the same on the calls and orgchat listeners; a bcrypt hash as the password.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  closeAll,
  connect,
  makeSocket,
  makeUser,
  barrier,
  disconnected,
  get,
} from "./helpers.mjs";
import { registerCalls, joinCalls, ISO } from "./calls-lib.mjs";
import { orgUser, sioClient } from "./orgchat-lib.mjs";

const USER = "ops";
const PASSWORD = "correct horse battery staple";
const FEATURES = ["JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"];

let server;
before(async () => {
  server = await startServer(
    { ADMIN_UI_USER: USER, ADMIN_UI_PASSWORD: PASSWORD, BCRYPT_COST: "4" },
    { waitFor: ["expresschat", "calls", "orgchat"] },
  );
});
after(async () => {
  closeAll();
  if (server) await server.stop();
});

/** An admin UI socket, connected (or refused: throws with the connect_error). */
const admin = (base, auth = { username: USER, password: PASSWORD }, opts = {}) =>
  connect(`${base}/admin`, undefined, { auth, ...opts });

/** What connect_error says when connecting to /admin with `auth`. */
async function refusal(base, auth) {
  const s = makeSocket(`${base}/admin`, undefined, auth === undefined ? {} : { auth });
  const p = s.rec.nextOf(["$connect", "$connect_error"], 5000);
  s.connect();
  const e = await p;
  s.disconnect();
  assert.equal(e.event, "$connect_error", `connected with ${JSON.stringify(auth)}`);
  return e.args[0].message;
}

/**
 * A greeted expresschat user whose socket the admin UI lists: a socket is listed
 * once its inbox starts, and the answer to `barrier` comes from that inbox.
 */
async function chatUser(prefix) {
  const u = await makeUser(server, prefix);
  await barrier(u.socket);
  return u;
}

/** The room of a user's sockets, from the id a profile shows (expresschat's "u7"). */
const userRoom = (id) => `user:${String(id).replace(/^\D+/, "")}`;

/** The socket `id` in an `all_sockets` list. */
const listed = (list, id) => list.find((s) => s.id === id);

/** The next `event` on `rec` whose arguments match `pred`. */
const nextWhere = (rec, event, pred, ms = 5000) =>
  rec.nextEntry((e) => e.event === event && pred(...e.args), ms).then((e) => e.args);

test("refused without credentials, with a wrong password or user; a session id lets back in", async () => {
  const base = server.urls.expresschat;
  assert.equal(await refusal(base, undefined), "invalid credentials");
  assert.equal(await refusal(base, {}), "invalid credentials");
  assert.equal(await refusal(base, { username: USER }), "invalid credentials");
  assert.equal(await refusal(base, { username: USER, password: "wrong" }), "invalid credentials");
  assert.equal(await refusal(base, { username: "someone", password: PASSWORD }), "invalid credentials");
  assert.equal(await refusal(base, { username: USER, password: 12345 }), "invalid credentials");
  assert.equal(await refusal(base, { sessionId: "0123456789abcdef" }), "invalid credentials");

  const a = await admin(base);
  const sessionId = await a.rec.next("session");
  assert.match(sessionId, /^[0-9a-f]{32}$/);
  a.disconnect();
  const again = await admin(base, { sessionId });
  assert.deepEqual((await again.rec.next("config")).supportedFeatures, FEATURES);
  assert.equal(again.rec.pending("session").length, 0, "no new session for a session login");
  again.disconnect();
});

test("config, all_sockets with a chat user's socket and rooms, server_stats now and again", async () => {
  const base = server.urls.expresschat;
  const alice = await chatUser("Alice");
  const a = await admin(base);
  const order = [];
  const config = await a.rec.next("config");
  assert.deepEqual(config, { supportedFeatures: FEATURES });
  const all = await a.rec.next("all_sockets");
  for (const e of a.rec.log) order.push(e.event);
  assert.deepEqual(order.filter((e) => ["session", "config", "all_sockets"].includes(e)), ["session", "config", "all_sockets"]);

  const mine = listed(all, alice.socket.id);
  assert.ok(mine, `alice's socket ${alice.socket.id} in all_sockets: ${JSON.stringify(all.map((s) => s.id))}`);
  assert.equal(mine.nsp, "/");
  assert.equal(mine.clientId, alice.socket.id.slice(0, 12));
  assert.ok(["polling", "websocket"].includes(mine.transport));
  assert.deepEqual(mine.data, {});
  assert.deepEqual(new Set(mine.rooms), new Set([alice.socket.id, userRoom(alice.id)]));
  assert.equal(mine.handshake.headers.cookie, "[redacted]", "credentials are not shown");
  assert.equal(mine.handshake.address, "127.0.0.1");
  assert.equal(typeof mine.handshake.issued, "number");
  assert.match(mine.handshake.time, ISO);
  assert.equal(mine.handshake.query.EIO, "4");
  // The admin socket lists itself in /admin, as the Node server does.
  const self = listed(all, a.id);
  assert.equal(self?.nsp, "/admin");

  const stats = await a.rec.next("server_stats");
  assert.equal(typeof stats.serverId, "string");
  assert.equal(stats.hostname, stats.serverId);
  assert.equal(typeof stats.pid, "number");
  assert.ok(stats.uptime > 0);
  assert.ok(stats.clientsCount >= 2, `clientsCount ${stats.clientsCount}`);
  assert.equal(typeof stats.pollingClientsCount, "number");
  assert.ok(Array.isArray(stats.aggregatedEvents));
  const names = Object.fromEntries(stats.namespaces.map((n) => [n.name, n.socketsCount]));
  assert.ok(names["/"] >= 1 && names["/admin"] >= 1, JSON.stringify(stats.namespaces));
  // ...and again, every 2 s, with the connections counted per second.
  const next = await a.rec.next("server_stats", 6000);
  assert.equal(next.pid, stats.pid);
  const counted = [...stats.aggregatedEvents, ...next.aggregatedEvents];
  assert.ok(counted.some((e) => e.type === "rawConnection" && e.count >= 1 && e.timestamp % 1000 === 0), JSON.stringify(counted));
  a.disconnect();
  alice.socket.disconnect();
});

test("live: a chat client comes, opens a chat (room_joined) and goes (socket_disconnected, room_left)", async () => {
  const base = server.urls.expresschat;
  const alice = await chatUser("Alice");
  const a = await admin(base);
  await a.rec.next("all_sockets");

  const bob = await chatUser("Bob");
  const [shown, at] = await nextWhere(a.rec, "socket_connected", (s) => s.id === bob.socket.id);
  assert.equal(shown.nsp, "/");
  assert.ok(shown.rooms.includes(userRoom(bob.id)), JSON.stringify(shown.rooms));
  assert.match(at, ISO);

  // Bob opens a personal chat with Alice: both sockets join its room.
  bob.socket.emit("check-chat", { Receiver: alice.id });
  await bob.rec.next("create-chat-result");
  bob.socket.emit("create-personal-chat", { Receiver: alice.id, Partner: alice.name, UserName: bob.name });
  const { ChatId } = await bob.rec.next("create-personal-chat-creator");
  await alice.rec.next("create-personal-chat-partner");
  const joins = [];
  for (const who of [alice, bob]) {
    const [nsp, room, id] = await nextWhere(a.rec, "room_joined", (_n, r, id) => id === who.socket.id && r.startsWith("conv:"));
    assert.equal(nsp, "/");
    joins.push(room);
  }
  assert.equal(joins[0], joins[1], "the same conversation room");
  assert.ok(ChatId);

  const id = bob.socket.id;
  bob.socket.disconnect();
  const [nsp, , reason, when] = await nextWhere(a.rec, "socket_disconnected", (_n, sid) => sid === id);
  assert.deepEqual([nsp, reason], ["/", "client namespace disconnect"]);
  assert.match(when, ISO);
  const left = new Set();
  for (let i = 0; i < 3; i++) {
    const [, room] = await nextWhere(a.rec, "room_left", (_n, _r, sid) => sid === id);
    left.add(room);
  }
  assert.deepEqual(left, new Set([id, userRoom(bob.id), joins[0]]));

  // A fresh admin view no longer lists him, and still lists Alice in the room.
  const b = await admin(base);
  const all = await b.rec.next("all_sockets");
  assert.equal(listed(all, id), undefined);
  assert.ok(listed(all, alice.socket.id).rooms.includes(joins[0]));
  for (const s of [a, b, alice.socket]) s.disconnect();
});

test("_disconnect kicks a socket; join/leave change its rooms; refusals are acked", async () => {
  const base = server.urls.expresschat;
  const carol = await chatUser("Carol");
  const dave = await chatUser("Dave");
  const a = await admin(base);
  await a.rec.next("all_sockets");
  const sid = carol.socket.id;

  // join: as the UI sends it (nsp, room, socket id); the ack is chatwire's extension.
  assert.deepEqual(await a.timeout(3000).emitWithAck("join", "/", "ops-watch", sid), { ok: true, sockets: 1 });
  const [, room, id] = await nextWhere(a.rec, "room_joined", (_n, r) => r === "ops-watch");
  assert.deepEqual([room, id], ["ops-watch", sid]);
  const view = await admin(base);
  const all = await view.rec.next("all_sockets");
  assert.ok(listed(all, sid).rooms.includes("ops-watch"));
  assert.ok(!listed(all, dave.socket.id).rooms.includes("ops-watch"), "only the socket named");
  view.disconnect();

  // The UI's own emit (no ack) works the same.
  a.emit("leave", "/", "ops-watch", sid);
  const [, gone, who] = await nextWhere(a.rec, "room_left", (_n, r) => r === "ops-watch");
  assert.deepEqual([gone, who], ["ops-watch", sid]);

  // Refusals: a delivery room (another user's or conversation's), bad arguments,
  // an unknown namespace. Nothing changes.
  for (const [args, error] of [
    [["/", userRoom(dave.id), sid], /delivers chat messages/],
    [["/", "conv:1", sid], /delivers chat messages/],
    [["/", dave.socket.id, sid], /delivers chat messages/],
    [["/", "", sid], /room must be/],
    [["/", 42, sid], /room must be/],
    [[7, "ops", sid], /nsp must be/],
    [["/nope", "ops", sid], /unknown namespace/],
    [["/", "ops", { id: sid }], /filter must be/],
  ]) {
    const r = await a.timeout(3000).emitWithAck("join", ...args);
    assert.equal(r.ok, false, JSON.stringify(args));
    assert.match(r.error, error);
  }
  assert.equal((await a.timeout(3000).emitWithAck("_disconnect", "/", "yes", sid)).ok, false);
  assert.equal(a.rec.pending((e) => e.event === "room_joined" && e.args[2] === sid).length, 0);

  // _disconnect: the socket is kicked (the client sees "io server disconnect").
  const kicked = disconnected(carol.socket);
  a.emit("_disconnect", "/", false, sid);
  await kicked;
  assert.equal(carol.rec.log.find((e) => e.event === "$disconnect").args[0], "io server disconnect");
  const [, , reason] = await nextWhere(a.rec, "socket_disconnected", (_n, id) => id === sid);
  assert.equal(reason, "server namespace disconnect");
  assert.ok(dave.socket.connected, "only the socket named");
  for (const s of [a, dave.socket]) s.disconnect();
});

test("the calls and orgchat listeners serve the admin UI too", async () => {
  // calls: a socket connects, then authenticates with `join` (its user room is a live room_joined).
  const cbase = server.urls.calls;
  assert.equal(await refusal(cbase, { username: USER, password: "nope" }), "invalid credentials");
  const a = await admin(cbase);
  await a.rec.next("all_sockets");
  const user = await registerCalls(cbase);
  const s = await joinCalls(cbase, user);
  await nextWhere(a.rec, "socket_connected", (x) => x.id === s.id);
  const sid = s.id;
  const [nsp, room] = await nextWhere(a.rec, "room_joined", (_n, _r, id) => id === sid);
  assert.deepEqual([nsp, room], ["/", userRoom(user.id)]);
  s.disconnect();
  await nextWhere(a.rec, "socket_disconnected", (_n, id) => id === sid);
  a.disconnect();

  // orgchat: a Socket.IO client of an organization member is announced with its user room.
  const obase = server.urls.orgchat;
  const o = await admin(obase);
  assert.deepEqual((await o.rec.next("config")).supportedFeatures, FEATURES);
  await o.rec.next("all_sockets");
  const member = await orgUser(obase, { name: "Olga", org: `org-${Date.now()}` });
  const client = await sioClient(obase, member.accessToken);
  const [shown] = await nextWhere(o.rec, "socket_connected", (x) => x.id === client.socket.id);
  assert.deepEqual(new Set(shown.rooms), new Set([client.socket.id, userRoom(member.id)]));
  client.close();
  await nextWhere(o.rec, "socket_disconnected", (_n, id) => id === shown.id);
  o.disconnect();
});

test("admin sockets are no chat connections: not in namespace /, not counted, no chat events", async () => {
  const base = server.urls.expresschat;
  const gauge = async () => {
    const m = (await get(base, "/metrics")).text.match(/^chatwire_connections\{profile="expresschat"\} (\d+)/m);
    return m ? Number(m[1]) : 0;
  };
  const erin = await chatUser("Erin");
  const before = await gauge();
  const a = await admin(base);
  const stats = await a.rec.next("server_stats");
  const chatSockets = stats.namespaces.find((n) => n.name === "/").socketsCount;
  const b = await admin(base);
  const next = await b.rec.next("server_stats");
  assert.equal(next.namespaces.find((n) => n.name === "/").socketsCount, chatSockets, "namespace / unchanged");
  assert.equal(next.namespaces.find((n) => n.name === "/admin").socketsCount, 2);
  assert.equal(await gauge(), before, "chatwire_connections unchanged");
  // A chat event sent on /admin is not a chat event, nor is the Node server's `emit`.
  assert.deepEqual(await a.timeout(3000).emitWithAck("fetch-user-details", {}), { ok: false, error: 'unknown event "fetch-user-details"' });
  assert.deepEqual(await a.timeout(3000).emitWithAck("emit", "/", null, "receive-personal-message", {}), { ok: false, error: 'unknown event "emit"' });
  assert.equal(a.rec.pending("user-details").length, 0);
  for (const s of [a, b, erin.socket]) s.disconnect();
});

test("the page is served at /admin/ on the Socket.IO listeners", async () => {
  for (const p of ["expresschat", "calls", "orgchat"]) {
    const base = server.urls[p];
    const page = await get(base, "/admin/");
    assert.equal(page.status, 200, p);
    assert.match(page.headers.get("content-type"), /text\/html/);
    assert.match(page.text, /<title>Socket.IO Admin UI<\/title>/);
    const js = page.text.match(/src="(js\/app\.[0-9a-f]+\.js)"/)[1];
    const script = await get(base, `/admin/${js}`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type"), /javascript/);
    const bare = await get(base, "/admin");
    assert.ok([301, 302, 303, 307, 308].includes(bare.status), `${p} /admin: ${bare.status}`);
  }
  assert.equal((await get(server.urls.expresschat, "/admin/nope.js")).status, 404);
});

test("off by default: no /admin namespace, no page; a bcrypt hash is accepted as the password", async () => {
  const off = await startServer({}, { waitFor: ["expresschat"] });
  try {
    const base = off.urls.expresschat;
    assert.equal(await refusal(base, { username: USER, password: PASSWORD }), "Invalid namespace");
    assert.equal((await get(base, "/admin/")).status, 404);
  } finally {
    await off.stop();
  }
  // bcrypt (cost 4) of "hashed-pass word", as ADMIN_UI_PASSWORD may also be given.
  const hashed = await startServer(
    { ADMIN_UI_USER: USER, ADMIN_UI_PASSWORD: "$2a$04$eHOz1yJIBqdimpYJA.xzCuKOkVWZ2u5fbNBVDpZfQtmocuwPzZ7TO" },
    { waitFor: ["expresschat"] },
  );
  try {
    const base = hashed.urls.expresschat;
    assert.equal(await refusal(base, { username: USER, password: "$2a$04$eHOz1yJIBqdimpYJA.xzCuKOkVWZ2u5fbNBVDpZfQtmocuwPzZ7TO" }), "invalid credentials");
    const a = await admin(base, { username: USER, password: "hashed-pass word" });
    assert.deepEqual((await a.rec.next("config")).supportedFeatures, FEATURES);
    a.disconnect();
  } finally {
    await hashed.stop();
  }
});

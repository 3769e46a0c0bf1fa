// Cluster mode, every profile with its real client: one user on node 1, the other
// on node 2, two chatwire processes on one PostgreSQL and one Redis (lib.mjs).
// Each delivery below crosses nodes through Redis; membership changes made on one
// node take effect on the other before the next message.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUser, connectUser, closeAll, ask, rand, barrier, expectNoneBefore, sleep } from "../helpers.mjs";
import { closeAllSockets } from "../ws-helpers.mjs";
import { registerCalls, joinCalls, api as callsApi } from "../calls-lib.mjs";
import { orgUser, createRoom, rawClient, sioClient } from "../orgchat-lib.mjs";
import { api as sphereApi, serverSocket, uiSocket } from "../chatsphere-lib.mjs";
import { tcUser, room as tcRoom, tcClient, join as tcJoin, msg as tcMsg } from "../testcore-lib.mjs";
import { SKIP, startCluster, readyz } from "./lib.mjs";

let cluster;
let n1;
let n2;

before(async () => {
  if (SKIP) return;
  cluster = await startCluster();
  [n1, n2] = cluster.nodes;
});

after(async () => {
  closeAll();
  closeAllSockets();
  if (cluster) await cluster.stop();
});

test("readyz reports Redis on every node", { skip: SKIP }, async () => {
  for (const n of [n1, n2]) {
    const r = await readyz(n);
    assert.equal(r.status, 200);
    assert.match(r.text, /^ready\nredis: up$/);
  }
});

test("expresschat: a personal chat made on node 1 reaches the partner's tabs on both nodes", { skip: SKIP }, async () => {
  const alice = await makeUser(n1, "Alice");
  const bob = await makeUser(n2, "Bob");
  // Alice's second tab is on node 2: the chat room must be joined there too.
  const alice2 = await connectUser(n2.urls.expresschat, alice.cookie);
  alice.socket.emit("check-chat", { Receiver: bob.id });
  assert.deepEqual(await alice.rec.next("create-chat-result"), { Exists: 0, Partner: bob.name });
  alice.socket.emit("create-personal-chat", { Receiver: bob.id, Partner: bob.name, UserName: alice.name });
  const { ChatId } = await alice.rec.next("create-personal-chat-creator");
  assert.deepEqual(await bob.rec.next("create-personal-chat-partner"), { ChatId, Partner: alice.name });

  alice.socket.emit("send-personal-message", { ChatId, Content: "from node 1" });
  const got = await bob.rec.next("receive-personal-message");
  assert.equal(got.Content, "from node 1");
  assert.equal(got.Sender, alice.name);
  assert.equal(got.ChatId, ChatId);

  // Two sockets of node 2 (Bob's and Alice's second tab), a chat made on node 1.
  bob.socket.emit("send-personal-message", { ChatId, Content: "from node 2" });
  assert.equal((await alice2.rec.next("receive-personal-message")).Content, "from node 2");
  assert.equal((await alice.rec.next("receive-personal-message")).Content, "from node 2");
  alice2.socket.disconnect();
});

/** admin creates a group of `members` on admin's node; returns GroupId once all were told. */
async function createGroup(admin, members) {
  const Name = `Group ${rand(5)}`;
  admin.socket.emit("create-group-chat", { Name, Description: "", Participants: members.map((m) => m.id) });
  const { GroupId } = await admin.rec.next("create-group-chat-creator");
  for (const m of members) assert.deepEqual(await m.rec.next("create-group-chat-receiver"), { GroupId, Name });
  return GroupId;
}

test("expresschat: a member added on node 1 sends and receives on node 2 at once", { skip: SKIP }, async () => {
  const ann = await makeUser(n1, "Ann");
  const ben = await makeUser(n2, "Ben");
  const cat = await makeUser(n2, "Cat");
  const g = await createGroup(ann, [ben]);
  // Node 2 learns the group's members (its member cache) from Ben's send.
  ben.socket.emit("send-group-message", { GroupId: g, Content: "ben first" });
  assert.equal((await ann.rec.next("receive-group-message")).Content, "ben first");

  ann.socket.emit("add-member", { GroupId: g, Member: cat.id });
  assert.deepEqual(await cat.rec.next("new-grp-added"), { ChatId: g });
  assert.deepEqual(await ben.rec.next("add-member-success"), { ChatId: g, Member: cat.id });
  // Cat's send is checked by node 2's member cache: it must know Cat is in.
  cat.socket.emit("send-group-message", { GroupId: g, Content: "cat on node 2" });
  assert.equal((await ann.rec.next("receive-group-message")).Content, "cat on node 2");
  assert.equal((await ben.rec.next("receive-group-message")).Content, "cat on node 2");
  ann.socket.emit("send-group-message", { GroupId: g, Content: "welcome cat" });
  assert.equal((await cat.rec.next("receive-group-message")).Content, "welcome cat");
  assert.equal((await ben.rec.next("receive-group-message")).Content, "welcome cat");

  // Kicked out on node 1: node 2 refuses Cat's next send and stops delivering to Cat.
  ann.socket.emit("kickout", { GroupId: g, Member: cat.id });
  await ann.rec.next("kickout-successful");
  assert.equal((await cat.rec.next("kicked-out")).GroupId, g);
  await ben.rec.next("someone-kicked-out");
  cat.socket.emit("send-group-message", { GroupId: g, Content: "refused" });
  await barrier(cat.socket); // Cat's send was handled (and refused) on node 2
  ann.socket.emit("send-group-message", { GroupId: g, Content: "after the kick" });
  await expectNoneBefore(
    ben.rec,
    "receive-group-message",
    ben.rec.nextEntry((e) => e.event === "receive-group-message" && e.args[0]?.Content === "after the kick"),
    "a kicked member's send",
  );
  // Cat got nothing of the group since: a later notice to Cat comes first.
  const Name = `barrier ${rand(5)}`;
  ann.socket.emit("create-group-chat", { Name, Description: "", Participants: [cat.id] });
  await expectNoneBefore(
    cat.rec,
    "receive-group-message",
    cat.rec.nextEntry((e) => e.event === "create-group-chat-receiver" && e.args[0]?.Name === Name),
    "kicked member",
  );
});

test("expresschat: two nodes sending to one group at once: every member sees the history's order", { skip: SKIP }, async () => {
  const ann = await makeUser(n1, "Ann");
  const ben = await makeUser(n2, "Ben");
  const cat = await makeUser(n1, "Cat");
  const cat2 = await connectUser(n2.urls.expresschat, cat.cookie);
  const g = await createGroup(ann, [ben, cat]);
  await cat2.rec.next("create-group-chat-receiver");
  const N = 25;
  for (let i = 0; i < N; i++) {
    ann.socket.emit("send-group-message", { GroupId: g, Content: `a${i}` });
    ben.socket.emit("send-group-message", { GroupId: g, Content: `b${i}` });
  }
  const received = async (rec, n) => {
    const out = [];
    while (out.length < n) out.push((await rec.next("receive-group-message", 10000)).Content);
    return out;
  };
  const [onCat1, onCat2, onAnn, onBen] = await Promise.all([
    received(cat.rec, 2 * N),
    received(cat2.rec, 2 * N),
    received(ann.rec, N),
    received(ben.rec, N),
  ]);
  cat.socket.emit("fetch-group-chat", { GroupId: g });
  // The history answer is newest first.
  const history = (await cat.rec.next("group-chat")).Messages.map((m) => m.Content).reverse();
  assert.equal(history.length, 2 * N);
  assert.deepEqual(onCat1, history, "node 1 delivers in sequence order");
  assert.deepEqual(onCat2, history, "node 2 delivers in sequence order");
  assert.deepEqual(onAnn, history.filter((c) => c.startsWith("b")));
  assert.deepEqual(onBen, history.filter((c) => c.startsWith("a")));
  cat2.socket.disconnect();
});

test("calls: messages with acks and typing between nodes", { skip: SKIP }, async () => {
  const alice = await registerCalls(n1.urls.calls, "Alice");
  const bob = await registerCalls(n2.urls.calls, "Bob");
  const a = await joinCalls(n1.urls.calls, alice);
  const b = await joinCalls(n2.urls.calls, bob);
  const ack = await ask(a, "message", { to: bob.id, content: "across", type: "text" });
  assert.deepEqual(await b.rec.next("message"), ack);
  b.emit("typing:start", { to: alice.id });
  assert.equal((await a.rec.next("typing:start")).from, bob.id);
  // REST on node 2 reaches node 1's socket.
  const sent = await callsApi(n2.urls.calls, "POST", "/api/messages", {
    token: bob.token,
    body: { receiverId: alice.id, content: "by REST", type: "text" },
  });
  assert.equal(sent.status, 201);
  assert.equal((await a.rec.next("message")).content, "by REST");
  a.disconnect();
  b.disconnect();
});

test("calls: presence is announced once for the first connection anywhere and the last", { skip: SKIP }, async () => {
  const carol = await registerCalls(n1.urls.calls, "Carol");
  const dave = await registerCalls(n2.urls.calls, "Dave");
  const stranger = await registerCalls(n1.urls.calls, "Stranger");
  const sent = await callsApi(n1.urls.calls, "POST", "/api/messages", {
    token: carol.token,
    body: { receiverId: dave.id, content: "hi", type: "text" },
  });
  assert.equal(sent.status, 201);
  const c = await joinCalls(n1.urls.calls, carol);
  const s = await joinCalls(n1.urls.calls, stranger);
  const d2 = await joinCalls(n2.urls.calls, dave);
  const on = await c.rec.next("user:online");
  assert.equal(on.userId, dave.id);
  assert.equal(on.status, "online");
  // A second connection on the other node is not a second "online"...
  const d1 = await joinCalls(n1.urls.calls, dave);
  // ...and closing one of two is not "offline" (nothing tells when the server
  // handled the close: Dave's typing, sent after it on the remaining socket, is
  // the barrier, and it crosses nodes like the presence events).
  d2.disconnect();
  await sleep(300);
  d1.emit("typing:start", { to: carol.id });
  await expectNoneBefore(c.rec, ["user:online", "user:offline"], c.rec.nextEntry("typing:start"));
  d1.disconnect();
  const off = await c.rec.next("user:offline");
  assert.equal(off.userId, dave.id);
  // Not a contact: told nothing (Carol's typing, later, comes first).
  c.emit("typing:start", { to: stranger.id });
  await expectNoneBefore(s.rec, ["user:online", "user:offline"], s.rec.nextEntry("typing:start"));
  c.disconnect();
  s.disconnect();
});

test("calls: a call rings on the other node, is accepted and ended across nodes; busy holds across nodes", { skip: SKIP }, async () => {
  const caller = await registerCalls(n1.urls.calls, "Caller");
  const callee = await registerCalls(n2.urls.calls, "Callee");
  const third = await registerCalls(n2.urls.calls, "Third");
  const c = await joinCalls(n1.urls.calls, caller);
  const d1 = await joinCalls(n2.urls.calls, callee);
  const d2 = await joinCalls(n1.urls.calls, callee); // a tab on each node
  const t = await joinCalls(n2.urls.calls, third);
  const ev = await ask(c, "call:initiate", { to: callee.id, callType: "voice" });
  assert.equal(ev.status, "ringing");
  for (const d of [d1, d2]) assert.equal((await d.rec.next("call:incoming")).id, ev.id);
  // Busy on every node: the third user (node 2) cannot call either party.
  t.emit("call:initiate", { to: caller.id, callType: "voice" });
  assert.equal((await t.rec.next("error")).code, "CALL_IN_PROGRESS");
  // Accepted on node 2, where the call did not start.
  d1.emit("call:respond", { callId: ev.id, response: "accept" });
  for (const s of [c, d1, d2]) {
    const acc = await s.rec.next("call:accepted");
    assert.equal(acc.callId, ev.id);
    assert.equal(acc.by, callee.id);
  }
  t.emit("call:initiate", { to: callee.id, callType: "video" });
  assert.equal((await t.rec.next("error")).code, "CALL_IN_PROGRESS", "accepted is busy too");
  c.emit("call:end", { callId: ev.id });
  for (const s of [c, d1, d2]) {
    const end = await s.rec.next("call:ended");
    assert.equal(end.callId, ev.id);
    assert.equal(end.reason, "user_ended");
    assert.equal(end.by, caller.id);
  }
  // Both free again, on either node: the callee calls back from node 1.
  const back = await ask(d2, "call:initiate", { to: caller.id, callType: "video" });
  assert.equal((await c.rec.next("call:incoming")).id, back.id);
  c.emit("call:respond", { callId: back.id, response: "reject" });
  assert.equal((await d1.rec.next("call:rejected")).callId, back.id);
  // Someone with no connection anywhere cannot be rung.
  const away = await registerCalls(n1.urls.calls, "Away");
  t.emit("call:initiate", { to: away.id, callType: "voice" });
  assert.equal((await t.rec.next("call:failed")).reason, "user_unavailable");
  for (const s of [c, d1, d2, t]) s.disconnect();
});

test("orgchat: a room's raw WebSocket on node 1 and Socket.IO on node 2", { skip: SKIP }, async () => {
  const org = `Org ${rand(6)}`;
  const admin = await orgUser(n1.urls.orgchat, { name: "Admin", org, role: "admin" });
  const user = await orgUser(n2.urls.orgchat, { name: "User", org });
  const room = await createRoom(n1.urls.orgchat, admin, `room ${rand(4)}`);
  const c1 = await rawClient(n1.urls.orgchat, admin.accessToken);
  const c2 = await sioClient(n2.urls.orgchat, user.accessToken);
  c1.emit("joinRoom", { roomId: room.id });
  await c1.next("notification");
  c2.emit("joinRoom", { roomId: room.id });
  for (const c of [c1, c2]) {
    const p = await c.nextPayload("notification");
    assert.equal(typeof p === "string" ? p : p.message, `User ${user.id} joined the room`);
  }
  c1.emit("sendMessage", { roomId: room.id, content: "hello node 2" });
  const m = await c2.nextPayload("newMessage");
  assert.equal(m.content, "hello node 2");
  assert.equal(m.user_id, admin.id);
  assert.deepEqual(await c1.nextPayload("newMessage"), m);
  c2.emit("typing", { roomId: room.id });
  assert.deepEqual(await c1.next("typing"), { type: "typing", userId: user.id });
  c2.emit("sendMessage", { roomId: room.id, content: "hello node 1" });
  assert.equal((await c1.nextPayload("newMessage")).content, "hello node 1");
  // A room made on node 2 with an invitation reaches the invitee on node 1.
  c2.emit("newChatRoom", { roomName: "Updates", invitedUsers: [admin.id], organizationId: user.org });
  assert.equal((await c1.next("newChatRoom")).roomName, "Updates");
  c1.close();
  c2.close();
});

test("chatsphere: a REST post on one node reaches the other node's WebSockets", { skip: SKIP }, async () => {
  const clientToken = cluster.clientToken();
  const mk = async (node, prefix) => {
    const username = `${prefix}-${rand(6)}`;
    const r = await sphereApi(node.urls.chatsphere, "POST", "/api/users", clientToken, { username });
    assert.equal(r.status, 201, r.text);
    return { id: r.json.user.id, username, token: r.json.token };
  };
  const erin = await mk(n1, "erin");
  const fay = await mk(n2, "fay");
  const s1 = { base: n1.urls.chatsphere };
  const s2 = { base: n2.urls.chatsphere };
  const made = await sphereApi(s1.base, "POST", "/api/rooms", erin.token, { name: `room-${rand(5)}`, isPrivate: true });
  assert.equal(made.status, 201);
  const room = made.json.id;
  // Added on node 1; joining on node 2 must see the membership.
  assert.equal((await sphereApi(s1.base, "POST", `/api/rooms/${room}/users`, erin.token, { userId: fay.id })).status, 200);
  const e = await serverSocket(s1, erin);
  const f = await uiSocket(s2, fay);
  e.send({ type: "join", userId: erin.id, roomId: room });
  await e.next("previous_messages");
  f.send({ type: "join_room", roomId: room });
  await f.next("message_history");

  const r = await sphereApi(s2.base, "POST", `/api/rooms/${room}/messages`, fay.token, { content: "via REST on node 2" });
  assert.equal(r.status, 201);
  assert.deepEqual((await e.next("new_message")).message, r.json);
  assert.equal((await f.next("new_message")).id, r.json.id);
  const r1 = await sphereApi(s1.base, "POST", `/api/rooms/${room}/messages`, erin.token, { content: "via REST on node 1" });
  assert.equal(r1.status, 201);
  assert.equal((await f.next("new_message")).content, "via REST on node 1");
  e.close();
  f.close();
});

test("testcore: the relay crosses nodes", { skip: SKIP }, async () => {
  const ann = await tcUser(n1.urls.testcore, "Ann");
  const bob = await tcUser(n2.urls.testcore, "Bob");
  const name = `Delhi/CSE-${rand(4)}`;
  await tcRoom(n1.urls.testcore, ann, name, [bob]);
  const a = await tcClient(n1.urls.testcore, { token: ann.token });
  const b = await tcClient(n2.urls.testcore, { token: bob.token });
  await tcJoin(n2.urls.testcore, b, bob, tcMsg("SEND_MESSAGE", name, "b-0", "bob joins", bob.id));
  await tcJoin(n1.urls.testcore, a, ann, tcMsg("SEND_MESSAGE", name, "a-0", "ann joins", ann.id));
  assert.equal((await b.next()).MessageId, "a-0");

  a.send(tcMsg("SEND_MESSAGE", name, "a-1", "hello node 2", ann.id));
  assert.deepEqual(await b.next(), tcMsg("SEND_MESSAGE", name, "a-1", "hello node 2", ann.id));
  b.send(tcMsg("SEND_MESSAGE", name, "b-1", "hello node 1", bob.id));
  // Bob's b-0 may also reach Ann's connection, opened just after it was stored:
  // node 1 holds the first message of a room it has not seen lately for up to
  // 250 ms, for order (README, "Cluster mode").
  assert.equal((await a.nextEntry((e) => e.frame?.MessageId !== "b-0")).frame.MessageId, "b-1");
  a.close();
  b.close();
});

// Cluster mode: rate limits are one budget per user or address across every node
// (kept in Redis), not one per node. Each test spends a budget by alternating
// between the two nodes and is refused on either once it is spent.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { closeAll, request } from "../helpers.mjs";
import { api as callsApi, registerCalls, joinCalls, loginCalls } from "../calls-lib.mjs";
import { orgUser, listRooms } from "../orgchat-lib.mjs";
import { tcUser } from "../testcore-lib.mjs";
import { SKIP, startCluster } from "./lib.mjs";

let cluster;
let nodes;

before(async () => {
  if (SKIP) return;
  cluster = await startCluster({
    env: {
      LOGIN_PER_ACCOUNT_PER_MINUTE: "4",
      CALLS_MESSAGES_PER_MINUTE: "4",
      ORGCHAT_RATE_LIMIT_PER_MINUTE: "4",
      TESTCORE_RATE_LIMIT: "6",
    },
  });
  nodes = cluster.nodes;
});

after(async () => {
  closeAll();
  if (cluster) await cluster.stop();
});

const node = (i) => nodes[i % 2];

test("login throttling per account counts the attempts on every node", { skip: SKIP }, async () => {
  const u = await registerCalls(nodes[0].urls.calls, "Login");
  for (let i = 0; i < 4; i++) await loginCalls(node(i).urls.calls, u.email, u.password);
  for (const n of nodes) {
    const r = await callsApi(n.urls.calls, "POST", "/api/auth/login", { body: { email: u.email, password: u.password } });
    assert.equal(r.status, 429, r.text);
    assert.ok(Number(r.headers.get("retry-after")) >= 1);
  }
  // Another account has its own budget.
  const v = await registerCalls(nodes[1].urls.calls, "Other");
  await loginCalls(nodes[0].urls.calls, v.email, v.password);
});

test("calls: the message budget is one across nodes (sockets and REST)", { skip: SKIP }, async () => {
  const alice = await registerCalls(nodes[0].urls.calls, "Chatty");
  const bob = await registerCalls(nodes[1].urls.calls, "Quiet");
  const a1 = await joinCalls(nodes[0].urls.calls, alice);
  const a2 = await joinCalls(nodes[1].urls.calls, alice);
  for (let i = 0; i < 4; i++) {
    const r = await callsApi(node(i).urls.calls, "POST", "/api/messages", {
      token: alice.token,
      body: { receiverId: bob.id, content: `m${i}` },
    });
    assert.equal(r.status, 201, r.text);
  }
  for (const s of [a1, a2]) {
    s.emit("message", { to: bob.id, content: "one too many" });
    assert.equal((await s.rec.next("error")).code, "RATE_LIMITED");
  }
});

test("orgchat: the /api/chat budget is one across nodes", { skip: SKIP }, async () => {
  const u = await orgUser(nodes[0].urls.orgchat, { name: "Busy", org: `Org ${Date.now()}` });
  for (let i = 0; i < 4; i++) assert.equal((await listRooms(node(i).urls.orgchat, u)).status, 200);
  for (const n of nodes) assert.equal((await listRooms(n.urls.orgchat, u)).status, 429);
});

test("testcore: the per-address budget is one across nodes", { skip: SKIP }, async () => {
  // Registering spends one; five more requests alternate between the nodes.
  const u = await tcUser(nodes[0].urls.testcore, "Addr");
  for (let i = 0; i < 5; i++) {
    const r = await request(node(i + 1).urls.testcore, "GET", "/api/v1/chat/ChatQuery/nowhere", {
      headers: { authorization: `Bearer ${u.token}` },
    });
    assert.notEqual(r.status, 429, `request ${i}`);
  }
  for (const n of nodes) {
    const r = await request(n.urls.testcore, "GET", "/api/v1/chat/ChatQuery/nowhere", {
      headers: { authorization: `Bearer ${u.token}` },
    });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get("retry-after")) >= 1);
  }
});

// Cluster mode under failure: a node killed with SIGKILL (its clients reconnect to
// the other node, nothing confirmed is lost, its users are announced offline by
// the surviving node), and Redis killed and started again (every node keeps
// serving its own connections, no process exits, delivery across nodes resumes
// within 5 s of Redis being back).

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { closeAll, ask } from "../helpers.mjs";
import { registerCalls, joinCalls, api } from "../calls-lib.mjs";
import { SKIP, startCluster, readyz, eventually } from "./lib.mjs";

const clusters = [];
after(async () => {
  closeAll();
  for (const c of clusters) await c.stop();
});

async function cluster() {
  const c = await startCluster();
  clusters.push(c);
  return c;
}

/** Two calls users who share a conversation (so each is told of the other's presence). */
async function contacts(n1, n2) {
  const carol = await registerCalls(n2.urls.calls, "Carol");
  const dave = await registerCalls(n1.urls.calls, "Dave");
  const r = await api(n2.urls.calls, "POST", "/api/messages", {
    token: carol.token,
    body: { receiverId: dave.id, content: "hello", type: "text" },
  });
  assert.equal(r.status, 201);
  return { carol, dave };
}

test("SIGKILL of a node: its user is announced offline within 30 s, reconnects to the other node, nothing confirmed is lost", { skip: SKIP, timeout: 90000 }, async () => {
  const { nodes: [n1, n2] } = await cluster();
  const { carol, dave } = await contacts(n1, n2);
  const c = await joinCalls(n2.urls.calls, carol);
  const d = await joinCalls(n1.urls.calls, dave);
  assert.equal((await c.rec.next("user:online")).userId, dave.id);
  const confirmed = [];
  for (let i = 0; i < 5; i++) {
    const ack = await ask(d, "message", { to: carol.id, content: `confirmed ${i}`, type: "text" });
    confirmed.push(ack.id);
  }
  for (let i = 0; i < 5; i++) assert.equal((await c.rec.next("message")).content, `confirmed ${i}`);

  const gone = await n1.kill("SIGKILL");
  assert.equal(gone.signal, "SIGKILL");
  // Node 2 notices node 1's heart stopped (15 s) and tells Carol.
  const off = await c.rec.next("user:offline", 30000);
  assert.equal(off.userId, dave.id);

  // Dave's client reconnects, to node 2 now: online again, history complete.
  const d2 = await joinCalls(n2.urls.calls, dave);
  assert.equal((await c.rec.next("user:online")).userId, dave.id);
  const h = await api(n2.urls.calls, "GET", `/api/messages?with=${carol.id}&limit=100`, { token: dave.token });
  assert.equal(h.status, 200, h.text);
  const ids = new Set(h.json.messages.map((m) => String(m.id)));
  for (const id of confirmed) assert.ok(ids.has(String(id)), `confirmed message ${id} is in the history`);
  // And node 2 serves both as before.
  const ack = await ask(d2, "message", { to: carol.id, content: "after the crash", type: "text" });
  assert.deepEqual(await c.rec.next("message"), ack);
  assert.equal(n2.exited, null, "node 2 still runs");
});

test("a call left ringing by a killed caller's node still times out; an accepted one whose party's node died ends with network_error", { skip: SKIP, timeout: 90000 }, async () => {
  const c = await startCluster({ nodes: 3, env: { CALL_RING_TIMEOUT_SECS: "3" } });
  clusters.push(c);
  const [n1, n2, n3] = c.nodes;
  const caller = await registerCalls(n1.urls.calls, "Caller");
  const callee = await registerCalls(n2.urls.calls, "Callee");
  const a = await joinCalls(n1.urls.calls, caller);
  const b = await joinCalls(n2.urls.calls, callee);
  const ev = await ask(a, "call:initiate", { to: callee.id, callType: "voice" });
  assert.equal((await b.rec.next("call:incoming")).id, ev.id);
  await n1.kill("SIGKILL");
  const end = await b.rec.next("call:ended", 10000);
  assert.equal(end.callId, ev.id);
  assert.equal(end.reason, "timeout");
  assert.equal(end.by, null);

  // An accepted call between node 2 and node 3; node 3 dies.
  const other = await registerCalls(n3.urls.calls, "Other");
  const o = await joinCalls(n3.urls.calls, other);
  const call = await ask(b, "call:initiate", { to: other.id, callType: "video" });
  await o.rec.next("call:incoming");
  o.emit("call:respond", { callId: call.id, response: "accept" });
  await b.rec.next("call:accepted");
  await n3.kill("SIGKILL");
  const lost = await b.rec.next("call:ended", 30000);
  assert.equal(lost.callId, call.id);
  assert.equal(lost.reason, "network_error");
  assert.equal(lost.by, other.id);
  // The survivor is free for the next call.
  const again = await joinCalls(n2.urls.calls, other);
  const next = await ask(b, "call:initiate", { to: other.id, callType: "voice" });
  assert.equal((await again.rec.next("call:incoming")).id, next.id);
});

test("Redis restart: nodes serve their own connections, then deliver across nodes again within 5 s; none exits", { skip: SKIP, timeout: 90000 }, async () => {
  const { redis, nodes: [n1, n2] } = await cluster();
  const { carol, dave } = await contacts(n1, n2);
  const c = await joinCalls(n2.urls.calls, carol);
  const d = await joinCalls(n1.urls.calls, dave);
  await c.rec.next("user:online");
  const before = await ask(d, "message", { to: carol.id, content: "before", type: "text" });
  assert.deepEqual(await c.rec.next("message"), before);

  await redis.kill();
  for (const n of [n1, n2]) {
    await eventually(async () => (await readyz(n)).text.includes("redis: down"), 5000, "readyz reports Redis down");
    assert.equal((await readyz(n)).status, 200, "a node without Redis still serves");
  }
  // Node 1 still serves its own connections.
  const erin = await registerCalls(n1.urls.calls, "Erin");
  const e = await joinCalls(n1.urls.calls, erin);
  const local = await ask(d, "message", { to: erin.id, content: "local while Redis is away", type: "text" });
  assert.deepEqual(await e.rec.next("message"), local);

  await redis.start();
  const back = Date.now();
  let probe = 0;
  await eventually(
    async () => {
      const content = `probe ${probe++}`;
      await ask(d, "message", { to: carol.id, content, type: "text" });
      await c.rec.seen((x) => x.event === "message" && x.args[0]?.content === content, 250);
      return true;
    },
    5000,
    "a message from node 1 reaches node 2 after Redis is back",
  );
  assert.ok(Date.now() - back < 5000 + 1000);
  // Presence was written to the new Redis again: Carol's typing reaches Dave,
  // which needs node 2 to know that Dave is online on node 1.
  await eventually(
    async () => {
      c.emit("typing:start", { to: dave.id });
      await d.rec.seen("typing:start", 250);
      return true;
    },
    5000,
    "presence across nodes after Redis is back",
  );
  for (const n of [n1, n2]) {
    assert.equal(n.exited, null, "no node exited");
    assert.match((await readyz(n)).text, /redis: up/);
  }
});

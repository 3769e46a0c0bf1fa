// calls profile (seed 004) with its own configuration: ring timeout
// (CALL_RING_TIMEOUT_SECS), per-user rate limits (CALLS_MESSAGES_PER_MINUTE,
// CALLS_CALLS_PER_MINUTE) and the Jitsi domain (JITSI_DOMAIN).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll, ask, expectNoneBefore } from "./helpers.mjs";
import { api, registerCalls, joinCalls } from "./calls-lib.mjs";

let server;
let base;

before(async () => {
  server = await startServer(
    {
      CALL_RING_TIMEOUT_SECS: "1",
      CALLS_MESSAGES_PER_MINUTE: "3",
      CALLS_CALLS_PER_MINUTE: "2",
      JITSI_DOMAIN: "jitsi.example.org",
    },
    { waitFor: ["expresschat", "calls"] },
  );
  base = server.urls.calls;
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

test("an unanswered call times out: call:ended {reason:'timeout'} to both", async () => {
  const caller = await registerCalls(base, "Ringer");
  const callee = await registerCalls(base, "Sleeper");
  const [c, d] = await Promise.all([joinCalls(base, caller), joinCalls(base, callee)]);
  c.emit("call:initiate", { to: callee.id, callType: "video" });
  const ev = await c.rec.next("call:initiated");
  assert.equal(ev.domain, "jitsi.example.org");
  assert.equal((await d.rec.next("call:incoming")).domain, "jitsi.example.org");
  for (const s of [c, d]) {
    const end = await s.rec.next("call:ended", 5000);
    assert.equal(end.callId, ev.id);
    assert.equal(end.reason, "timeout");
    assert.equal(end.by, null);
    assert.equal(end.type, "video");
  }
  // Too late to answer now.
  d.emit("call:respond", { callId: ev.id, response: "accept" });
  assert.equal((await d.rec.next("error")).code, "NOT_FOUND");
  const hist = await api(base, "GET", "/api/calls", { token: caller.token });
  assert.equal(hist.json.calls[0].endReason, "timeout");
  assert.equal(hist.json.calls[0].status, "ended");
});

test("messages are rate limited per user (socket and REST share the allowance)", async () => {
  const alice = await registerCalls(base, "Chatty");
  const bob = await registerCalls(base, "Quiet");
  const [a, b] = await Promise.all([joinCalls(base, alice), joinCalls(base, bob)]);
  for (let i = 0; i < 2; i++) await ask(a, "message", { to: bob.id, content: `m${i}` });
  const rest = await api(base, "POST", "/api/messages", {
    token: alice.token,
    body: { receiverId: bob.id, content: "m2" },
  });
  assert.equal(rest.status, 201);
  a.emit("message", { to: bob.id, content: "one too many" });
  const e = await a.rec.next("error");
  assert.equal(e.code, "RATE_LIMITED");
  assert.equal(typeof e.message, "string");
  const refused = await api(base, "POST", "/api/messages", {
    token: alice.token,
    body: { receiverId: bob.id, content: "still too many" },
  });
  assert.equal(refused.status, 429);
  assert.equal(refused.json.error.code, "RATE_LIMITED");
  // Bob has his own allowance; Alice's socket still works for other events.
  const ok = await ask(b, "message", { to: alice.id, content: "hi" });
  assert.equal(ok.content, "hi");
  a.emit("typing:start", { to: bob.id });
  await b.rec.next("typing:start");
  const got = b.rec.all("message").map((m) => m.content);
  assert.ok(!got.includes("one too many"));
});

test("call initiations are rate limited per user", async () => {
  const caller = await registerCalls(base, "Dialer");
  const callee = await registerCalls(base, "Busy");
  const [c, d] = await Promise.all([joinCalls(base, caller), joinCalls(base, callee)]);
  for (let i = 0; i < 2; i++) {
    c.emit("call:initiate", { to: callee.id, callType: "voice" });
    const ev = await c.rec.next("call:initiated");
    await d.rec.next("call:incoming");
    c.emit("call:end", { callId: ev.id });
    await d.rec.next("call:ended");
  }
  c.emit("call:initiate", { to: callee.id, callType: "voice" });
  assert.equal((await c.rec.next("error")).code, "RATE_LIMITED");
  // The callee may still call; its call:initiated comes after the refused call would have rung.
  d.emit("call:initiate", { to: caller.id, callType: "voice" });
  await expectNoneBefore(d.rec, "call:incoming", d.rec.nextEntry("call:initiated"));
  await c.rec.next("call:incoming");
});

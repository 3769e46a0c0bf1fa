// calls profile (seed 004): voice and video call signalling over Socket.IO —
// initiate, ring, accept/reject, end; offline callee, busy parties, a party's
// connection dropping, and calls acted on by someone else. Timeouts and rate
// limits need their own configuration: calls-limits.test.mjs.
//
// Assumptions where the contract is silent:
// - call ids are opaque strings; `roomName` is exactly `call_${id}`.
// - `call:ended` after a timeout carries `by: null`; after a dropped connection,
//   `by` is the party whose connection dropped.
// - acting on a call one is not a party to answers `error {code:"PERMISSION_DENIED"}`;
//   the caller answering their own call is refused the same way.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll, ask, expectNoneBefore } from "./helpers.mjs";
import { api, registerCalls, joinCalls, ISO } from "./calls-lib.mjs";

let server;
let base;

before(async () => {
  server = await startServer({}, { waitFor: ["expresschat", "calls"] });
  base = server.urls.calls;
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

/** Two joined users: caller with sockets [c1, c2], callee with [d1, d2]. */
async function pair() {
  const caller = await registerCalls(base, "Caller");
  const callee = await registerCalls(base, "Callee");
  const [c1, c2, d1, d2] = await Promise.all([
    joinCalls(base, caller),
    joinCalls(base, caller),
    joinCalls(base, callee),
    joinCalls(base, callee),
  ]);
  return { caller, callee, c1, c2, d1, d2 };
}

test("voice call: initiate, ring, accept, end", async () => {
  const { caller, callee, c1, c2, d1, d2 } = await pair();
  const initiated = await ask(c1, "call:initiate", { to: callee.id, callType: "voice" });
  const ev = await c1.rec.next("call:initiated");
  assert.deepEqual(ev, initiated, "the ack is the call:initiated payload");
  assert.equal(typeof ev.id, "string");
  assert.equal(ev.from, caller.id);
  assert.equal(ev.to, callee.id);
  assert.equal(ev.type, "voice");
  assert.equal(ev.status, "ringing");
  assert.equal(ev.roomName, `call_${ev.id}`);
  assert.match(ev.timestamp, ISO);
  assert.equal(ev.domain, "meet.jit.si");
  assert.equal(ev.startWithAudioMuted, false);
  assert.equal(ev.startWithVideoMuted, true);
  assert.deepEqual(await c2.rec.next("call:initiated"), ev, "every tab of the caller");

  for (const d of [d1, d2]) {
    const inc = await d.rec.next("call:incoming");
    assert.deepEqual(inc, {
      id: ev.id,
      from: caller.id,
      fromName: caller.name,
      to: callee.id,
      type: "voice",
      timestamp: ev.timestamp,
      roomName: ev.roomName,
      domain: "meet.jit.si",
      startWithAudioMuted: false,
      startWithVideoMuted: true,
    });
  }

  d1.emit("call:respond", { callId: ev.id, response: "accept", to: caller.id });
  for (const s of [c1, c2, d1, d2]) {
    const acc = await s.rec.next("call:accepted");
    assert.equal(acc.callId, ev.id);
    assert.equal(acc.by, callee.id);
    assert.equal(acc.type, "voice");
  }

  c2.emit("call:end", { callId: ev.id, to: callee.id });
  for (const s of [c1, c2, d1, d2]) {
    const end = await s.rec.next("call:ended");
    assert.equal(end.callId, ev.id);
    assert.equal(end.by, caller.id);
    assert.equal(end.reason, "user_ended");
    assert.equal(end.type, "voice");
    assert.equal(typeof end.duration, "number");
  }

  // Kept for history, and both are free for the next call.
  const hist = await api(base, "GET", "/api/calls", { token: callee.token });
  const rec = hist.json.calls[0];
  assert.equal(rec.id, ev.id);
  assert.equal(rec.status, "ended");
  assert.equal(rec.endReason, "user_ended");
  assert.equal(rec.from, caller.id);
  assert.equal(rec.toName, callee.name);
  assert.equal(typeof rec.duration, "number");
  d2.emit("call:initiate", { to: caller.id, callType: "video" });
  const back = await c1.rec.next("call:incoming");
  assert.equal(back.type, "video");
  d1.emit("call:end", { callId: back.id, to: caller.id });
  await c1.rec.next("call:ended");
});

test("video call: camera on, rejected by the callee", async () => {
  const { caller, callee, c1, d1, d2 } = await pair();
  c1.emit("call:initiate", { to: callee.id, callType: "video" });
  const ev = await c1.rec.next("call:initiated");
  assert.equal(ev.type, "video");
  assert.equal(ev.startWithVideoMuted, false);
  assert.equal(ev.startWithAudioMuted, false);
  const inc = await d2.rec.next("call:incoming");
  assert.equal(inc.type, "video");
  assert.equal(inc.startWithVideoMuted, false);
  await d1.rec.next("call:incoming");
  d2.emit("call:respond", { callId: inc.id, response: "reject", to: caller.id });
  for (const s of [c1, d1, d2]) {
    assert.deepEqual(await s.rec.next("call:rejected"), {
      callId: ev.id,
      by: callee.id,
      type: "video",
    });
  }
  const hist = await api(base, "GET", "/api/calls", { token: caller.token });
  assert.equal(hist.json.calls[0].status, "rejected");
  assert.equal(hist.json.calls[0].duration, 0);
});

test("offline callee: call:failed with reason user_unavailable", async () => {
  const caller = await registerCalls(base, "Lonely");
  const absent = await registerCalls(base, "Absent");
  const c = await joinCalls(base, caller);
  c.emit("call:initiate", { to: absent.id, callType: "voice" });
  const failed = await c.rec.next("call:failed");
  assert.equal(failed.reason, "user_unavailable");
  assert.equal(typeof failed.message, "string");
  c.emit("call:initiate", { to: "987654", callType: "video" });
  assert.equal((await c.rec.next("call:failed")).reason, "user_unavailable");
  // Nothing else came back: the caller's requests are all answered (an acked
  // message), then a message from the absent user reaches the caller on the bus.
  await ask(c, "message", { to: absent.id, content: "call me" });
  const sent = await api(base, "POST", "/api/messages", {
    token: absent.token,
    body: { receiverId: caller.id, content: "later" },
  });
  assert.equal(sent.status, 201);
  await expectNoneBefore(c.rec, ["call:initiated", "error"], c.rec.nextEntry("message"));
  const hist = await api(base, "GET", "/api/calls", { token: caller.token });
  assert.equal(hist.json.calls[0].status, "failed");
  assert.equal(hist.json.calls[0].endReason, "user_unavailable");
});

test("busy: either party already in a call is CALL_IN_PROGRESS", async () => {
  const { callee, c1, d1 } = await pair();
  const third = await registerCalls(base, "Third");
  const t = await joinCalls(base, third);
  c1.emit("call:initiate", { to: callee.id, callType: "voice" });
  const ev = await c1.rec.next("call:initiated");
  await d1.rec.next("call:incoming");
  t.emit("call:initiate", { to: callee.id, callType: "voice" });
  assert.equal((await t.rec.next("error")).code, "CALL_IN_PROGRESS");
  c1.emit("call:initiate", { to: third.id, callType: "video" });
  assert.equal((await c1.rec.next("error")).code, "CALL_IN_PROGRESS");
  c1.emit("typing:start", { to: third.id });
  await expectNoneBefore(t.rec, "call:incoming", t.rec.nextEntry("typing:start"));
  d1.emit("call:respond", { callId: ev.id, response: "accept" });
  await c1.rec.next("call:accepted");
  t.emit("call:initiate", { to: callee.id, callType: "voice" });
  assert.equal((await t.rec.next("error")).code, "CALL_IN_PROGRESS", "accepted is busy too");
  c1.emit("call:end", { callId: ev.id });
  c1.emit("typing:start", { to: third.id });
  await expectNoneBefore(t.rec, "call:ended", t.rec.nextEntry("typing:start"));
  await d1.rec.next("call:ended");
});

test("a party's last connection dropping ends the call with network_error", async () => {
  const { caller, callee, c1, c2, d1, d2 } = await pair();
  c1.emit("call:initiate", { to: callee.id, callType: "video" });
  const ev = await c1.rec.next("call:initiated");
  await d1.rec.next("call:incoming");
  d1.emit("call:respond", { callId: ev.id, response: "accept" });
  await c2.rec.next("call:accepted");
  d1.disconnect();
  // One tab of the callee is still there: the call goes on. Timed: nothing tells
  // the client when the server has handled d1's disconnect.
  await c1.rec.expectNone(["call:ended"], 300);
  d2.disconnect();
  for (const s of [c1, c2]) {
    const end = await s.rec.next("call:ended");
    assert.equal(end.callId, ev.id);
    assert.equal(end.reason, "network_error");
    assert.equal(end.by, callee.id);
  }
  const hist = await api(base, "GET", "/api/calls", { token: caller.token });
  assert.equal(hist.json.calls[0].endReason, "network_error");
  // The caller is free again.
  const other = await registerCalls(base, "Next");
  const o = await joinCalls(base, other);
  c1.emit("call:initiate", { to: other.id, callType: "voice" });
  await o.rec.next("call:incoming");
});

test("only the parties act on a call: PERMISSION_DENIED", async () => {
  const { caller, callee, c1, d1 } = await pair();
  const intruder = await registerCalls(base, "Intruder");
  const i = await joinCalls(base, intruder);
  c1.emit("call:initiate", { to: callee.id, callType: "voice" });
  const ev = await c1.rec.next("call:initiated");
  await d1.rec.next("call:incoming");
  i.emit("call:respond", { callId: ev.id, response: "accept", to: caller.id });
  assert.equal((await i.rec.next("error")).code, "PERMISSION_DENIED");
  i.emit("call:end", { callId: ev.id, to: caller.id });
  assert.equal((await i.rec.next("error")).code, "PERMISSION_DENIED");
  c1.emit("call:respond", { callId: ev.id, response: "accept", to: callee.id });
  assert.equal((await c1.rec.next("error")).code, "PERMISSION_DENIED", "the caller cannot answer");
  // A guessed id names nothing.
  i.emit("call:end", { callId: `${ev.id.split("_")[0]}_guess` });
  assert.equal((await i.rec.next("error")).code, "NOT_FOUND");
  // The call is untouched: the callee's accept is the first the caller hears of it.
  d1.emit("call:respond", { callId: ev.id, response: "accept" });
  const acceptedByCallee = (e) => e.event === "call:accepted" && e.args[0].by === callee.id;
  await expectNoneBefore(c1.rec, ["call:accepted", "call:ended"], c1.rec.nextEntry(acceptedByCallee));
  // ...and the intruder's socket still works.
  const ok = await ask(i, "message", { to: caller.id, content: "sorry" });
  assert.equal(ok.content, "sorry");
  c1.emit("call:end", { callId: ev.id });
  await d1.rec.next("call:ended");
});

// Raw-WebSocket protocol refusals shared by orgchat, chatsphere and testcore
// (issue 14, defects 3 and 7): a text frame that is not UTF-8 is closed with a
// status code (1007, testcore's 4000 with a reason), and a reader that stalls is
// closed once, with one warning, however many deliveries follow.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { orgUser, rawClient } from "./orgchat-lib.mjs";
import { startSphere, makeUser, serverSocket } from "./chatsphere-lib.mjs";
import { tcUser, room, tcClient, msg, rand, join } from "./testcore-lib.mjs";

const servers = [];
after(async () => {
  closeAllSockets();
  for (const s of servers) await s.stop();
});

const NOT_UTF8 = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);

test("orgchat: a text frame that is not UTF-8 closes with 1007", async () => {
  const s = await startServer({}, { waitFor: ["orgchat"] });
  servers.push(s);
  const u = await orgUser(s.urls.orgchat, { name: `u${rand(4)}`, org: `org-${rand(4)}` });
  const c = await rawClient(s.urls.orgchat, u.accessToken);
  c.ws.send(NOT_UTF8, { binary: false });
  assert.equal((await c.closed()).code, 1007);
});

test("chatsphere: a text frame that is not UTF-8 closes with 1007", async () => {
  const sphere = await startSphere();
  servers.push(sphere.server);
  const c = await serverSocket(sphere, await makeUser(sphere));
  c.ws.send(NOT_UTF8, { binary: false });
  assert.equal((await c.closed()).code, 1007);
});

test("testcore: a text frame that is not UTF-8 closes with 4000 and says why", async () => {
  const s = await startServer({}, { waitFor: ["testcore"] });
  servers.push(s);
  const u = await tcUser(s.urls.testcore, "Utf");
  const c = await tcClient(s.urls.testcore, { token: u.token });
  c.ws.send(NOT_UTF8, { binary: false });
  const closed = await c.closed();
  assert.equal(closed.code, 4000);
  assert.match(closed.reason, /UTF-8/);
});

test("a stalled reader is closed with one warning, not one per delivery", async () => {
  const s = await startServer({ SOCKET_BUFFER: "4", MAX_CONTENT_LEN: "100000", CHATWIRE_LOG: "warn" }, { waitFor: ["testcore"] });
  servers.push(s);
  const base = s.urls.testcore;
  const [ann, bob] = [await tcUser(base, "Ann"), await tcUser(base, "Bob")];
  const name = `stall-${rand(4)}`;
  await room(base, ann, name, [bob]);
  const a = await tcClient(base, { token: ann.token });
  await join(base, a, ann, msg("SEND_MESSAGE", name, "a0", "hello", ann.id));
  const b = await tcClient(base, { token: bob.token });
  await join(base, b, bob, msg("SEND_MESSAGE", name, "b0", "watching", bob.id));
  // Bob stops reading: the kernel buffers fill, then his send queue does.
  b.ws._socket.pause();
  const full = () => s.stderr.split("\n").filter((l) => l.includes("send queue full")).length;
  const big = "x".repeat(90_000);
  // Frames are handled in order: once a batch's last message is stored, every
  // delivery of the batch to Bob has been attempted.
  for (let batch = 0; full() === 0; batch++) {
    assert.ok(batch < 40, "Bob's queue never filled");
    for (let i = 0; i < 20; i++) a.send(msg("SEND_MESSAGE", name, `big${batch}-${i}`, big, ann.id));
    await join(base, a, ann, msg("SEND_MESSAGE", name, `sync${batch}`, "sync", ann.id), 20000);
  }
  // Deliveries that follow, while Bob's connection is being closed, say nothing more.
  for (let i = 0; i < 20; i++) a.send(msg("SEND_MESSAGE", name, `after${i}`, "more", ann.id));
  await join(base, a, ann, msg("SEND_MESSAGE", name, "last", "done", ann.id), 20000);
  assert.equal(full(), 1, "one warning for the one stalled connection");
});

// SIGTERM is a graceful shutdown (issue 14, defect 9): connections the kernel
// already queued are served, requests in flight are answered, the message
// writer commits and answers what it was given, realtime connections get a
// proper close (Socket.IO disconnect, WebSocket 1001), and the process exits 0.
// Senders post direct messages (calls' POST /api/messages, on fresh and on
// kept-alive connections) until the server is told to stop: every request on
// its way by then is answered 201 (none reset or hung up on), and after a
// restart on the same database every one of them is stored, once.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startServer, closeAll, sleep } from "./helpers.mjs";
import { api, registerCalls, loginCalls, joinCalls } from "./calls-lib.mjs";
import { orgUser, rawClient } from "./orgchat-lib.mjs";

const servers = [];
after(async () => {
  closeAll();
  // The restarted server first: the first one's stop() removes the database.
  for (const s of servers.reverse()) await s.stop();
});

/** POST /api/messages on a fresh connection (`agent` false) or a kept-alive one. */
function postMessage(base, token, body, agent) {
  const u = new URL(base);
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: "/api/messages",
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, text }));
        res.on("error", (e) => resolve({ error: e.code, message: e.message }));
      },
    );
    // node says "socket hang up" (code ECONNRESET) when the connection ended
    // without an answer, "read ECONNRESET" / "write EPIPE" when it was reset.
    req.on("error", (e) => resolve({ error: e.code, message: e.message }));
    req.end(payload);
  });
}

test("SIGTERM while messages are posted: each is answered and stored, sockets are closed", async () => {
  const env = { CALLS_MESSAGES_PER_MINUTE: "10000000", HISTORY_PAGE: "1000000" };
  const first = await startServer(env, { waitFor: ["calls", "orgchat"] });
  servers.push(first);
  const base = first.urls.calls;
  const [ann, ben] = await Promise.all([registerCalls(base, "Ann"), registerCalls(base, "Ben")]);

  // Realtime connections on both transports: each must be closed properly.
  const sioWs = await joinCalls(base, ben, { transports: ["websocket"] });
  const sioPoll = await joinCalls(base, ben, { transports: ["polling"] });
  const reasons = [sioWs, sioPoll].map((s) => new Promise((r) => s.once("disconnect", (reason) => r(reason))));
  const org = await orgUser(first.urls.orgchat, { name: "Stopper", org: `stop-${Date.now()}` });
  const raw = await rawClient(first.urls.orgchat, org.accessToken);

  // Ten senders, six opening a connection per message and four on kept-alive
  // connections, each with one request at a time; none starts a request once
  // SIGTERM was sent, so every request below was on its way before it.
  const outcomes = [];
  let stopping = false;
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const loop = async (n, agent) => {
    for (let i = 0; !stopping; i++) {
      const content = `m-${n}-${i}`;
      const r = await postMessage(base, ann.token, { receiverId: ben.id, content }, agent);
      outcomes.push({ content, ...r });
    }
  };
  const loops = [];
  for (let n = 0; n < 6; n++) loops.push(loop(n, false));
  for (let n = 6; n < 10; n++) loops.push(loop(n, keepAlive));

  // Stop once messages are flowing.
  while (outcomes.length < 100) await sleep(10);
  stopping = true;
  const exit = await first.terminate("SIGTERM");
  await Promise.all(loops);
  keepAlive.destroy();

  // Every request sent before SIGTERM is answered, none reset or hung up on:
  // the queued connections were accepted, the requests read were finished.
  const failed = outcomes.filter((o) => o.status !== 201);
  console.log(`# ${outcomes.length} posts, ${failed.length} not answered 201`);
  assert.deepEqual(failed, [], "every request sent before SIGTERM is answered 201");

  // Restart on the same database: every answered message is stored, once.
  const second = await startServer({ ...env, DATABASE_URL: first.databaseUrl }, { waitFor: ["calls"] });
  servers.push(second);
  const { token } = await loginCalls(second.urls.calls, ann.email, ann.password);
  const r = await api(second.urls.calls, "GET", `/api/messages?with=${ben.id}&limit=1000000`, { token });
  assert.equal(r.status, 200, r.text);
  const stored = r.json.messages.map((m) => m.content);
  assert.equal(new Set(stored).size, stored.length, "no message stored twice");
  const storedSet = new Set(stored);
  const lost = outcomes.filter((o) => !storedSet.has(o.content)).map((o) => o.content);
  assert.deepEqual(lost, [], "every 201 is stored");
  assert.equal(stored.length, outcomes.length, "nothing stored that was not sent");
  assert.deepEqual(exit, { code: 0, signal: null }, "a graceful exit");
  // Realtime connections were closed by the server, not dropped.
  assert.deepEqual(await Promise.all(reasons), ["io server disconnect", "io server disconnect"]);
  const closed = await raw.closed(1000);
  assert.equal(closed.code, 1001, `raw WebSocket closed with ${closed.code}`);
});

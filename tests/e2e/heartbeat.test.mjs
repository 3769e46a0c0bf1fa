// The Engine.IO heartbeat of Socket.IO connections (SOCKETIO_PING_INTERVAL_MS /
// SOCKETIO_PING_TIMEOUT_MS, socket.io's pingInterval / pingTimeout), with short
// values so the test sees several cycles. chatwire's vendored engineioxide runs a
// WebSocket session's heartbeat inside its reader task (issue 13, README
// "Vendored"); a session opened on polling keeps its own heartbeat task. Both must
// close a client that stops answering pings, and keep one that answers.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startServer, connectUser, makeUser, closeAll, sleep, once } from "./helpers.mjs";

const INTERVAL = 300;
const TIMEOUT = 300;
let server;
let base;
let sam;

before(async () => {
  server = await startServer({
    SOCKETIO_PING_INTERVAL_MS: String(INTERVAL),
    SOCKETIO_PING_TIMEOUT_MS: String(TIMEOUT),
  });
  base = server.urls.expresschat;
  sam = await makeUser(server, "Sam");
  sam.socket.disconnect();
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

/** A raw Engine.IO v4 WebSocket session; `answer` decides whether pings get pongs. */
function rawEngine(answer) {
  const url = base.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket";
  const ws = new WebSocket(url);
  const s = { ws, open: null, pings: 0, closedAt: null };
  s.opened = new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text[0] === "0") {
        s.open = JSON.parse(text.slice(1));
        resolve();
      } else if (text === "2") {
        s.pings += 1;
        if (answer) ws.send("3");
      }
    });
  });
  s.closed = new Promise((resolve) => ws.on("close", () => resolve((s.closedAt = Date.now()))));
  return s;
}

test("the open packet advertises the configured heartbeat", async () => {
  const s = rawEngine(true);
  await s.opened;
  assert.equal(s.open.pingInterval, INTERVAL);
  assert.equal(s.open.pingTimeout, TIMEOUT);
  s.ws.close();
});

test("websocket: a session that answers pings stays; one that does not is closed", async () => {
  const good = rawEngine(true);
  const silent = rawEngine(false);
  await Promise.all([good.opened, silent.opened]);
  const start = Date.now();
  // Closed after the first unanswered ping's timeout: well within 3 cycles.
  const closedAt = await Promise.race([silent.closed, sleep(6 * (INTERVAL + TIMEOUT)).then(() => null)]);
  assert.ok(closedAt, "the silent session is closed");
  // The first ping leaves with the open packet, so its deadline is TIMEOUT after
  // the server's open; `start` is taken a few ms later, on the client.
  assert.ok(closedAt - start >= TIMEOUT - 50, `not before the first ping's deadline (${closedAt - start} ms)`);
  assert.ok(silent.pings >= 1, "it was pinged");
  // The answering one lived through the same time and more pings.
  await sleep(2 * INTERVAL);
  assert.equal(good.closedAt, null, "the answering session is still open");
  assert.ok(good.pings >= 3, `pinged every interval (${good.pings})`);
  good.ws.close();
});

for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
  test(`socket.io-client (${transports.join(" then ")}) stays connected across heartbeats and still talks`, async () => {
    const a = await connectUser(base, sam.cookie, { transports });
    await sleep(5 * INTERVAL);
    assert.equal(a.socket.connected, true, "still connected after several ping cycles");
    a.socket.emit("fetch-user-details", {});
    await once(a.socket, "user-details");
    a.socket.disconnect();
  });
}

// SOCKETIO_CONNECT_TIMEOUT_MS (socket.io's connectTimeout): an Engine.IO session that
// never sends its Socket.IO CONNECT is closed after it, on WebSocket and on polling,
// so garbage handshakes cannot hold memory for long (issue 14, defect 5). A real
// client connects at once and is not affected.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startServer, makeUser, connectUser, closeAll, sleep, once } from "./helpers.mjs";

const CONNECT_TIMEOUT = 500;
let server;
let base;
let sam;

before(async () => {
  server = await startServer({
    SOCKETIO_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT),
    // Pings far apart: only the connect timeout can close these sessions.
    SOCKETIO_PING_INTERVAL_MS: "60000",
  });
  base = server.urls.expresschat;
  sam = await makeUser(server, "Sam");
  sam.socket.disconnect();
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

test("websocket: a session that never sends CONNECT is closed after the connect timeout", async () => {
  const ws = new WebSocket(base.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket");
  const opened = new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (d) => d.toString()[0] === "0" && resolve(Date.now()));
  });
  const closed = new Promise((resolve) => ws.on("close", () => resolve(Date.now())));
  const openedAt = await opened;
  const closedAt = await Promise.race([closed, sleep(10 * CONNECT_TIMEOUT).then(() => null)]);
  assert.ok(closedAt, "closed");
  assert.ok(closedAt - openedAt >= CONNECT_TIMEOUT - 50, `not before the timeout (${closedAt - openedAt} ms)`);
});

test("polling: a session that never sends CONNECT is forgotten after the connect timeout", async () => {
  const res = await fetch(`${base}/socket.io/?EIO=4&transport=polling`);
  assert.equal(res.status, 200);
  const open = JSON.parse((await res.text()).slice(1));
  assert.ok(open.sid, "an Engine.IO session");
  await sleep(3 * CONNECT_TIMEOUT);
  // A closed session's sid is unknown: socket.io answers 400.
  const later = await fetch(`${base}/socket.io/?EIO=4&transport=polling&sid=${open.sid}`, {
    signal: AbortSignal.timeout(5000),
  });
  await later.arrayBuffer();
  assert.equal(later.status, 400, "the session is gone");
});

for (const transports of [["websocket"], ["polling"]]) {
  test(`socket.io-client (${transports[0]}) connects and stays past the connect timeout`, async () => {
    const a = await connectUser(base, sam.cookie, { transports });
    await sleep(3 * CONNECT_TIMEOUT);
    assert.equal(a.socket.connected, true);
    a.socket.emit("fetch-user-details", {});
    await once(a.socket, "user-details");
    a.socket.disconnect();
  });
}

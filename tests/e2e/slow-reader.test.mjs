// A Socket.IO client that stops reading must not silently lose live messages
// (issue 14, defect 1): once its send buffer is full, the server closes its
// transport, so the client reconnects and re-fetches, rather than staying
// connected with a gap in what it received. Its other tabs lose nothing.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, makeUser, connectUser, closeAll, sleep } from "./helpers.mjs";

const servers = [];
after(async () => {
  closeAll();
  for (const s of servers) await s.stop();
});

test("a tab that stops reading is disconnected, never left with a gap", async () => {
  // A buffer of 256 packets: far more than a tab that reads falls behind on a
  // loaded machine (a sender's pipelined sends reach it in bursts of up to 65
  // messages, MAX_TAILS + 1 in transport/socketio.rs), far less than what piles
  // up for the paused one.
  const server = await startServer({ SOCKET_BUFFER: "256", MAX_CONTENT_LEN: "100000" });
  servers.push(server);
  const base = server.urls.expresschat;
  const opts = { transports: ["websocket"] };
  const ann = await makeUser(server, "Ann", opts);
  const ben = await makeUser(server, "Ben", opts);
  const benTab2 = await connectUser(base, ben.cookie, opts);
  ann.socket.emit("create-personal-chat", { Receiver: ben.id, Partner: ben.name, UserName: ann.name });
  const { ChatId } = await ann.rec.next("create-personal-chat-creator");
  await ben.rec.next("create-personal-chat-partner");
  await benTab2.rec.next("create-personal-chat-partner");

  // Ben's first tab stops reading (its TCP reads paused); the kernel's buffers
  // fill, then its send buffer on the server.
  const tcp = ben.socket.io.engine.transport.ws._socket;
  tcp.pause();
  // 450 x 90 KB = 40 MB: more than the kernel's socket buffers and 256 packets
  // (23 MB) take for the paused tab, so its buffer on the server fills; one
  // history page (500) holds them.
  const N = 450;
  const body = "x".repeat(90_000);
  for (let i = 0; i < N; i++) ann.socket.emit("send-personal-message", { ChatId, Content: `${i} ${body}` });
  for (let i = 0; i < N; i++) {
    const m = await benTab2.rec.next("receive-personal-message", 20000);
    assert.ok(m.Content.startsWith(`${i} `), "the reading tab gets every message, in order");
  }

  tcp.resume();
  // The tab's recorder holds everything it received since it connected, and its
  // disconnect with the reason (on a loaded machine the client's own ping timeout
  // may have closed it during the pause: that is recovered from too).
  const received = () => ben.rec.log.filter((e) => e.event === "receive-personal-message").length;
  const closedAt = () => ben.rec.log.find((e) => e.event === "$disconnect");
  const deadline = Date.now() + 30_000;
  while (received() < N && !closedAt()) {
    if (Date.now() > deadline) throw new Error(`connected with ${received()} of ${N} messages and nothing more`);
    await sleep(50);
  }
  const got = received();
  const outcome = got === N ? { all: true } : { all: false, reason: closedAt().args[0] };
  if (!outcome.all) {
    assert.notEqual(outcome.reason, "io server disconnect", "a disconnect the client recovers from by itself");
    // What the frontend does on reconnect: fetch the chat again; nothing is missing.
    const again = await connectUser(base, ben.cookie, opts);
    again.socket.emit("fetch-personal-chat", { ChatId, Partner: ann.name });
    const stored = (await again.rec.next("personal-chat", 20000)).Messages;
    assert.equal(stored.length, N, "every message can be fetched after the reconnect");
  }
  assert.ok(outcome.all || closedAt(), "either everything arrived or the tab was closed");
});

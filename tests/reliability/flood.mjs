// Slow readers and floods, with a canary pair. A canary (orgchat, raw WebSocket)
// sends a message every 50 ms to its partner; its latency (send -> partner's copy)
// is measured quietly, then while flooders and slow readers run:
// - raw WebSocket flooders (orgchat, chatsphere, testcore) sending frames without pause;
// - a Socket.IO flooder (expresschat) emitting without pause;
// - slow readers: raw (chatsphere) and Socket.IO (expresschat) connections that stop
//   reading while 8 KB messages pour into their conversation.
// Reported: canary p50/p99/max and losses quiet vs loaded, how each flooder and slow
// reader ended (closed by the server with which code, or still open).

import { WebSocket, io } from "./deps.mjs";
import { sleep } from "./server.mjs";

const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function openWs(url) {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url);
    ws.on("error", () => {});
    ws.once("open", () => res(ws));
    ws.once("unexpected-response", (_q, r) => rej(new Error(`upgrade ${r.statusCode}`)));
    setTimeout(() => rej(new Error("not open")), 10000);
  });
}

/** The canary pair: returns {measure(ms) -> {sent, got, lost, p50, p99, max}, close()} */
async function canary(urls, fx) {
  const o = fx.orgchat;
  const base = urls.orgchat.replace(/^http/, "ws");
  const a = await openWs(`${base}/?token=${encodeURIComponent(o.a.accessToken)}`);
  const b = await openWs(`${base}/?token=${encodeURIComponent(o.b.accessToken)}`);
  const sentAt = new Map();
  let lat = [];
  const joined = (ws) =>
    new Promise((res) => {
      ws.on("message", (buf) => {
        const f = JSON.parse(buf.toString());
        if (f.type === "notification") res();
      });
      ws.send(JSON.stringify({ event: "joinRoom", data: { roomId: o.roomId } }));
      setTimeout(res, 5000);
    });
  await joined(a);
  await joined(b);
  b.on("message", (buf) => {
    const f = JSON.parse(buf.toString());
    const c = f.message?.content;
    if (f.type === "newMessage" && sentAt.has(c)) {
      lat.push(Date.now() - sentAt.get(c));
      sentAt.delete(c);
    }
  });
  let n = 0;
  return {
    async measure(ms) {
      lat = [];
      const mine = [];
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const c = `canary ${n++}`;
        sentAt.set(c, Date.now());
        mine.push(c);
        a.send(JSON.stringify({ event: "sendMessage", data: { roomId: o.roomId, content: c } }));
        await sleep(50);
      }
      await sleep(3000); // late copies still count, as latency
      const lost = mine.filter((c) => sentAt.has(c)).length;
      for (const c of mine) sentAt.delete(c);
      return { sent: mine.length, got: lat.length, lost, p50: pct(lat, 50), p99: pct(lat, 99), max: lat.length ? Math.max(...lat) : null, closed: a.readyState !== WebSocket.OPEN || b.readyState !== WebSocket.OPEN };
    },
    close() {
      a.terminate();
      b.terminate();
    },
  };
}

/** A raw flooder: frames as fast as the socket takes them until closed or `ms` passed. */
async function rawFlooder(url, frame, ms) {
  const ws = await openWs(url);
  let code = null;
  const closed = new Promise((r) => ws.on("close", (c) => r((code = c))));
  const end = Date.now() + ms;
  let sent = 0;
  while (Date.now() < end && ws.readyState === WebSocket.OPEN) {
    if (ws.bufferedAmount > 1_000_000) {
      await sleep(5);
      continue;
    }
    for (let i = 0; i < 200 && ws.readyState === WebSocket.OPEN; i++) ws.send(JSON.stringify(frame(sent++)));
    await new Promise((r) => setImmediate(r));
  }
  await Promise.race([closed, sleep(3000)]);
  const open = ws.readyState === WebSocket.OPEN;
  ws.terminate();
  return { sent, closedBy: open ? null : (code ?? "closing") };
}

async function sioFlooder(base, cookie, ms) {
  const s = io(base, { forceNew: true, reconnection: false, transports: ["websocket"], extraHeaders: { cookie } });
  await new Promise((r) => {
    s.once("connect", r);
    setTimeout(r, 8000);
  });
  let reason = null;
  s.on("disconnect", (r) => (reason = r));
  const end = Date.now() + ms;
  let sent = 0;
  while (Date.now() < end && s.connected) {
    for (let i = 0; i < 200 && s.connected; i++) {
      s.emit("fetch-user-details", {});
      sent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  const open = s.connected;
  s.close();
  return { sent, closedBy: open ? null : reason };
}

export async function runFlood(server, fx, { quietMs, loadMs, log = () => {} }) {
  const urls = server.urls;
  const c = await canary(urls, fx);
  const quiet = await c.measure(quietMs);
  log(`  canary quiet: ${JSON.stringify(quiet)}`);
  const wsb = (p) => urls[p].replace(/^http/, "ws");
  const big = "x".repeat(9000);

  // slow readers: a chatsphere member and an expresschat member stop reading
  const s = fx.chatsphere;
  const slowRaw = await openWs(`${wsb("chatsphere")}/ws?token=${encodeURIComponent(s.b.token)}`);
  let slowRawCode = null;
  slowRaw.on("close", (code) => (slowRawCode = code));
  let slowRawGot = 0;
  slowRaw.on("message", (buf) => {
    if (buf.length > 9000) slowRawGot++;
  });
  slowRaw.send(JSON.stringify({ type: "join", roomId: s.roomId }));
  await sleep(300);
  slowRaw._socket.pause();
  // a reading tab of the same user: what a reader that keeps up gets
  const refRaw = await openWs(`${wsb("chatsphere")}/ws?token=${encodeURIComponent(s.b.token)}`);
  let refRawGot = 0;
  refRaw.on("message", (buf) => {
    if (buf.length > 9000) refRawGot++;
  });
  refRaw.send(JSON.stringify({ type: "join", roomId: s.roomId }));
  const ex = fx.expresschat;
  const slowSio = io(urls.expresschat, { forceNew: true, reconnection: false, transports: ["websocket"], extraHeaders: { cookie: ex.b.cookie } });
  await new Promise((r) => {
    slowSio.once("group-chat-list", r);
    setTimeout(r, 8000);
  });
  let slowSioReason = null;
  slowSio.on("disconnect", (r) => (slowSioReason = r));
  let slowSioGot = 0;
  slowSio.on("receive-group-message", () => slowSioGot++);
  slowSio.io.engine.transport.ws._socket.pause();
  const refSio = io(urls.expresschat, { forceNew: true, reconnection: false, transports: ["websocket"], extraHeaders: { cookie: ex.b.cookie } });
  let refSioGot = 0;
  refSio.on("receive-group-message", () => refSioGot++);
  await new Promise((r) => {
    refSio.once("group-chat-list", r);
    setTimeout(r, 8000);
  });
  const pump = async (ms) => {
    const end = Date.now() + ms;
    const sender = await openWs(`${wsb("chatsphere")}/ws?token=${encodeURIComponent(s.a.token)}`);
    const sa = io(urls.expresschat, { forceNew: true, reconnection: false, transports: ["websocket"], extraHeaders: { cookie: ex.a.cookie } });
    await new Promise((r) => {
      sa.once("connect", r);
      setTimeout(r, 8000);
    });
    sender.send(JSON.stringify({ type: "join", roomId: s.roomId }));
    let n = 0;
    while (Date.now() < end) {
      sender.send(JSON.stringify({ type: "message", roomId: s.roomId, content: `${n} ${big}` }));
      sa.emit("send-group-message", { GroupId: ex.groupId, Content: `${n} ${big}` });
      n++;
      await sleep(2); // ~400/s each, under the frame cut-off
    }
    sender.terminate();
    sa.close();
    return n;
  };

  const t = loadMs;
  const results = await Promise.all([
    c.measure(t),
    rawFlooder(`${wsb("orgchat")}/?token=${encodeURIComponent(fx.orgchat.admin.accessToken)}`, (i) => ({ event: "typing", data: { roomId: fx.orgchat.roomId } }), t),
    rawFlooder(`${wsb("chatsphere")}/ws?token=${encodeURIComponent(s.outsider.token)}`, (i) => ({ type: "ping", n: i }), t),
    rawFlooder(`${wsb("testcore")}/ws1/?token=${encodeURIComponent(fx.testcore.outsider.token)}`, (i) => ({ MessageId: `f${i}`, roomName: `flood${i % 3}`, content: "x", typeOfMessage: "DELETE_MESSAGE", userId: fx.testcore.outsider.id }), t),
    sioFlooder(urls.expresschat, ex.outsider.cookie, t),
    pump(t),
  ]);
  const [loaded, orgF, sphereF, tcF, sioF, pumped] = results;
  log(`  canary loaded: ${JSON.stringify(loaded)}`);
  // let the slow readers read again: closed by the server, or caught up
  slowRaw._socket.resume();
  try {
    slowSio.io.engine.transport.ws._socket.resume();
  } catch {}
  // bounded: until both are closed or have every pumped message
  for (let i = 0; i < 100 && !((slowRawCode !== null || slowRawGot >= refRawGot) && (slowSioReason !== null || slowSioGot >= refSioGot)); i++) await sleep(100);
  // a slow reader is fine when the server closed it (it re-fetches) or it got everything; open with a gap is a silent loss
  const verdict = (closedBy, open, got, ref) => (closedBy !== null && !open ? "closed" : got >= ref ? "complete" : "silent loss");
  const slow = {
    raw: { closedBy: slowRawCode, got: slowRawGot, reference: refRawGot, verdict: verdict(slowRawCode, slowRaw.readyState === WebSocket.OPEN, slowRawGot, refRawGot) },
    sio: { closedBy: slowSioReason, got: slowSioGot, reference: refSioGot, verdict: verdict(slowSioReason, slowSio.connected, slowSioGot, refSioGot) },
  };
  refRaw.terminate();
  refSio.close();
  slowRaw.terminate();
  slowSio.close();
  c.close();
  const flooders = { orgchat: orgF, chatsphere: sphereF, testcore: tcF, expresschat: sioF };
  log(`  flooders: ${JSON.stringify(flooders)}; slow readers: ${JSON.stringify(slow)}; pumped ${pumped}`);
  return { quiet, loaded, flooders, slow, pumped };
}

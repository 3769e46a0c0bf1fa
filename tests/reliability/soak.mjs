// The soak: `conns` connections (orgchat and chatsphere raw WebSockets, expresschat
// Socket.IO) of `users` accounts, grouped into conversations of five users; every
// second one member of each conversation sends a message, delivered to every
// connection of the others. RSS is sampled throughout; the figure is the growth over
// the second half (the median of the last tenth against the median around the middle).
// Then every connection closes and, `settleMs` later, RSS is compared with the
// baseline taken before the first connection.

import { WebSocket, io } from "./deps.mjs";
import { sleep } from "./server.mjs";
import { orgUser, createRoom } from "../e2e/orgchat-lib.mjs";
import { mintClientToken, makeUser as sphereUser, makeRoom } from "../e2e/chatsphere-lib.mjs";
import { signupVerifyLogin, newIdentity, rand } from "../e2e/helpers.mjs";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};

async function pool(items, n, f) {
  let i = 0;
  const out = [];
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) {
        const k = i++;
        out[k] = await f(items[k], k);
      }
    }),
  );
  return out;
}

/** Accounts and conversations: groups of 5 users per profile. */
async function setup(server, users) {
  const u = server.urls;
  const per = { orgchat: Math.ceil(users * 0.4), chatsphere: Math.ceil(users * 0.4), expresschat: Math.max(5, Math.ceil(users * 0.2)) };
  const groups = [];
  const org = `Soak ${rand(5)}`;
  const orgUsers = await pool(Array.from({ length: per.orgchat }), 8, (_, k) => orgUser(u.orgchat, { name: `S${k}`, org }));
  for (let k = 0; k < orgUsers.length; k += 5) {
    const members = orgUsers.slice(k, k + 5);
    const room = await createRoom(u.orgchat, members[0], `soak ${k}`, members.slice(1).map((m) => m.id));
    groups.push({ profile: "orgchat", members, room: room.id });
  }
  const sphere = { base: u.chatsphere, clientToken: mintClientToken(server) };
  const sphereUsers = await pool(Array.from({ length: per.chatsphere }), 8, (_, k) => sphereUser(sphere, `s${k}`));
  for (let k = 0; k < sphereUsers.length; k += 5) {
    const members = sphereUsers.slice(k, k + 5);
    const room = await makeRoom(sphere, members[0], { isPrivate: true, members: members.slice(1) });
    groups.push({ profile: "chatsphere", members, room });
  }
  const exUsers = await pool(Array.from({ length: per.expresschat }), 4, async (_, k) => {
    const ident = newIdentity(`Soak${k}`);
    const cookie = await signupVerifyLogin(server, u.expresschat, ident);
    return { ...ident, cookie };
  });
  for (let k = 0; k < exUsers.length; k += 5) {
    const members = exUsers.slice(k, k + 5);
    if (members.length < 2) continue;
    groups.push({ profile: "expresschat", members, room: null });
  }
  return groups;
}

function rawConn(url, onFrame) {
  return new Promise((res) => {
    const ws = new WebSocket(url);
    ws.on("error", () => {});
    ws.on("message", onFrame);
    ws.once("open", () => res(ws));
    ws.once("unexpected-response", () => res(null));
    setTimeout(() => res(null), 20000);
  });
}

export async function runSoak(server, { conns, users, minutes, sampleMs, settleMs = 10000, log = () => {} }) {
  const groups = await setup(server, users);
  const stats = { received: 0, sent: 0, sendErrors: 0, connectFailures: 0, unexpectedCloses: 0 };
  await sleep(2000);
  const baseline = server.rss();
  const allUsers = groups.flatMap((g) => g.members.map((m) => ({ g, m })));
  const perUser = Math.max(1, Math.floor(conns / allUsers.length));
  const u = server.urls;
  const opened = [];
  let closing = false;
  const onFrame = () => stats.received++;
  // expresschat groups are made over the first connection of their first member
  const plan = [];
  for (const { g, m } of allUsers) for (let i = 0; i < perUser && plan.length < conns; i++) plan.push({ g, m, i });
  await pool(plan, 50, async ({ g, m }) => {
    if (g.profile === "expresschat") {
      const s = io(u.expresschat, { forceNew: true, reconnection: false, transports: ["websocket"], extraHeaders: { cookie: m.cookie } });
      s.onAny(onFrame);
      const ok = await new Promise((r) => {
        s.once("user-id", (x) => {
          m.id = x.userId;
          r(true);
        });
        s.once("connect_error", () => r(false));
        setTimeout(() => r(false), 20000);
      });
      if (!ok) {
        stats.connectFailures++;
        s.close();
        return;
      }
      s.on("disconnect", () => {
        if (!closing) stats.unexpectedCloses++;
      });
      opened.push({ kind: "sio", s, g, m });
      return;
    }
    const url =
      g.profile === "orgchat"
        ? `${u.orgchat.replace(/^http/, "ws")}/?token=${encodeURIComponent(m.accessToken)}`
        : `${u.chatsphere.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(m.token)}`;
    const ws = await rawConn(url, onFrame);
    if (!ws) {
      stats.connectFailures++;
      return;
    }
    ws.on("close", () => {
      if (!closing) stats.unexpectedCloses++;
    });
    ws.send(JSON.stringify(g.profile === "orgchat" ? { event: "joinRoom", data: { roomId: g.room } } : { type: "join", roomId: g.room }));
    opened.push({ kind: "raw", ws, g, m });
  });
  // expresschat groups, over a connection of each group's first member
  for (const g of groups.filter((x) => x.profile === "expresschat")) {
    const c = opened.find((o) => o.g === g && o.m === g.members[0]);
    const others = g.members.slice(1).filter((m) => m.id);
    if (!c || !others.length) continue;
    const made = new Promise((r) => {
      c.s.once("create-group-chat-creator", (x) => r(x.GroupId));
      setTimeout(() => r(null), 10000);
    });
    c.s.emit("create-group-chat", { Name: `soak ${rand(4)}`, Description: "", Participants: others.map((m) => m.id) });
    g.room = await made;
  }
  log(`  soak: ${opened.length} connections open (${stats.connectFailures} failed), ${groups.length} conversations, RSS ${baseline} KB before`);
  const senders = groups.map((g) => opened.filter((o) => o.g === g));
  const samples = [];
  const started = Date.now();
  const end = started + minutes * 60_000;
  let nextSample = started;
  let tick = 0;
  while (Date.now() < end) {
    for (const cs of senders) {
      const c = cs[tick % Math.max(1, cs.length)];
      if (!c) continue;
      const content = `soak ${tick} ${"x".repeat(100)}`;
      try {
        if (c.kind === "sio") {
          if (c.g.room) c.s.emit("send-group-message", { GroupId: c.g.room, Content: content });
        } else if (c.g.profile === "orgchat") c.ws.send(JSON.stringify({ event: "sendMessage", data: { roomId: c.g.room, content } }));
        else c.ws.send(JSON.stringify({ type: "message", roomId: c.g.room, content }));
        stats.sent++;
      } catch {
        stats.sendErrors++;
      }
    }
    tick++;
    if (Date.now() >= nextSample) {
      samples.push({ t: Math.round((Date.now() - started) / 1000), rss: server.rss() });
      nextSample += sampleMs;
    }
    await sleep(1000);
  }
  samples.push({ t: Math.round((Date.now() - started) / 1000), rss: server.rss() });
  const n = samples.length;
  const mid = median(samples.slice(Math.floor(n * 0.45), Math.max(Math.floor(n * 0.45) + 1, Math.ceil(n * 0.55))).map((x) => x.rss));
  const last = median(samples.slice(Math.floor(n * 0.9)).map((x) => x.rss));
  const growthPct = mid ? ((last - mid) / mid) * 100 : null;
  closing = true;
  for (const o of opened) o.kind === "sio" ? o.s.close() : o.ws.terminate();
  await sleep(settleMs);
  const after = server.rss();
  const result = { connections: opened.length, conversations: groups.length, minutes, baselineKB: baseline, midKB: mid, lastKB: last, growthPct, afterCloseKB: after, samples, ...stats };
  log(`  soak: sent ${stats.sent}, received ${stats.received}, RSS ${mid} -> ${last} KB over the second half (${growthPct?.toFixed(2)}%), ${after} KB ${settleMs / 1000} s after closing (baseline ${baseline})`);
  return result;
}

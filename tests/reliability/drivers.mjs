// One driver per profile for the no-loss and catch-up phases: `a` sends into a
// conversation with `b` the way that profile's client does, a message counts as
// confirmed when the server acknowledged it (REST 2xx) or delivered it to anyone
// (the sender's echo on orgchat, `b`'s live copy on testcore and expresschat), and
// `history(after)` pages the profile's own history call with the `after` cursor.

import { WebSocket, io } from "./deps.mjs";
import { sleep } from "./server.mjs";

const json = async (base, method, path, { token, body, cookie } = {}) => {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15000) });
  const text = await r.text();
  let j;
  try {
    j = JSON.parse(text);
  } catch {}
  return { status: r.status, json: j, text };
};

function openWs(url) {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url);
    ws.on("error", rej);
    ws.once("open", () => res(ws));
    setTimeout(() => rej(new Error(`ws ${url} not open`)), 10000);
  });
}

function sioOpen(base, opts) {
  return new Promise((res, rej) => {
    const s = io(base, { forceNew: true, reconnection: false, transports: ["websocket"], timeout: 8000, ...opts });
    s.once("connect", () => res(s));
    s.once("connect_error", (e) => rej(e));
  });
}

/** Pages `fetchPage(after)` -> {items:[{id, content}], more} until empty; at most `maxPages`. */
async function pageAll(fetchPage, after, maxPages = 200) {
  const out = [];
  for (let i = 0; i < maxPages; i++) {
    const { items } = await fetchPage(after);
    if (!items.length) return out;
    out.push(...items);
    after = items.at(-1).id;
  }
  return out;
}

/**
 * A driver: open() (again after a restart), send(content) -> Promise<bool confirmed>,
 * history(after) -> [{id, content}] oldest first, newestId(), close().
 */
export function drivers(fx) {
  const ex = fx.expresschat, c = fx.calls, o = fx.orgchat, s = fx.chatsphere, tc = fx.testcore;
  const PAGE = 500;
  return {
    calls: (urls) => ({
      async open() {},
      async send(content) {
        const r = await json(urls.calls, "POST", "/api/messages", { token: c.a.token, body: { receiverId: c.b.id, content } });
        return r.status >= 200 && r.status < 300;
      },
      async page(after) {
        const q = after ? `&after=${after}` : "";
        const r = await json(urls.calls, "GET", `/api/messages?with=${c.a.id}&limit=${PAGE}${q}`, { token: c.b.token });
        if (r.status !== 200) throw new Error(`calls history ${r.status} ${r.text.slice(0, 100)}`);
        return { items: r.json.messages.map((m) => ({ id: m.id, content: m.content })) };
      },
      close() {},
    }),
    chatsphere: (urls) => ({
      async open() {},
      async send(content) {
        const r = await json(urls.chatsphere, "POST", `/api/rooms/${s.roomId}/messages`, { token: s.a.token, body: { content } });
        return r.status >= 200 && r.status < 300;
      },
      async page(after) {
        const q = after ? `&after=${after}` : "";
        const r = await json(urls.chatsphere, "GET", `/api/rooms/${s.roomId}/messages?limit=${PAGE}${q}`, { token: s.b.token });
        if (r.status !== 200) throw new Error(`chatsphere history ${r.status} ${r.text.slice(0, 100)}`);
        return { items: r.json.map((m) => ({ id: m.id, content: m.content })) };
      },
      close() {},
    }),
    orgchat: (urls) => {
      let ws;
      const waiting = new Map();
      return {
        async open() {
          ws = await openWs(`${urls.orgchat.replace(/^http/, "ws")}/?token=${encodeURIComponent(o.a.accessToken)}`);
          ws.on("error", () => {});
          const joined = new Promise((res) => {
            ws.on("message", (buf) => {
              let f;
              try {
                f = JSON.parse(buf.toString());
              } catch {
                return;
              }
              if (f.type === "notification") res();
              const content = f.message?.content;
              if (f.type === "newMessage" && waiting.has(content)) {
                waiting.get(content)(true);
                waiting.delete(content);
              }
            });
            ws.on("close", () => {
              for (const w of waiting.values()) w(false);
              waiting.clear();
            });
          });
          ws.send(JSON.stringify({ event: "joinRoom", data: { roomId: o.roomId } }));
          await Promise.race([joined, sleep(5000)]);
        },
        send(content) {
          if (ws.readyState !== WebSocket.OPEN) return Promise.resolve(false);
          return new Promise((res) => {
            waiting.set(content, res);
            ws.send(JSON.stringify({ event: "sendMessage", data: { roomId: o.roomId, content } }));
            setTimeout(() => {
              if (waiting.delete(content)) res(false);
            }, 20000);
          });
        },
        async page(after) {
          const q = after ? `&after=${after}` : "";
          const r = await json(urls.orgchat, "GET", `/api/chat/${o.roomId}/messages?limit=${PAGE}${q}`, { token: o.b.accessToken });
          if (r.status !== 200) throw new Error(`orgchat history ${r.status} ${r.text.slice(0, 100)}`);
          return { items: r.json.data.map((m) => ({ id: m.id, content: m.content })) };
        },
        close() {
          ws?.terminate();
        },
      };
    },
    testcore: (urls) => {
      let wa, wb;
      const waiting = new Map();
      let n = 0;
      const tag = Math.random().toString(36).slice(2, 8);
      const wsUrl = (t) => `${urls.testcore.replace(/^http/, "ws")}/ws1/?token=${encodeURIComponent(t)}`;
      const driver = {
        async open() {
          wa = await openWs(wsUrl(tc.a.token));
          wb = await openWs(wsUrl(tc.b.token));
          for (const w of [wa, wb]) w.on("error", () => {});
          wb.on("message", (buf) => {
            let f;
            try {
              f = JSON.parse(buf.toString());
            } catch {
              return;
            }
            if (waiting.has(f.content)) {
              waiting.get(f.content)(true);
              waiting.delete(f.content);
            }
          });
          wb.on("close", () => {
            for (const w of waiting.values()) w(false);
            waiting.clear();
          });
          // each connection joins the room's live feed with its first frame there
          for (const [w, u] of [[wb, tc.b], [wa, tc.a]]) {
            const id = `join-${tag}-${n++}`;
            w.send(JSON.stringify({ MessageId: id, roomName: tc.roomName, content: `joined ${id}`, typeOfMessage: "SEND_MESSAGE", userId: u.id }));
            for (let i = 0; i < 100; i++) {
              const items = (await driver.page(null)).items;
              if (items.some((m) => m.id === id)) break;
              await sleep(50);
            }
          }
        },
        send(content) {
          if (wa.readyState !== WebSocket.OPEN) return Promise.resolve(false);
          return new Promise((res) => {
            waiting.set(content, res);
            wa.send(JSON.stringify({ MessageId: `m-${tag}-${n++}`, roomName: tc.roomName, content, typeOfMessage: "SEND_MESSAGE", userId: tc.a.id }));
            setTimeout(() => {
              if (waiting.delete(content)) res(false);
            }, 20000);
          });
        },
        async page(after) {
          const q = after ? `&after=${encodeURIComponent(after)}` : "";
          const r = await json(urls.testcore, "GET", `/api/v1/chat/ChatQuery/${tc.roomName}?limit=${PAGE}${q}`, { token: tc.b.token });
          if (r.status !== 200) throw new Error(`testcore history ${r.status} ${r.text.slice(0, 100)}`);
          return { items: (r.json.data?.[0]?.messages ?? []).map((m) => ({ id: m.MessageId, content: m.content })) };
        },
        close() {
          wa?.terminate();
          wb?.terminate();
        },
      };
      return driver;
    },
    expresschat: (urls) => {
      let sa, sb;
      const waiting = new Map();
      const driver = {
        async open() {
          sa = await sioOpen(urls.expresschat, { extraHeaders: { cookie: ex.a.cookie } });
          sb = await sioOpen(urls.expresschat, { extraHeaders: { cookie: ex.b.cookie } });
          sb.on("receive-group-message", (m) => {
            if (waiting.has(m.Content)) {
              waiting.get(m.Content)(true);
              waiting.delete(m.Content);
            }
          });
          sb.on("disconnect", () => {
            for (const w of waiting.values()) w(false);
            waiting.clear();
          });
        },
        send(content) {
          if (!sa.connected) return Promise.resolve(false);
          return new Promise((res) => {
            waiting.set(content, res);
            sa.emit("send-group-message", { GroupId: ex.groupId, Content: content });
            setTimeout(() => {
              if (waiting.delete(content)) res(false);
            }, 20000);
          });
        },
        page(after) {
          return new Promise((res, rej) => {
            const t = setTimeout(() => rej(new Error("expresschat: no group-chat answer")), 10000);
            sb.once("group-chat", (g) => {
              clearTimeout(t);
              res({ items: [...g.Messages].reverse().map((m) => ({ id: m.Id, content: m.Content })) });
            });
            sb.emit("fetch-group-chat", after ? { GroupId: ex.groupId, After: after, Limit: PAGE } : { GroupId: ex.groupId });
          });
        },
        close() {
          sa?.close();
          sb?.close();
        },
      };
      return driver;
    },
  };
}

/** Everything after `after` (or the newest page's first when null), oldest first. */
export async function historyAfter(d, after) {
  return pageAll((a) => d.page(a), after);
}

/** The newest message id of the conversation. */
export async function newestId(d) {
  const { items } = await d.page(null);
  return items.at(-1)?.id ?? null;
}

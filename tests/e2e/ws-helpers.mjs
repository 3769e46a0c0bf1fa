// Raw WebSocket clients for the e2e tests (the orgchat, chatsphere and testcore
// profiles): open a socket, record every frame in arrival order, await the next
// frame matching a predicate with a timeout, await the close with its code and
// reason, send JSON. Frames are recorded into helpers.mjs's eventLog as entries
// {event: frame.type, frame}, so expectNoneBefore works on these clients too.

import WebSocket from "ws";
import { eventLog } from "./helpers.mjs";

const open = new Set();

/** ws:// URL of a listener's http:// URL. */
export const wsUrl = (base, path = "/") => base.replace(/^http/, "ws") + path;

/**
 * Opens a WebSocket to `url`. Resolves with the client once open; rejects with
 * {status, body} when the upgrade is refused. A frame that is not JSON is
 * recorded as {type: "$unparseable", raw}.
 *
 * The client is an eventLog (log, nextEntry, seen, pending, drain, expectNone)
 * plus: next(match) (the frame itself), types(), send(frame or text),
 * closed() ({code, reason}), close(), and `ws`.
 */
export function openSocket(url, { headers = {} } = {}) {
  const ws = new WebSocket(url, { headers });
  const client = eventLog();
  let closeInfo = null;
  const closeWaiters = [];
  ws.on("message", (buf, isBinary) => {
    let frame;
    try {
      frame = JSON.parse(buf.toString());
    } catch {
      frame = { type: "$unparseable", raw: buf.toString(), isBinary };
    }
    client.push({ event: frame?.type, frame });
  });
  ws.on("close", (code, reason) => {
    open.delete(client);
    closeInfo = { code, reason: reason.toString() };
    for (const w of closeWaiters.splice(0)) w(closeInfo);
  });
  Object.assign(client, {
    ws,
    /** The next unconsumed frame matching `match` (a type, a predicate on the entry, or any). */
    next: async (match, timeoutMs = 3000) => (await client.nextEntry(match, timeoutMs)).frame,
    /** Types of the frames received so far, in order. */
    types: () => client.log.map((e) => e.event),
    /** Sends a string as it is, anything else as JSON. */
    send(frame) {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    },
    /** Resolves with {code, reason} once the connection is closed. */
    closed(timeoutMs = 3000) {
      if (closeInfo) return Promise.resolve(closeInfo);
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`${url}: not closed within ${timeoutMs} ms`)), timeoutMs);
        closeWaiters.push((c) => {
          clearTimeout(t);
          res(c);
        });
      });
    },
    close() {
      try {
        ws.close();
      } catch {}
    },
  });
  open.add(client);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(client));
    ws.once("unexpected-response", (_req, resp) => {
      let body = "";
      resp.on("data", (c) => (body += c));
      resp.on("end", () =>
        reject(Object.assign(new Error(`upgrade refused ${resp.statusCode}`), { status: resp.statusCode, body })),
      );
    });
    ws.on("error", reject);
  });
}

/** Closes every client opened with openSocket that is still open. */
export function closeAllSockets() {
  for (const c of open) c.close();
  open.clear();
}

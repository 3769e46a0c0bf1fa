// Helpers for the calls profile's end-to-end tests (seed 004): REST with a Bearer
// token, and socket.io-client 4 sockets that authenticate with `join` the way the
// calls frontend does. Built on helpers.mjs (server, recorder, request).

import { makeSocket, request, rand } from "./helpers.mjs";

/** REST call against the calls listener; `token` becomes `Authorization: Bearer`. */
export function api(base, method, path, { token, body, raw } = {}) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  return request(base, method, path, { body, raw, headers });
}

/** A fresh identity for the calls profile. */
export function callsIdentity(prefix = "Caller") {
  const tag = rand(6);
  return {
    name: `${prefix} ${tag[0].toUpperCase()}${tag.slice(1)}`,
    email: `${prefix.toLowerCase()}.${tag}@calls.e2e`,
    password: `pw-${rand(10)}`,
  };
}

/** POST /api/auth/register; returns {id, name, email, password, token}. */
export async function registerCalls(base, prefix = "Caller") {
  const ident = callsIdentity(prefix);
  const r = await api(base, "POST", "/api/auth/register", { body: ident });
  if (r.status !== 201 || !r.json?.success) {
    throw new Error(`register ${ident.email}: ${r.status} ${r.text}`);
  }
  return { ...ident, id: r.json.user.id, token: r.json.token };
}

/** POST /api/auth/login; returns the body. */
export async function loginCalls(base, email, password) {
  const r = await api(base, "POST", "/api/auth/login", { body: { email, password } });
  if (r.status !== 200 || !r.json?.success) throw new Error(`login ${email}: ${r.status} ${r.text}`);
  return r.json;
}

/** A connected, not yet joined socket (recorder at `socket.rec`). */
export async function connectRaw(base, opts = {}) {
  const socket = makeSocket(base, undefined, opts);
  if (opts.auth) socket.auth = opts.auth;
  if (opts.headers) socket.io.opts.extraHeaders = opts.headers;
  const p = socket.rec.nextOf(["$connect", "$connect_error"], 5000);
  socket.connect();
  const e = await p;
  if (e.event === "$connect_error") throw new Error(`connect_error: ${e.args[0]?.message}`);
  return socket;
}

/** A socket of `user` that sent `join` and got `connected`. */
export async function joinCalls(base, user, opts = {}) {
  const socket = await connectRaw(base, opts);
  socket.emit("join", { userId: user.id, token: user.token });
  const hello = await socket.rec.next("connected");
  if (hello.userId !== user.id) throw new Error(`joined as ${hello.userId}, not ${user.id}`);
  return socket;
}

/** Emit with an ack and a timeout (socket.io-client 4 `timeout().emitWithAck`). */
export function ask(socket, event, data, timeoutMs = 3000) {
  return socket.timeout(timeoutMs).emitWithAck(event, data);
}

/** Wait for `socket` to be disconnected (client side). */
export function disconnected(socket) {
  if (!socket.connected) return Promise.resolve();
  return new Promise((r) => socket.once("disconnect", () => r()));
}

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

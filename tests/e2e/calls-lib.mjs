// calls end-to-end helpers (seed 004): REST with a Bearer token, registration and
// login, and Socket.IO sockets that authenticate with `join` the way the calls
// frontend does. Socket.IO itself (connect, ask, disconnected) is helpers.mjs's.

import { connect, request, rand } from "./helpers.mjs";

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

/** A socket of `user` that sent `join` and got `connected`. */
export async function joinCalls(base, user, opts = {}) {
  const socket = await connect(base, undefined, opts);
  socket.emit("join", { userId: user.id, token: user.token });
  const hello = await socket.rec.next("connected");
  if (hello.userId !== user.id) throw new Error(`joined as ${hello.userId}, not ${user.id}`);
  return socket;
}

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

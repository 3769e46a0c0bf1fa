// Shared harness for chatwire end-to-end tests (node --test, Node >= 20): the server,
// REST, the in-order event log every realtime client records into, and Socket.IO.
//
// - startServer() spawns `chatwire serve` on ephemeral ports with a fresh database,
//   parses the listener lines from stdout and the console mailer's JSON log lines
//   from stderr.
// - REST helpers (request, signup/verify/login) use fetch.
// - eventLog() records a connection's events in arrival order; expectNoneBefore()
//   is the "nothing arrived" check against a later delivery (a barrier). The raw
//   WebSocket client (ws-helpers.mjs) records into the same log.
// - Socket.IO clients (socket.io-client 4) and the expresschat helpers drive the
//   expresschat profile the way its original web client does.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { io } from "socket.io-client";

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, "..", "..");
export const BIN = process.env.CHATWIRE_BIN || join(REPO_ROOT, "target", "debug", "chatwire");
export const ALL_PROFILES = ["expresschat", "calls", "orgchat", "chatsphere", "testcore"];

const children = new Set();
const cleanups = new Set(); // per-server cleanup functions not yet run
process.on("exit", () => {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {}
  }
  // a test file that ended without stop(): remove its temp dir / database anyway
  for (const f of cleanups) f();
});

export function rand(n = 8) {
  // lowercase letters only, so the token is safe in names, emails and DB names
  const bytes = randomBytes(n);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(97 + (b % 26));
  return s;
}

/** A tracing field value may be a plain string or, if recorded with `?`, a quoted one. */
function unquote(v) {
  if (typeof v === "string" && v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v);
    } catch {}
  }
  return v;
}

function createPgDatabase(url) {
  const name = `cw_e2e_${rand(12)}`;
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", `CREATE DATABASE ${name}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const u = new URL(url);
  u.pathname = `/${name}`;
  return { url: u.toString(), name };
}

function dropPgDatabase(adminUrl, name) {
  try {
    execFileSync(
      "psql",
      [adminUrl, "-q", "-c", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`],
      { stdio: "ignore" },
    );
  } catch {}
}

/**
 * Start `chatwire serve` with every profile on 127.0.0.1:0.
 * @param {Record<string,string>} extraEnv environment overrides
 * @param {{waitFor?: string[], timeoutMs?: number, databaseUrl?: string}} opts profiles whose
 *   listener line must appear; a database of the caller's (shared, not dropped by stop())
 */
export function startServer(extraEnv = {}, opts = {}) {
  const waitFor = opts.waitFor ?? ["expresschat"];
  const timeoutMs = opts.timeoutMs ?? 20000;
  const dir = mkdtempSync(join(tmpdir(), "cw-e2e-"));
  let pg = null;
  let databaseUrl;
  const envDb = process.env.DATABASE_URL || "";
  if (opts.databaseUrl) {
    // A database the caller owns (cluster tests: nodes share one); not dropped here.
    databaseUrl = opts.databaseUrl;
  } else if (envDb.startsWith("postgres")) {
    pg = createPgDatabase(envDb);
    databaseUrl = pg.url;
  } else {
    databaseUrl = `sqlite://${join(dir, "chatwire.db")}?mode=rwc`;
  }
  const env = {
    ...process.env,
    CHATWIRE_EXPRESSCHAT_ADDR: "127.0.0.1:0",
    CHATWIRE_CALLS_ADDR: "127.0.0.1:0",
    CHATWIRE_ORGCHAT_ADDR: "127.0.0.1:0",
    CHATWIRE_CHATSPHERE_ADDR: "127.0.0.1:0",
    CHATWIRE_TESTCORE_ADDR: "127.0.0.1:0",
    CHATWIRE_LOG_FORMAT: "json",
    CHATWIRE_LOG: "info",
    DATABASE_URL: databaseUrl,
    // Every test user logs in from 127.0.0.1; the per-address login throttle is
    // tested on its own (tests/api), so suites get a budget they cannot exhaust.
    LOGIN_PER_IP_PER_MINUTE: "100000",
    ...extraEnv,
  };
  const child = spawn(BIN, ["serve"], { env, stdio: ["ignore", "pipe", "pipe"], cwd: dir });
  children.add(child);

  // Keep the server's stderr in a file for post-mortem (path printed on failure).
  const logPath = join(dir, "server.log");
  const logFile = createWriteStream(logPath);
  // A server that exits at once (a refused start) is cleaned up, its folder
  // removed, possibly before the stream has opened its file: that late ENOENT is
  // not the test's failure (the test already has the exit and its stderr).
  logFile.on("error", () => {});
  const urls = {};
  let stderrText = "";
  const mailQueues = new Map(); // address -> [fields]
  const mailWaiters = new Map(); // address -> [resolve]
  let exited = null;
  const exitWaiters = [];

  const onMail = (fields) => {
    const to = String(unquote(fields.to) ?? "").toLowerCase();
    const f = {};
    for (const [k, v] of Object.entries(fields)) f[k] = unquote(v);
    const waiters = mailWaiters.get(to);
    if (waiters && waiters.length) {
      const w = waiters.shift();
      w(f);
      return;
    }
    if (!mailQueues.has(to)) mailQueues.set(to, []);
    mailQueues.get(to).push(f);
  };

  let errBuf = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    logFile.write(chunk);
    if (stderrText.length < 2_000_000) stderrText += chunk;
    if (process.env.CHATWIRE_E2E_VERBOSE) process.stderr.write(chunk);
    errBuf += chunk;
    let i;
    while ((i = errBuf.indexOf("\n")) >= 0) {
      const line = errBuf.slice(0, i);
      errBuf = errBuf.slice(i + 1);
      if (!line.startsWith("{")) continue;
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        continue;
      }
      const target = String(obj.target ?? "");
      const fields = obj.fields ?? obj;
      if (target.startsWith("chatwire::core::mail") && fields && fields.to !== undefined) {
        onMail(fields);
      }
    }
  });

  let outBuf = "";
  let readyResolve;
  const ready = new Promise((r) => (readyResolve = r));
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    if (process.env.CHATWIRE_E2E_VERBOSE) process.stdout.write(chunk);
    outBuf += chunk;
    let i;
    while ((i = outBuf.indexOf("\n")) >= 0) {
      const line = outBuf.slice(0, i).trim();
      outBuf = outBuf.slice(i + 1);
      const m = /^chatwire: (\w+)\s+(http\S+)/.exec(line);
      if (m) {
        urls[m[1]] = m[2].replace(/\/+$/, "");
        if (waitFor.every((p) => urls[p])) readyResolve();
      }
    }
  });

  child.on("exit", (code, signal) => {
    exited = { code, signal };
    children.delete(child);
    logFile.end();
    for (const w of exitWaiters) w(exited);
  });

  const waitExit = () =>
    exited ? Promise.resolve(exited) : new Promise((r) => exitWaiters.push(r));

  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    cleanups.delete(cleanup);
    if (pg) dropPgDatabase(envDb, pg.name);
    if (!process.env.CHATWIRE_E2E_KEEP) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {}
    }
  };

  cleanups.add(cleanup);

  const server = {
    urls,
    dir,
    logPath,
    pid: child.pid,
    databaseUrl,
    get stderr() {
      return stderrText;
    },
    get exited() {
      return exited;
    },
    /** Resolves with the newest unconsumed mail to `email`, or the next one to arrive. */
    waitForMail(email, timeoutMs = 5000) {
      const to = String(email).toLowerCase();
      const q = mailQueues.get(to);
      if (q && q.length) {
        const newest = q[q.length - 1];
        q.length = 0;
        return Promise.resolve(newest);
      }
      return new Promise((res, rej) => {
        if (!mailWaiters.has(to)) mailWaiters.set(to, []);
        const list = mailWaiters.get(to);
        const w = (f) => {
          clearTimeout(t);
          res(f);
        };
        const t = setTimeout(() => {
          const k = list.indexOf(w);
          if (k >= 0) list.splice(k, 1);
          rej(new Error(`no mail to ${email} within ${timeoutMs} ms`));
        }, timeoutMs);
        list.push(w);
      });
    },
    /**
     * Sends `signal` and resolves with {code, signal} once the process exited.
     * The database stays (a restart on `databaseUrl` finds it); stop() removes it.
     */
    terminate(signal = "SIGTERM") {
      if (!exited) child.kill(signal);
      return waitExit();
    },
    /** Sends `signal` (SIGKILL: a crash) and resolves once the process exited. */
    async kill(signal = "SIGKILL") {
      if (!exited) child.kill(signal);
      return waitExit();
    },
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const t = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {}
        }, 10000);
        await waitExit();
        clearTimeout(t);
      }
      cleanup();
      return exited;
    },
  };

  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {}
      cleanup();
      rejectStart(
        new Error(
          `chatwire did not print listener lines for ${waitFor.join(",")} within ${timeoutMs} ms\n--- stderr ---\n${stderrText.slice(-8000)}`,
        ),
      );
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      cleanup();
      rejectStart(new Error(`cannot spawn ${BIN}: ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (!ready.done) cleanup();
      rejectStart(
        new Error(
          `chatwire exited early (code ${code}, signal ${signal})\n--- stderr ---\n${stderrText.slice(-8000)}`,
        ),
      );
    });
    ready.then(() => {
      ready.done = true;
      clearTimeout(timer);
      resolveStart(server);
    });
  });
}

// ---------------------------------------------------------------- REST

export function parseSetCookie(line) {
  const parts = line.split(";").map((s) => s.trim());
  const [nv, ...attrs] = parts;
  const eq = nv.indexOf("=");
  const c = { name: nv.slice(0, eq), value: nv.slice(eq + 1), attrs: {} };
  for (const a of attrs) {
    const e = a.indexOf("=");
    if (e < 0) c.attrs[a.toLowerCase()] = true;
    else c.attrs[a.slice(0, e).toLowerCase()] = a.slice(e + 1);
  }
  return c;
}

/** Request helper: returns {status, headers, text, json, cookies:{name: parsedCookie}}. */
export async function request(base, method, path, { body, cookie, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (cookie) h.cookie = cookie;
  let payload;
  if (raw !== undefined) {
    payload = raw;
    if (!h["content-type"]) h["content-type"] = "application/json";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h["content-type"] = "application/json";
  }
  const res = await fetch(base + path, { method, headers: h, body: payload, redirect: "manual" });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const cookies = {};
  for (const line of res.headers.getSetCookie()) {
    const c = parseSetCookie(line);
    cookies[c.name] = c;
  }
  return { status: res.status, headers: res.headers, text, json, cookies };
}

export const post = (base, path, body, opts = {}) => request(base, "POST", path, { ...opts, body });
export const get = (base, path, opts = {}) => request(base, "GET", path, opts);

/** Turn a mail's absolute link into a path+query usable against `base`. */
export function linkPath(link) {
  const u = new URL(link);
  return u.pathname + u.search;
}

export function newIdentity(prefix = "User") {
  const tag = rand(6);
  const name = `${prefix} ${tag[0].toUpperCase()}${tag.slice(1)}`;
  return { name, email: `${prefix.toLowerCase()}.${tag}@e2e.test`, password: `pw-${rand(10)}` };
}

/** POST /signup (web) → mail → GET link. Returns the verify response. */
export async function signupVerify(server, base, { name, email, password }) {
  const s = await post(base, "/signup", { name, email, password });
  if (s.status !== 200 || !s.json || s.json.success !== 1) {
    throw new Error(`signup ${email} failed: ${s.status} ${s.text}`);
  }
  const mail = await server.waitForMail(email);
  if (!mail.link) throw new Error(`mail to ${email} has no link: ${JSON.stringify(mail)}`);
  const v = await get(base, linkPath(mail.link));
  if (v.status !== 200) throw new Error(`verify ${email} failed: ${v.status} ${v.text.slice(0, 200)}`);
  return v;
}

export function cookieHeaderFrom(cookies) {
  return `access_token=${cookies.access_token.value}; refresh_token=${cookies.refresh_token.value}`;
}

/** Signup, verify by link, login. Returns the cookie header string. */
export async function signupVerifyLogin(server, base, ident) {
  await signupVerify(server, base, ident);
  const l = await post(base, "/login", { email: ident.email, password: ident.password });
  if (l.status !== 200 || !l.json || l.json.success !== 1) {
    throw new Error(`login ${ident.email} failed: ${l.status} ${l.text}`);
  }
  if (!l.cookies.access_token || !l.cookies.refresh_token) {
    throw new Error(`login ${ident.email} set no token cookies: ${JSON.stringify(l.cookies)}`);
  }
  return cookieHeaderFrom(l.cookies);
}

export function tokensFromCookieHeader(cookie) {
  const out = {};
  for (const part of cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    out[k] = v.join("=");
  }
  return { accessToken: out.access_token, refreshToken: out.refresh_token };
}

// ---------------------------------------------------------------- Event log
//
// A client records what it receives, in arrival order, as entries
// {event, consumed, ...}: Socket.IO entries carry `args`, raw WebSocket entries
// carry `frame`. A `match` is an event name, a list of names, a predicate on the
// entry, or undefined for any event (Socket.IO's "$connect"-style pseudo-events
// excepted).

const LIFECYCLE = new Set(["$connect", "$disconnect", "$connect_error"]);

function matches(match, entry) {
  if (match === undefined) return !LIFECYCLE.has(entry.event);
  if (typeof match === "function") return match(entry);
  return [].concat(match).includes(entry.event);
}

const describe = (match) =>
  match === undefined ? "any event" : typeof match === "function" ? "a matching event" : JSON.stringify(match);

const show = (e) => `${e.event} ${JSON.stringify(e.frame ?? e.args)}`.slice(0, 300);

/** An empty log; the client calls `push(entry)` for each event it receives. */
export function eventLog() {
  const log = [];
  const waiters = []; // {match, consume, resolve}

  function wait(match, consume, timeoutMs) {
    const e = log.find((x) => !x.consumed && matches(match, x));
    if (e) {
      if (consume) e.consumed = true;
      return Promise.resolve(e);
    }
    return new Promise((resolve, reject) => {
      const w = {
        match,
        consume,
        resolve: (entry) => {
          clearTimeout(t);
          resolve(entry);
        },
      };
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(
          new Error(
            `timeout (${timeoutMs} ms) waiting for ${describe(match)}; received so far: ${JSON.stringify(
              log.map((x) => x.event),
            )}`,
          ),
        );
      }, timeoutMs);
      waiters.push(w);
    });
  }

  return {
    log,
    push(entry) {
      entry.consumed = false;
      log.push(entry);
      for (const w of [...waiters]) {
        if (!matches(w.match, entry) || (w.consume && entry.consumed)) continue;
        if (w.consume) entry.consumed = true;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    },
    /** Resolves with the next unconsumed entry matching `match`, and consumes it. */
    nextEntry: (match, timeoutMs = 3000) => wait(match, true, timeoutMs),
    /** Resolves with the next unconsumed entry matching `match`, leaving it to be consumed. */
    seen: (match, timeoutMs = 3000) => wait(match, false, timeoutMs),
    /** Unconsumed entries matching `match`. */
    pending: (match) => log.filter((e) => !e.consumed && matches(match, e)),
    /** Consumes everything received so far. */
    drain() {
      for (const e of log) e.consumed = true;
    },
    /**
     * Timed negative wait, for where no barrier exists (say why at the call): after
     * `ms`, fails if an unconsumed entry matching `match` arrived.
     */
    async expectNone(match, ms = 300) {
      await new Promise((r) => setTimeout(r, ms));
      const bad = log.filter((e) => !e.consumed && matches(match, e));
      if (bad.length) throw new Error(`unexpected event(s): ${bad.map(show).join("; ")}`);
    },
  };
}

/**
 * The "nothing arrived" check, without a fixed wait. `barrier` resolves with an
 * entry of `rec` (from rec.nextEntry or rec.seen) that the server sends to this
 * connection after it would have sent the forbidden event, such as one caused
 * only once the forbidden action was handled. A connection receives in order, so
 * this fails if an unconsumed entry matching `forbidden` came before the barrier.
 * The barrier's own match must not match a forbidden event, and its kind must be
 * ordered with the forbidden one: a direct answer to a request is not ordered with
 * the deliveries the server renders from its bus, so check a delivery against a
 * later delivery. Returns the barrier entry.
 */
export async function expectNoneBefore(rec, forbidden, barrier, label = "") {
  const mark = await barrier;
  const end = rec.log.indexOf(mark);
  if (end < 0) throw new Error("expectNoneBefore: the barrier is not an entry of this log");
  const bad = rec.log.slice(0, end).filter((e) => !e.consumed && matches(forbidden, e));
  if (bad.length) {
    throw new Error(`${label ? `${label}: ` : ""}arrived before ${show(mark)}: ${bad.map(show).join("; ")}`);
  }
  return mark;
}

// ---------------------------------------------------------------- Socket.IO

/**
 * Records every incoming event of a socket (attach before connecting) in an
 * eventLog of {event, args}. Pseudo-events: "$connect", "$disconnect" (payload =
 * reason), "$connect_error".
 */
export function recorder(socket) {
  const rec = eventLog();
  const push = (event, args) => rec.push({ event, args, at: Date.now() });
  socket.onAny((event, ...args) => push(event, args));
  socket.on("connect", () => push("$connect", []));
  socket.on("disconnect", (reason) => push("$disconnect", [reason]));
  socket.on("connect_error", (err) => push("$connect_error", [err]));
  /** names of all events received so far, in order */
  Object.defineProperty(rec, "events", { get: () => rec.log.map((e) => e.event) });
  /** all payloads (first arg) of `event` received so far */
  rec.all = (event) => rec.log.filter((e) => e.event === event).map((e) => e.args[0]);
  /** resolve with the entry of the next unconsumed event among `events` */
  rec.nextOf = (events, timeoutMs = 3000) => rec.nextEntry(events, timeoutMs);
  /** resolve with the payload (first argument) of the next unconsumed `event` */
  rec.next = async (event, timeoutMs = 3000) => (await rec.nextEntry(event, timeoutMs)).args[0];
  return rec;
}

/** Resolve with the payload of the next `event` on `socket`, or reject after timeoutMs. */
export function once(socket, event, timeoutMs = 3000) {
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      socket.off(event, h);
      rej(new Error(`timeout (${timeoutMs} ms) waiting for "${event}"`));
    }, timeoutMs);
    const h = (payload) => {
      clearTimeout(t);
      res(payload);
    };
    socket.once(event, h);
  });
}

const openSockets = new Set();

/**
 * Create (not connected) a socket with a recorder attached as `socket.rec`.
 * `cookie` and `headers` become extra headers; `auth` is the handshake's auth.
 */
export function makeSocket(base, cookie, { transports, query, upgrade, auth, headers } = {}) {
  const opts = {
    forceNew: true,
    reconnection: false,
    autoConnect: false,
    timeout: 5000,
  };
  if (cookie || headers) opts.extraHeaders = { ...headers, ...(cookie ? { cookie } : {}) };
  if (transports) opts.transports = transports;
  if (query) opts.query = query;
  if (upgrade !== undefined) opts.upgrade = upgrade;
  if (auth) opts.auth = auth;
  const socket = io(base, opts);
  socket.rec = recorder(socket);
  openSockets.add(socket);
  socket.on("disconnect", () => openSockets.delete(socket));
  return socket;
}

/**
 * Connected socket.io-client socket (listeners attached before connecting; see socket.rec).
 * Resolves on "connect"; rejects on connect_error or timeout.
 */
export async function connect(base, cookie, opts = {}) {
  const socket = makeSocket(base, cookie, opts);
  const p = socket.rec.nextOf(["$connect", "$connect_error"], 5000).then((e) => {
    if (e.event === "$connect_error") throw new Error(`connect_error: ${e.args[0]?.message}`);
  });
  socket.connect();
  await p;
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

export function closeAll() {
  for (const s of openSockets) {
    try {
      s.disconnect();
    } catch {}
  }
  openSockets.clear();
}

// ---------------------------------------------------------------- expresschat

/**
 * Connect an authenticated user and consume the three greeting events.
 * Returns {socket, rec, userId, userName, personal, groups}.
 */
export async function connectUser(base, cookie, opts = {}) {
  const socket = await connect(base, cookie, opts);
  const rec = socket.rec;
  const hello = await rec.next("user-id");
  const personal = await rec.next("personal-chat-list");
  const groups = await rec.next("group-chat-list");
  return {
    socket,
    rec,
    userId: hello.userId,
    userName: hello.userName,
    personal: personal.PersonalChatList,
    groups: groups.GroupChatList,
  };
}

/**
 * Full user: signup+verify+login, connected and greeted. Returns
 * {name, email, password, cookie, id, socket, rec, ...}.
 */
export async function makeUser(server, prefix = "User", opts = {}) {
  const base = server.urls.expresschat;
  const ident = newIdentity(prefix);
  const cookie = await signupVerifyLogin(server, base, ident);
  const c = await connectUser(base, cookie, opts);
  return { ...ident, cookie, id: c.userId, ...c };
}

/**
 * Round trip on the same socket that proves earlier events from it were processed
 * (the server handles a connection's events in arrival order). Its answer is sent
 * directly, not through the bus: it does not order deliveries to other users.
 */
export async function barrier(sock) {
  sock.emit("fetch-user-details", {});
  return sock.rec.next("user-details");
}

/**
 * A barrier for expresschat deliveries (see expectNoneBefore): `creator` (anything
 * with a `socket`) makes a throwaway group with `members`, and every socket of
 * each of them is told on the bus (`create-group-chat-creator` / `-receiver`),
 * after every delivery published before. Call it from the socket whose earlier
 * requests are checked, or once a delivery of the checked action was seen.
 * Returns `notice(rec)`: the promise of that notice's entry on `rec`.
 */
export function groupBarrier(creator, members = []) {
  const Name = `barrier ${rand(6)}`;
  creator.socket.emit("create-group-chat", { Name, Description: "", Participants: members.map((m) => m.id) });
  return (rec) => rec.nextEntry((e) => e.event.startsWith("create-group-chat-") && e.args[0]?.Name === Name);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The server under test: `chatwire serve` with every profile on 127.0.0.1:0, its
// stderr in a file (panics are counted from it), its RSS read from /proc, and a
// restart on the same database (the kill rounds). Mails of the console mailer are
// parsed from the JSON log so expresschat accounts can be verified.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, createWriteStream, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { BIN } from "../e2e/helpers.mjs";

export { BIN };

/** Limits a suite run must not trip by accident (the flood phase sets its own). */
export const SUITE_ENV = {
  BCRYPT_COST: "4",
  LOGIN_PER_IP_PER_MINUTE: "10000000",
  LOGIN_PER_ACCOUNT_PER_MINUTE: "10000000",
  MESSAGES_PER_MINUTE: "10000000",
  CALLS_MESSAGES_PER_MINUTE: "10000000",
  CALLS_CALLS_PER_MINUTE: "10000000",
  ORGCHAT_RATE_LIMIT_PER_MINUTE: "10000000",
  TESTCORE_RATE_LIMIT: "100000000",
  // the fixtures' access tokens must outlive a full run (the default 15 min ran out
  // in the third pass of 10k payloads per target, and every orgchat Socket.IO
  // connect was refused from then on)
  ACCESS_TOKEN_TTL_SECS: "14400",
  // mails at info (expresschat verification), the rest from warn up
  CHATWIRE_LOG: "warn,chatwire::core::mail=info",
  CHATWIRE_LOG_FORMAT: "json",
};

function unquote(v) {
  if (typeof v === "string" && v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v);
    } catch {}
  }
  return v;
}

/** A fresh database: a SQLite file in `dir`, or a new database on DATABASE_URL's PostgreSQL. */
export function freshDatabase(dir) {
  const envDb = process.env.DATABASE_URL || "";
  if (!envDb.startsWith("postgres")) return { url: `sqlite://${join(dir, "chatwire.db")}?mode=rwc`, drop() {} };
  const name = `cw_rel_${randomBytes(6).toString("hex")}`;
  execFileSync("psql", [envDb, "-v", "ON_ERROR_STOP=1", "-q", "-c", `CREATE DATABASE ${name}`], { stdio: ["ignore", "ignore", "pipe"] });
  const u = new URL(envDb);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop() {
      try {
        execFileSync("psql", [envDb, "-q", "-c", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: "ignore" });
      } catch {}
    },
  };
}

const live = new Set();
process.on("exit", () => {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch {}
  }
});

/**
 * A server handle: start() (again after a kill, on the same database), kill(sig),
 * rss() in KB, panics(), urls, waitForMail(email), stop() (SIGTERM, removes the dir).
 */
export function makeServer(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), "cw-rel-"));
  const db = freshDatabase(dir);
  const logPath = join(dir, "server.log");
  const log = createWriteStream(logPath, { flags: "a" });
  const mails = new Map();
  const mailWaiters = new Map();
  let child = null;
  let exited = null;
  let exitWaiters = [];
  let starts = 0;
  const unexpectedExits = [];
  const s = {
    dir,
    logPath,
    db,
    databaseUrl: db.url,
    urls: {},
    get pid() {
      return child?.pid;
    },
    get running() {
      return child && !exited;
    },
    starts: () => starts,
    /** exits we did not ask for (crashes) */
    unexpectedExits,
    start(timeoutMs = 30000) {
      exited = null;
      exitWaiters = [];
      starts += 1;
      const env = {
        ...process.env,
        CHATWIRE_EXPRESSCHAT_ADDR: "127.0.0.1:0",
        CHATWIRE_CALLS_ADDR: "127.0.0.1:0",
        CHATWIRE_ORGCHAT_ADDR: "127.0.0.1:0",
        CHATWIRE_CHATSPHERE_ADDR: "127.0.0.1:0",
        CHATWIRE_TESTCORE_ADDR: "127.0.0.1:0",
        ...SUITE_ENV,
        ...extraEnv,
        DATABASE_URL: db.url,
      };
      const c = spawn(BIN, ["serve"], { env, stdio: ["ignore", "pipe", "pipe"], cwd: dir });
      child = c;
      live.add(c);
      c.expected = false;
      let errBuf = "";
      c.stderr.setEncoding("utf8");
      c.stderr.on("data", (chunk) => {
        log.write(chunk);
        errBuf += chunk;
        let i;
        while ((i = errBuf.indexOf("\n")) >= 0) {
          const line = errBuf.slice(0, i);
          errBuf = errBuf.slice(i + 1);
          if (!line.startsWith("{") || !line.includes("mail")) continue;
          let obj;
          try {
            obj = JSON.parse(line);
          } catch {
            continue;
          }
          const f = obj.fields ?? obj;
          if (!String(obj.target ?? "").startsWith("chatwire::core::mail") || f.to === undefined) continue;
          const m = {};
          for (const [k, v] of Object.entries(f)) m[k] = unquote(v);
          const to = String(m.to).toLowerCase();
          const w = mailWaiters.get(to);
          if (w) {
            mailWaiters.delete(to);
            w(m);
          } else mails.set(to, m);
        }
      });
      const urls = {};
      let outBuf = "";
      c.stdout.setEncoding("utf8");
      const ready = new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`chatwire did not start within ${timeoutMs} ms (log ${logPath})`)), timeoutMs);
        c.stdout.on("data", (chunk) => {
          outBuf += chunk;
          let i;
          while ((i = outBuf.indexOf("\n")) >= 0) {
            const line = outBuf.slice(0, i).trim();
            outBuf = outBuf.slice(i + 1);
            const m = /^chatwire: (\w+)\s+(http\S+)/.exec(line);
            if (m) urls[m[1]] = m[2].replace(/\/+$/, "");
            if (Object.keys(urls).length === 5) {
              clearTimeout(t);
              res();
            }
          }
        });
        c.on("exit", (code, signal) => {
          clearTimeout(t);
          rej(new Error(`chatwire exited on start (${code} ${signal}); log ${logPath}`));
        });
      });
      c.on("exit", (code, signal) => {
        live.delete(c);
        exited = { code, signal };
        if (!c.expected) unexpectedExits.push(exited);
        for (const w of exitWaiters) w(exited);
      });
      return ready.then(() => {
        s.urls = urls;
        return s;
      });
    },
    waitExit(timeoutMs = 20000) {
      if (exited) return Promise.resolve(exited);
      return new Promise((res) => {
        const t = setTimeout(() => res(null), timeoutMs);
        exitWaiters.push((e) => {
          clearTimeout(t);
          res(e);
        });
      });
    },
    /** Sends `sig`; resolves with the exit ({code, signal}), or null if it did not exit in time. */
    async kill(sig = "SIGKILL", timeoutMs = 20000) {
      if (!child || exited) return exited;
      child.expected = true;
      child.kill(sig);
      const e = await s.waitExit(timeoutMs);
      if (!e) {
        child.kill("SIGKILL");
        await s.waitExit(5000);
      }
      return e;
    },
    /** Resident set size of the server in KB (0 when not running). */
    rss() {
      if (!child || exited) return 0;
      try {
        const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        return m ? Number(m[1]) : 0;
      } catch {
        return 0;
      }
    },
    /**
     * Memory of the server from /proc (KB): RSS, its anonymous part (heap, stacks)
     * and its file-backed part (the binary's code pages), and the thread count.
     */
    mem() {
      const out = { rss: 0, anon: 0, file: 0, threads: 0 };
      if (!child || exited) return out;
      try {
        const st = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const get = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
        return { rss: get("VmRSS"), anon: get("RssAnon"), file: get("RssFile"), threads: get("Threads") };
      } catch {
        return out;
      }
    },
    /** Panics in the server log so far (every start). */
    panics() {
      try {
        const text = readFileSync(logPath, "utf8");
        return (text.match(/panicked at/g) || []).length;
      } catch {
        return 0;
      }
    },
    waitForMail(email, timeoutMs = 10000) {
      const to = String(email).toLowerCase();
      if (mails.has(to)) {
        const m = mails.get(to);
        mails.delete(to);
        return Promise.resolve(m);
      }
      return new Promise((res, rej) => {
        const t = setTimeout(() => {
          mailWaiters.delete(to);
          rej(new Error(`no mail to ${email}`));
        }, timeoutMs);
        mailWaiters.set(to, (m) => {
          clearTimeout(t);
          res(m);
        });
      });
    },
    async stop({ keep = false } = {}) {
      await s.kill("SIGTERM");
      log.end();
      db.drop();
      if (!keep && !process.env.RELIABILITY_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  return s;
}

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The reliability suite's driver: `node runner.mjs --quick|--full`. See README.md.
// Phases, each on a server of its own (fresh database):
//   A. malformed input (passes over every target, RSS after each), the
//      authorization matrix, floods and slow readers with a canary pair;
//   B. SIGKILL / SIGTERM rounds while every profile sends, then catch-up;
//   C. the soak.
// Prints the figures, writes target/reliability/results.json, and with --full
// RELIABILITY.md at the repository root. Exits 1 on a panic, a crash, a 5xx, a
// lost confirmed message, an accepted unauthorized request, or a missed message
// that cannot be fetched.

import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { makeServer, sleep, BIN } from "./server.mjs";
import { makeFixtures } from "./fixtures.mjs";
import { runMalformed, targets } from "./malformed.mjs";
import { runAuthz, SECRETS } from "./authz.mjs";
import { runKills, runCatchUp } from "./durability.mjs";
import { runFlood } from "./flood.mjs";
import { runSoak } from "./soak.mjs";
import { REPO_ROOT } from "../e2e/helpers.mjs";
import { writeReport } from "./report.mjs";

const full = process.argv.includes("--full");
const num = (name, quick, fullV) => Number(process.env[name] ?? (full ? fullV : quick));
const P = {
  mode: full ? "full" : "quick",
  perTarget: num("RELIABILITY_PAYLOADS", 100, 3334),
  passes: num("RELIABILITY_PASSES", 2, 3),
  killRounds: num("RELIABILITY_KILL_ROUNDS", 2, 6),
  killSeconds: num("RELIABILITY_KILL_SECONDS", 3, 5),
  missed: num("RELIABILITY_MISSED", 30, 1200),
  floodMs: num("RELIABILITY_FLOOD_MS", 4000, 15000),
  soakConns: num("RELIABILITY_SOAK_CONNS", 150, 10000),
  soakUsers: num("RELIABILITY_SOAK_USERS", 30, 1000),
  soakMinutes: num("RELIABILITY_SOAK_MINUTES", 0.75, 10),
  settleMs: num("RELIABILITY_SETTLE_MS", 5000, 10000),
  // after the last malformed pass: long enough for idle database connections to be
  // closed (idle 20 s, looked for every 20 s) and the freed memory trimmed (every 10 s)
  restMs: num("RELIABILITY_REST_MS", 0, 70000),
};
const only = (process.env.RELIABILITY_PHASES ?? "malformed,authz,flood,kill,catchup,soak").split(",");

Object.assign(process.env, SECRETS); // the CLI (chatsphere's first client token) and the servers share them
const started = Date.now();
const log = (...a) => console.log(...a);
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0)} s]`;
const R = { params: P, startedAt: new Date().toISOString(), bin: BIN, database: (process.env.DATABASE_URL || "").startsWith("postgres") ? "PostgreSQL" : "SQLite" };
const servers = [];

async function phaseA() {
  const s = makeServer();
  servers.push(s);
  await s.start();
  const fx = await makeFixtures(s);
  await sleep(1000);
  const startMem = s.mem();
  R.memory = { startKB: startMem.rss, startMem, passes: [] };
  if (only.includes("malformed")) {
    log(`${stamp()} malformed input: ${targets(fx).length} targets x ${P.perTarget} payloads, ${P.passes} passes`);
    R.malformed = [];
    for (let pass = 1; pass <= P.passes && s.running; pass++) {
      const passStarted = Date.now();
      const rows = await runMalformed(s, fx, { perTarget: P.perTarget, seed: pass, log: pass === 1 ? log : () => {} });
      const endKB = s.rss();
      const seconds = Math.round((Date.now() - passStarted) / 1000);
      await sleep(P.settleMs);
      const settledMem = s.mem();
      const settledKB = settledMem.rss;
      R.memory.passes.push({ pass, endKB, settledKB, settledMem, seconds });
      log(`${stamp()}   pass ${pass}: RSS ${endKB} KB at the end, ${settledKB} KB ${P.settleMs / 1000} s later`);
      if (pass === 1) R.malformed = rows;
      else
        rows.forEach((r, i) => {
          const t = R.malformed[i];
          if (!t) return;
          for (const k of ["sent", "status5xx", "outside", "resets", "closes", "answers"]) t[k] += r[k];
          if (t.examples.length < 3) t.examples.push(...r.examples.slice(0, 3 - t.examples.length));
        });
    }
  }
  if (P.restMs && s.running) {
    await sleep(P.restMs);
    R.memory.restMem = s.mem();
    R.memory.restKB = R.memory.restMem.rss;
    log(`${stamp()}   ${P.restMs / 1000} s after the last pass: RSS ${R.memory.restKB} KB`);
  }
  if (only.includes("authz") && s.running) {
    log(`${stamp()} authorization matrix`);
    R.authz = await runAuthz(s, fx, { log });
  }
  if (only.includes("flood") && s.running) {
    log(`${stamp()} floods and slow readers`);
    R.flood = await runFlood(s, fx, { quietMs: 3000, loadMs: P.floodMs, log });
  }
  R.serverA = { panics: s.panics(), crashes: s.unexpectedExits.length, logPath: s.logPath };
  await s.stop({ keep: R.serverA.panics > 0 || R.serverA.crashes > 0 });
}

async function phaseB() {
  if (!only.includes("kill") && !only.includes("catchup")) return;
  const s = makeServer();
  servers.push(s);
  await s.start();
  const fx = await makeFixtures(s);
  if (only.includes("kill")) {
    log(`${stamp()} kill rounds: ${P.killRounds} (the last SIGTERM), ${P.killSeconds} s of sending each`);
    R.kills = await runKills(s, fx, { rounds: P.killRounds, seconds: P.killSeconds, log });
    for (const r of R.kills.rows) log(`  ${r.profile}: ${r.confirmed} confirmed, ${r.missing} missing after restart`);
  }
  if (only.includes("catchup")) {
    log(`${stamp()} reconnect and catch up: ${P.missed} missed messages per profile`);
    R.catchUp = await runCatchUp(s, fx, { missed: P.missed, log });
  }
  R.serverB = { panics: s.panics(), crashes: s.unexpectedExits.length, logPath: s.logPath };
  await s.stop({ keep: R.serverB.panics > 0 || R.serverB.crashes > 0 });
}

async function phaseC() {
  if (!only.includes("soak")) return;
  const s = makeServer({ CHATWIRE_LOG: "error,chatwire::core::mail=info" });
  servers.push(s);
  await s.start();
  log(`${stamp()} soak: ${P.soakConns} connections, ${P.soakUsers} users, ${P.soakMinutes} min`);
  R.soak = await runSoak(s, { conns: P.soakConns, users: P.soakUsers, minutes: P.soakMinutes, sampleMs: full ? 10000 : 3000, settleMs: P.settleMs, log });
  R.serverC = { panics: s.panics(), crashes: s.unexpectedExits.length, logPath: s.logPath };
  await s.stop({ keep: R.serverC.panics > 0 || R.serverC.crashes > 0 });
}

let failed = null;
try {
  await phaseA();
  await phaseB();
  await phaseC();
} catch (e) {
  failed = e;
  console.error(`${stamp()} the suite itself failed: ${e.stack ?? e}`);
}
R.seconds = Math.round((Date.now() - started) / 1000);

// ---------------------------------------------------------------- verdict
const sum = (xs, k) => xs.reduce((a, r) => a + (r[k] ?? 0), 0);
const panics = ["serverA", "serverB", "serverC"].reduce((a, k) => a + (R[k]?.panics ?? 0), 0);
const crashes = ["serverA", "serverB", "serverC"].reduce((a, k) => a + (R[k]?.crashes ?? 0), 0);
const mal = R.malformed ?? [];
const accepted = (R.authz ?? []).filter((r) => r.verdict === "accepted");
const authzErrors = (R.authz ?? []).filter((r) => r.verdict === "error");
const lost = sum(R.kills?.rows ?? [], "missing");
const unfetched = (R.catchUp ?? []).filter((r) => r.error || r.fetched !== r.missed || !r.inOrder || r.duplicates);
const silent = R.flood ? Object.values(R.flood.slow).filter((x) => x.verdict === "silent loss").length + (R.flood.loaded.lost ?? 0) : 0;
R.summary = {
  panics,
  crashes,
  payloads: sum(mal, "sent"),
  targets: mal.length,
  status5xx: sum(mal, "status5xx") + authzErrors.length,
  outsideChannel: sum(mal, "outside"),
  resets: sum(mal, "resets"),
  authzTries: (R.authz ?? []).length,
  authzAccepted: accepted.length,
  confirmed: sum(R.kills?.rows ?? [], "confirmed"),
  lost,
  unfetched: unfetched.length,
  silentLosses: silent,
  soakGrowthPct: R.soak?.growthPct ?? null,
};
const problems = [];
if (failed) problems.push(`the suite could not finish: ${failed.message}`);
if (panics) problems.push(`${panics} panics`);
if (crashes) problems.push(`${crashes} crashes`);
if (R.summary.status5xx) problems.push(`${R.summary.status5xx} server errors (5xx)`);
if (lost) problems.push(`${lost} confirmed messages lost`);
if (accepted.length) problems.push(`${accepted.length} unauthorized requests accepted`);
if (unfetched.length) problems.push(`missed messages not fetchable on ${unfetched.map((r) => r.profile).join(", ")}`);
if (silent) problems.push(`${silent} silent losses (slow reader or canary)`);
R.problems = problems;

log("");
log(`reliability (${P.mode}, ${R.database}, ${R.seconds} s): ${JSON.stringify(R.summary)}`);
if (accepted.length) for (const a of accepted) log(`  accepted: ${a.profile} / ${a.case} / ${a.target}`);
const outDir = join(REPO_ROOT, "target", "reliability");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `results-${P.mode}.json`), JSON.stringify(R, null, 1));
if (full) {
  let versions = {};
  try {
    versions.chatwire = execFileSync("git", ["-C", REPO_ROOT, "describe", "--always", "--dirty"]).toString().trim();
  } catch {}
  try {
    versions.rustc = execFileSync("rustc", ["--version"]).toString().trim();
  } catch {}
  versions.node = process.version;
  R.versions = versions;
  writeReport(join(REPO_ROOT, "RELIABILITY.md"), R);
  log(`wrote RELIABILITY.md`);
}
if (problems.length) {
  log(`FAILED: ${problems.join("; ")}`);
  process.exit(1);
}
log("passed: 0 panics, 0 crashes, 0 server errors, 0 confirmed messages lost, 100% of unauthorized requests refused, every missed message fetchable");
process.exit(0);

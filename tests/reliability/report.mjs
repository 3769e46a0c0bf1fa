// RELIABILITY.md from a full run's results (runner.mjs --full).

import { writeFileSync } from "node:fs";
import { cpus, release } from "node:os";

const pct = (a, b) => (b ? `${((a / b) * 100).toFixed(1)}%` : "n/a");
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
const signed = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`;

/** Whether RSS came back within 5% of its baseline after the malformed passes (at rest). */
function memoryMet(R) {
  const mem = R.memory?.passes ?? [];
  const end = R.memory?.restKB ?? mem.at(-1)?.settledKB ?? null;
  return end !== null && R.memory?.startKB > 0 && end <= R.memory.startKB * 1.05;
}

/** REST requests that got no answer at all (their connection closed): resets of other
 * targets (Engine.IO garbage, which the server may answer by closing) are allowed. */
function unanswered(R) {
  return (R.malformed ?? []).filter((t) => t.kind === "rest").reduce((a, t) => a + (t.resets ?? 0), 0);
}

export function writeReport(path, R) {
  const S = R.summary;
  const P = R.params;
  const L = [];
  const met = (ok) => (ok ? "met" : "**not met**");
  L.push("# Reliability", "");
  L.push(`Written by \`tests/reliability/run.sh --full\` on ${R.startedAt.slice(0, 10)} (${R.seconds} s). Rerun it to refresh this page;`);
  L.push("`tests/reliability/README.md` says what each phase does. Goals: `targets.md`, \"Reliability goals\".", "");
  L.push(`- chatwire ${R.versions?.chatwire ?? "?"} (\`${R.bin.replace(/.*\/target\//, "target/")}\`), ${R.versions?.rustc ?? ""}, Node ${R.versions?.node}`);
  L.push(`- ${R.database}; ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Linux ${release()}; one node, loopback only`);
  L.push(`- parameters: ${Object.entries(P).map(([k, v]) => `${k}=${v}`).join(", ")}`);
  if (R.mergedFrom) L.push(`- ${R.mergedFrom}`);
  L.push("");

  const mem = R.memory?.passes ?? [];
  const memBack = mem.length >= 2 ? ((mem.at(-1).settledKB - mem[mem.length - 2].settledKB) / mem[mem.length - 2].settledKB) * 100 : null;
  const authzN = S.authzTries;
  L.push("## Figures against the goals", "");
  L.push("| goal (targets.md) | figure | |", "|---|---|---|");
  L.push(`| bad input: 0 panics, 0 server errors, 0 crashes | ${S.payloads} malformed payloads over ${S.targets} events and routes (${P.perTarget} per target and pass, ${P.passes} passes): ${S.panics} panics, ${S.status5xx} server errors, ${S.crashes} crashes | ${met(!S.panics && !S.status5xx && !S.crashes)} |`);
  L.push(`| bad input: >= 10k payloads per event and route | ${P.perTarget * P.passes} per target | ${met(P.perTarget * P.passes >= 10000)} |`);
  L.push(`| bad input: each answered on the profile's error channel | ${S.outsideChannel} answers outside it (${unanswered(R)} of them no answer at all) | ${met(!S.outsideChannel)} |`);
  L.push(`| bad input: 0 effects on other connections | canary during floods: ${R.flood ? `${R.flood.loaded.lost} lost, closed ${R.flood.loaded.closed}` : "not run"} | ${met(R.flood && !R.flood.loaded.lost && !R.flood.loaded.closed)} |`);
  const restKB = R.memory?.restKB ?? mem.at(-1)?.settledKB ?? null;
  const startKB = R.memory?.startKB ?? 0;
  L.push(`| bad input: memory back to baseline (within 5%) | RSS ${mb(startKB)} before, ${mem.map((m) => `${mb(m.settledKB)}`).join(" -> ")} ${P.settleMs / 1000} s after passes 1..${mem.length}${R.memory?.restKB ? `, ${mb(R.memory.restKB)} ${P.restMs / 1000} s after the last` : ""}${restKB !== null && startKB ? ` (${signed(((restKB - startKB) / startKB) * 100)})` : ""} | ${met(memoryMet(R))} |`);
  L.push(`| (no growth pass after pass) | ${memBack === null ? "n/a" : `${memBack >= 0 ? "+" : ""}${memBack.toFixed(1)}%`} over the last pass | ${met(memBack !== null && memBack < 5)} (< 5%) |`);
  L.push(`| authorization: 100% refused | ${authzN - S.authzAccepted} of ${authzN} refused (${pct(authzN - S.authzAccepted, authzN)}) | ${met(!S.authzAccepted)} |`);
  L.push(`| no loss under SIGTERM / SIGKILL | ${S.confirmed} confirmed messages over ${R.kills?.kills.length ?? 0} kills, ${S.lost} missing after restart | ${met(R.kills && !S.lost)} |`);
  L.push(`| reconnect: everything missed fetchable | ${(R.catchUp ?? []).map((r) => `${r.profile} ${r.fetched}/${r.missed}${r.inOrder ? "" : " (order!)"}`).join(", ")} | ${met(R.catchUp && !S.unfetched)} |`);
  const so = R.soak;
  L.push(`| soak: 10k connections, 10 min, RSS growth < 5%, no error | ${so ? `${so.connections} connections, ${so.minutes} min: ${so.growthPct?.toFixed(2)}% over the second half; ${so.connectFailures} connect failures, ${so.unexpectedCloses} unexpected closes` : "not run"} | ${met(so && so.connections >= 10000 && so.minutes >= 10 && so.growthPct < 5 && !so.connectFailures && !so.unexpectedCloses)} |`);
  L.push(`| cluster: delivery across nodes on every profile; a killed node's clients reconnect to the other with nothing lost; Redis restarted, nodes recover within 5 s | not measured by this suite (one node): asserted pass/fail by \`tests/e2e/cluster/\` (profiles, limits, failure) in CI's PostgreSQL pass, with two nodes, SIGKILL and a Redis restart (README, "Cluster mode") | tested, not measured |`);
  L.push("");
  if (R.problems.length) L.push(`Failed checks of this run: ${R.problems.join("; ")}.`, "");

  L.push("## Malformed input", "");
  L.push("Per target: payloads sent, 5xx, answers outside the profile's error channel (REST: an error whose body is not a JSON object, or no answer; raw WebSocket: a frame that is not JSON, a close without status or 1011), closes (the server closing a connection after a refusal or a limit is allowed), and an example of an outside answer.", "");
  L.push("| profile | kind | target | sent | 5xx | outside | closes | example |", "|---|---|---|---|---|---|---|---|");
  for (const r of R.malformed ?? []) L.push(`| ${r.profile} | ${r.kind} | ${r.name} | ${r.sent} | ${r.status5xx} | ${r.outside} | ${r.closes} | ${(r.examples[0] ?? "").replace(/\|/g, "\\|").replace(/`/g, "'").slice(0, 90)} |`);
  L.push("");
  if (mem.length) {
    L.push("## Memory after bad input", "");
    L.push("The server's memory from /proc: RSS, its anonymous part (heap, stacks) and its file-backed part (the binary's code pages), and its threads (one per open SQLite connection besides the runtime's).", "");
    L.push("| when | RSS | anonymous | file-backed | threads |", "|---|---|---|---|---|");
    const row = (when, m) => m && L.push(`| ${when} | ${mb(m.rss)} | ${mb(m.anon)} | ${mb(m.file)} | ${m.threads} |`);
    row("before the first pass", R.memory.startMem);
    for (const m of mem) row(`${P.settleMs / 1000} s after pass ${m.pass} (${m.seconds} s of payloads)`, m.settledMem);
    row(`${P.restMs / 1000} s after the last pass`, R.memory.restMem);
    L.push("");
    L.push(
      "Figures 10 s after a pass include what the pass's last minute left alive for a while: the Engine.IO sessions the garbage requests opened (a session that never sends its Socket.IO CONNECT is closed after SOCKETIO_CONNECT_TIMEOUT_MS, 10 s; before that setting existed it lived until socketioxide's 45 s connect timeout or its ping timeout, 25 + 20 s, and the three Engine.IO garbage targets at 3334 requests each took RSS from 30.5 to 82.5 MB, back at 31.2 MB 40 s later) and the pool's database connections (closed 20 to 40 s after their last use). The figure at rest is the one compared with the baseline.",
      "",
    );
  }
  L.push("## Authorization matrix", "");
  const cases = {};
  for (const r of R.authz ?? []) {
    const k = `${r.profile}|${r.case}`;
    cases[k] ??= { profile: r.profile, case: r.case, n: 0, refused: 0 };
    cases[k].n++;
    if (r.verdict === "refused") cases[k].refused++;
  }
  L.push("| profile | case | tries | refused |", "|---|---|---|---|");
  for (const c of Object.values(cases)) L.push(`| ${c.profile} | ${c.case} | ${c.n} | ${pct(c.refused, c.n)} |`);
  const acc = (R.authz ?? []).filter((r) => r.verdict !== "refused");
  if (acc.length) {
    L.push("", "Not refused:", "");
    for (const a of acc) L.push(`- ${a.verdict}: ${a.profile} / ${a.case} / ${a.target} (${String(a.detail).replace(/\|/g, "/").slice(0, 100)})`);
  }
  L.push("");
  L.push("## Kills and catch-up", "");
  for (const k of R.kills?.kills ?? []) L.push(`- round ${k.round}: ${k.signal}, exit ${JSON.stringify(k.exit)} after ${k.stopMs} ms`);
  L.push("", "| profile | sends tried | confirmed | missing after restart |", "|---|---|---|---|");
  for (const r of R.kills?.rows ?? []) L.push(`| ${r.profile} | ${r.attempted} | ${r.confirmed} | ${r.missing} |`);
  L.push("", "| profile | missed while away | fetched with `after` | in order | duplicates |", "|---|---|---|---|---|");
  for (const r of R.catchUp ?? []) L.push(`| ${r.profile} | ${r.missed} | ${r.fetched} | ${r.inOrder} | ${r.duplicates}${r.error ? ` (${r.error})` : ""} |`);
  L.push("");
  if (R.flood) {
    const f = R.flood;
    L.push("## Floods and slow readers", "");
    L.push("Canary pair (orgchat, raw WebSocket, one message every 50 ms), latency send -> partner in ms:", "");
    L.push("| | sent | received | lost | p50 | p99 | max |", "|---|---|---|---|---|---|---|");
    for (const [n, c] of [["quiet", f.quiet], ["under floods", f.loaded]]) L.push(`| ${n} | ${c.sent} | ${c.got} | ${c.lost} | ${c.p50} | ${c.p99} | ${c.max} |`);
    L.push("");
    for (const [p, x] of Object.entries(f.flooders)) L.push(`- ${p} flooder: ${x.sent} frames/events queued, ${x.closedBy === null ? "never closed" : `closed by the server (${x.closedBy})`}`);
    for (const [p, x] of Object.entries(f.slow)) L.push(`- slow ${p === "raw" ? "raw WebSocket (chatsphere)" : "Socket.IO (expresschat)"} reader: ${x.verdict} (closed: ${x.closedBy}, got ${x.got} of the ${x.reference} a reading tab got)`);
    L.push("");
  }
  if (so) {
    L.push("## Soak", "");
    L.push(`${so.connections} connections (orgchat and chatsphere raw WebSockets, expresschat Socket.IO) in ${so.conversations} conversations of five users, one message per conversation per second, ${so.minutes} min: ${so.sent} messages sent, ${so.received} frames received. RSS ${mb(so.baselineKB)} before connecting, ${mb(so.midKB)} at the middle, ${mb(so.lastKB)} at the end (${so.growthPct?.toFixed(2)}% over the second half), ${mb(so.afterCloseKB)} ${P.settleMs / 1000} s after every connection closed.`, "");
    L.push(`RSS samples (s: MB): ${so.samples.map((x) => `${x.t}: ${(x.rss / 1024).toFixed(1)}`).join(", ")}`, "");
  }
  L.push("## What falls short, and why", "");
  L.push(...shortfalls(R), "");
  writeFileSync(path, L.join("\n"));
}

/** Plain words for each figure that misses its goal (patterns known from issue 14). */
function shortfalls(R) {
  const out = [];
  const S = R.summary;
  const P = R.params;
  const space = (R.authz ?? []).filter((r) => r.verdict === "accepted" && r.case === "other profile's space");
  const otherAcc = (R.authz ?? []).filter((r) => r.verdict === "accepted" && r.case !== "other profile's space");
  if (space.length)
    out.push(`- Authorization: ${space.length} tries with another profile's token or account were accepted (expresschat admits accounts and tokens of calls, orgchat and testcore; calls admits expresschat's and testcore's tokens; orgchat's refresh accepts expresschat's refresh token). This is issue 14 defect 2 (token spaces per profile), fixed on another branch; rerun after the merge.`);
  if (otherAcc.length) out.push(`- Authorization: ${otherAcc.length} other tries accepted: ${otherAcc.map((a) => `${a.profile} / ${a.case} / ${a.target}`).join("; ")}.`);
  const mal = R.malformed ?? [];
  const ex = mal.flatMap((r) => r.examples);
  const n = (re) => ex.filter((e) => re.test(e)).length;
  if (S.outsideChannel) {
    const parts = [];
    if (n(/-> 414/)) parts.push("query strings over ~64 KB answered 414 with an empty body");
    if (n(/-> 413/)) parts.push("bodies over MAX_FRAME_BYTES answered 413 `length limit exceeded` as text/plain");
    if (n(/-> 400 "Invalid URL/)) parts.push("bad percent-encoding in a path answered 400 text/plain");
    if (n(/no answer/)) parts.push(`${unanswered(R)} of the REST requests got no answer (the connection closed under the client: ${ex.filter((e) => /no answer/.test(e)).slice(0, 3).join(", ")}); not investigated: about 3% of REST payloads are bodies over MAX_FRAME_BYTES, answered 413 while the listener goes on reading and discarding the rest (transport/listener.rs, LINGER), and a race at such a close on a kept-alive connection is the likeliest cause, not verified`);
    if (n(/close 1006/)) parts.push("a few raw WebSocket connections were seen closed without a status (1006), at most one per target; most likely the server's 1009 close of an oversized frame racing the client's next frames (not verified)");
    out.push(`- Error channel: ${S.outsideChannel} answers outside the profile's envelope: ${parts.join("; ")}.`);
  }
  if (P.perTarget * P.passes < 10000)
    out.push(`- Bad input volume: ${P.perTarget * P.passes} payloads per target instead of targets.md's 10k, to keep the run short (RELIABILITY_PAYLOADS and RELIABILITY_PASSES raise it; the full run's default is 3334 per pass, 3 passes).`);
  const mem = R.memory?.passes ?? [];
  if (mem.length && !memoryMet(R)) {
    const start = R.memory.startMem ?? { rss: R.memory.startKB, anon: 0, file: 0 };
    const end = R.memory.restMem ?? mem.at(-1).settledMem ?? { rss: mem.at(-1).settledKB, anon: 0, file: 0 };
    const last = mem.at(-1).settledKB;
    const prev = mem.length >= 2 ? mem.at(-2).settledKB : null;
    out.push(
      `- Memory after bad input: RSS ${mb(start.rss)} before, ${mem.map((m) => mb(m.settledKB)).join(" / ")} ${P.settleMs / 1000} s after passes 1..${mem.length}${prev ? ` (${signed(((last - prev) / prev) * 100)} over the last pass)` : ""}, ${mb(end.rss)} at rest: ${signed(((end.rss - start.rss) / start.rss) * 100)} over the baseline, not within 5%. ` +
        `Of the ${mb(end.rss - start.rss)} above it, ${mb(end.anon - start.anon)} are anonymous memory (the heap) and ${mb(end.file - start.file)} the binary's code pages (file-backed, touched for the first time by error paths: once). ` +
        (prev && Math.abs((last - prev) / prev) < 0.05
          ? `The passes themselves no longer add memory (${signed(((last - prev) / prev) * 100)} from the second pass to the third). `
          : `${P.settleMs / 1000} s after a pass RSS still holds what that pass left alive for a while (the "Memory" section above says what); ${P.restMs / 1000} s after the last pass it was back to ${mb(end.rss)}, so the pass-over-pass figure (${prev ? signed(((last - prev) / prev) * 100) : "n/a"}) measures how busy the last minute of each pass was, not growth. `) +
        "What the heap bytes at rest are, measured on an earlier binary (before issue 13's third pass; not repeated since) in separate runs of this phase (3 passes of 150-200 payloads per target; heaptrack for live bytes, glibc's malloc_info for what the allocator holds): " +
        "the live heap does not grow from pass to pass: heaptrack counted 6.8 MB live after the fixtures and 6.0 MB 70 s after the third pass, with a peak of 16.5 MB during a pass (Engine.IO sessions opened by garbage polling requests, 2.7 MB until they were closed, then after 45 s, now after the 10 s connect timeout; the pool connections' SQLite page and statement caches, about 5 MB; HTTP and WebSocket buffers). " +
        "What stays is memory glibc keeps after that peak: at rest its arenas held 18.5 MB, 7.0 MB of it free but in about 4,200 pieces of 1.7 KB on average, spread over pages that still hold a few live objects, so malloc_trim cannot hand those pages back (fragmentation). " +
        "Tried and measured, none brought it within 5%: glibc tunables (arena_max=2; a fixed mmap_threshold of 32 or 128 KiB) changed it by under 1 MB; jemalloc (LD_PRELOAD, 1 s decay) was worse (49 MB after the first pass against 40 MB); a pool of 4 database connections instead of 16 ended the passes at 35 / 37 / 38 MB and rested at 34 MB, at the cost of read concurrency, not kept. " +
        "Found and fixed on the way (issue 14, defect 5): histogram samples piled up (about 16 bytes per handled event, unbounded when nothing scraped /metrics; now folded every 10 s, tests/metrics_memory.rs); idle database connections were closed only 60 to 120 s after their last use (sqlx looks once per idle timeout), so a rest of 70 s still saw the whole pool and its caches (21 threads; RSS fell by 5 MB when they closed): the idle timeout is 20 s now. " +
        `Every per-key map is bounded or swept (README, "Reliability"). The soak's RSS falls from ${R.soak ? (R.soak.lastKB / 1024).toFixed(0) : "?"} MB to ${R.soak ? (R.soak.afterCloseKB / 1024).toFixed(1) : "?"} MB once its connections close.`,
    );
  }
  const so = R.soak;
  if (so && !(so.connections >= 10000 && so.minutes >= 10 && so.growthPct < 5 && !so.connectFailures && !so.unexpectedCloses))
    out.push(`- Soak: ${so.connections} connections for ${so.minutes} min, ${so.growthPct?.toFixed(2)}% RSS growth over the second half, ${so.connectFailures} connect failures, ${so.unexpectedCloses} unexpected closes.${so.connections < 10000 ? " Fewer than 10k connections opened." : ""}`);
  if (R.soak) out.push(`- Soak memory per connection: ${((R.soak.midKB - R.soak.baselineKB) / R.soak.connections).toFixed(0)} KB of RSS per connection at ${R.soak.connections} connections (a performance figure, see BENCHMARKS.md), flat over the run.`);
  out.push("- PostgreSQL: a quick run there found 23 answers of 500 to text with a NUL character (PostgreSQL refuses NUL in text; SQLite stores it): testcore ChatQuery/%00, register, expresschat /verify. Fixed in the core's database error mapping (a 400 on the profile's channel, src/core/error.rs); a quick run on PostgreSQL then had 0 server errors.");
  out.push("- Cluster goals are tested, not measured, here: `tests/e2e/cluster/` runs two nodes on a private redis-server in CI's PostgreSQL pass (delivery on every profile, SIGKILL of a node, a Redis restart); BENCHMARKS.md has the two-node figures where measured.");
  out.push("- The machine (2 cores) may be shared with other builds and test runs during a run: latency figures (canary, stop times) are not comparable between runs; counts are.");
  return out;
}

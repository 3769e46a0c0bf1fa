// No loss under SIGKILL / SIGTERM, and catch-up after a reconnect, on every profile.
//
// Kill rounds: every profile's driver sends as fast as its confirmations come back
// (`window` in flight each); after a while the server is killed mid-stream, started
// again on the same database, and every message confirmed so far (ack, REST 2xx, or
// delivered) must be in the profile's history. The last round is a SIGTERM (graceful
// shutdown), the others SIGKILL.
//
// Catch-up: per profile the receiver notes the newest message it saw, goes away,
// `missed` messages are sent, it reconnects and pages the history `after` what it
// saw: it must get every missed message once, in order.

import { makeFixtures } from "./fixtures.mjs";
import { drivers, historyAfter, newestId } from "./drivers.mjs";
import { sleep } from "./server.mjs";

export const PROFILES = ["expresschat", "calls", "orgchat", "chatsphere", "testcore"];

async function openAll(server, fx) {
  const D = drivers(fx);
  const out = {};
  for (const p of PROFILES) {
    out[p] = D[p](server.urls);
    await out[p].open();
  }
  return out;
}

export async function runKills(server, fx, { rounds, seconds, window = 8, log = () => {} }) {
  let ds = await openAll(server, fx);
  const anchor = {};
  const confirmed = {};
  const attempted = {};
  for (const p of PROFILES) {
    if (!(await ds[p].send(`anchor-${p}`))) throw new Error(`${p}: the anchor message was not confirmed`);
    anchor[p] = await newestId(ds[p]);
    confirmed[p] = new Set();
    attempted[p] = 0;
  }
  const kills = [];
  for (let r = 1; r <= rounds; r++) {
    const signal = r === rounds ? "SIGTERM" : "SIGKILL";
    let stop = false;
    const loops = [];
    for (const p of PROFILES)
      for (let w = 0; w < window; w++)
        loops.push(
          (async () => {
            for (let k = 0; !stop && k < 1_000_000; k++) {
              const content = `${p} r${r} w${w} #${k}`;
              attempted[p]++;
              let ok = false;
              try {
                ok = await ds[p].send(content);
              } catch {}
              if (ok) confirmed[p].add(content);
              else await sleep(20);
            }
          })(),
        );
    await sleep(seconds * 1000);
    const t0 = Date.now();
    const exit = await server.kill(signal, 30000);
    const stopMs = Date.now() - t0;
    stop = true;
    for (const p of PROFILES) ds[p].close();
    await Promise.all(loops);
    kills.push({ round: r, signal, exit, stopMs });
    log(`  round ${r}: ${signal} -> exit ${JSON.stringify(exit)} in ${stopMs} ms; confirmed so far ${PROFILES.map((p) => `${p} ${confirmed[p].size}`).join(", ")}`);
    await server.start();
    ds = await openAll(server, fx);
  }
  const rows = [];
  for (const p of PROFILES) {
    const stored = new Set((await historyAfter(ds[p], anchor[p])).map((m) => m.content));
    const missing = [...confirmed[p]].filter((c) => !stored.has(c));
    rows.push({ profile: p, attempted: attempted[p], confirmed: confirmed[p].size, missing: missing.length, examples: missing.slice(0, 3) });
  }
  for (const p of PROFILES) ds[p].close();
  return { kills, rows };
}

export async function runCatchUp(server, fx, { missed, log = () => {} }) {
  const D = drivers(fx);
  const rows = [];
  for (const p of PROFILES) {
    const row = { profile: p, missed, fetched: 0, inOrder: false, duplicates: 0, error: null };
    try {
      const away = D[p](server.urls);
      await away.open();
      const seen = await newestId(away);
      away.close();
      const sender = D[p](server.urls);
      await sender.open();
      const texts = Array.from({ length: missed }, (_, i) => `${p} missed ${i} ${Date.now()}`);
      // sent in order on one connection, at most 50 unconfirmed (under the flood
      // cut-off); REST one after another, which keeps the order
      const inFlight = p === "calls" || p === "chatsphere" ? 1 : 50;
      const confirms = [];
      for (const [i, t] of texts.entries()) {
        confirms.push(sender.send(t).catch(() => false));
        if (i >= inFlight - 1) await confirms[i - inFlight + 1];
      }
      await Promise.all(confirms);
      // stored? (bounded)
      for (let i = 0; i < 200; i++) {
        const newest = await sender.page(null);
        if (newest.items.some((m) => m.content === texts.at(-1))) break;
        await sleep(100);
      }
      sender.close();
      const back = D[p](server.urls);
      await back.open();
      const got = (await historyAfter(back, seen)).map((m) => m.content).filter((c) => c.startsWith(`${p} missed `));
      back.close();
      row.fetched = new Set(got).size;
      row.duplicates = got.length - row.fetched;
      row.inOrder = JSON.stringify(got) === JSON.stringify(texts);
    } catch (e) {
      row.error = String(e.message ?? e);
    }
    log(`  ${p}: missed ${row.missed}, fetched ${row.fetched}, in order ${row.inOrder}${row.error ? `, error ${row.error}` : ""}`);
    rows.push(row);
  }
  return rows;
}

export { makeFixtures };

// expresschat token refresh and revocation, on a server whose access tokens expire at
// once (ACCESS_TOKEN_TTL_SECS=0, the Fix "lifetimes are config"):
// - expired access + good refresh token ⇒ `access-token {accessToken}`, then the normal
//   greeting; the client POSTs /update-access-token {acessToken} and the new token works.
// - after POST /logout the refresh token is revoked server-side (Fix): the same cookies
//   now get `auth-failure` and no new access token.
//
// Assumptions where the contract is silent:
// - `access-token` is emitted before (or among) the greeting events; we only require it
//   to arrive on the connection together with a successful greeting.
// - Tokens expire on whole seconds (JWT `exp`), so the test waits once for the next
//   second boundary: a wait for time to pass, not for an event.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  post,
  newIdentity,
  signupVerifyLogin,
  tokensFromCookieHeader,
  makeSocket,
  connect,
  closeAll,
  sleep,
  barrier,
} from "./helpers.mjs";

let server;
let base;
let live, gone; // cookie headers: one session kept, one logged out

before(async () => {
  server = await startServer({ ACCESS_TOKEN_TTL_SECS: "0" });
  base = server.urls.expresschat;
  const a = newIdentity("Fresh");
  const b = newIdentity("Gone");
  [live, gone] = await Promise.all([
    signupVerifyLogin(server, base, a).then((c) => ({ ident: a, cookie: c })),
    signupVerifyLogin(server, base, b).then((c) => ({ ident: b, cookie: c })),
  ]);
  const out = await post(base, "/logout", {}, { cookie: gone.cookie });
  assert.equal(out.status, 200);
  // let every access token issued so far expire (exp has 1 s resolution, leeway 0)
  await sleep(1000 - (Date.now() % 1000) + 1050);
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

test("expired access + valid refresh → access-token, greeting, update-access-token", async () => {
  const s = await connect(base, live.cookie);
  const rec = s.rec;
  const { accessToken } = await rec.next("access-token");
  assert.equal(typeof accessToken, "string");
  assert.ok(accessToken.length > 0);
  assert.notEqual(accessToken, tokensFromCookieHeader(live.cookie).accessToken);
  const hello = await rec.next("user-id");
  assert.equal(hello.userName, live.ident.name);
  await rec.next("personal-chat-list");
  await rec.next("group-chat-list");
  assert.equal(rec.all("auth-failure").length, 0);
  await barrier(s);

  const u = await post(base, "/update-access-token", { acessToken: accessToken }, { cookie: live.cookie });
  assert.equal(u.status, 200);
  assert.equal(typeof u.json.message, "string");
  assert.equal(u.cookies.access_token?.value, accessToken);
  s.disconnect();
});

test("query tokens (Android) refresh the same way", async () => {
  const q = tokensFromCookieHeader(live.cookie);
  const s = await connect(base, undefined, { query: q, transports: ["websocket"] });
  assert.equal(typeof (await s.rec.next("access-token")).accessToken, "string");
  assert.equal((await s.rec.next("user-id")).userName, live.ident.name);
  s.disconnect();
});

test("after logout the refresh token is revoked: auth-failure, no access-token", async () => {
  const s = makeSocket(base, gone.cookie);
  s.connect();
  assert.deepEqual(await s.rec.next("auth-failure", 5000), { reason: "Authentication failed" });
  assert.equal(await s.rec.next("$disconnect", 5000), "io server disconnect");
  assert.equal(s.rec.all("access-token").length, 0, "no new access token after logout");
  assert.equal(s.rec.all("user-id").length, 0);
});

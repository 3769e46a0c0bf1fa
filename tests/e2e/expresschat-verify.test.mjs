// expresschat's verification link signs in only with a token that matches (a Fix
// found with issue 14's defect 2): `GET /verify?email=..&token=<anything>` used to
// answer a session (access and refresh cookies) for any account whose email was
// already verified, orgchat's organization accounts included, so knowing an
// email was enough to sign in as its owner.
//
// Now: the first, matching link signs in (rest.test.mjs); a link followed again
// (or any token) for an already verified account answers the "already verified"
// page without a session.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, post, get, newIdentity, linkPath, closeAll } from "./helpers.mjs";

let server;
let base;

before(async () => {
  server = await startServer({ BCRYPT_COST: "4" }, { waitFor: ["expresschat", "orgchat"] });
  base = server.urls.expresschat;
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

const noSession = (r, why) => {
  assert.equal(r.cookies.access_token, undefined, `${why}: no access_token cookie`);
  assert.equal(r.cookies.refresh_token, undefined, `${why}: no refresh_token cookie`);
};

test("a verified account's link, followed again or forged, signs nobody in", async () => {
  const id = newIdentity("Twice");
  assert.equal((await post(base, "/signup", id)).status, 200);
  const link = linkPath((await server.waitForMail(id.email)).link);
  const first = await get(base, link);
  assert.equal(first.status, 200);
  assert.ok(first.cookies.access_token?.value, "the matching link signs in");

  const email = encodeURIComponent(id.email);
  for (const path of [link, `/verify?email=${email}&token=forged`, `/Verify?email=${email}&token=x`]) {
    const again = await get(base, path);
    assert.equal(again.status, 200, path);
    assert.match(again.headers.get("content-type") || "", /text\/html/);
    assert.match(again.text, /already verified/);
    noSession(again, path);
  }
  // The app's variant answers as before (it never carried a session).
  const app = await get(base, `/verify?email=${email}&token=forged&source=app`);
  assert.equal(app.status, 200);
  assert.deepEqual(app.json, { success: 1, message: "Email verified successfully" });
  noSession(app, "source=app");
});

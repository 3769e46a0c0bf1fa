// expresschat REST: /signup, /login, /verify (/Verify), /resend, /logout,
// /update-access-token — status codes, `success` numbers, `msg` vs `message`, cookies.
//
// Assumptions where the contract is silent (only what the original client relies on):
// - A web verification (GET of the mailed link) answers 200 with a text/html page and
//   sets both login cookies; we do not assert the page's content.
// - An app verification code is passed as the `token` query parameter with source=app.
// - The `message` strings of success answers are not fixed; only their presence
//   (a string) is asserted. Failure strings quoted in the contract are asserted exactly.
// - Cleared cookies (logout) are recognised by an empty value, Max-Age=0 or an Expires
//   date in the past.
// - Malformed bodies (not JSON, wrong JSON types) must not cause a 5xx or kill the server;
//   the exact status is not asserted.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  post,
  get,
  request,
  linkPath,
  newIdentity,
  signupVerify,
  signupVerifyLogin,
  cookieHeaderFrom,
  connectUser,
  closeAll,
} from "./helpers.mjs";

let server;
let base;

before(async () => {
  server = await startServer();
  base = server.urls.expresschat;
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

function assertCleared(c, name) {
  assert.ok(c, `logout must send a Set-Cookie for ${name}`);
  const expired =
    c.value === "" ||
    c.attrs["max-age"] === "0" ||
    (c.attrs.expires && Date.parse(c.attrs.expires) < Date.now());
  assert.ok(expired, `${name} must be cleared, got ${JSON.stringify(c)}`);
}

test("signup (web) → mail with /verify link → HTML page and login cookies", async () => {
  const id = newIdentity("Webby");
  const s = await post(base, "/signup", id);
  assert.equal(s.status, 200);
  assert.equal(s.json.success, 1);
  assert.equal(typeof s.json.message, "string");

  const mail = await server.waitForMail(id.email);
  assert.equal(mail.to.toLowerCase(), id.email.toLowerCase());
  assert.equal(typeof mail.subject, "string");
  assert.equal(typeof mail.link, "string", "web signup mail carries a link");
  const u = new URL(mail.link);
  assert.match(u.pathname, /^\/[vV]erify$/);
  assert.equal(u.searchParams.get("email"), id.email);
  assert.ok(u.searchParams.get("token"), "link has a token");

  const v = await get(base, linkPath(mail.link));
  assert.equal(v.status, 200);
  assert.match(v.headers.get("content-type") || "", /text\/html/);
  assert.ok(v.cookies.access_token && v.cookies.access_token.value, "verify sets access_token");
  assert.ok(v.cookies.refresh_token && v.cookies.refresh_token.value, "verify sets refresh_token");

  // The cookies from the verification page are a working session.
  const c = await connectUser(base, cookieHeaderFrom(v.cookies));
  assert.equal(c.userName, id.name);
  c.socket.disconnect();

  // and the user can now log in
  const l = await post(base, "/login", { email: id.email, password: id.password });
  assert.equal(l.status, 200);
  assert.equal(l.json.success, 1);
});

test("GET /Verify (capital V) is accepted too", async () => {
  const id = newIdentity("Capital");
  await post(base, "/signup", id);
  const mail = await server.waitForMail(id.email);
  const u = new URL(mail.link);
  const v = await get(base, `/Verify${u.search}`);
  assert.equal(v.status, 200);
  assert.ok(v.cookies.access_token);
});

test("signup with source=app → 6-digit code → verify returns JSON success 1", async () => {
  const id = newIdentity("Appy");
  const s = await post(base, "/signup", { ...id, source: "app" });
  assert.equal(s.status, 200);
  assert.equal(s.json.success, 1);
  assert.equal(typeof s.json.message, "string");
  const mail = await server.waitForMail(id.email);
  assert.match(String(mail.code), /^\d{6}$/, `app mail has a 6-digit code: ${JSON.stringify(mail)}`);

  // a wrong code is refused with 400 {success:0, message}
  const wrong = String((Number(mail.code) + 1) % 1000000).padStart(6, "0");
  const bad = await get(
    base,
    `/verify?email=${encodeURIComponent(id.email)}&token=${wrong}&source=app`,
  );
  assert.equal(bad.status, 400);
  assert.equal(bad.json.success, 0);
  assert.equal(typeof bad.json.message, "string");

  const v = await get(
    base,
    `/verify?email=${encodeURIComponent(id.email)}&token=${mail.code}&source=app`,
  );
  assert.equal(v.status, 200);
  assert.equal(v.json.success, 1);
  assert.equal(typeof v.json.message, "string");

  const l = await post(base, "/login", { email: id.email, password: id.password });
  assert.equal(l.status, 200);
  assert.equal(l.json.success, 1);
});

test("verify with a bad token (web) → 400 {success:0, message}", async () => {
  const id = newIdentity("Badtok");
  await post(base, "/signup", id);
  await server.waitForMail(id.email);
  const v = await get(base, `/verify?email=${encodeURIComponent(id.email)}&token=not-the-token`);
  assert.equal(v.status, 400);
  assert.equal(v.json?.success, 0);
  assert.equal(typeof v.json?.message, "string");
  assert.equal(v.cookies.access_token?.value || "", "", "no session cookie for a bad token");
  // still unverified
  const l = await post(base, "/login", { email: id.email, password: id.password });
  assert.equal(l.status, 404);
  assert.equal(l.json.success, -2);
});

test("login before verification → 404 {success:-2}", async () => {
  const id = newIdentity("Early");
  await post(base, "/signup", id);
  const l = await post(base, "/login", { email: id.email, password: id.password });
  assert.equal(l.status, 404);
  assert.deepEqual(l.json, { success: -2, message: "Account Exist but Email not verified" });
  assert.equal(l.cookies.access_token, undefined);
});

test("login: success sets httpOnly SameSite=Lax cookies; failures have exact shapes", async () => {
  const id = newIdentity("Logan");
  await signupVerify(server, base, id);

  const ok = await post(base, "/login", { email: id.email, password: id.password });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.success, 1);
  assert.equal(typeof ok.json.message, "string");
  for (const name of ["access_token", "refresh_token"]) {
    const c = ok.cookies[name];
    assert.ok(c && c.value, `${name} cookie set`);
    assert.equal(c.attrs.httponly, true, `${name} is HttpOnly`);
    assert.equal(String(c.attrs.samesite).toLowerCase(), "lax", `${name} is SameSite=Lax`);
  }

  const wrongPw = await post(base, "/login", { email: id.email, password: "nope-" + id.password });
  assert.equal(wrongPw.status, 200);
  assert.deepEqual(wrongPw.json, { success: 0, message: "Incorrect PassWord" });
  assert.equal(wrongPw.cookies.access_token, undefined);

  const noUser = await post(base, "/login", { email: "nobody." + id.email, password: "x" });
  assert.equal(noUser.status, 404);
  assert.deepEqual(noUser.json, { success: 0, message: "NO Such User" });

  for (const body of [{ email: id.email }, { password: id.password }, {}]) {
    const r = await post(base, "/login", body);
    assert.equal(r.status, 404, `missing fields ${JSON.stringify(body)}`);
    assert.deepEqual(r.json, { success: -1, msg: "Bad request" });
  }
});

test("signup: missing fields → 404 {success:-1}; duplicate → 404 {success:0}", async () => {
  const id = newIdentity("Dupe");
  for (const body of [
    { email: id.email, password: id.password },
    { name: id.name, password: id.password },
    { name: id.name, email: id.email },
    {},
  ]) {
    const r = await post(base, "/signup", body);
    assert.equal(r.status, 404, `missing fields ${JSON.stringify(body)}`);
    assert.deepEqual(r.json, { success: -1, message: "Enter All credentials properly" });
  }

  await signupVerify(server, base, id);
  const again = await post(base, "/signup", { ...id, name: id.name + " Two" });
  assert.equal(again.status, 404);
  assert.deepEqual(again.json, { success: 0, message: "User Already Exists" });
});

test("resend: new mail (web link / app code); unknown address 404", async () => {
  const id = newIdentity("Resendy");
  await post(base, "/signup", id);
  const first = await server.waitForMail(id.email);

  const r = await post(base, "/resend", { email: id.email });
  assert.equal(r.status, 200);
  assert.equal(r.json.success, 1);
  assert.equal(typeof r.json.message, "string");
  const second = await server.waitForMail(id.email);
  assert.equal(typeof second.link, "string");
  // the newest link works
  const v = await get(base, linkPath(second.link));
  assert.equal(v.status, 200, `resent link verifies (first was ${first.link})`);

  const app = newIdentity("Resendapp");
  await post(base, "/signup", { ...app, source: "app" });
  await server.waitForMail(app.email);
  const ra = await post(base, "/resend", { email: app.email, source: "app" });
  assert.equal(ra.status, 200);
  assert.equal(ra.json.success, 1);
  const code = await server.waitForMail(app.email);
  assert.match(String(code.code), /^\d{6}$/);
  const va = await get(
    base,
    `/verify?email=${encodeURIComponent(app.email)}&token=${code.code}&source=app`,
  );
  assert.equal(va.status, 200);
  assert.equal(va.json.success, 1);

  const unknown = await post(base, "/resend", { email: "ghost." + id.email });
  assert.equal(unknown.status, 404);
  assert.ok([-1, 0].includes(unknown.json.success), JSON.stringify(unknown.json));
  assert.equal(typeof unknown.json.message, "string");
});

test("logout clears both cookies; update-access-token sets access_token", async () => {
  const id = newIdentity("Outie");
  const cookie = await signupVerifyLogin(server, base, id);
  const access = /access_token=([^;]+)/.exec(cookie)[1];

  const u = await post(base, "/update-access-token", { acessToken: access }, { cookie });
  assert.equal(u.status, 200);
  assert.equal(typeof u.json.message, "string");
  assert.equal(u.cookies.access_token?.value, access, "update-access-token sets the given token");
  assert.equal(u.cookies.access_token.attrs.httponly, true);

  const out = await post(base, "/logout", {}, { cookie });
  assert.equal(out.status, 200);
  assert.equal(typeof out.json.message, "string");
  assertCleared(out.cookies.access_token, "access_token");
  assertCleared(out.cookies.refresh_token, "refresh_token");
});

test("malformed REST bodies never give a 5xx and the server keeps answering", async () => {
  const bodies = [
    "not json",
    "[]",
    "null",
    "42",
    '{"name":1,"email":2,"password":3}',
    '{"name":[],"email":{},"password":null}',
    '{"email":"' + "a".repeat(100000) + '@x.y","password":"p","name":"n"}',
  ];
  for (const path of ["/signup", "/login", "/resend", "/update-access-token"]) {
    for (const raw of bodies) {
      const r = await request(base, "POST", path, { raw });
      assert.ok(r.status < 500, `${path} ${raw.slice(0, 40)} → ${r.status}`);
    }
  }
  const v = await get(base, "/verify");
  assert.ok(v.status < 500, `/verify without query → ${v.status}`);
  const ok = await post(base, "/login", { email: "nobody@e2e.test", password: "x" });
  assert.equal(ok.status, 404);
  assert.equal(server.exited, null, "server still running");
});

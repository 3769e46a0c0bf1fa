// Every listener describes its own REST API at /openapi.json (issue 15), and that
// description is true: for each profile the test validates the document itself,
// then sends real requests (successes and refusals) to every documented operation
// and checks each answer's status and body against the document's schema for
// that path, method and status (openapi-lib.mjs), and that no documented operation
// went unexercised. The refusals no route writes (an unknown path, another method,
// a body over the limit) are checked against the profile's envelope schema. /docs
// answers Swagger UI whose files come from the listener.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, rand, request, linkPath, ALL_PROFILES } from "./helpers.mjs";
import { mintClientToken } from "./chatsphere-lib.mjs";
import { openDoc } from "./openapi-lib.mjs";

let server;
before(async () => {
  server = await startServer({}, { waitFor: ALL_PROFILES });
});
after(async () => {
  await server?.stop();
});

const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

/**
 * The refusals no route writes are in the profile's envelope too (the schema the
 * document names): an unknown path, another method on a documented path, and a
 * body over MAX_FRAME_BYTES sent to `bodyRoute` (documented as 413 there).
 */
async function listenerRefusals(api, envelope, { wrongMethod, bodyRoute, opts = {} }) {
  const unknown = await request(api.base, "GET", `/no-such-route-${rand()}`);
  assert.equal(unknown.status, 404, `${api.profile}: unknown path`);
  api.checkSchema(envelope, unknown, `${api.profile} unknown path`);
  const [method, path] = wrongMethod;
  const other = await request(api.base, method, path);
  assert.equal(other.status, 405, `${api.profile}: ${method} ${path}: ${other.text}`);
  api.checkSchema(envelope, other, `${api.profile} ${method} ${path}`);
  const [bm, bp] = bodyRoute;
  await api.call(bm, bp, { ...opts, body: { name: "x".repeat(300_000) }, expect: 413 });
}

/** Every documented operation was sent at least once. */
function allExercised(api) {
  assert.deepEqual(api.unexercised(), [], `${api.profile}: documented operations never exercised`);
}

test("expresschat: /openapi.json describes every answer of its routes", async () => {
  const api = await openDoc(server.urls.expresschat, "expresschat");
  const email = `oa.${rand()}@e2e.test`;
  const password = `pw-${rand()}`;
  await api.call("POST", "/signup", { body: {}, expect: 404 });
  await api.call("POST", "/signup", { body: { name: "Oa", email, password }, expect: 200 });
  await api.call("POST", "/signup", { body: { name: "Oa", email, password }, expect: 404 });
  const mail = await server.waitForMail(email);
  await api.call("POST", "/login", { body: { email, password }, expect: 404 }); // not verified
  await api.call("GET", "/verify", { expect: 400 });
  await api.call("GET", "/Verify", { query: "?email=x@y.z&token=nope", expect: 400 });
  const link = linkPath(mail.link);
  assert.ok(link.startsWith("/verify?"), link);
  const page = await api.call("GET", "/verify", { query: link.slice("/verify".length), expect: 200 });
  assert.match(page.headers.get("content-type"), /text\/html/);
  // `source=app` answers JSON (a verified account's link answers so whatever its token).
  const app = await api.call("GET", "/Verify", { query: `?email=${encodeURIComponent(email)}&token=x&source=app`, expect: 200 });
  assert.match(app.headers.get("content-type"), /application\/json/);
  await api.call("POST", "/login", { body: {}, expect: 404 });
  const wrong = await api.call("POST", "/login", { body: { email, password: "wrong" }, expect: 200 });
  assert.equal(wrong.json.success, 0);
  const login = await api.call("POST", "/login", { body: { email, password }, expect: 200 });
  assert.equal(login.json.success, 1);
  await api.call("POST", "/resend", { body: {}, expect: 404 });
  await api.call("POST", "/resend", { body: { email }, expect: 404 }); // already verified
  await api.call("POST", "/update-access-token", { body: {}, expect: 400 });
  await api.call("POST", "/update-access-token", {
    body: { acessToken: login.cookies.access_token.value },
    expect: 200,
  });
  await api.call("POST", "/logout", { cookie: `refresh_token=${login.cookies.refresh_token.value}`, expect: 200 });
  await listenerRefusals(api, "Refusal", { wrongMethod: ["GET", "/signup"], bodyRoute: ["POST", "/signup"] });
  allExercised(api);
});

test("calls: /openapi.json describes every answer of its routes", async () => {
  const api = await openDoc(server.urls.calls, "calls");
  const user = async (name) => {
    const email = `${name}.${rand()}@calls.e2e`;
    const r = await api.call("POST", "/api/auth/register", { body: { name, email, password: "password123" }, expect: 201 });
    return { id: r.json.user.id, token: r.json.token, email };
  };
  const a = await user("ann");
  const b = await user("bob");
  await api.call("POST", "/api/auth/register", { body: { email: a.email, password: "x12345678" }, expect: 409 });
  await api.call("POST", "/api/auth/register", { body: {}, expect: 400 });
  await api.call("POST", "/api/auth/login", { body: { email: a.email, password: "password123" }, expect: 200 });
  await api.call("POST", "/api/auth/login", { body: { email: a.email, password: "nope" }, expect: 401 });
  await api.call("POST", "/api/auth/login", { body: {}, expect: 400 });
  await api.call("POST", "/api/messages", { body: { receiverId: b.id, content: "hi" }, expect: 401 });
  await api.call("POST", "/api/messages", { ...bearer(a.token), body: { receiverId: b.id, content: "hi" }, expect: 201 });
  await api.call("POST", "/api/messages", { ...bearer(a.token), body: { receiverId: b.id }, expect: 400 });
  await api.call("POST", "/api/messages", { ...bearer(a.token), body: { receiverId: "999999", content: "x" }, expect: 404 });
  const page = await api.call("GET", "/api/messages", { ...bearer(b.token), query: `?with=${a.id}`, expect: 200 });
  assert.equal(page.json.messages.length, 1);
  await api.call("GET", "/api/messages", { ...bearer(b.token), query: "?limit=0", expect: 400 });
  await api.call("GET", "/api/messages", { expect: 401 });
  await api.call("GET", "/api/calls", { ...bearer(a.token), expect: 200 });
  await api.call("GET", "/api/calls", { ...bearer(a.token), query: "?before=x", expect: 400 });
  await api.call("GET", "/api/calls", { ...bearer("not-a-token"), expect: 401 });
  await listenerRefusals(api, "RestError", { wrongMethod: ["DELETE", "/api/calls"], bodyRoute: ["POST", "/api/auth/register"] });
  allExercised(api);
});

test("orgchat: /openapi.json describes every answer of its routes", async () => {
  const api = await openDoc(server.urls.orgchat, "orgchat");
  const org = `Org ${rand()}`;
  const reg = async (role) => {
    const email = `${role}.${rand()}@org.e2e`;
    const username = `${role}-${rand(5)}`;
    await api.call("POST", "/api/auth/register", {
      body: { username, email, password: "password123", organizationName: org, role },
      expect: 201,
    });
    const l = await api.call("POST", "/api/auth/login", { body: { email, password: "password123" }, expect: 200 });
    return { ...l.json, email };
  };
  const admin = await reg("admin");
  const member = await reg("user");
  await api.call("POST", "/api/auth/register", { body: { username: "x" }, expect: 400 });
  await api.call("POST", "/api/auth/register", {
    body: { username: `dup-${rand()}`, email: admin.email, password: "password123", organizationName: org },
    expect: 409,
  });
  await api.call("POST", "/api/auth/login", { body: { email: admin.email, password: "wrong" }, expect: 401 });
  await api.call("POST", "/api/auth/login", { raw: "{not json", expect: 400 });
  const fresh = await api.call("POST", "/api/auth/refresh-token", { body: { refreshToken: member.refreshToken }, expect: 200 });
  assert.ok(fresh.json.accessToken);
  await api.call("POST", "/api/auth/refresh-token", { body: { refreshToken: member.refreshToken }, expect: 403 });
  await api.call("POST", "/api/auth/refresh-token", { body: {}, expect: 400 });
  const room = await api.call("POST", "/api/chat", {
    ...bearer(admin.accessToken),
    body: { name: `room-${rand(5)}`, invitedUsers: [member.user.id] },
    expect: 201,
  });
  await api.call("POST", "/api/chat", { ...bearer(admin.accessToken), body: {}, expect: 400 });
  await api.call("POST", "/api/chat", { body: { name: "x" }, expect: 401 });
  await api.call("GET", "/api/chat", { ...bearer(admin.accessToken), expect: 200 });
  await api.call("GET", "/api/chat", { ...bearer(admin.accessToken), query: "?page=0", expect: 400 });
  await api.call("GET", "/api/chat", { ...bearer("bad"), expect: 401 });
  const messages = "/api/chat/{room_id}/messages";
  await api.call("GET", messages, { ...bearer(admin.accessToken), params: { room_id: room.json.id }, expect: 200 });
  await api.call("GET", messages, { ...bearer(admin.accessToken), params: { room_id: room.json.id }, query: "?limit=-1", expect: 400 });
  await api.call("GET", messages, { ...bearer(admin.accessToken), params: { room_id: 999999 }, expect: 404 });
  await api.call("GET", messages, { params: { room_id: room.json.id }, expect: 401 });
  await listenerRefusals(api, "ErrorBody", { wrongMethod: ["DELETE", "/api/chat"], bodyRoute: ["POST", "/api/auth/login"] });
  allExercised(api);
});

test("chatsphere: /openapi.json describes every answer of its routes", async () => {
  const api = await openDoc(server.urls.chatsphere, "chatsphere");
  const client = mintClientToken(server);
  await api.call("GET", "/api/health", { expect: 200 });
  const mk = async () => {
    const r = await api.call("POST", "/api/users", { ...bearer(client), body: { username: `u-${rand(6)}` }, expect: 201 });
    return { id: r.json.user.id, token: r.json.token, tokenId: r.json.id, username: r.json.user.username };
  };
  const ann = await mk();
  const bob = await mk();
  await api.call("POST", "/api/users", { ...bearer(client), body: { username: ann.username }, expect: 409 });
  await api.call("POST", "/api/users", { ...bearer(ann.token), body: { username: "x" }, expect: 403 });
  await api.call("POST", "/api/users", { ...bearer(client), body: {}, expect: 400 });
  await api.call("GET", "/api/users", { ...bearer(ann.token), expect: 200 });
  await api.call("GET", "/api/users", { expect: 401 });
  await api.call("GET", "/api/auth/profile", { ...bearer(ann.token), expect: 200 });
  await api.call("GET", "/api/auth/profile", { ...bearer(client), expect: 403 });
  await api.call("PUT", "/api/auth/profile", { ...bearer(ann.token), body: { username: `${ann.username}-2` }, expect: 200 });
  await api.call("PUT", "/api/auth/profile", { ...bearer(ann.token), body: {}, expect: 400 });
  const room = await api.call("POST", "/api/rooms", { ...bearer(ann.token), body: { name: `r-${rand(6)}`, isPrivate: true }, expect: 201 });
  const id = room.json.id;
  await api.call("POST", "/api/rooms", { ...bearer(ann.token), body: {}, expect: 400 });
  await api.call("GET", "/api/rooms", { ...bearer(ann.token), expect: 200 });
  await api.call("GET", "/api/rooms/{id}", { ...bearer(ann.token), params: { id }, expect: 200 });
  await api.call("GET", "/api/rooms/{id}", { ...bearer(bob.token), params: { id }, expect: 403 });
  await api.call("GET", "/api/rooms/{id}", { ...bearer(ann.token), params: { id: 999999 }, expect: 404 });
  await api.call("POST", "/api/rooms/{id}/messages", { ...bearer(ann.token), params: { id }, body: { content: "hello" }, expect: 201 });
  await api.call("POST", "/api/rooms/{id}/messages", { ...bearer(ann.token), params: { id }, body: {}, expect: 400 });
  await api.call("POST", "/api/rooms/{id}/messages", { ...bearer(bob.token), params: { id }, body: { content: "x" }, expect: 403 });
  await api.call("GET", "/api/rooms/{id}/messages", { ...bearer(ann.token), params: { id }, expect: 200 });
  await api.call("GET", "/api/rooms/{id}/messages", { ...bearer(ann.token), params: { id }, query: "?limit=x", expect: 400 });
  await api.call("POST", "/api/rooms/{id}/users", { ...bearer(ann.token), params: { id }, body: { userId: bob.id }, expect: 200 });
  await api.call("POST", "/api/rooms/{id}/users", { ...bearer(ann.token), params: { id }, body: {}, expect: 400 });
  await api.call("GET", "/api/messages", { ...bearer(client), expect: 200 });
  await api.call("GET", "/api/messages", { ...bearer(ann.token), expect: 403 });
  await api.call("GET", "/api/messages/user", { ...bearer(ann.token), expect: 200 });
  await api.call("GET", "/api/users/{id}/messages", { ...bearer(ann.token), params: { id: ann.id }, expect: 200 });
  await api.call("GET", "/api/users/{id}/messages", { ...bearer(ann.token), params: { id: bob.id }, expect: 403 });
  await api.call("GET", "/api/users/{id}/messages", { ...bearer(client), params: { id: 999999 }, expect: 404 });
  const issued = await api.call("POST", "/api/tokens/user", { ...bearer(client), body: { userId: bob.id }, expect: 201 });
  await api.call("POST", "/api/tokens/user", { ...bearer(client), body: {}, expect: 400 });
  await api.call("POST", "/api/tokens/user", { ...bearer(client), body: { userId: 999999 }, expect: 404 });
  const ct = await api.call("POST", "/api/tokens/client", { ...bearer(client), body: { userId: bob.id, email: "b@x.y" }, expect: 201 });
  await api.call("POST", "/api/tokens/client", { ...bearer(bob.token), body: { userId: bob.id, email: "b@x.y" }, expect: 403 });
  await api.call("PUT", "/api/tokens/{id}/revoke", { ...bearer(client), params: { id: issued.json.id }, expect: 200 });
  await api.call("DELETE", "/api/tokens/{id}", { ...bearer(client), params: { id: ct.json.id }, expect: 200 });
  await api.call("DELETE", "/api/tokens/{id}", { ...bearer(client), params: { id: 999999 }, expect: 404 });
  await api.call("GET", "/api/messages/user", { ...bearer(issued.json.token), expect: 401 }); // revoked
  await api.call("DELETE", "/api/rooms/{id}", { ...bearer(bob.token), params: { id }, expect: 403 });
  await api.call("DELETE", "/api/rooms/{id}", { ...bearer(ann.token), params: { id }, expect: 200 });
  await listenerRefusals(api, "ErrorBody", { wrongMethod: ["PATCH", "/api/rooms"], bodyRoute: ["POST", "/api/rooms"], opts: bearer(client) });
  allExercised(api);
});

test("testcore: /openapi.json describes every answer of its routes", async () => {
  const api = await openDoc(server.urls.testcore, "testcore");
  const reg = async (name) => {
    const email = `${name}.${rand()}@tc.e2e`;
    const r = await api.call("POST", "/api/v1/user/register", { body: { name, email, password: "password123" }, expect: 200 });
    return { token: r.json.data.accessToken, email };
  };
  await api.call("GET", "/api/v1/user/signup", { expect: 200 });
  const email = `sign.${rand()}@tc.e2e`;
  await api.call("POST", "/api/v1/user/signup", { body: { name: "Sig", email, password: "password123" }, expect: 201 });
  await api.call("POST", "/api/v1/user/signup", { body: { name: "Sig", email, password: "password123" }, expect: 409 });
  await api.call("POST", "/api/v1/user/signup", { raw: "nope", expect: 400 });
  await api.call("POST", "/api/v1/user/register", { body: {}, expect: 400 });
  await api.call("POST", "/api/v1/user/login", { body: { email, password: "password123" }, expect: 200 });
  await api.call("POST", "/api/v1/user/login", { body: { email, password: "wrong-one" }, expect: 401 });
  await api.call("POST", "/api/v1/user/login", { body: {}, expect: 400 });
  const owner = await reg("Owner");
  const other = await reg("Other");
  await api.call("GET", "/api/v1/chat/getChat", { ...bearer(owner.token), expect: 404 });
  await api.call("GET", "/api/v1/chat/getChat", { expect: 401 });
  const name = `room${rand(5)}`;
  await api.call("POST", "/api/v1/chat/createChat", { ...bearer(owner.token), body: { roomName: name }, expect: 200 });
  await api.call("POST", "/api/v1/chat/createChat", { ...bearer(owner.token), body: {}, expect: 400 });
  await api.call("GET", "/api/v1/chat/getChat", { ...bearer(owner.token), expect: 200 });
  const q = "/api/v1/chat/ChatQuery/{room}";
  await api.call("GET", q, { ...bearer(owner.token), params: { room: name }, expect: 200 });
  await api.call("GET", q, { ...bearer(other.token), params: { room: name }, query: "?limit=5", expect: 409 });
  await api.call("GET", q, { ...bearer(owner.token), params: { room: name }, query: "?limit=x", expect: 400 });
  await api.call("GET", q, { ...bearer(owner.token), params: { room: `none${rand()}` }, expect: 404 });
  const c = "/api/v1/chat/connectChat/{room}";
  await api.call("POST", c, { ...bearer(other.token), params: { room: name }, expect: 409 });
  await api.call("POST", q, { ...bearer(other.token), params: { room: name }, expect: 200 });
  await api.call("POST", q, { ...bearer(other.token), params: { room: `none${rand()}` }, expect: 404 });
  const conn = await api.call("POST", c, { ...bearer(other.token), params: { room: name }, expect: 200 });
  assert.ok(conn.cookies.UserChatToken);
  await api.call("POST", c, { ...bearer(other.token), params: { room: `none${rand()}` }, expect: 404 });
  await api.call("PUT", q, { ...bearer(other.token), params: { room: name }, expect: 200 });
  await api.call("PUT", q, { params: { room: name }, expect: 401 });
  // A room named College/Branch: the two-segment forms.
  const college = `Col${rand(4)}`;
  const branch = "CSE";
  await api.call("POST", "/api/v1/chat/createChat", { ...bearer(owner.token), body: { roomName: `${college}/${branch}` }, expect: 200 });
  const q2 = "/api/v1/chat/ChatQuery/{college}/{branch}";
  const c2 = "/api/v1/chat/connectChat/{college}/{branch}";
  const params = { college, branch };
  await api.call("POST", q2, { ...bearer(other.token), params, expect: 200 });
  await api.call("GET", q2, { ...bearer(other.token), params, expect: 200 });
  await api.call("POST", c2, { ...bearer(other.token), params, expect: 200 });
  await api.call("PUT", q2, { ...bearer(other.token), params, expect: 200 });
  await api.call("POST", c2, { ...bearer(other.token), params, expect: 409 });
  await api.call("GET", q2, { ...bearer(other.token), params: { college, branch: "none" }, expect: 404 });
  await listenerRefusals(api, "Failure", { wrongMethod: ["DELETE", "/api/v1/chat/getChat"], bodyRoute: ["POST", "/api/v1/user/login"] });
  allExercised(api);
});

test("testcore: a 429 of the address budget is the documented envelope", async () => {
  const limited = await startServer({ TESTCORE_RATE_LIMIT: "2" }, { waitFor: ["testcore"] });
  try {
    const api = await openDoc(limited.urls.testcore, "testcore");
    await api.call("GET", "/api/v1/user/signup", { expect: 200 });
    await api.call("GET", "/api/v1/user/signup", { expect: 200 });
    const r = await api.call("GET", "/api/v1/user/signup", { expect: 429 });
    assert.ok(Number(r.headers.get("retry-after")) > 0);
  } finally {
    await limited.stop();
  }
});

test("every listener serves Swagger UI at /docs from its own files", async () => {
  for (const p of ALL_PROFILES) {
    const base = server.urls[p];
    const redirect = await request(base, "GET", "/docs");
    assert.ok([301, 302, 303, 307, 308].includes(redirect.status), `${p} /docs: ${redirect.status}`);
    assert.equal(redirect.headers.get("location"), "/docs/");
    const page = await request(base, "GET", "/docs/");
    assert.equal(page.status, 200, `${p} /docs/`);
    assert.match(page.headers.get("content-type"), /text\/html/);
    // Every script and stylesheet is relative: served by this listener, no CDN.
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.length >= 3, `${p}: ${assets}`);
    for (const a of assets) {
      assert.doesNotMatch(a, /^(https?:)?\/\//, `${p}: ${a} is not local`);
      const r = await request(base, "GET", new URL(a, `${base}/docs/`).pathname);
      assert.equal(r.status, 200, `${p}: ${a} -> ${r.status}`);
    }
    // The initializer points Swagger UI at this listener's own document.
    const init = await request(base, "GET", "/docs/swagger-initializer.js");
    assert.equal(init.status, 200);
    assert.match(init.text, /\/openapi\.json/);
    const config = await request(base, "GET", "/docs/swagger-config.json");
    if (config.status === 200) assert.match(config.text, /\/openapi\.json/);
  }
});

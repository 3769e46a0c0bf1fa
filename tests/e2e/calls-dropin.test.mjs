// calls profile (seed 004), drop-in fixes of issue 11 (point 5): a sign-up form
// that fills either its "name" or its "username" field sends both keys, and was
// answered 400 "duplicate field `name`" because `username` was a serde alias of
// `name`. The same trap was in `call:initiate`, where `type` was an alias of
// `callType`. Each test sends what such a client sends, in its order (register
// with no token, then a socket with no credentials that sends `join`), and checks
// what the client reads.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, closeAll, connect, ask, rand } from "./helpers.mjs";
import { api, registerCalls, joinCalls, loginCalls } from "./calls-lib.mjs";

let server;
let base;

before(async () => {
  server = await startServer({}, { waitFor: ["expresschat", "calls"] });
  base = server.urls.calls;
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

const email = (tag) => `dropin.${tag}.${rand(6)}@calls.e2e`;

/** POST /api/auth/register with exactly `body`, no token. */
const register = (body) => api(base, "POST", "/api/auth/register", { body });

/** Registers with `body`, then signs in on a fresh socket the client's way. */
async function registerAndJoin(body) {
  const r = await register(body);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.success, true);
  const user = { id: r.json.user.id, token: r.json.token };
  const s = await connect(base);
  s.emit("join", { userId: user.id, token: user.token });
  assert.equal((await s.rec.next("connected")).userId, user.id);
  s.disconnect();
  return r.json.user;
}

test("register with name and username together (the same value): 201, signed in", async () => {
  const body = { name: "Dana Both", username: "Dana Both", email: email("both"), password: "pw-both-1" };
  const user = await registerAndJoin(body);
  assert.deepEqual(Object.keys(user).sort(), ["email", "id", "name"]);
  assert.equal(user.name, "Dana Both");
  assert.equal(user.email, body.email);
  const login = await loginCalls(base, body.email, body.password);
  assert.equal(login.user.id, user.id);
  assert.equal(login.user.name, "Dana Both");
});

test("register with name and username that disagree: name wins", async () => {
  const user = await registerAndJoin({
    name: "Erin Shown",
    username: "erin_handle",
    email: email("differ"),
    password: "pw-differ-1",
  });
  assert.equal(user.name, "Erin Shown");
});

test("register with only one field filled (the other sent empty): the filled one", async () => {
  const fromUsername = await registerAndJoin({
    name: "",
    username: "frank_only",
    email: email("emptyname"),
    password: "pw-empty-1",
  });
  assert.equal(fromUsername.name, "frank_only");
  const fromName = await registerAndJoin({
    name: "Gail Only",
    username: "",
    email: email("emptyuser"),
    password: "pw-empty-2",
  });
  assert.equal(fromName.name, "Gail Only");
});

test("register with name alone, and with username alone", async () => {
  const byName = await registerAndJoin({ name: "Hal Name", email: email("name"), password: "pw-name-1" });
  assert.equal(byName.name, "Hal Name");
  const byUsername = await registerAndJoin({ username: "ivy_user", email: email("user"), password: "pw-user-1" });
  assert.equal(byUsername.name, "ivy_user");
});

test("register still refuses what it refused (strict mode unchanged)", async () => {
  const taken = email("taken");
  await registerAndJoin({ name: "Jo", username: "jo", email: taken, password: "pw-taken-1" });
  const again = await register({ name: "Jo", username: "jo", email: taken, password: "pw-taken-2" });
  assert.equal(again.status, 409);
  assert.deepEqual(again.json.success, false);
  assert.equal(again.json.error.code, "USER_EXISTS");
  for (const body of [
    { name: "No Mail", username: "nomail", password: "pw" },
    { name: "No Password", username: "nopw", email: email("nopw") },
    { name: 5, email: email("badname"), password: "pw" },
    { username: ["x"], email: email("badusername"), password: "pw" },
  ]) {
    const r = await register(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.success, false);
    assert.equal(r.json.error.code, "INVALID_DATA", JSON.stringify(body));
    assert.equal(typeof r.json.error.message, "string");
  }
});

test("call:initiate with callType and type together; each alone; callType wins", async () => {
  const caller = await registerCalls(base, "Dialer");
  const callee = await registerCalls(base, "Ringer");
  const [c, d] = await Promise.all([joinCalls(base, caller), joinCalls(base, callee)]);
  const place = async (data, expected) => {
    const offer = await ask(c, "call:initiate", { to: callee.id, ...data });
    assert.equal(offer.type, expected, JSON.stringify(data));
    assert.equal(offer.startWithVideoMuted, expected === "voice");
    const incoming = await d.rec.next("call:incoming");
    assert.equal(incoming.id, offer.id);
    assert.equal(incoming.type, expected);
    await ask(c, "call:end", { callId: offer.id, to: callee.id });
    assert.equal((await d.rec.next("call:ended")).callId, offer.id);
  };
  await place({ callType: "video", type: "video" }, "video");
  await place({ callType: "voice", type: "video" }, "voice");
  await place({ type: "video" }, "video");
  await place({ callType: "voice" }, "voice");
  for (const data of [{}, { type: "hologram" }, { callType: "hologram", type: "video" }]) {
    const refused = await ask(c, "call:initiate", { to: callee.id, ...data });
    assert.equal(refused.error.code, "INVALID_DATA", JSON.stringify(data));
    assert.equal((await c.rec.next("error")).code, "INVALID_DATA");
  }
});

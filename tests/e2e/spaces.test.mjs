// Account spaces (issue 14, defect 2): every profile admits only its own space's
// accounts and tokens. The rule (src/core/identity/space.rs, README "Account
// spaces"):
// - expresschat, calls, chatsphere and testcore serve the shared space: one
//   account signs in on any of them, and their access and refresh JWTs work on
//   each other (chatsphere's API tokens are a kind of their own: only chatsphere
//   reads them);
// - orgchat serves the organization space: its accounts and tokens work on
//   orgchat only, and it admits nothing of the shared space.
// A refusal is the profile's usual one, word for word what it answers for an
// unknown email (login) or a forged token (everything else), so it says nothing
// about the account existing in the other space.
//
// For every ordered pair (src, dst) of the five profiles, an account and its
// tokens made on src are tried on dst: login, refresh, REST, and each way dst's
// realtime transport reads a token; then the reproductions of the issue.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  startServer,
  closeAll,
  ALL_PROFILES,
  newIdentity,
  signupVerifyLogin,
  tokensFromCookieHeader,
  connectUser,
  makeSocket,
  post,
  get,
  request,
  rand,
} from "./helpers.mjs";
import { closeAllSockets, openSocket, wsUrl } from "./ws-helpers.mjs";
import { registerCalls, api as callsApi } from "./calls-lib.mjs";
import { orgUser, rawClient, sioClient } from "./orgchat-lib.mjs";
import { mintClientToken, makeUser as sphereUser, sphereSocket } from "./chatsphere-lib.mjs";
import { tcClient, msg } from "./testcore-lib.mjs";

const SPACE = {
  expresschat: "shared",
  calls: "shared",
  chatsphere: "shared",
  testcore: "shared",
  orgchat: "organization",
};
/** What kind of access token a profile mints and reads. */
const KIND = { expresschat: "jwt", calls: "jwt", orgchat: "jwt", testcore: "jwt", chatsphere: "api" };

const sameSpace = (a, b) => SPACE[a] === SPACE[b];
const tokenWorks = (src, dst) => sameSpace(src, dst) && KIND[src] === KIND[dst];

let server;
let clientToken; // chatsphere's first client token
const url = (p) => server.urls[p];
const FORGED = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.forged";
// Known secrets, so the last test can sign tokens as chatwire did before tokens
// carried their space.
const ACCESS_SECRET = `spaces-e2e-access-${rand(12)}`;
const REFRESH_SECRET = `spaces-e2e-refresh-${rand(12)}`;

/** An HS256 JWT of `claims` signed with `secret`. */
function jwt(claims, secret) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}


after(async () => {
  closeAll();
  closeAllSockets();
  if (server) await server.stop();
});

// ---------------------------------------------------------------- accounts made on src

/** An account made on `profile` the way its frontend makes one: {id, email?, password?, access, refresh?}. */
const makeOn = {
  async expresschat() {
    const ident = newIdentity("Ex");
    const cookie = await signupVerifyLogin(server, url("expresschat"), ident);
    const { accessToken, refreshToken } = tokensFromCookieHeader(cookie);
    const c = await connectUser(url("expresschat"), cookie);
    c.socket.disconnect();
    return { ...ident, id: c.userId.slice(1), access: accessToken, refresh: refreshToken };
  },
  async calls() {
    const u = await registerCalls(url("calls"), "Ca");
    return { email: u.email, password: u.password, name: u.name, id: String(u.id), access: u.token };
  },
  async orgchat() {
    const u = await orgUser(url("orgchat"), { name: "Org", org: `Acme ${rand(5)}` });
    return { email: u.email, password: u.password, name: u.username, id: String(u.id), access: u.accessToken, refresh: u.refreshToken };
  },
  async chatsphere() {
    // chatsphere accounts have a username and API tokens, no password.
    const u = await sphereUser({ base: url("chatsphere"), clientToken }, "sp");
    return { id: String(u.id), name: u.username, access: u.token };
  },
  async testcore() {
    const email = `tc.${rand(8)}@tc.e2e`;
    const password = `pw-${rand(8)}`;
    const r = await post(url("testcore"), "/api/v1/user/register", { name: `Tc ${rand(4)}`, email, password });
    assert.equal(r.status, 200, r.text);
    return {
      email,
      password,
      id: r.json.data.userData._id,
      access: r.json.data.accessToken,
      refresh: r.cookies.refreshToken.value,
    };
  },
};

// ---------------------------------------------------------------- what dst does with them

/** Each profile's login, as its frontend calls it: {status, json}. */
const login = {
  expresschat: (email, password) => post(url("expresschat"), "/login", { email, password }),
  calls: (email, password) => post(url("calls"), "/api/auth/login", { email, password }),
  orgchat: (email, password) => post(url("orgchat"), "/api/auth/login", { email, password }),
  testcore: (email, password) => post(url("testcore"), "/api/v1/user/login", { role: "Student", email, password }),
};
const loginOk = {
  expresschat: (r) => r.status === 200 && r.json.success === 1,
  calls: (r) => r.status === 200 && r.json.success === true,
  orgchat: (r) => r.status === 200 && typeof r.json.accessToken === "string",
  testcore: (r) => r.status === 200 && r.json.success === true,
};

/** A REST route of each profile that needs its access token. */
const rest = {
  expresschat: (t) => post(url("expresschat"), "/update-access-token", { acessToken: t }),
  calls: (t) => callsApi(url("calls"), "GET", "/api/messages", { token: t }),
  orgchat: (t) => get(url("orgchat"), "/api/chat", { headers: { authorization: `Bearer ${t}` } }),
  chatsphere: (t) => get(url("chatsphere"), "/api/rooms", { headers: { authorization: `Bearer ${t}` } }),
  testcore: (t) => get(url("testcore"), "/api/v1/chat/getChat", { headers: { authorization: `Bearer ${t}` } }),
};
// testcore's getChat answers 404 "no chat room currently" to a signed-in user without rooms.
const restOk = (dst, r) => r.status === 200 || (dst === "testcore" && r.status === 404 && r.json.success === false);

const shape = (r) => ({ status: r.status, body: r.json ?? r.text });

/**
 * Each way a profile's realtime transport reads a token. Every probe resolves with
 * {accepted: true, userId?} or {accepted: false, refusal} (the refusal as the
 * client sees it, to compare with a forged token's).
 */
const sockets = {
  expresschat: {
    async cookie(t) {
      return expresschatSocket({ cookie: `access_token=${t}` });
    },
    async query(t) {
      return expresschatSocket({ query: { accessToken: t } });
    },
  },
  calls: {
    async "handshake auth.token"(t) {
      return callsHandshake({ auth: { token: t } });
    },
    async "handshake Bearer"(t) {
      return callsHandshake({ headers: { authorization: `Bearer ${t}` } });
    },
    async "join {token}"(t) {
      const s = makeSocket(url("calls"));
      const first = s.rec.nextOf(["$connect", "$connect_error"], 5000);
      s.connect();
      assert.equal((await first).event, "$connect");
      s.emit("join", { token: t });
      const e = await s.rec.nextOf(["connected", "auth:error"]);
      s.disconnect();
      return e.event === "connected" ? { accepted: true, userId: e.args[0].userId } : { accepted: false, refusal: e.args[0] };
    },
  },
  orgchat: {
    async "raw WebSocket ?token="(t) {
      return upgraded(() => rawClient(url("orgchat"), t));
    },
    async "raw WebSocket Bearer"(t) {
      return upgraded(() => rawClient(url("orgchat"), t, { via: "header" }));
    },
    async "Socket.IO auth.token"(t) {
      return orgchatSio(t, "auth");
    },
    async "Socket.IO ?token="(t) {
      return orgchatSio(t, "query");
    },
  },
  chatsphere: {
    async "WebSocket ?token="(t) {
      return upgraded(() => sphereSocket(url("chatsphere"), { query: `token=${encodeURIComponent(t)}` }));
    },
    async "WebSocket Bearer"(t) {
      return upgraded(() => sphereSocket(url("chatsphere"), { headers: { authorization: `Bearer ${t}` } }));
    },
    async "WebSocket cookie"(t) {
      return upgraded(() => sphereSocket(url("chatsphere"), { headers: { cookie: `user_api_token=${t}` } }));
    },
  },
  testcore: {
    async "WebSocket ?token="(t) {
      return testcoreSocket(await tcClient(url("testcore"), { token: t }));
    },
    async "WebSocket Bearer"(t) {
      return testcoreSocket(await openSocket(wsUrl(url("testcore"), "/ws1/"), { headers: { authorization: `Bearer ${t}` } }));
    },
    async "WebSocket accessToken cookie"(t) {
      return testcoreSocket(await tcClient(url("testcore"), { cookie: `accessToken=${t}` }));
    },
  },
};

/** calls: a handshake token lets the socket in at once (`connected`), else `connect_error`. */
async function callsHandshake(opts) {
  const s = makeSocket(url("calls"), undefined, opts);
  const first = s.rec.nextOf(["$connect", "$connect_error"], 5000);
  s.connect();
  const e = await first;
  if (e.event === "$connect_error") return { accepted: false, refusal: e.args[0]?.message };
  const hello = await s.rec.next("connected");
  s.disconnect();
  return { accepted: true, userId: hello.userId };
}

/** orgchat over Socket.IO: in, or `connect_error` with its message. */
async function orgchatSio(t, via) {
  try {
    const c = await sioClient(url("orgchat"), t, { via });
    c.close();
    return { accepted: true };
  } catch (e) {
    return { accepted: false, refusal: e.message };
  }
}

/** expresschat never refuses a handshake: `user-id` (in) or `auth-failure` (out). */
async function expresschatSocket({ cookie, query }) {
  const s = makeSocket(url("expresschat"), cookie, query ? { query } : {});
  const first = s.rec.nextOf(["user-id", "auth-failure", "$connect_error"], 5000);
  s.connect();
  const e = await first;
  s.disconnect();
  if (e.event === "user-id") return { accepted: true, userId: e.args[0].userId, events: s.rec.events };
  return { accepted: false, refusal: { event: e.event, args: e.args } };
}

/** A raw WebSocket that opens (in) or whose upgrade is refused (out, with status and body). */
async function upgraded(open) {
  try {
    const c = await open();
    c.close();
    return { accepted: true };
  } catch (e) {
    if (e.status === undefined) throw e;
    return { accepted: false, refusal: { status: e.status, body: e.body } };
  }
}

/**
 * testcore accepts every upgrade and closes a refused one with 4000 and the
 * reason. A frame naming another user tells the two apart without waiting: an
 * accepted connection closes with "userId does not match the token".
 */
async function testcoreSocket(c) {
  c.send(msg("SEND_MESSAGE", `room-${rand(5)}`, rand(6), "hi", "999999999"));
  const closed = await c.closed();
  if (closed.code === 4000 && closed.reason === "userId does not match the token") return { accepted: true };
  return { accepted: false, refusal: closed };
}

/** Each profile's way of turning a refresh token into a new access token. */
const refreshers = {
  /** The handshake with only the refresh cookie: `access-token` then `user-id`. */
  async expresschat(rt) {
    const r = await expresschatSocket({ cookie: `refresh_token=${rt}` });
    if (r.accepted) assert.ok(r.events.includes("access-token"), "a fresh access token came with it");
    return r;
  },
  async orgchat(rt) {
    const r = await post(url("orgchat"), "/api/auth/refresh-token", { refreshToken: rt });
    if (r.status === 200) return { accepted: true };
    return { accepted: false, refusal: shape(r) };
  },
};

// The server, chatsphere's first client token, and what each profile answers
// an unknown email and a forged token: a refusal across spaces must be exactly
// that.
const unknownLogin = {};
const forged = { rest: {}, sockets: {}, refresh: {} };

before(async () => {
  server = await startServer(
    {
      BCRYPT_COST: "4",
      TESTCORE_RATE_LIMIT: "100000",
      ORGCHAT_RATE_LIMIT_PER_MINUTE: "100000",
      JWT_ACCESS_SECRET: ACCESS_SECRET,
      JWT_REFRESH_SECRET: REFRESH_SECRET,
    },
    { waitFor: ALL_PROFILES },
  );
  clientToken = mintClientToken(server);
  for (const p of Object.keys(login)) {
    unknownLogin[p] = shape(await login[p](`nobody.${rand(8)}@nowhere.e2e`, "pw-whatever"));
  }
  for (const p of ALL_PROFILES) {
    forged.rest[p] = shape(await rest[p](FORGED));
    assert.ok(!restOk(p, { status: forged.rest[p].status, json: forged.rest[p].body }), `${p} refuses a forged token`);
    forged.sockets[p] = {};
    for (const [via, probe] of Object.entries(sockets[p])) {
      const r = await probe(FORGED);
      assert.equal(r.accepted, false, `${p} ${via} refuses a forged token`);
      forged.sockets[p][via] = r.refusal;
    }
  }
  for (const p of Object.keys(refreshers)) {
    const r = await refreshers[p](FORGED);
    assert.equal(r.accepted, false, `${p} refresh refuses a forged token`);
    forged.refresh[p] = r.refusal;
  }
});

// ---------------------------------------------------------------- the matrix

/** chatsphere accounts have no password (its clients issue their tokens). */
const makesLogin = (src) => src !== "chatsphere";

for (const src of ALL_PROFILES) {
  for (const dst of ALL_PROFILES) {
    const verdict = (ok) => (ok ? "accepted" : "refused");
    const loginPart = makesLogin(src) && login[dst] ? `login ${verdict(sameSpace(src, dst))}, ` : "";
    test(`${src} account on ${dst}: ${loginPart}tokens ${verdict(tokenWorks(src, dst))}`, async () => {
      const acct = await makeOn[src]();
      const where = `${src} -> ${dst}`;

      // Login with the account's email and password (chatsphere accounts have none,
      // and chatsphere has no login: its tokens are issued by its clients).
      if (acct.email && login[dst]) {
        const r = await login[dst](acct.email, acct.password);
        if (sameSpace(src, dst)) assert.ok(loginOk[dst](r), `${where} login: ${r.status} ${r.text}`);
        else assert.deepEqual(shape(r), unknownLogin[dst], `${where} login: refused as an unknown email`);
      }

      // REST with the access token.
      const r = await rest[dst](acct.access);
      if (tokenWorks(src, dst)) assert.ok(restOk(dst, r), `${where} REST: ${r.status} ${r.text}`);
      else assert.deepEqual(shape(r), forged.rest[dst], `${where} REST: refused as a forged token`);

      // Every way dst's realtime transport reads a token.
      for (const [via, probe] of Object.entries(sockets[dst])) {
        const s = await probe(acct.access);
        assert.equal(s.accepted, tokenWorks(src, dst), `${where} ${via}: ${JSON.stringify(s)}`);
        if (s.accepted && s.userId !== undefined) {
          const expected = dst === "expresschat" ? `u${acct.id}` : String(acct.id);
          assert.equal(s.userId, expected, `${where} ${via}: the same account`);
        }
        if (!s.accepted) assert.deepEqual(s.refusal, forged.sockets[dst][via], `${where} ${via}: refused as a forged token`);
      }

      // Refresh (orgchat's route spends the token: it goes last).
      if (acct.refresh && refreshers[dst]) {
        const f = await refreshers[dst](acct.refresh);
        assert.equal(f.accepted, sameSpace(src, dst), `${where} refresh: ${JSON.stringify(f)}`);
        if (!f.accepted) assert.deepEqual(f.refusal, forged.refresh[dst], `${where} refresh: refused as a forged token`);
      }
    });
  }
}

// ---------------------------------------------------------------- the reproductions

test("an orgchat account gets nothing on expresschat: no login, no socket, no cookie, no search", async () => {
  const base = url("expresschat");
  const org = await makeOn.orgchat();
  // A shared-space user the org account must never see.
  const ann = await makeOn.expresschat();

  for (const password of [org.password, "a wrong one"]) {
    const r = await login.expresschat(org.email, password);
    assert.deepEqual(shape(r), unknownLogin.expresschat, "as an unknown email, password right or wrong");
    assert.equal(r.cookies.access_token, undefined, "no session cookie");
  }
  const up = await post(base, "/update-access-token", { acessToken: org.access });
  assert.equal(up.status, 400);
  assert.deepEqual(up.json, { message: "Invalid access token" });
  assert.equal(up.cookies.access_token, undefined, "the orgchat token is not made the cookie");

  for (const how of [{ cookie: `access_token=${org.access}` }, { query: { accessToken: org.access } }]) {
    const s = makeSocket(base, how.cookie, how.query ? { query: how.query } : {});
    const failure = s.rec.next("auth-failure", 5000);
    s.connect();
    assert.deepEqual(await failure, { reason: "Authentication failed" });
    // The server disconnects it; a search sent meanwhile is never answered.
    s.emit("search-user", { Name: ann.name.slice(0, 4), Type: "Search" });
    await s.rec.nextEntry("$disconnect", 5000);
    assert.ok(!s.rec.events.includes("searched-user"), `no search results: ${s.rec.events}`);
    assert.ok(!s.rec.events.includes("user-id"));
  }
  // A resend or verification for the orgchat email reads as an unknown email too.
  const resend = await post(base, "/resend", { email: org.email });
  assert.deepEqual(shape(resend), shape(await post(base, "/resend", { email: `nobody.${rand(8)}@nowhere.e2e` })));
});

test("search-user on expresschat never lists organization accounts", async () => {
  const base = url("expresschat");
  const tag = rand(6);
  const org = await orgUser(url("orgchat"), { name: `Zed${tag}`, org: `Acme ${rand(5)}` });
  const ident = newIdentity("Seeker");
  const cookie = await signupVerifyLogin(server, base, ident);
  const c = await connectUser(base, cookie);
  c.socket.emit("search-user", { Name: `zed${tag}`, Type: "Search" });
  assert.deepEqual(await c.rec.next("searched-user"), { Users: [] }, `${org.username} is not listed`);
  c.socket.disconnect();
});

test("orgchat's refresh-token refuses an expresschat refresh token and does not spend it", async () => {
  const ex = await makeOn.expresschat();
  const r = await post(url("orgchat"), "/api/auth/refresh-token", { refreshToken: ex.refresh });
  assert.deepEqual(shape(r), forged.refresh.orgchat, "refused as a forged token");
  assert.equal(r.json.accessToken, undefined);
  // Refused again the same way (a spent token would now be a reuse).
  const again = await post(url("orgchat"), "/api/auth/refresh-token", { refreshToken: ex.refresh });
  assert.deepEqual(shape(again), forged.refresh.orgchat);
  // Still good where it belongs: expresschat's handshake refreshes with it.
  const s = await refreshers.expresschat(ex.refresh);
  assert.equal(s.accepted, true);
  assert.equal(s.userId, `u${ex.id}`);
  // And an orgchat refresh token is refused by expresschat, then still rotates on orgchat.
  const org = await makeOn.orgchat();
  assert.equal((await refreshers.expresschat(org.refresh)).accepted, false);
  assert.equal((await refreshers.orgchat(org.refresh)).accepted, true);
});

test("an expresschat (shared-space) account gets nothing on orgchat", async () => {
  const ex = await makeOn.expresschat();
  const r = await login.orgchat(ex.email, ex.password);
  assert.deepEqual(shape(r), unknownLogin.orgchat);
  const rooms = await rest.orgchat(ex.access);
  assert.deepEqual(shape(rooms), forged.rest.orgchat);
  const created = await request(url("orgchat"), "POST", "/api/chat", {
    body: { name: "intrusion" },
    headers: { authorization: `Bearer ${ex.access}` },
  });
  assert.deepEqual(shape(created), forged.rest.orgchat);
  const raw = await openSocket(wsUrl(url("orgchat"), `/?token=${encodeURIComponent(ex.access)}`)).then(
    () => "open",
    (e) => e.status,
  );
  assert.equal(raw, 401);
});

test("a token minted before spaces (no aud) works only in its user's own space", async () => {
  const now = Math.floor(Date.now() / 1000);
  const old = (id) => jwt({ sub: String(id), iat: now, exp: now + 600, typ: "access" }, ACCESS_SECRET);
  const ex = await makeOn.expresschat();
  const org = await makeOn.orgchat();
  const [oldEx, oldOrg] = [old(ex.id), old(org.id)];

  // The shared-space account's old token: in on expresschat, calls and testcore; out on orgchat.
  assert.deepEqual(await sockets.expresschat.cookie(oldEx).then((s) => s.userId), `u${ex.id}`);
  assert.ok(restOk("calls", await rest.calls(oldEx)));
  assert.ok(restOk("testcore", await rest.testcore(oldEx)));
  assert.deepEqual(shape(await rest.orgchat(oldEx)), forged.rest.orgchat);
  assert.deepEqual(await sockets.orgchat["raw WebSocket ?token="](oldEx), { accepted: false, refusal: forged.sockets.orgchat["raw WebSocket ?token="] });

  // The organization account's old token: in on orgchat only.
  assert.ok(restOk("orgchat", await rest.orgchat(oldOrg)));
  assert.equal((await sockets.orgchat["Socket.IO auth.token"](oldOrg)).accepted, true);
  for (const via of ["cookie", "query"]) {
    assert.deepEqual(await sockets.expresschat[via](oldOrg), { accepted: false, refusal: forged.sockets.expresschat[via] });
  }
  assert.deepEqual(shape(await rest.expresschat(oldOrg)), forged.rest.expresschat);
  assert.deepEqual(shape(await rest.calls(oldOrg)), forged.rest.calls);
  assert.deepEqual(shape(await rest.testcore(oldOrg)), forged.rest.testcore);

  // Tokens minted now name their space.
  const claims = (t) => JSON.parse(Buffer.from(t.split(".")[1], "base64url").toString());
  assert.equal(claims(ex.access).aud, "chatwire:shared");
  assert.equal(claims(ex.refresh).aud, "chatwire:shared");
  assert.equal(claims(org.access).aud, "chatwire:organization");
  assert.equal(claims(org.refresh).aud, "chatwire:organization");
});

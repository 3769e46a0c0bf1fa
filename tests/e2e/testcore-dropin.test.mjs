// testcore drop-in: the original frontend's own requests (CODECZERO/Testcore
// client: SignIn.tsx is the sign-up form, SignUp.tsx the login, createChat.tsx,
// joinChat.tsx, ChatWrapper.tsx and chatPage.tsx), sent exactly as it sends them,
// with the default strict mode on; and what the page reads from the answers.
// A browser keeps the login's httpOnly cookies and sends them with the
// WebSocket upgrade of a page on the same site; the page sends no token.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, request, expectNoneBefore } from "./helpers.mjs";
import { closeAllSockets, openSocket, wsUrl } from "./ws-helpers.mjs";
import { tcClient, join, rand } from "./testcore-lib.mjs";

const servers = [];
after(async () => {
  closeAllSockets();
  for (const s of servers) await s.stop();
});

async function server(env = {}) {
  const s = await startServer(env, { waitFor: ["testcore"] });
  servers.push(s);
  return s.urls.testcore;
}

/** The page's axios client: JSON, `Authorization: Bearer <localStorage.accessToken>`
 * once logged in, and (same site) the browser's cookies. */
const axios = (base, browser) => (method, path, body) =>
  request(base, method, path, {
    body,
    cookie: browser.cookie,
    headers: browser.accessToken ? { authorization: `Bearer ${browser.accessToken}` } : {},
  });

/** A browser tab: its cookie jar and localStorage, as the pages fill them. */
function browser() {
  return { jar: {}, get cookie() {
    const pairs = Object.entries(this.jar).map(([k, v]) => `${k}=${v}`);
    return pairs.length ? pairs.join("; ") : undefined;
  } };
}

function keepCookies(tab, r) {
  for (const [name, c] of Object.entries(r.cookies)) tab.jar[name] = c.value;
}

/** SignIn.tsx (the sign-up form), then SignUp.tsx (the login), as a student. */
async function signUpAndLogIn(base, name) {
  const tab = browser();
  const call = axios(base, tab);
  const email = `${name.toLowerCase()}.${rand(8)}@college.test`;
  // Picking the role "Student" shows the college select; clicking it loads the list.
  const colleges = await call("GET", "/api/v1/user/signup");
  assert.equal(colleges.status, 200, colleges.text);
  assert.ok(Array.isArray(colleges.json.data), "the form maps data over <option>s");
  // The form's state, in its order; `age` is parseInt of the field.
  const form = {
    name,
    email,
    phoneNumber: "9876543210",
    age: 20,
    address: "Hostel 4, Delhi",
    role: "Student",
    password: "Password@123",
    collegeID: "",
  };
  const up = await call("POST", "/api/v1/user/signup", form);
  assert.ok(up.status >= 200 && up.status < 300, `${up.status} ${up.text}`);
  assert.equal(up.json.success, true);
  keepCookies(tab, up);

  // The login form's FormData: role, email, password.
  const login = await call("POST", "/api/v1/user/login", { role: "Student", email, password: form.password });
  assert.equal(login.status, 200, login.text);
  keepCookies(tab, login);
  const { accessToken } = login.json.data;
  const u = login.json.data.userData;
  // localStorage.setItem(`userId_${tabId}`, userId) and the profile fields: each
  // must be a string, or the page stores "undefined".
  for (const [key, v] of Object.entries({ Id: u.Id, name: u.name, email: u.email, phoneNumber: u.phoneNumber, address: u.address, accessToken })) {
    assert.equal(typeof v, "string", `userData.${key}: ${JSON.stringify(u)}`);
  }
  assert.equal(u.name, name);
  assert.equal(u.email, email);
  assert.equal(u.Id, u._id);
  tab.userId = u.Id;
  tab.accessToken = accessToken;
  assert.ok(tab.jar.accessToken, "the login sets the accessToken cookie");
  return tab;
}

/** chatPage.tsx's sendMessage (ChatWrapper.tsx's sends MessageId "12345"). */
const pageFrame = (tab, roomName, content, MessageId = `nano${rand(17)}`) => ({
  MessageId,
  roomName,
  content,
  typeOfMessage: "SEND_MESSAGE",
  userId: tab.userId,
});

test("the original pages: sign-up, login, a room, and chat over /ws1/ with the browser's cookie only", async () => {
  const base = await server();
  const ann = await signUpAndLogIn(base, "Ann");
  const bob = await signUpAndLogIn(base, "Bob");
  const roomName = `CSE-${rand(4)}`;
  // createChat.tsx, then joinChat.tsx (its body is {}).
  const created = await axios(base, ann)("POST", "/api/v1/chat/createChat", { roomName });
  assert.equal(created.status, 200, created.text);
  const joined = await axios(base, bob)("POST", `/api/v1/chat/ChatQuery/${roomName}`, {});
  assert.equal(joined.status, 200, joined.text);

  // ChatWrapper.tsx: new WebSocket("wss://<host>/ws1/"): no query, no header of
  // its own; the browser adds the cookies.
  const a = await tcClient(base, { cookie: ann.cookie });
  const b = await tcClient(base, { cookie: bob.cookie });

  // Bob's first frame puts his socket in the room's feed (the original's rule).
  await join(base, b, { token: bob.accessToken }, pageFrame(bob, roomName, "hi all"));
  // Ann's first frame, with the userId the login page stored.
  const first = pageFrame(ann, roomName, "hello from the page");
  a.send(first);
  const got = await b.next();
  assert.deepEqual(got, first);
  // chatPage.tsx's onmessage: shows frames with userId and content, "You: …"
  // when userId is its own.
  assert.ok(got.userId && got.content);
  assert.notEqual(got.userId, bob.userId);
  assert.equal(got.userId, ann.userId);

  // ChatWrapper's own sendMessage reuses MessageId "12345": every one is delivered.
  a.send(pageFrame(ann, roomName, "one", "12345"));
  a.send(pageFrame(ann, roomName, "two", "12345"));
  assert.equal((await b.next()).content, "one");
  assert.equal((await b.next()).content, "two");
  // Bob answers; Ann's socket got no echo of her own frames before it.
  b.send(pageFrame(bob, roomName, "hi Ann"));
  const reply = await expectNoneBefore(a, undefined, a.seen((e) => e.frame.content === "hi Ann"));
  assert.equal(reply.frame.userId, bob.userId);

  const history = await axios(base, ann)("GET", `/api/v1/chat/ChatQuery/${roomName}`);
  assert.deepEqual(
    history.json.data[0].messages.map((m) => [m.userId, m.content]),
    [
      [bob.userId, "hi all"],
      [ann.userId, "hello from the page"],
      [ann.userId, "one"],
      [ann.userId, "two"],
      [bob.userId, "hi Ann"],
    ],
  );
});

test("a browser page of this site opens the socket with its Origin and cookies", async () => {
  const base = await server();
  const ann = await signUpAndLogIn(base, "Ann");
  const roomName = `ECE-${rand(4)}`;
  await axios(base, ann)("POST", "/api/v1/chat/createChat", { roomName });
  const page = await openSocket(wsUrl(base, "/ws1/"), { headers: { cookie: ann.cookie, origin: base } });
  await join(base, page, { token: ann.accessToken }, pageFrame(ann, roomName, "from this site"));
  page.close();
});

test("strict mode still refuses a socket without a usable credential", async () => {
  const base = await server();
  const ann = await signUpAndLogIn(base, "Ann");
  const roomName = `ME-${rand(4)}`;
  await axios(base, ann)("POST", "/api/v1/chat/createChat", { roomName });

  // No cookie, no token (a browser that never logged in).
  const none = await tcClient(base);
  assert.deepEqual(await none.closed(), { code: 4000, reason: "Invalid request,User not have access to this group" });
  // A forged or stale accessToken cookie.
  const forged = await tcClient(base, { cookie: "accessToken=forged.token.value" });
  assert.deepEqual(await forged.closed(), { code: 4000, reason: "invalid or expired token" });
  // The refresh token is not an access token.
  const refresh = await tcClient(base, { cookie: `accessToken=${ann.jar.refreshToken}` });
  assert.deepEqual(await refresh.closed(), { code: 4000, reason: "invalid or expired token" });
  // Another site's page: the browser would send Ann's cookies with its socket too.
  const foreign = await openSocket(wsUrl(base, "/ws1/"), { headers: { cookie: ann.cookie, origin: "https://evil.example" } });
  assert.deepEqual(await foreign.closed(), { code: 4000, reason: "origin not allowed" });
  // The cookie is Ann's: a frame naming another user is refused.
  const a = await tcClient(base, { cookie: ann.cookie, path: "/" });
  a.send({ ...pageFrame(ann, roomName, "spoof"), userId: "999999" });
  assert.deepEqual(await a.closed(), { code: 4000, reason: "userId does not match the token" });
});

test("sign-up takes every spelling of the name at once; /register stays", async () => {
  const base = await server();
  const both = { name: "Asha", username: "asha_k", userName: "Asha K", fullName: "Asha Kumari", email: `asha.${rand(6)}@college.test`, password: "pw123456" };
  const up = await request(base, "POST", "/api/v1/user/signup", { body: both });
  assert.equal(up.status, 201, up.text);
  assert.equal(up.json.statusCode, 201);
  assert.equal(up.json.data.userData.name, "Asha");
  const reg = await request(base, "POST", "/api/v1/user/register", { body: { username: "raj", userName: "Raj", email: `raj.${rand(6)}@college.test`, password: "pw123456" } });
  assert.equal(reg.status, 200, reg.text);
  assert.equal(reg.json.data.userData.name, "raj");
  assert.equal(typeof reg.json.data.userData.Id, "string");
  const again = await request(base, "POST", "/api/v1/user/signup", { body: both });
  assert.equal(again.status, 409);
  assert.equal(again.json.message, "user already exists");
});

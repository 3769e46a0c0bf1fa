// expresschat drop-in checks (issue 11, points 7 and 8): what the original web client
// (Rishi838/ExpressChat, frontend/scripts/{auth,chat}.js and views/email_verify.ejs)
// sends, in its order and with its fields, and what it shows or logs from the answers.
// - The verification link opened in a browser (no cookies yet) answers a page that
//   moves on to the chat (`/`) after a few seconds and keeps a link; its cookies open
//   the chat's socket.
// - Every text wire-contracts.md quotes for this profile is the original's, word for
//   word: the REST `message`/`msg` strings, `auth-failure.reason`, `add-member-fail`
//   ("You Should be admin to add a member", "Already in Group") and
//   `group-left-success` ("Group Left Successfully").
// - /update-access-token accepts a body with both spellings of the token (the serde
//   alias trap), taking the original's `acessToken`; a bad token is still refused.
//
// Assumptions where the contract is silent:
// - The refresh delay is the original's order of magnitude (it waited 6 s): 3 to 10 s.
// - A refused add-member delivers nothing; proved with a bus barrier (groupBarrier).

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  post,
  get,
  newIdentity,
  linkPath,
  cookieHeaderFrom,
  signupVerifyLogin,
  tokensFromCookieHeader,
  makeSocket,
  connectUser,
  makeUser,
  closeAll,
  expectNoneBefore,
  groupBarrier,
  rand,
} from "./helpers.mjs";

let server;
let base;
let amy, bo, cy, dee; // amy creates the group with bo and cy; dee is added later

before(async () => {
  server = await startServer();
  base = server.urls.expresschat;
  [amy, bo, cy, dee] = await Promise.all(
    ["Amy", "Bo", "Cy", "Dee"].map((p) => makeUser(server, p)),
  );
});

beforeEach(() => {
  for (const u of [amy, bo, cy, dee]) u?.rec.drain();
});

after(async () => {
  closeAll();
  if (server) await server.stop();
});

/** The group the client's "create group" form makes (it requires two members at least). */
async function clientGroup(admin, members) {
  const Name = `Team ${rand(4)}`;
  admin.socket.emit("create-group-chat", {
    Name,
    Description: "our group",
    Participants: members.map((m) => m.id),
  });
  const { GroupId } = await admin.rec.next("create-group-chat-creator");
  for (const m of members) {
    assert.deepEqual(await m.rec.next("create-group-chat-receiver"), { GroupId, Name });
  }
  return GroupId;
}

test("verification page: moves on to / after a few seconds, keeps the link, logs in", async () => {
  const ident = newIdentity("Vera");
  // auth.js signup_listner: postData("/signup", {name, email, password})
  const s = await post(base, "/signup", { name: ident.name, email: ident.email, password: ident.password });
  assert.equal(s.status, 200);
  assert.equal(s.json.success, 1);
  const mail = await server.waitForMail(ident.email);
  // the mail's link, opened in a browser that has no cookies of this site yet
  const v = await get(base, linkPath(mail.link));
  assert.equal(v.status, 200);
  assert.match(v.headers.get("content-type") || "", /text\/html/);
  const refresh = /<meta\s+http-equiv="refresh"\s+content="(\d+);\s*url=([^"]+)"/i.exec(v.text);
  assert.ok(refresh, `a meta refresh in the page: ${v.text.slice(0, 400)}`);
  const delay = Number(refresh[1]);
  assert.ok(delay >= 3 && delay <= 10, `refresh after a few seconds, got ${delay}`);
  assert.equal(refresh[2], "/", "the refresh goes to the chat");
  assert.match(v.text, /<a href="\/">/, "the link to the chat is kept");
  assert.equal(v.cookies.access_token?.attrs.httponly, true);
  assert.equal(v.cookies.refresh_token?.attrs.httponly, true);
  // `/` is the chat page: io(origin) with the cookies the verification set
  const chat = await connectUser(base, cookieHeaderFrom(v.cookies));
  assert.equal(chat.userName, ident.name);
  assert.deepEqual(chat.personal, []);
  chat.socket.disconnect();
});

test("REST texts are the original's, word for word", async () => {
  const ident = newIdentity("Rex");
  const signup = (body) => post(base, "/signup", body);
  const login = (body) => post(base, "/login", body);

  let r = await signup({ name: ident.name, email: "", password: ident.password });
  assert.deepEqual([r.status, r.json], [404, { success: -1, message: "Enter All credentials properly" }]);

  assert.equal((await signup({ name: ident.name, email: ident.email, password: ident.password })).status, 200);
  r = await login({ email: ident.email, password: ident.password });
  assert.deepEqual(
    [r.status, r.json],
    [404, { success: -2, message: "Account Exist but Email not verified" }],
  );
  const mail = await server.waitForMail(ident.email);
  assert.equal((await get(base, linkPath(mail.link))).status, 200);

  r = await signup({ name: ident.name, email: ident.email, password: ident.password });
  assert.deepEqual([r.status, r.json], [404, { success: 0, message: "User Already Exists" }]);

  r = await login({ email: ident.email, password: "" });
  assert.deepEqual([r.status, r.json], [404, { success: -1, msg: "Bad request" }]);
  r = await login({ email: `nobody.${rand(6)}@e2e.test`, password: "whatever" });
  assert.deepEqual([r.status, r.json], [404, { success: 0, message: "NO Such User" }]);
  r = await login({ email: ident.email, password: ident.password + "x" });
  assert.deepEqual([r.status, r.json], [200, { success: 0, message: "Incorrect PassWord" }]);
  r = await login({ email: ident.email, password: ident.password });
  assert.deepEqual([r.status, r.json.success], [200, 1]);
});

test("a page without cookies gets auth-failure {reason: 'Authentication failed'}", async () => {
  // chat.js: io(origin) from a logged-out browser; it logs data.reason and goes to /auth
  const s = makeSocket(base);
  s.connect();
  assert.deepEqual(await s.rec.next("auth-failure", 5000), { reason: "Authentication failed" });
  assert.equal(await s.rec.next("$disconnect", 5000), "io server disconnect");
});

test("add-member-fail carries the original's texts; the admin's add still works", async () => {
  const GroupId = await clientGroup(amy, [bo, cy]);

  // a member who is not the admin: chat.js add_member(GroupId, Member)
  bo.socket.emit("add-member", { GroupId, Member: dee.id });
  assert.deepEqual(await bo.rec.next("add-member-fail"), { Message: "You Should be admin to add a member" });
  await expectNoneBefore(dee.rec, "new-grp-added", groupBarrier(bo, [dee])(dee.rec), "refused add");

  // the admin adds someone already in the group
  amy.socket.emit("add-member", { GroupId, Member: bo.id });
  assert.deepEqual(await amy.rec.next("add-member-fail"), { Message: "Already in Group" });

  amy.socket.emit("add-member", { GroupId, Member: dee.id });
  const added = { ChatId: GroupId, Member: dee.id };
  for (const u of [amy, bo, cy]) assert.deepEqual(await u.rec.next("add-member-success"), added);
  assert.deepEqual(await dee.rec.next("new-grp-added"), { ChatId: GroupId });
});

test("leave-grp: group-left-success says 'Group Left Successfully'; the admin gets group-left-fail", async () => {
  const GroupId = await clientGroup(amy, [bo, cy]);

  // chat.js: Socket.emit("leave-grp", { GroupId: activeId })
  bo.socket.emit("leave-grp", { GroupId });
  assert.deepEqual(await bo.rec.next("group-left-success"), { Message: "Group Left Successfully", GroupId });
  for (const u of [amy, cy]) assert.deepEqual(await u.rec.next("user-left-grp"), { GroupId, User: bo.id });

  // the admin may not leave (the client shows "Make New Admin before Leaving")
  amy.socket.emit("leave-grp", { GroupId });
  await amy.rec.next("group-left-fail");
  await expectNoneBefore(cy.rec, "user-left-grp", groupBarrier(amy, [cy])(cy.rec), "admin stays");
});

test("update-access-token: the client's body, both spellings together, a bad token refused", async () => {
  const ident = newIdentity("Tok");
  const cookie = await signupVerifyLogin(server, base, ident);
  const { accessToken } = tokensFromCookieHeader(cookie);

  // chat.js: postData("/update-access-token", { acessToken: data.accessToken })
  let r = await post(base, "/update-access-token", { acessToken: accessToken }, { cookie });
  assert.equal(r.status, 200);
  assert.equal(r.cookies.access_token?.value, accessToken);

  // both spellings in one body: not "duplicate field"; the original's spelling wins
  r = await post(base, "/update-access-token", { acessToken: accessToken, accessToken: "junk" }, { cookie });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.cookies.access_token?.value, accessToken);
  r = await post(base, "/update-access-token", { accessToken, acessToken: accessToken }, { cookie });
  assert.equal(r.status, 200, r.text);

  // only a token this server issued becomes the cookie
  r = await post(base, "/update-access-token", { acessToken: "junk", accessToken }, { cookie });
  assert.deepEqual([r.status, r.json], [400, { message: "Invalid access token" }]);
  assert.equal(r.cookies.access_token, undefined);
});

// Accounts, conversations and tokens on every profile, made through each profile's
// own routes (the e2e helpers): two members and an outsider per profile.

import { signupVerifyLogin, newIdentity, tokensFromCookieHeader, connectUser, rand } from "../e2e/helpers.mjs";
import { registerCalls } from "../e2e/calls-lib.mjs";
import { orgUser, createRoom } from "../e2e/orgchat-lib.mjs";
import { mintClientToken, makeUser as sphereUser, makeRoom } from "../e2e/chatsphere-lib.mjs";
import { tcUser, room as tcRoom } from "../e2e/testcore-lib.mjs";

export { rand };

async function expressUser(server, prefix) {
  const ident = newIdentity(prefix);
  const cookie = await signupVerifyLogin(server, server.urls.expresschat, ident);
  const c = await connectUser(server.urls.expresschat, cookie);
  c.socket.disconnect();
  return { ...ident, cookie, id: c.userId, ...tokensFromCookieHeader(cookie) };
}

/** An expresschat group of `admin` with `members` (ids), made over a socket. */
async function expressGroup(base, admin, members) {
  const c = await connectUser(base, admin.cookie);
  c.socket.emit("create-group-chat", { Name: `rel-${rand(5)}`, Description: "", Participants: members.map((m) => m.id) });
  const mine = await c.rec.next("create-group-chat-creator", 5000);
  c.socket.emit("create-personal-chat", { Receiver: members[0].id, Partner: members[0].name, UserName: admin.name });
  const personal = await c.rec.next("create-personal-chat-creator", 5000);
  c.socket.disconnect();
  return { groupId: mine.GroupId, chatId: personal.ChatId };
}

/** Per profile: {a, b, outsider, ...conversation ids}. */
export async function makeFixtures(server) {
  const u = server.urls;
  const fx = {};
  {
    const [a, b, outsider] = [await expressUser(server, "Rela"), await expressUser(server, "Relb"), await expressUser(server, "Relo")];
    fx.expresschat = { a, b, outsider, ...(await expressGroup(u.expresschat, a, [b])) };
  }
  {
    const [a, b, outsider] = await Promise.all([registerCalls(u.calls, "Ra"), registerCalls(u.calls, "Rb"), registerCalls(u.calls, "Ro")]);
    fx.calls = { a, b, outsider };
  }
  {
    const org = `Rel Org ${rand(5)}`;
    const admin = await orgUser(u.orgchat, { name: "Adm", org, role: "admin" });
    const a = await orgUser(u.orgchat, { name: "Ann", org, role: "user" });
    const b = await orgUser(u.orgchat, { name: "Ben", org, role: "user" });
    const outsider = await orgUser(u.orgchat, { name: "Eve", org: `Other Org ${rand(5)}`, role: "admin" });
    const room = await createRoom(u.orgchat, a, `rel ${rand(4)}`, [b.id]);
    fx.orgchat = { admin, a, b, outsider, roomId: room.id, org };
  }
  {
    const sphere = { base: u.chatsphere, clientToken: mintClientToken(server) };
    const a = await sphereUser(sphere, "ra");
    const b = await sphereUser(sphere, "rb");
    const outsider = await sphereUser(sphere, "ro");
    const roomId = await makeRoom(sphere, a, { isPrivate: true, members: [b] });
    fx.chatsphere = { sphere, clientToken: sphere.clientToken, a, b, outsider, roomId };
  }
  {
    const a = await tcUser(u.testcore, "Ta");
    const b = await tcUser(u.testcore, "Tb");
    const outsider = await tcUser(u.testcore, "To");
    const roomName = `rel${rand(6)}`;
    await tcRoom(u.testcore, a, roomName, [b]);
    fx.testcore = { a, b, outsider, roomName };
  }
  return fx;
}

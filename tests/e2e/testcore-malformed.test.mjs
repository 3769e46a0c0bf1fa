// testcore: every malformed frame closes its own connection with 4000 and a
// reason, and nothing reaches (or disturbs) the other connections of the room.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, expectNoneBefore } from "./helpers.mjs";
import { closeAllSockets } from "./ws-helpers.mjs";
import { tcUser, room, tcClient, msg, rand, join } from "./testcore-lib.mjs";

const servers = [];
after(async () => {
  closeAllSockets();
  for (const s of servers) await s.stop();
});

test("malformed frames close with 4000 and say why", async () => {
  const s = await startServer({ MAX_FRAME_BYTES: "4096" }, { waitFor: ["testcore"] });
  servers.push(s);
  const base = s.urls.testcore;
  const [ann, bob] = [await tcUser(base, "Ann"), await tcUser(base, "Bob")];
  const name = `bad-${rand(4)}`;
  await room(base, ann, name, [bob]);
  const b = await tcClient(base, { token: bob.token });
  await join(base, b, bob, msg("SEND_MESSAGE", name, "b0", "watching", bob.id));

  const good = msg("SEND_MESSAGE", name, "x", "hi", ann.id);
  const without = (k) => {
    const f = { ...good };
    delete f[k];
    return f;
  };
  const cases = [
    ["not json", "invalid JSON"],
    ["[1,2]", "a frame must be a JSON object"],
    ["42", "a frame must be a JSON object"],
    [without("MessageId"), "MessageId is required"],
    [without("roomName"), "roomName is required"],
    [without("content"), "content is required"],
    [without("typeOfMessage"), "typeOfMessage is required"],
    [without("userId"), "userId is required"],
    [{ ...good, userId: Number(ann.id) }, "userId must be a string"],
    [{ ...good, content: { text: "hi" } }, "content must be a string"],
    [{ ...good, typeOfMessage: "SHOUT" }, "message type wasn't defined"],
    [{ ...good, content: "" }, "content is required"],
    [{ ...good, roomName: "no-such-room" }, "room not found"],
    [{ ...good, content: "x".repeat(5000) }, "frame too large"],
  ];
  for (const [frame, reason] of cases) {
    const a = await tcClient(base, { token: ann.token });
    a.send(frame);
    assert.deepEqual(await a.closed(), { code: 4000, reason }, JSON.stringify(frame).slice(0, 80));
  }
  const bin = await tcClient(base, { token: ann.token });
  bin.ws.send(Buffer.from([1, 2, 3]));
  assert.deepEqual(await bin.closed(), { code: 4000, reason: "binary frames are not supported" });

  // Bob's connection is untouched and still relays; it got none of the above.
  const a = await tcClient(base, { token: ann.token });
  a.send(msg("SEND_MESSAGE", name, "ok", "still fine", ann.id));
  await expectNoneBefore(b, undefined, b.seen((e) => e.frame.MessageId === "ok"));
  assert.equal((await b.next()).MessageId, "ok");
});

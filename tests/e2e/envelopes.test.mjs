// Every answer of a profile is in its envelope (issue 14, defects 4 and 8):
// refusals no handler writes (bad percent-encoding in a path, a query of the
// wrong type, an unknown route, another method, a body, URI or head over the
// limit, a request line hyper cannot parse, a body of the wrong media type),
// and an oversized or unread body ends with the answer, not a reset. Malformed
// requests go over raw `net` sockets, as fetch would refuse to send them.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startServer, request } from "./helpers.mjs";
import { tcUser, bearer as tcBearer } from "./testcore-lib.mjs";
import { orgUser, bearer as orgBearer } from "./orgchat-lib.mjs";

// Each profile's refusal envelope (docs/<profile>.md), a known route with a
// method it does not take, and a JSON route.
const PROFILES = {
  expresschat: {
    // The original's login says `msg` where every other answer says `message`.
    shape: (j) =>
      typeof j.success === "number" &&
      typeof (j.message ?? j.msg) === "string" &&
      Object.keys(j).length === 2,
    wrongMethod: ["DELETE", "/login"],
    jsonRoute: "/login",
  },
  calls: {
    shape: (j) =>
      j.success === false &&
      typeof j.error?.code === "string" &&
      typeof j.error?.message === "string" &&
      Object.keys(j).length === 2,
    wrongMethod: ["PUT", "/api/messages"],
    jsonRoute: "/api/auth/login",
  },
  orgchat: {
    shape: (j) => typeof j.message === "string" && Object.keys(j).length === 1,
    wrongMethod: ["DELETE", "/api/auth/login"],
    jsonRoute: "/api/auth/login",
  },
  chatsphere: {
    shape: (j) => typeof j.error === "string" && Object.keys(j).length === 1,
    wrongMethod: ["DELETE", "/api/rooms"],
    jsonRoute: "/api/tokens/user",
  },
  testcore: {
    shape: (j) =>
      j.success === false &&
      j.data === null &&
      Array.isArray(j.errors) &&
      typeof j.message === "string" &&
      typeof j.statusCode === "number",
    wrongMethod: ["DELETE", "/api/v1/user/login"],
    jsonRoute: "/api/v1/user/login",
  },
};
const NAMES = Object.keys(PROFILES);
// Small enough that the oversized bodies below are quick to send.
const LIMIT = 65536;

let server;
before(async () => {
  server = await startServer({ MAX_FRAME_BYTES: String(LIMIT) }, { waitFor: NAMES });
});
after(async () => {
  await server?.stop();
});

const hostPort = (name) => {
  const u = new URL(server.urls[name]);
  return { host: u.hostname, port: Number(u.port) };
};

/**
 * Sends `head` (and `body`) on a fresh connection and reads the answer until
 * the server closes (or, for a kept-alive answer, until its body is complete).
 * Resolves {status, headers, text, json, socketError}: `socketError` is any
 * error the socket saw before it closed (ECONNRESET, EPIPE).
 */
function rawHttp(name, head, body) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(hostPort(name));
    const chunks = [];
    let socketError = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const buf = Buffer.concat(chunks);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        resolve({ status: 0, headers: {}, text: buf.toString("latin1"), json: undefined, socketError });
        return;
      }
      const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(lines[0].split(" ")[1]);
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const text = buf.subarray(end + 4).toString("utf8");
      let json;
      try {
        json = JSON.parse(text);
      } catch {}
      resolve({ status, headers, text, json, socketError });
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer to ${head.split("\r\n")[0].slice(0, 80)}`));
    }, 15000);
    sock.on("data", (d) => {
      chunks.push(d);
      // A kept-alive answer is complete once its body is.
      const buf = Buffer.concat(chunks);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const headText = buf.subarray(0, end).toString("latin1").toLowerCase();
      const m = /content-length:\s*(\d+)/.exec(headText);
      if (m && !headText.includes("connection: close") && buf.length >= end + 4 + Number(m[1])) {
        sock.end();
      }
    });
    sock.on("error", (e) => {
      socketError = e;
    });
    sock.on("close", finish);
    sock.write(head);
    if (body) sock.write(body);
  });
}

/** Asserts an answer is a JSON `status` in `name`'s envelope. */
function assertEnveloped(name, r, status, label) {
  const what = `${name} ${label}: ${r.status} ${JSON.stringify(r.headers)} ${r.text.slice(0, 300)}`;
  assert.equal(r.status, status, what);
  assert.match(r.headers["content-type"] ?? "", /^application\/json/, what);
  assert.ok(r.json !== undefined && PROFILES[name].shape(r.json), what);
  if (name === "testcore") assert.equal(r.json.statusCode, status, what);
}

const get = (path, extra = "") => `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${extra}\r\n`;

test("bad percent-encoding in a path parameter is a 400 in the envelope", async () => {
  const tc = await tcUser(server.urls.testcore);
  const org = await orgUser(server.urls.orgchat, { name: "Pct", org: "pct-org" });
  const cases = [
    ["testcore", "GET", "/api/v1/chat/ChatQuery/%ff", tcBearer(tc.token).headers, 400],
    ["chatsphere", "GET", "/api/rooms/%ff", {}, 400],
    ["chatsphere", "GET", "/api/users/%ff/messages", {}, 400],
    ["chatsphere", "DELETE", "/api/tokens/%ff", {}, 400],
    // orgchat's room ids are strings: one that does not decode names no room.
    ["orgchat", "GET", "/api/chat/%ff/messages", orgBearer(org.accessToken).headers, 404],
  ];
  for (const [name, method, path, headers, status] of cases) {
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    const r = await rawHttp(name, `${method} ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${extra}\r\n`);
    assertEnveloped(name, r, status, `${method} ${path}`);
  }
});

test("a query of the wrong type is a 400 in the envelope", async () => {
  const org = await orgUser(server.urls.orgchat, { name: "Query", org: "query-org" });
  const r = await request(server.urls.orgchat, "GET", "/api/chat?page=%ff", orgBearer(org.accessToken));
  assertEnveloped("orgchat", { ...r, headers: Object.fromEntries(r.headers) }, 400, "GET /api/chat?page=%ff");
});

test("an unknown route is a 404 in the envelope, on every profile", async () => {
  for (const name of NAMES) {
    const r = await rawHttp(name, get("/no/such/route"));
    assertEnveloped(name, r, 404, "GET /no/such/route");
  }
});

test("a known route with another method is a 405 in the envelope, with Allow", async () => {
  for (const name of NAMES) {
    const [method, path] = PROFILES[name].wrongMethod;
    const r = await rawHttp(name, `${method} ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
    assertEnveloped(name, r, 405, `${method} ${path}`);
    assert.ok(r.headers.allow, `${name}: 405 without Allow`);
  }
});

test("a body of another media type is refused in the envelope", async () => {
  for (const name of NAMES) {
    const body = "email=a&password=b";
    const r = await rawHttp(
      name,
      `POST ${PROFILES[name].jsonRoute} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    assert.ok(r.status >= 400 && r.status < 500, `${name}: ${r.status} ${r.text}`);
    assertEnveloped(name, r, r.status, "form body");
  }
});

test("a JSON body of the wrong types or not JSON at all is refused in the envelope", async () => {
  for (const name of NAMES) {
    for (const body of ['{"email": 5, "password": [], "username": {}, "name": false}', "{not json", "[1,2"]) {
      const r = await rawHttp(
        name,
        `POST ${PROFILES[name].jsonRoute} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      assert.ok(r.status >= 400 && r.status < 500, `${name} ${body}: ${r.status} ${r.text}`);
      assertEnveloped(name, r, r.status, body);
    }
  }
});

test("a URI over hyper's 64 KB is a 414 in the envelope, on every profile", async () => {
  const q = "a".repeat(70_000);
  for (const name of NAMES) {
    const r = await rawHttp(name, get(`/api/anything?q=${q}`));
    assertEnveloped(name, r, 414, "70 KB query");
    assert.equal(r.socketError, null, `${name}: ${r.socketError}`);
  }
});

test("request headers over the limit are a 431 in the envelope, on every profile", async () => {
  const big = "b".repeat(8000);
  const headers = Array.from({ length: 80 }, (_, i) => `x-filler-${i}: ${big}\r\n`).join("");
  for (const name of NAMES) {
    const r = await rawHttp(name, get("/", headers));
    assertEnveloped(name, r, 431, "640 KB of headers");
  }
});

test("a request line that does not parse is a 400 in the envelope", async () => {
  for (const name of NAMES) {
    const r = await rawHttp(name, "NOT A REQUEST\r\n\r\n");
    assertEnveloped(name, r, 400, "garbage request line");
  }
});

test("a body over the limit is a 413 in the envelope, read to its end without a reset", async () => {
  const body = Buffer.alloc(4 << 20, "x");
  for (const name of NAMES) {
    const r = await rawHttp(
      name,
      `POST ${PROFILES[name].jsonRoute} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      body,
    );
    assertEnveloped(name, r, 413, "4 MB body");
    assert.equal(r.headers.connection, "close", `${name}: 413 must close`);
    assert.equal(r.socketError, null, `${name}: the client saw ${r.socketError}`);
  }
});

test("a chunked body over the limit is a 413 in the envelope", async () => {
  const chunk = "x".repeat(16384);
  let chunked = "";
  for (let i = 0; i < 64; i++) chunked += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
  chunked += "0\r\n\r\n";
  for (const name of NAMES) {
    const r = await rawHttp(
      name,
      `POST ${PROFILES[name].jsonRoute} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`,
      chunked,
    );
    assertEnveloped(name, r, 413, "1 MB chunked body");
    assert.equal(r.socketError, null, `${name}: the client saw ${r.socketError}`);
  }
});

test("a GET with a body it does not read still gets its answer", async () => {
  // Ignored by the route (the ops routes take no body, so no limit applies);
  // several in a row, as one reset is enough to lose the answer.
  const body = Buffer.alloc(2 << 20, "y");
  for (const name of NAMES) {
    for (let i = 0; i < 5; i++) {
      const r = await rawHttp(
        name,
        `GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n`,
        body,
      );
      assert.equal(r.status, 200, `${name}: ${r.status} ${r.text}`);
      assert.equal(r.text, "ok");
      assert.equal(r.socketError, null, `${name}: the client saw ${r.socketError}`);
    }
  }
});

test("fetch gets the 413 envelope for an oversized body", async () => {
  for (const name of NAMES) {
    const r = await request(server.urls[name], "POST", PROFILES[name].jsonRoute, {
      raw: JSON.stringify({ pad: "z".repeat(1 << 20) }),
    });
    assertEnveloped(name, { ...r, headers: Object.fromEntries(r.headers) }, 413, "fetch 1 MB");
  }
});

// The Node.js peer of chatwire's benchmarks: socket.io 4 (websocket transport only,
// native bufferutil when installed) doing the same work as the chatwire path being
// measured. Started by bench/run.sh; configuration by environment:
//
//   PORT          listen port (127.0.0.1)
//   MODE          relay | express
//   DATABASE_URL  express only: a SQLite file path or postgres://... URL
//   JWT_SECRET    express only: HS256 secret of access tokens (same as chatwire's)
//   SEED_USERS    express only: make sure users 1..N exist (named benchN)
//   REDIS_URL     optional: attach @socket.io/redis-adapter (pub/sub over this
//                 Redis), so that several processes on one PostgreSQL database
//                 deliver to each other's sockets, as a scaled-out socket.io
//                 deployment does (bench/cluster.sh)
//
// relay: the room relay of shared/docs/targets.md. `joinRoom {roomId}` joins the
//   room; `sendMessage {roomId, userId, content}` ⇒ `newMessage {id, user_id,
//   chat_room_id, content, created_at}` to the room, sender included. No auth, no
//   database.
//
// express: the subset of the expresschat profile that the benchmarks drive, with
//   the same rules as chatwire: the handshake's access token (query `accessToken`
//   or cookie `access_token`) is checked and the user looked up in the database,
//   then `user-id`, `personal-chat-list`, `group-chat-list` (from the database) are
//   sent; `create-group-chat`, `create-personal-chat`, `send-group-message`,
//   `send-personal-message` (membership check, then one transaction: bump the
//   conversation's sequence, insert the message, move the sender's read pointer,
//   read the members; commit, then deliver to the other members' `user:<id>`
//   rooms), `fetch-user-details`. Events of one socket are handled in arrival order
//   (a promise chain per socket), as chatwire's per-connection inbox does.
'use strict';

const http = require('http');
const crypto = require('crypto');
const { Server } = require('socket.io');

const PORT = Number(process.env.PORT || 4200);
const MODE = process.env.MODE || 'relay';
const SECRET = process.env.JWT_SECRET || '';
const MAX_CONTENT = Number(process.env.MAX_CONTENT_LEN || 10000);

const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  maxHttpBufferSize: 256 * 1024,
});

/** Attaches the Redis adapter when REDIS_URL is set (resolves once both clients are connected). */
async function attachRedis() {
  const url = process.env.REDIS_URL;
  if (!url) return;
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (e) => console.error('node-peer: redis:', e.message));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
  console.log(`node-peer: redis adapter on ${url}`);
}

function listen() {
  httpServer.listen(PORT, '127.0.0.1', () => {
    console.log(`node-peer: ${MODE} listening on 127.0.0.1:${PORT} (pid ${process.pid})`);
  });
}

// ---- express --------------------------------------------------------------------

/** Checks an HS256 access token; returns the user id or null. */
function verifyAccess(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    if (header.alg !== 'HS256') return null;
    const want = crypto.createHmac('sha256', SECRET).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2], 'base64url');
    if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
    if (claims.typ !== 'access' || !(claims.exp > Date.now() / 1000)) return null;
    const id = Number(claims.sub);
    return Number.isSafeInteger(id) && id > 0 ? id : null;
  } catch {
    return null;
  }
}

function cookie(header, name) {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

const uid = (id) => `u${id}`;
const cid = (id) => `c${id}`;
const parseId = (prefix, s) => {
  if (typeof s !== 'string' || s[0] !== prefix) return null;
  const n = Number(s.slice(1));
  return Number.isSafeInteger(n) && n > 0 ? n : null;
};
const iso = (t) => (t ? new Date(t).toISOString() : null);

function express(db) {
  io.on('connection', async (socket) => {
    // Queue events until the greeting is out, then handle them in order.
    let chain = Promise.resolve();
    const on = (event, fn) =>
      socket.on(event, (data) => {
        chain = chain.then(() => fn(data)).catch((e) => console.error(`node-peer: ${event}:`, e.message));
      });
    const token = socket.handshake.query.accessToken || cookie(socket.handshake.headers.cookie, 'access_token');
    const id = verifyAccess(token);
    const user = id ? await db.user(id) : null;
    if (!user || !user.email_verified) {
      socket.emit('auth-failure', { reason: 'Authentication failed' });
      socket.disconnect(true);
      return;
    }
    const me = Number(user.id);
    socket.join(`user:${me}`);
    const ready = (async () => {
      const lists = await db.chatLists(me);
      socket.emit('user-id', { userId: uid(me), userName: user.name });
      socket.emit('personal-chat-list', { PersonalChatList: lists.personal });
      socket.emit('group-chat-list', { GroupChatList: lists.groups });
    })();
    chain = ready.catch((e) => console.error('node-peer: greeting:', e.message));

    on('fetch-user-details', async () => {
      socket.emit('user-details', { Name: user.name, Email: user.email, Id: uid(me) });
    });

    on('create-group-chat', async (d) => {
      if (!d || typeof d.Name !== 'string' || !Array.isArray(d.Participants)) return;
      const ids = d.Participants.map((p) => parseId('u', p));
      if (ids.some((x) => x === null)) return;
      const others = [...new Set(ids)].filter((x) => x !== me);
      const conv = await db.createGroup(me, d.Name, typeof d.Description === 'string' ? d.Description : '', others);
      const gid = cid(conv.id);
      socket.emit('create-group-chat-creator', { GroupId: gid, Name: d.Name });
      if (conv.members.length) {
        io.to(conv.members.map((u) => `user:${u}`)).emit('create-group-chat-receiver', { GroupId: gid, Name: d.Name });
      }
    });

    on('create-personal-chat', async (d) => {
      const other = d && parseId('u', d.Receiver);
      if (!other || other === me) return;
      const partner = await db.user(other);
      if (!partner || !partner.email_verified) return;
      const conv = await db.openDirect(me, other);
      io.to(`user:${me}`).emit('create-personal-chat-creator', { ChatId: cid(conv.id), Partner: partner.name });
      if (conv.created) {
        io.to(`user:${other}`).emit('create-personal-chat-partner', { ChatId: cid(conv.id), Partner: user.name });
      }
    });

    const send = (kind, idField, event) => async (d) => {
      const conv = d && parseId('c', d[idField]);
      if (!conv || typeof d.Content !== 'string' || d.Content.length > MAX_CONTENT) return;
      const sent = await db.send(conv, kind, me, d.Content);
      if (!sent) return; // not a member: refused
      const to = sent.members.filter((u) => u !== me).map((u) => `user:${u}`);
      if (!to.length) return;
      const payload =
        kind === 'group'
          ? { ChatId: cid(conv), Sender: user.name, Content: d.Content }
          : { ChatId: cid(conv), Content: d.Content, Sender: user.name };
      io.to(to).emit(event, payload);
    };
    on('send-group-message', send('group', 'GroupId', 'receive-group-message'));
    on('send-personal-message', send('direct', 'ChatId', 'receive-personal-message'));
  });
}

// ---- databases ------------------------------------------------------------------

const SCHEMA_SQLITE = `
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
  email_verified INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
  name TEXT, description TEXT, admin_id INTEGER, last_seq INTEGER NOT NULL DEFAULT 0,
  last_message_at TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memberships (conversation_id INTEGER NOT NULL, user_id INTEGER NOT NULL,
  read_seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (conversation_id, user_id));
CREATE INDEX IF NOT EXISTS memberships_user ON memberships (user_id);
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL, sender_id INTEGER NOT NULL, content TEXT NOT NULL, created_at TEXT NOT NULL,
  UNIQUE (conversation_id, seq));
`;

const LIST_DIRECT = `SELECT c.id, COALESCE(c.last_message_at, c.created_at) AS last, c.last_seq - m.read_seq AS unread,
  u.name AS partner FROM memberships m JOIN conversations c ON c.id = m.conversation_id
  LEFT JOIN memberships o ON o.conversation_id = c.id AND o.user_id <> m.user_id
  LEFT JOIN users u ON u.id = o.user_id
  WHERE m.user_id = $1 AND c.kind = 'direct' ORDER BY last DESC`;
const LIST_GROUPS = `SELECT c.id, c.name, COALESCE(c.last_message_at, c.created_at) AS last,
  c.last_seq - m.read_seq AS unread FROM memberships m JOIN conversations c ON c.id = m.conversation_id
  WHERE m.user_id = $1 AND c.kind = 'group' ORDER BY last DESC`;
const FIND_DIRECT = `SELECT c.id FROM conversations c JOIN memberships a ON a.conversation_id = c.id AND a.user_id = $1
  JOIN memberships b ON b.conversation_id = c.id AND b.user_id = $2 WHERE c.kind = 'direct' LIMIT 1`;
const IS_MEMBER = `SELECT 1 AS ok FROM memberships m JOIN conversations c ON c.id = m.conversation_id
  WHERE m.conversation_id = $1 AND m.user_id = $2 AND c.kind = $3`;
const BUMP = 'UPDATE conversations SET last_seq = last_seq + 1, last_message_at = $1 WHERE id = $2 RETURNING last_seq';
const INSERT_MSG = 'INSERT INTO messages (conversation_id, seq, sender_id, content, created_at) VALUES ($1, $2, $3, $4, $5)';
const MARK_READ = 'UPDATE memberships SET read_seq = $1 WHERE conversation_id = $2 AND user_id = $3';
const MEMBERS = 'SELECT user_id FROM memberships WHERE conversation_id = $1';

function lists(personal, groups) {
  return {
    personal: personal.map((r) => ({ _id: cid(r.id), LastChat: iso(r.last), Partner: r.partner || '', Unread: Number(r.unread) })),
    groups: groups.map((r) => ({ _id: cid(r.id), Name: r.name, LastChat: iso(r.last), Unread: Number(r.unread) })),
  };
}

async function openSqlite(file) {
  const Database = require('better-sqlite3');
  const db = new Database(file);
  // The same settings as chatwire's SQLite (src/core/db.rs).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.exec(SCHEMA_SQLITE);
  // The shared SQL numbers its parameters $1..; each is used once and in order, so
  // they become better-sqlite3's anonymous `?`.
  const q = (sql) => db.prepare(sql.replace(/\$\d+/g, '?'));
  const s = {
    user: q('SELECT id, name, email, email_verified FROM users WHERE id = $1'),
    direct: q(LIST_DIRECT),
    groups: q(LIST_GROUPS),
    findDirect: q(FIND_DIRECT),
    newConv: q('INSERT INTO conversations (kind, name, description, admin_id, created_at) VALUES ($1, $2, $3, $4, $5)'),
    join: q('INSERT OR IGNORE INTO memberships (conversation_id, user_id) SELECT $1, id FROM users WHERE id = $2'),
    isMember: q(IS_MEMBER),
    bump: q(BUMP),
    insert: q(INSERT_MSG),
    markRead: q(MARK_READ),
    members: q(MEMBERS).pluck(),
  };
  const now = () => new Date().toISOString();
  const createConv = db.transaction((kind, name, desc, admin, users) => {
    const id = Number(s.newConv.run(kind, name, desc, admin, now()).lastInsertRowid);
    const members = [];
    for (const u of users) if (s.join.run(id, u).changes) members.push(u);
    return { id, members };
  });
  const sendTx = db.transaction((conv, me, content) => {
    const t = now();
    const seq = s.bump.get(t, conv).last_seq;
    s.insert.run(conv, seq, me, content, t);
    s.markRead.run(seq, conv, me);
    return { seq, members: s.members.all(conv) };
  });
  return {
    async seed(n) {
      const ins = db.prepare('INSERT OR IGNORE INTO users (id, name, email, created_at) VALUES (?, ?, ?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= n; i++) ins.run(i, `bench${i}`, `bench${i}@example.com`, now());
      })();
    },
    async user(id) {
      return s.user.get(id) || null;
    },
    async chatLists(me) {
      return lists(s.direct.all(me), s.groups.all(me));
    },
    async createGroup(admin, name, desc, others) {
      const c = createConv.immediate('group', name, desc, admin, [admin, ...others]);
      return { id: c.id, members: c.members.filter((u) => u !== admin) };
    },
    async openDirect(a, b) {
      const found = s.findDirect.get(a, b);
      if (found) return { id: Number(found.id), created: false };
      return { id: createConv.immediate('direct', null, null, null, [a, b]).id, created: true };
    },
    async send(conv, kind, me, content) {
      if (!s.isMember.get(conv, me, kind)) return null;
      return sendTx.immediate(conv, me, content);
    },
  };
}

async function openPostgres(url) {
  const { Pool } = require('pg');
  // The same pool size as chatwire's default (DATABASE_MAX_CONNECTIONS=16).
  const pool = new Pool({ connectionString: url, max: Number(process.env.DATABASE_MAX_CONNECTIONS || 16) });
  await pool.query(`
CREATE TABLE IF NOT EXISTS users (id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
  email_verified BOOLEAN NOT NULL DEFAULT TRUE, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS conversations (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, name TEXT,
  description TEXT, admin_id BIGINT, last_seq BIGINT NOT NULL DEFAULT 0, last_message_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS memberships (conversation_id BIGINT NOT NULL, user_id BIGINT NOT NULL,
  read_seq BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (conversation_id, user_id));
CREATE INDEX IF NOT EXISTS memberships_user ON memberships (user_id);
CREATE TABLE IF NOT EXISTS messages (id BIGSERIAL PRIMARY KEY, conversation_id BIGINT NOT NULL,
  seq BIGINT NOT NULL, sender_id BIGINT NOT NULL, content TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (conversation_id, seq));`);
  // Named statements: prepared once per pooled connection, as sqlx caches them.
  const q = (c, name, text, values) => c.query({ name, text, values });
  async function tx(fn) {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }
  async function createConv(kind, name, desc, admin, users) {
    return tx(async (c) => {
      const id = Number(
        (await c.query('INSERT INTO conversations (kind, name, description, admin_id) VALUES ($1, $2, $3, $4) RETURNING id', [kind, name, desc, admin])).rows[0].id,
      );
      const r = await c.query(
        'INSERT INTO memberships (conversation_id, user_id) SELECT $1, id FROM users WHERE id = ANY($2::bigint[]) ON CONFLICT DO NOTHING RETURNING user_id',
        [id, users],
      );
      return { id, members: r.rows.map((x) => Number(x.user_id)) };
    });
  }
  return {
    async seed(n) {
      await pool.query(
        "INSERT INTO users (id, name, email) SELECT g, 'bench' || g, 'bench' || g || '@example.com' FROM generate_series(1, $1::int) g ON CONFLICT DO NOTHING",
        [n],
      );
    },
    async user(id) {
      return (await q(pool, 'user', 'SELECT id, name, email, email_verified FROM users WHERE id = $1', [id])).rows[0] || null;
    },
    async chatLists(me) {
      const [d, g] = await Promise.all([q(pool, 'direct', LIST_DIRECT, [me]), q(pool, 'groups', LIST_GROUPS, [me])]);
      return lists(d.rows, g.rows);
    },
    async createGroup(admin, name, desc, others) {
      const c = await createConv('group', name, desc, admin, [admin, ...others]);
      return { id: c.id, members: c.members.filter((u) => u !== admin) };
    },
    async openDirect(a, b) {
      const found = (await q(pool, 'findDirect', FIND_DIRECT, [a, b])).rows[0];
      if (found) return { id: Number(found.id), created: false };
      return { id: (await createConv('direct', null, null, null, [a, b])).id, created: true };
    },
    async send(conv, kind, me, content) {
      if (!(await q(pool, 'isMember', IS_MEMBER, [conv, me, kind])).rows.length) return null;
      return tx(async (c) => {
        const t = new Date();
        const seq = Number((await q(c, 'bump', BUMP, [t, conv])).rows[0].last_seq);
        await q(c, 'insert', INSERT_MSG, [conv, seq, me, content, t]);
        await q(c, 'markRead', MARK_READ, [seq, conv, me]);
        const members = (await q(c, 'members', MEMBERS, [conv])).rows.map((r) => Number(r.user_id));
        return { seq, members };
      });
    },
  };
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}

// Last, so that every declaration above is initialised.
/** Starts the mode chosen by MODE. */
async function main() {
  await attachRedis();
  if (MODE === 'relay') {
    let nextId = 0;
    io.on('connection', (socket) => {
      socket.on('joinRoom', (d) => {
        if (d && d.roomId != null) socket.join(String(d.roomId));
      });
      socket.on('sendMessage', (d) => {
        if (!d || d.roomId == null) return;
        io.to(String(d.roomId)).emit('newMessage', {
          id: ++nextId,
          user_id: d.userId,
          chat_room_id: d.roomId,
          content: d.content,
          created_at: new Date().toISOString(),
        });
      });
    });
    listen();
  } else if (MODE === 'express') {
    const url = process.env.DATABASE_URL || 'node-peer.db';
    const open = url.startsWith('postgres') ? openPostgres : openSqlite;
    open(url)
      .then(async (db) => {
        const seed = Number(process.env.SEED_USERS || 0);
        if (seed > 0) await db.seed(seed);
        express(db);
        listen();
      })
      .catch((e) => {
        console.error('node-peer: database:', e);
        process.exit(1);
      });
  } else {
    console.error(`node-peer: unknown MODE ${MODE}`);
    process.exit(2);
  }
}

main().catch((e) => {
  console.error('node-peer: start:', e);
  process.exit(1);
});

// The Node peer of `make bench`: a hand-written kanban write path to measure Liveboard against.
//
// node:http + ws + better-sqlite3, on one thread, every statement prepared once and run synchronously:
// no hand-off between threads anywhere. It serves exactly the surface examples/loadgen.rs drives,
// with the guarantees Liveboard gives where they apply:
// - SQLite in WAL mode with synchronous=NORMAL, foreign keys on, Liveboard's tables and indexes for
//   what it touches (users, boards, board_members, columns, cards, events, stream) plus `sessions`.
// - Each change and its event row are one `BEGIN IMMEDIATE` transaction; events are published only
//   after the commit, in `seq` order (one thread: a commit and its publish are never interleaved).
// - The session cookie is checked on every request and handshake against the `sessions` table (one
//   prepared join with `users`), like Liveboard's read of its session store and of the user.
// - A card is checked like Liveboard checks it: board exists and the caller is a member, the column
//   is on the board, title / description / labels / assignee validated, the rank placed after the
//   column's last card (the same fractional-index bytes as Liveboard's).
// - Subscribers get each event once if they are members of its board (an in-memory member map kept
//   by the writes here); a socket with more than WS_QUEUE frames' worth of bytes unsent (256, as
//   Liveboard's per-socket queue) is told `resync_required` and skipped until it drains, never silently.
// Not implemented (the generator does not use them): moves, edits, deletes, replay, HTML sockets.
//
// Environment: PORT, HOST (127.0.0.1), PEER_DB (the SQLite file), BENCH_USER and LIVEBOARD_PASSWORD
// (the user created at start), WS_QUEUE (default 256).
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const Database = require('better-sqlite3');
const { WebSocketServer } = require('ws');

const PORT = Number(process.env.PORT || 3001);
const HOST = process.env.HOST || '127.0.0.1';
const MAX_BODY = 64 * 1024;
const WS_QUEUE = Number(process.env.WS_QUEUE || 256);
const SESSION_SECS = 14 * 24 * 3600;

// ---------------------------------------------------------------- storage

const db = new Database(process.env.PEER_DB || 'peer.db');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');
db.pragma('temp_store = memory');
db.exec(`
create table if not exists users (id integer primary key autoincrement, username text not null unique collate nocase,
  password_hash text not null, is_admin boolean not null default false, created_at text not null);
create table if not exists sessions (id text primary key, user_id integer not null references users(id) on delete cascade,
  expires_at integer not null);
create table if not exists boards (id integer primary key autoincrement, name text not null,
  owner_id integer not null references users(id), done_column_id integer references columns(id) on delete set null,
  created_at text not null, updated_at text not null);
create table if not exists board_members (board_id integer not null references boards(id) on delete cascade,
  user_id integer not null references users(id) on delete cascade, role text not null, added_at text not null,
  primary key (board_id, user_id));
create table if not exists columns (id integer primary key autoincrement, board_id integer not null references boards(id) on delete cascade,
  name text not null, rank text not null, created_at text not null, updated_at text not null);
create index if not exists columns_by_board on columns(board_id, rank);
create table if not exists cards (id integer primary key autoincrement, board_id integer not null references boards(id) on delete cascade,
  column_id integer not null references columns(id) on delete cascade, title text not null, description text not null default '',
  assignee_id integer references users(id) on delete set null, labels text not null default '[]', rank text not null,
  version integer not null default 1, created_at text not null, updated_at text not null);
create index if not exists cards_by_column on cards(column_id, rank, id);
create index if not exists cards_by_board on cards(board_id);
create table if not exists events (seq integer primary key autoincrement, board_id integer, collection text not null,
  action text not null, record_id integer not null, actor_id integer, before text, after text, created_at text not null);
create index if not exists events_by_board on events(board_id, seq);
create table if not exists stream (id integer primary key check (id = 1), epoch text not null);
insert or ignore into stream (id, epoch) values (1, lower(hex(randomblob(8))));
`);

const q = {
  caller: db.prepare(`select u.id, u.username, u.is_admin from sessions s join users u on u.id = s.user_id
                      where s.id = ? and s.expires_at > ?`),
  userByName: db.prepare('select id, password_hash from users where username = ?'),
  addUser: db.prepare('insert or ignore into users (username, password_hash, is_admin, created_at) values (?, ?, 1, ?)'),
  addSession: db.prepare('insert into sessions (id, user_id, expires_at) values (?, ?, ?)'),
  addBoard: db.prepare('insert into boards (name, owner_id, created_at, updated_at) values (?, ?, ?, ?) returning id'),
  addColumn: db.prepare('insert into columns (board_id, name, rank, created_at, updated_at) values (?, ?, ?, ?, ?) returning *'),
  setDone: db.prepare('update boards set done_column_id = ? where id = ? returning *'),
  addMember: db.prepare("insert into board_members (board_id, user_id, role, added_at) values (?, ?, 'owner', ?)"),
  members: db.prepare('select board_id, user_id from board_members'),
  // Everything a create checks, in one statement (as Liveboard reads it): the board, the caller's role,
  // the column asked for (or the first), and the card at the end of that column.
  target: db.prepare(`with t as (select coalesce(@col, (select id from columns where board_id = @board order by rank, id limit 1)) as id)
    select exists(select 1 from boards where id = @board) as board,
           (select role from board_members where board_id = @board and user_id = @user) as role,
           (select board_id from columns where id = @col) as column_board, (select id from t) as column_id,
           (select c.rank from cards c, t where c.column_id = t.id order by c.rank desc, c.id desc limit 1) as edge`),
  assignee: db.prepare(`select u.id, u.username from users u join board_members m on m.user_id = u.id
                        where m.board_id = ? and u.username = ?`),
  addCard: db.prepare(`insert into cards (board_id, column_id, title, description, assignee_id, labels, rank, created_at, updated_at)
                       values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`),
  addEvent: db.prepare(`insert into events (board_id, collection, action, record_id, actor_id, before, after, created_at)
                        values (?, ?, 'create', ?, ?, null, ?, ?) returning seq`),
  seq: db.prepare("select coalesce(max(seq), 0) as seq from events"),
  board: db.prepare('select * from boards where id = ?'),
  role: db.prepare('select role from board_members where board_id = ? and user_id = ?'),
  columns: db.prepare('select * from columns where board_id = ? order by rank, id'),
  cards: db.prepare(`select c.*, u.username as assignee, 0 as checklist_done, 0 as checklist_total from cards c join columns k on k.id = c.column_id
                     left join users u on u.id = c.assignee_id where c.board_id = ? order by k.rank, k.id, c.rank, c.id`),
};
const epoch = db.prepare('select epoch from stream').get().epoch;
// Who is a member of which board, for routing events (kept up to date by the writes below).
const boardMembers = new Map();
for (const m of q.members.iterate()) {
  if (!boardMembers.has(m.board_id)) boardMembers.set(m.board_id, new Set());
  boardMembers.get(m.board_id).add(m.user_id);
}

const hash = (pw, salt) => crypto.scryptSync(pw, salt, 32).toString('hex');
if (process.env.BENCH_USER && process.env.LIVEBOARD_PASSWORD) {
  const salt = crypto.randomBytes(16).toString('hex');
  q.addUser.run(process.env.BENCH_USER, `${salt}:${hash(process.env.LIVEBOARD_PASSWORD, salt)}`, now());
}

function now() { return new Date().toISOString(); }

// Liveboard's fractional index (hex bytes ending in 0x80): the rank right after `prev`.
function rankAfter(prev) {
  if (prev == null) return '80';
  const b = Buffer.from(prev, 'hex');
  for (let i = 0; i < b.length; i++) {
    if (b[i] < 0x80) return b.subarray(0, i).toString('hex') + '80';
    if (b[i] < 0xff) { const out = Buffer.from(b.subarray(0, i + 1)); out[i]++; return out.toString('hex') + '80'; }
  }
  throw new Error('unterminated rank');
}

class Fail extends Error {
  constructor(status, code, message, field) { super(message); Object.assign(this, { status, code, field }); }
}
const invalid = (field, message) => new Fail(400, 'VALIDATION', message, field);

function text(field, label, raw, max) {
  if (typeof raw !== 'string') throw new Fail(400, 'BAD_REQUEST', `${field} must be a string`);
  const s = raw.trim();
  if (!s) throw invalid(field, `${label} can't be empty`);
  if ([...s].length > max) throw invalid(field, `${label} is too long (at most ${max} characters)`);
  return s;
}

// ---------------------------------------------------------------- writes (each one transaction)

const createBoard = db.transaction((user, name) => {
  const t = now();
  const id = q.addBoard.get(name, user.id, t, t).id;
  const cols = [];
  let rank = null;
  for (const n of ['Todo', 'Doing', 'Done']) { rank = rankAfter(rank); cols.push(q.addColumn.get(id, n, rank, t, t)); }
  const board = q.setDone.get(cols[2].id, id);
  q.addMember.run(id, user.id, t);
  const member = { board_id: id, user_id: user.id, username: user.username, role: 'owner', added_at: t };
  const events = [['boards', id, board], ...cols.map((c) => ['columns', c.id, c]), ['members', user.id, member]]
    .map(([coll, rid, rec]) => { const after = JSON.stringify(rec); return { coll, board: id, after, t, seq: q.addEvent.get(id, coll, rid, user.id, after, t).seq }; });
  return { board, events };
});

const createCard = db.transaction((user, boardId, b) => {
  const tg = q.target.get({ board: boardId, user: user.id, col: b.column_id ?? null });
  if (!tg.board || tg.role == null) throw new Fail(404, 'NOT_FOUND', 'Not found');
  if (b.column_id != null && tg.column_board !== boardId) throw invalid('column_id', 'No such column on this board');
  if (tg.column_id == null) throw invalid('column_id', 'This board has no columns');
  let assignee = null;
  if (typeof b.assignee === 'string' && b.assignee.trim()) {
    assignee = q.assignee.get(boardId, b.assignee.trim());
    if (!assignee) throw invalid('assignee', `"${b.assignee.trim()}" is not a member of this board`);
  }
  const t = now();
  const rank = rankAfter(tg.edge);
  const id = q.addCard.get(boardId, tg.column_id, b.title, b.description, assignee?.id ?? null, JSON.stringify(b.labels), rank, t, t).id;
  const card = { id, board_id: boardId, column_id: tg.column_id, title: b.title, description: b.description,
    assignee_id: assignee?.id ?? null, assignee: assignee?.username ?? null, labels: b.labels, rank, version: 1,
    checklist_done: 0, checklist_total: 0, created_at: t, updated_at: t };
  const after = JSON.stringify(card);
  const seq = q.addEvent.get(boardId, 'cards', id, user.id, after, t).seq;
  return { after, events: [{ coll: 'cards', board: boardId, after, t, seq }] };
});

// A board as the API shows it, read in one (deferred) transaction so `seq` matches the cards.
const snapshot = db.transaction((user, id) => {
  if (!q.role.get(id, user.id)) throw new Fail(404, 'NOT_FOUND', 'Not found');
  const cards = q.cards.all(id).map((c) => ({ ...c, labels: JSON.parse(c.labels) }));
  return { board: q.board.get(id), columns: q.columns.all(id), cards, seq: q.seq.get().seq };
});

function parseCard(body) {
  const allowed = ['title', 'column_id', 'description', 'assignee', 'labels', 'place', 'after_id', 'before_id'];
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw new Fail(400, 'BAD_REQUEST', `unknown field \`${k}\``);
  if (body.place != null && !['last', 'bottom'].includes(body.place) || body.after_id != null || body.before_id != null)
    throw new Fail(400, 'BAD_REQUEST', 'this peer places new cards last only');
  const description = (body.description ?? '').trimEnd();
  if ([...description].length > 10000) throw invalid('description', 'Description is too long (at most 10000 characters)');
  if (body.labels != null && !Array.isArray(body.labels)) throw new Fail(400, 'BAD_REQUEST', 'labels must be a list');
  const labels = [];
  for (const l of (body.labels ?? []).map((x) => String(x).trim()).filter(Boolean)) {
    if ([...l].length > 30) throw invalid('labels', 'A label is at most 30 characters');
    if (!labels.some((o) => o.toLowerCase() === l.toLowerCase())) labels.push(l);
  }
  if (labels.length > 10) throw invalid('labels', 'A card has at most 10 labels');
  if (body.column_id != null && !Number.isInteger(body.column_id)) throw new Fail(400, 'BAD_REQUEST', 'column_id must be an integer');
  return { title: text('title', 'Title', body.title, 200), description, labels, column_id: body.column_id, assignee: body.assignee };
}

// ---------------------------------------------------------------- realtime

const sockets = new Set();
let resyncs = 0;

// Publishes committed events in seq order: each frame is serialized once and sent to every matching socket.
function publish(events) {
  for (const e of events) {
    const frame = Buffer.from(`{"type":"record_event","collection":"${e.coll}","action":"create","record":${e.after},"timestamp":"${e.t}","seq":${e.seq}}`);
    const members = boardMembers.get(e.board);
    for (const ws of sockets) {
      if (!ws.user || !(ws.subs.has('*') || ws.subs.has(e.coll + '.*'))) continue;
      if (!(members?.has(ws.user.id) || (ws.user.is_admin && ws.subs.has('*')))) continue;
      if (ws.lagging) { if (ws.bufferedAmount > 0) continue; ws.lagging = false; }
      if (ws.bufferedAmount > WS_QUEUE * frame.length) {
        ws.lagging = true; resyncs++;
        ws.send(JSON.stringify({ type: 'resync_required', seq: e.seq, epoch, reason: 'queue_overflow' }));
        continue;
      }
      ws.send(frame, { binary: false }); // a text frame, as Liveboard sends
    }
  }
}

const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws, user) => {
  Object.assign(ws, { user, subs: new Set(), lagging: false, alive: true });
  sockets.add(ws);
  ws.send(JSON.stringify({ type: 'connected', connection_id: crypto.randomUUID(), seq: q.seq.get().seq, epoch }));
  ws.on('pong', () => { ws.alive = true; });
  ws.on('close', () => sockets.delete(ws));
  ws.on('error', () => ws.terminate());
  ws.on('message', (data) => {
    ws.alive = true;
    let m;
    try { m = JSON.parse(data); } catch { m = null; }
    const reply = (v) => ws.send(JSON.stringify(v));
    if (m?.type === 'ping') return reply({ type: 'pong', timestamp: m.timestamp });
    if (m?.type !== 'subscribe' && m?.type !== 'unsubscribe' || typeof m.pattern !== 'string')
      return reply({ type: 'error', code: 'BAD_MESSAGE', message: 'this peer knows ping and (un)subscribe to a pattern' });
    if (!ws.user) return reply({ type: 'error', code: 'AUTH_REQUIRED', message: 'sign in first' });
    if (m.pattern === '*' && !ws.user.is_admin) return reply({ type: 'error', code: 'FORBIDDEN', message: '* is for admins' });
    if (m.pattern !== '*' && !/^[a-z_]+\.\*$/.test(m.pattern)) return reply({ type: 'error', code: 'BAD_MESSAGE', message: 'pattern: collection.* or *' });
    if (m.type === 'subscribe') ws.subs.add(m.pattern); else ws.subs.delete(m.pattern);
    reply({ type: m.type === 'subscribe' ? 'subscribed' : 'unsubscribed', pattern: m.pattern });
  });
});
// Heartbeat: a ping every 37.5 s; a socket that sent nothing (not even a pong) for a whole round is closed.
setInterval(() => { for (const ws of sockets) { if (!ws.alive) ws.terminate(); else { ws.alive = false; ws.ping(); } } }, 37_500).unref();

// ---------------------------------------------------------------- HTTP

function callerOf(req) {
  const m = /(?:^|;\s*)liveboard_session=([^;]+)/.exec(req.headers.cookie || '');
  return m ? q.caller.get(m[1], Date.now()) ?? null : null;
}

function send(res, status, body, headers = {}) {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

const routes = [
  ['GET', /^\/health$/, () => [200, { status: 'ok' }]],
  ['GET', /^\/metrics$/, () => [200, `# TYPE liveboard_ws_connections gauge\nliveboard_ws_connections ${sockets.size}\n`
    + `# TYPE liveboard_ws_resyncs counter\nliveboard_ws_resyncs_total ${resyncs}\n`, { 'content-type': 'text/plain; version=0.0.4' }]],
  ['POST', /^\/login$/, (req, _user, raw) => {
    const form = new URLSearchParams(raw);
    const u = q.userByName.get(form.get('username') || '');
    const [salt, want] = u ? u.password_hash.split(':') : ['', ''];
    const got = Buffer.from(hash(form.get('password') || '', salt), 'hex'); // hashed even for no such user
    if (!u || want.length !== 64 || !crypto.timingSafeEqual(got, Buffer.from(want, 'hex')))
      return [401, { error: { code: 'AUTH_REQUIRED', message: 'Wrong username or password' } }];
    const sid = crypto.randomBytes(16).toString('base64url');
    q.addSession.run(sid, u.id, Date.now() + SESSION_SECS * 1000);
    return [303, '', { location: '/', 'set-cookie': `liveboard_session=${sid}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${SESSION_SECS}` }];
  }],
  ['POST', /^\/api\/boards$/, (req, user, raw) => {
    const name = text('name', 'Board name', json(req, raw).name, 100);
    const { board, events } = createBoard.immediate(user, name);
    boardMembers.set(board.id, new Set([user.id]));
    publish(events);
    return [201, board];
  }],
  ['GET', /^\/api\/boards\/(\d+)$/, (req, user, _raw, [id]) => [200, snapshot(user, +id)]],
  ['POST', /^\/api\/boards\/(\d+)\/cards$/, (req, user, raw, [id]) => {
    const { after, events } = createCard.immediate(user, +id, parseCard(json(req, raw)));
    publish(events);
    return [201, after];
  }],
];

function json(req, raw) {
  if (!/^application\/json/.test(req.headers['content-type'] || '')) throw new Fail(415, 'UNSUPPORTED_MEDIA_TYPE', 'send JSON');
  let v;
  try { v = JSON.parse(raw); } catch { throw new Fail(400, 'BAD_REQUEST', 'malformed JSON'); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Fail(400, 'BAD_REQUEST', 'expected an object');
  return v;
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  const chunks = [];
  let size = 0;
  req.on('data', (c) => { size += c.length; if (size <= MAX_BODY) chunks.push(c); });
  req.on('end', () => {
    try {
      if (size > MAX_BODY) throw new Fail(413, 'PAYLOAD_TOO_LARGE', 'body over 64 KiB');
      const route = routes.find(([m, re]) => m === req.method && re.test(path));
      if (!route) throw new Fail(404, 'NOT_FOUND', 'no such route');
      const user = path.startsWith('/api/') ? callerOf(req) : null;
      if (path.startsWith('/api/') && !user) throw new Fail(401, 'AUTH_REQUIRED', 'sign in first');
      const [status, body, headers] = route[2](req, user, Buffer.concat(chunks).toString(), route[1].exec(path).slice(1));
      send(res, status, body, headers);
    } catch (e) {
      if (!(e instanceof Fail)) console.error('peer: error:', e);
      const f = e instanceof Fail ? e : new Fail(500, 'INTERNAL', 'internal error');
      send(res, f.status, { error: { code: f.code, message: f.message, ...(f.field ? { field: f.field } : {}) } });
    }
  });
});
// Keep-alive connections stay open between benchmark rounds, as they do with Liveboard.
server.keepAliveTimeout = 120_000;
server.on('upgrade', (req, socket, head) => {
  if (req.url.split('?')[0] !== '/realtime/subscribe') return socket.destroy();
  const user = callerOf(req); // anonymous sockets are accepted, as in Liveboard, but cannot subscribe
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, user));
});
server.listen({ port: PORT, host: HOST, backlog: 4096 }, () => console.log(`peer: listening on http://${HOST}:${PORT}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); db.close(); process.exit(0); });

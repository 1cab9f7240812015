// Supabase Realtime postgres_changes and broadcast against `substrate up`, driven by the real
// @supabase/supabase-js client (supabase-compat.md section 4 and test recipe 12-15).
//
// The rows are written with psql as the database owner (what a service-role write amounts to);
// user tokens are signed here with the project secret from <data_dir>/secrets/jwt-secret,
// exactly as GoTrue would issue them.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

import { Substrate, makeDataDir, psql, removeDataDir, waitFor } from '../e2e/lib/substrate.mjs';

let substrate;
let dataDir;
let secret;
let db;
const clients = [];

const userA = crypto.randomUUID();
const userB = crypto.randomUUID();

function sign(claims) {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

function userToken(sub, { expiresIn = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return sign({
    iss: `${substrate.apiUrl}/auth/v1`, sub, aud: 'authenticated', exp: now + expiresIn, iat: now,
    email: `${sub}@example.com`, phone: '', app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {}, role: 'authenticated', aal: 'aal1', amr: [{ method: 'password', timestamp: now }],
    session_id: crypto.randomUUID(), is_anonymous: false,
  });
}

function client({ vsn, heartbeatIntervalMs } = {}) {
  const realtime = { transport: WebSocket };
  if (vsn) realtime.vsn = vsn;
  if (heartbeatIntervalMs) realtime.heartbeatIntervalMs = heartbeatIntervalMs;
  const c = createClient(substrate.apiUrl, substrate.apiKeys().anon, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime,
  });
  clients.push(c);
  return c;
}

async function asUser(sub, options) {
  const c = client(options);
  await c.realtime.setAuth(userToken(sub));
  return c;
}

// Subscribes and resolves with the first status other than intermediate ones.
function subscribe(channel, { timeoutMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    channel.subscribe((status, err) => resolve({ status, err }), timeoutMs);
  });
}

// Collects postgres_changes payloads of one binding.
function collect(c, name, binding) {
  const events = [];
  const channel = c.channel(name).on('postgres_changes', binding, (p) => events.push(p));
  return { channel, events };
}

function insert(userId, body, n = null) {
  return psql(db, `with row as (insert into public.rt_notes (user_id, body, n) values ('${userId}', '${body}', ${n ?? 'null'}) returning id) select id from row`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  dataDir = makeDataDir();
  substrate = await Substrate.start({ dataDir });
  secret = fs.readFileSync(path.join(dataDir, 'secrets', 'jwt-secret'), 'utf8').trim();
  db = substrate.env().DATABASE_URL;
  psql(db, `
    create table public.rt_notes (
      id bigserial primary key, user_id uuid not null, body text, n int,
      meta jsonb default '{"a":1}', done boolean default false, created_at timestamptz default now());
    alter table public.rt_notes enable row level security;
    create policy own_rows on public.rt_notes for select using (auth.uid() = user_id);
    grant select on public.rt_notes to anon, authenticated, service_role;
    create table public.rt_open (id int primary key, label text);
    grant select on public.rt_open to anon, authenticated, service_role;
    alter publication supabase_realtime add table public.rt_notes, public.rt_open;`);
});

after(async () => {
  for (const c of clients) await c.removeAllChannels();
  if (process.env.TEST_REALTIME_LOG) console.log(substrate?.stderr);
  await substrate?.stop();
  if (dataDir) removeDataDir(dataDir);
});

test('a user subscribes, receives its INSERTs with typed values and the system message', async () => {
  const c = await asUser(userA);
  const system = [];
  const { channel, events } = collect(c, 'happy', {
    event: 'INSERT', schema: 'public', table: 'rt_notes', filter: `user_id=eq.${userA}`,
  });
  channel.on('system', {}, (p) => system.push(p));
  const { status } = await subscribe(channel);
  assert.equal(status, 'SUBSCRIBED');
  const id = Number(insert(userA, 'hello'));
  await waitFor(() => events.length === 1, 5000, 'the INSERT event');
  const e = events[0];
  assert.equal(e.eventType, 'INSERT');
  assert.equal(e.schema, 'public');
  assert.equal(e.table, 'rt_notes');
  assert.match(e.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(e.new.id, id);
  assert.equal(e.new.user_id, userA);
  assert.equal(e.new.body, 'hello');
  assert.equal(e.new.done, false);
  assert.deepEqual(e.new.meta, { a: 1 });
  assert.equal(e.new.n, null);
  assert.deepEqual(e.old, {});
  assert.equal(e.errors, null);
  assert.ok(system.some((s) => s.status === 'ok' && s.message === 'Subscribed to PostgreSQL' && s.channel === 'happy'));
  assert.equal(await c.removeChannel(channel), 'ok');
  insert(userA, 'after leave');
  await sleep(300);
  assert.equal(events.length, 1, 'no events after removeChannel');
});

test('row-level security: B never sees A\'s rows, anon sees none, each gets exactly its own', async () => {
  const a = await asUser(userA);
  const b = await asUser(userB);
  const anon = client();
  const ra = collect(a, 'rls-a', { event: '*', schema: 'public', table: 'rt_notes' });
  const rb = collect(b, 'rls-b', { event: '*', schema: 'public', table: 'rt_notes' });
  const rn = collect(anon, 'rls-anon', { event: '*', schema: 'public', table: 'rt_notes' });
  for (const r of [ra, rb, rn]) assert.equal((await subscribe(r.channel)).status, 'SUBSCRIBED');
  insert(userA, 'private to a');
  insert(userB, 'private to b');
  insert(userA, 'again a');
  await waitFor(() => ra.events.length === 2 && rb.events.length === 1, 5000, 'each user\'s own rows');
  await sleep(300);
  assert.deepEqual(ra.events.map((e) => e.new.body), ['private to a', 'again a']);
  assert.deepEqual(rb.events.map((e) => e.new.body), ['private to b']);
  assert.ok(ra.events.every((e) => e.new.user_id === userA));
  assert.equal(rn.events.length, 0, 'anon sees nothing on an RLS table');
});

test('UPDATE does not reach an INSERT-only binding; DELETE carries only the key on an RLS table', async () => {
  const a = await asUser(userA);
  const inserts = [];
  const all = [];
  const channel = a.channel('events')
    .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_notes' }, (p) => inserts.push(p))
    .on('postgres_changes', { event: '*', schema: 'public', table: 'rt_notes' }, (p) => all.push(p));
  assert.equal((await subscribe(channel)).status, 'SUBSCRIBED');
  const id = insert(userA, 'to change');
  psql(db, `update public.rt_notes set body = 'changed' where id = ${id}`);
  psql(db, `delete from public.rt_notes where id = ${id}`);
  await waitFor(() => all.length === 3, 5000, 'insert, update and delete');
  assert.equal(inserts.length, 1);
  assert.deepEqual(all.map((e) => e.eventType), ['INSERT', 'UPDATE', 'DELETE']);
  assert.equal(all[1].new.body, 'changed');
  assert.deepEqual(all[1].old, { id: Number(id) });
  assert.deepEqual(all[2].old, { id: Number(id) });
  assert.deepEqual(all[2].new, {});
});

test('filters eq, neq, gt, lte and in select the rows', async () => {
  const a = await asUser(userA);
  const cases = {
    gt: `n=gt.10`, lte: `n=lte.10`, in: `n=in.(1,20)`, neq: `n=neq.20`, eq: `body=eq.filtered five`,
  };
  const got = {};
  const channel = a.channel('filters');
  for (const [name, filter] of Object.entries(cases)) {
    got[name] = [];
    channel.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_notes', filter },
      (p) => got[name].push(p.new.n));
  }
  assert.equal((await subscribe(channel)).status, 'SUBSCRIBED');
  insert(userA, 'filtered one', 1);
  insert(userA, 'filtered five', 5);
  insert(userA, 'filtered twenty', 20);
  await waitFor(() => got.gt.length === 1 && got.lte.length === 2, 5000, 'filtered events');
  await sleep(300);
  assert.deepEqual(got, { gt: [20], lte: [1, 5], in: [1, 20], neq: [1, 5], eq: [5] });
});

test('tables without RLS reach every subscriber, anon included', async () => {
  const anon = client();
  const r = collect(anon, 'open', { event: 'INSERT', schema: 'public', table: 'rt_open' });
  assert.equal((await subscribe(r.channel)).status, 'SUBSCRIBED');
  psql(db, `insert into public.rt_open values (1, 'visible')`);
  await waitFor(() => r.events.length === 1, 5000, 'the open insert');
  assert.deepEqual(r.events[0].new, { id: 1, label: 'visible' });
});

test('an expired token is refused with CHANNEL_ERROR and the reason', async () => {
  const c = client();
  await c.realtime.setAuth(userToken(userA, { expiresIn: -120 }));
  const channel = c.channel('expired').on('postgres_changes', { event: '*', schema: 'public', table: 'rt_notes' }, () => {});
  const { status, err } = await subscribe(channel);
  assert.equal(status, 'CHANNEL_ERROR');
  assert.match(String(err?.message), /Token has expired \d+ seconds ago/);
  await c.removeChannel(channel);
});

test('anon subscribes first, then setAuth switches the channel to the user\'s RLS', async () => {
  const c = client();
  const r = collect(c, 'switch', { event: 'INSERT', schema: 'public', table: 'rt_notes' });
  assert.equal((await subscribe(r.channel)).status, 'SUBSCRIBED');
  insert(userA, 'before sign-in');
  await sleep(500);
  assert.equal(r.events.length, 0);
  await c.realtime.setAuth(userToken(userA));
  await sleep(300);  // the access_token push has no reply
  insert(userA, 'after sign-in');
  await waitFor(() => r.events.length === 1, 5000, 'the event after setAuth');
  assert.equal(r.events[0].new.body, 'after sign-in');
});

test('broadcasts reach the other clients of a channel (and the sender with self)', async () => {
  const one = client();
  const two = client({ vsn: '1.0.0' });
  const received = { one: [], two: [] };
  const ch1 = one.channel('room', { config: { broadcast: { self: true, ack: true } } })
    .on('broadcast', { event: 'greet' }, (m) => received.one.push(m.payload));
  const ch2 = two.channel('room').on('broadcast', { event: 'greet' }, (m) => received.two.push(m.payload));
  assert.equal((await subscribe(ch1)).status, 'SUBSCRIBED');
  assert.equal((await subscribe(ch2)).status, 'SUBSCRIBED');
  assert.equal(await ch1.send({ type: 'broadcast', event: 'greet', payload: { from: 'one' } }), 'ok');
  assert.equal(await ch2.send({ type: 'broadcast', event: 'greet', payload: { from: 'two' } }), 'ok');
  await waitFor(() => received.one.length === 2 && received.two.length === 1, 5000, 'broadcasts');
  assert.deepEqual(received.two, [{ from: 'one' }]);
  assert.deepEqual(received.one.map((p) => p.from).sort(), ['one', 'two']);
});

test('vsn 1.0.0 object framing and answered heartbeats keep a channel subscribed', async () => {
  const c = client({ vsn: '1.0.0', heartbeatIntervalMs: 500 });
  await c.realtime.setAuth(userToken(userB));
  const statuses = [];
  const events = [];
  const channel = c.channel('v1').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'rt_notes' },
    (p) => events.push(p));
  channel.subscribe((s) => statuses.push(s));
  await waitFor(() => statuses.includes('SUBSCRIBED'), 5000, 'SUBSCRIBED');
  await sleep(2000);
  insert(userB, 'over v1');
  await waitFor(() => events.length === 1, 5000, 'the v1 event');
  assert.deepEqual(statuses, ['SUBSCRIBED']);
  assert.equal(events[0].new.body, 'over v1');
});

test('a broken replication connection loses no change', async () => {
  const a = await asUser(userA);
  const r = collect(a, 'resume', { event: 'INSERT', schema: 'public', table: 'rt_notes', filter: `user_id=eq.${userA}` });
  assert.equal((await subscribe(r.channel)).status, 'SUBSCRIBED');
  const bodies = [];
  for (let i = 0; i < 30; i++) {
    if (i === 10 || i === 20) {
      psql(db, `select pg_terminate_backend(pid) from pg_stat_replication where application_name = 'substrate realtime'`);
    }
    bodies.push(`resume ${i}`);
    insert(userA, `resume ${i}`);
  }
  await waitFor(() => new Set(r.events.map((e) => e.new.body)).size === 30, 20_000, 'all 30 rows after reconnects')
    .catch((e) => { throw new Error(`${e.message}; got ${r.events.map((x) => x.new.body)}`); });
  assert.deepEqual([...new Set(r.events.map((e) => e.new.body))], bodies, 'in commit order');
});

// Raw Phoenix vsn 2.0.0 sockets (the protocol supabase-js speaks), lighter than 1,000 clients.
function rawSubscriber(token, topic, changes) {
  return new Promise((resolve, reject) => {
    const url = `${substrate.apiUrl.replace('http', 'ws')}/realtime/v1/websocket?apikey=${substrate.apiKeys().anon}&vsn=2.0.0`;
    const ws = new WebSocket(url);
    const sub = { ws, rows: [], joined: false };
    ws.on('error', reject);
    ws.on('open', () => {
      ws.send(JSON.stringify(['1', '1', topic, 'phx_join',
        { config: { broadcast: { ack: false, self: false }, presence: { key: '', enabled: false }, postgres_changes: changes, private: false },
          access_token: token }]));
    });
    ws.on('message', (data) => {
      const [, , , event, payload] = JSON.parse(data.toString());
      if (event === 'phx_reply' && !sub.joined) {
        if (payload.status !== 'ok') reject(new Error(JSON.stringify(payload)));
        sub.joined = true;
        resolve(sub);
      } else if (event === 'postgres_changes') {
        sub.rows.push(payload.data.record.body);
      }
    });
  });
}

test('1,000 concurrent subscribers each get exactly the rows they may see', async () => {
  const users = Array.from({ length: 1000 }, () => crypto.randomUUID());
  const subs = [];
  for (let i = 0; i < users.length; i += 100) {
    subs.push(...await Promise.all(users.slice(i, i + 100).map((u, j) => {
      // Half filter on their own rows, half rely on row-level security alone.
      const binding = { event: 'INSERT', schema: 'public', table: 'rt_notes' };
      if ((i + j) % 2 === 0) binding.filter = `user_id=eq.${u}`;
      return rawSubscriber(userToken(u), `realtime:many-${i + j}`, [binding]);
    })));
  }
  // 20 rows for 10 of the users (two each), written in one transaction and one by one.
  const owners = users.slice(0, 10);
  psql(db, `insert into public.rt_notes (user_id, body) select u::uuid, 'bulk ' || u from unnest(array[${owners.map((u) => `'${u}'`).join(',')}]) u`);
  for (const u of owners) insert(u, `single ${u}`);
  try {
    await waitFor(() => subs.slice(0, 10).every((s) => s.rows.length === 2), 30_000, 'each owner\'s two rows');
    await sleep(500);
    subs.forEach((s, i) => {
      const expected = i < 10 ? [`bulk ${users[i]}`, `single ${users[i]}`] : [];
      assert.deepEqual(s.rows, expected, `subscriber ${i}`);
    });
  } finally {
    for (const s of subs) s.ws.close();
  }
});

test('user_notifications: B never receives A\'s identity events or A\'s direct messages to someone else', async () => {
  const userC = crypto.randomUUID();
  const subscribers = {};
  for (const [name, user] of [['a', userA], ['b', userB], ['c', userC]]) {
    const c = await asUser(user);
    subscribers[name] = collect(c, `notifications-${name}`, { event: 'INSERT', schema: 'public', table: 'user_notifications' });
    assert.equal((await subscribe(subscribers[name].channel)).status, 'SUBSCRIBED');
  }
  const now = new Date().toISOString();
  const row = (user, type, visibility, recipient) =>
    `('${user}', '${type}', '{}', '${now}', '${visibility}', ${recipient ? `'${recipient}'` : 'null'})`;
  psql(db, `insert into public.user_notifications (user_id, event_type, payload, event_time, visibility, recipient_id) values
    ${row(userA, 'identity.signup', 'private')},
    ${row(userA, 'user.message', 'direct', userC)},
    ${row(userB, 'user.message', 'broadcast')}`);
  const seen = (name) => subscribers[name].events.map((e) => `${e.new.user_id === userA ? 'A' : 'B'}:${e.new.event_type}:${e.new.visibility}`);
  await waitFor(() => seen('a').length === 3 && seen('b').length === 1 && seen('c').length === 2, 5000, 'the notifications');
  await sleep(300);
  assert.deepEqual(seen('a'), ['A:identity.signup:private', 'A:user.message:direct', 'B:user.message:broadcast']);
  assert.deepEqual(seen('b'), ['B:user.message:broadcast'], 'B sees only the broadcast');
  assert.deepEqual(seen('c'), ['A:user.message:direct', 'B:user.message:broadcast']);
});

// Supabase Realtime postgres_changes and broadcast against `substrate up`, driven by the real
// @supabase/supabase-js client (supabase-compat.md section 4 and test recipe 12-15).
//
// The rows are written with psql as the database owner (what a service-role write amounts to);
// user tokens are signed here with the project secret from <data_dir>/secrets/jwt-secret,
// exactly as GoTrue would issue them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

import { Substrate, freePort, makeDataDir, psql, removeDataDir, waitFor } from '../e2e/lib/substrate.mjs';

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
  // A 1 s stale-slot timeout for the sweep test (only other instances' slots are swept).
  substrate = await Substrate.start({ dataDir, settings: ['realtime.stale_slot_timeout_s=1'] });
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

// A psql session fed from stdin: one INSERT per transaction, in order, without blocking the event
// loop (psql() above is synchronous). `body(i)` names row i; `sent` counts what was handed over.
function asyncWriter(url, userId) {
  const child = spawn('psql', [url, '-Xq', '-v', 'ON_ERROR_STOP=0'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', r));
  return {
    sent: 0,
    write(body) {
      this.sent++;
      child.stdin.write(`insert into public.rt_notes (user_id, body) values ('${userId}', '${body}');\n`);
    },
    async end() {
      child.stdin.end();
      await exited;
      return stderr;
    },
  };
}

// The subscription point (src/realtime/README.md, "Subscription point"): every change committed
// after the join reply was sent is delivered; so an app that subscribes, prefetches over REST once
// SUBSCRIBED, and merges by primary key misses nothing, whatever is written meanwhile.
test('REST prefetch after SUBSCRIBED plus realtime loses nothing written around the join', async () => {
  const user = crypto.randomUUID();
  const token = userToken(user);
  const c = createClient(substrate.apiUrl, substrate.apiKeys().anon, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${token}` } },
    realtime: { transport: WebSocket },
  });
  clients.push(c);
  await c.realtime.setAuth(token);
  const writer = asyncWriter(db, user);
  // Rows keep coming before, during and after the join and the prefetch.
  let i = 0;
  const ticker = setInterval(() => writer.write(`race ${i++}`), 2);
  await sleep(200);
  const r = collect(c, 'race', { event: 'INSERT', schema: 'public', table: 'rt_notes', filter: `user_id=eq.${user}` });
  let sentAtSubscribed = -1;
  const status = await new Promise((resolve) => r.channel.subscribe((s) => {
    if (s === 'SUBSCRIBED') sentAtSubscribed = writer.sent;
    resolve(s);
  }));
  assert.equal(status, 'SUBSCRIBED');
  const prefetch = await c.from('rt_notes').select('id, body').eq('user_id', user);
  assert.equal(prefetch.error, null);
  await sleep(300);
  clearInterval(ticker);
  assert.equal(await writer.end(), '', 'every insert committed');
  const committed = psql(db, `select body from public.rt_notes where user_id = '${user}' order by id`).split('\n');
  await waitFor(() => r.events.length >= committed.length - sentAtSubscribed, 10_000, 'the rows after SUBSCRIBED');
  await sleep(300);
  const viaRealtime = r.events.map((e) => e.new.body);
  const viaRest = prefetch.data.map((row) => row.body);
  // Nothing missing from the union, nothing twice over realtime.
  assert.deepEqual([...new Set([...viaRest, ...viaRealtime])].sort(), [...committed].sort());
  assert.equal(new Set(viaRealtime).size, viaRealtime.length);
  // Every row sent after SUBSCRIBED (so committed after it) came over realtime, in commit order.
  const after = committed.slice(sentAtSubscribed);
  assert.ok(after.length > 50, `rows written after SUBSCRIBED: ${after.length}`);
  assert.deepEqual(viaRealtime.slice(-after.length), after);
  assert.ok(viaRest.length > 0 && sentAtSubscribed > 0, 'rows were written before the join too');
});

// TIMED_OUT (4.7): no join reply within the client's timeout. Caused for real: the server process
// is paused (SIGSTOP) while the client's socket is open, then resumed, and the client's own retry
// then joins.
test('a join the server does not answer in time gives TIMED_OUT, and the retry SUBSCRIBED', async () => {
  const c = await asUser(userA);
  const warm = collect(c, 'timeout-warm', { event: 'INSERT', schema: 'public', table: 'rt_notes' });
  assert.equal((await subscribe(warm.channel)).status, 'SUBSCRIBED');  // the socket is open
  const statuses = [];
  const r = collect(c, 'timeout', { event: 'INSERT', schema: 'public', table: 'rt_notes', filter: `user_id=eq.${userA}` });
  process.kill(substrate.pid, 'SIGSTOP');
  try {
    // The stop reaches each thread asynchronously: wait until all of them are stopped.
    const stopped = () => fs.readdirSync(`/proc/${substrate.pid}/task`).every((t) =>
      /^\d+ \(.*\) T /.test(fs.readFileSync(`/proc/${substrate.pid}/task/${t}/stat`, 'utf8')));
    await waitFor(stopped, 5000, 'every thread of substrate stopped');
    r.channel.subscribe((s) => statuses.push(s), 500);
    await waitFor(() => statuses.includes('TIMED_OUT'), 10_000, 'TIMED_OUT')
      .catch((e) => { throw new Error(`${e.message}; statuses ${statuses}`); });
  } finally {
    process.kill(substrate.pid, 'SIGCONT');
  }
  await waitFor(() => statuses.includes('SUBSCRIBED'), 15_000, 'SUBSCRIBED after the retry');
  assert.equal(statuses[0], 'TIMED_OUT');
  insert(userA, 'after the timeout');
  await waitFor(() => r.events.some((e) => e.new.body === 'after the timeout'), 5000, 'an event on the rejoined channel');
});

// An error in a policy hides the row from that subscriber only (migrations/0010: the batch is
// re-checked with a subtransaction per subscriber).
test('a policy that fails for one subscriber hides the row from that subscriber only', async () => {
  const failing = crypto.randomUUID();
  psql(db, `
    create table public.rt_fragile (id int primary key, label text);
    alter table public.rt_fragile enable row level security;
    create function public.rt_fragile_check() returns boolean language plpgsql stable as $$
    begin
      if auth.uid() = '${failing}'::uuid then raise exception 'policy failure for this user'; end if;
      return true;
    end $$;
    create policy fragile on public.rt_fragile for select using (public.rt_fragile_check());
    grant select on public.rt_fragile to authenticated;
    alter publication supabase_realtime add table public.rt_fragile;`);
  const ok = collect(await asUser(userB), 'fragile-ok', { event: 'INSERT', schema: 'public', table: 'rt_fragile' });
  const bad = collect(await asUser(failing), 'fragile-bad', { event: 'INSERT', schema: 'public', table: 'rt_fragile' });
  for (const r of [ok, bad]) assert.equal((await subscribe(r.channel)).status, 'SUBSCRIBED');
  psql(db, `insert into public.rt_fragile values (1, 'one'), (2, 'two')`);
  await waitFor(() => ok.events.length === 2, 5000, 'both rows for the other subscriber');
  await sleep(300);
  assert.deepEqual(ok.events.map((e) => e.new.label), ['one', 'two']);
  assert.equal(bad.events.length, 0);
});

// A real database restart mid-stream: an external PostgreSQL of this test's own (substrate's
// managed one is a child it does not expect to restart), `pg_ctl restart -m fast` while rows are
// written; every committed row arrives once the source has reconnected.
test('a PostgreSQL restart mid-stream loses no committed change', { timeout: 120_000 }, async () => {
  const bin = fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))
    .map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(`${d}/pg_ctl`));
  const dir = makeDataDir();
  const pgdata = path.join(dir, 'pg');
  const port = await freePort();
  const asPostgres = (args) => {
    const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stdout}${r.stderr}`);
  };
  fs.mkdirSync(pgdata, { mode: 0o700 });
  spawnSync('chown', ['postgres:postgres', pgdata]);
  asPostgres([`${bin}/initdb`, '-D', pgdata, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  const options = `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${pgdata} -c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -c fsync=off`;
  asPostgres([`${bin}/pg_ctl`, '-D', pgdata, '-o', options, '-l', `${pgdata}/log`, '-w', 'start']);
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const sdir = makeDataDir();
  let s;
  try {
    s = await Substrate.start({ dataDir: sdir, databasePort: null, settings: [`database.url=${url}`] });
    const sSecret = fs.readFileSync(path.join(sdir, 'secrets', 'jwt-secret'), 'utf8').trim();
    psql(url, `
      create table public.rt_restart (id bigserial primary key, user_id uuid not null, body text);
      alter table public.rt_restart enable row level security;
      create policy own_rows on public.rt_restart for select using (auth.uid() = user_id);
      grant select on public.rt_restart to authenticated;
      alter publication supabase_realtime add table public.rt_restart;`);
    const user = crypto.randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: user, role: 'authenticated', aud: 'authenticated', exp: now + 3600, iat: now })).toString('base64url');
    const token = `${header}.${payload}.${crypto.createHmac('sha256', sSecret).update(`${header}.${payload}`).digest('base64url')}`;
    const c = createClient(s.apiUrl, s.apiKeys().anon, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: WebSocket } });
    clients.push(c);
    await c.realtime.setAuth(token);
    const events = [];
    const statuses = [];
    const channel = c.channel('restart').on('postgres_changes',
      { event: 'INSERT', schema: 'public', table: 'rt_restart', filter: `user_id=eq.${user}` }, (p) => events.push(p.new.body));
    channel.subscribe((st) => statuses.push(st));
    await waitFor(() => statuses.includes('SUBSCRIBED'), 10_000, 'SUBSCRIBED');
    // One psql per row (a session does not survive the restart); failures during it are fine:
    // only committed rows are expected.
    const write = (i) => spawnSync('psql', [url, '-XAtqc', `insert into public.rt_restart (user_id, body) values ('${user}', 'row ${i}')`], { timeout: 10_000 });
    for (let i = 0; i < 20; i++) write(i);
    asPostgres([`${bin}/pg_ctl`, '-D', pgdata, '-o', options, '-l', `${pgdata}/log`, '-m', 'fast', '-w', 'restart']);
    for (let i = 20; i < 40; i++) write(i);
    await sleep(1000);
    asPostgres([`${bin}/pg_ctl`, '-D', pgdata, '-o', options, '-l', `${pgdata}/log`, '-m', 'fast', '-w', 'restart']);
    for (let i = 40; i < 60; i++) write(i);
    const committed = psql(url, `select body from public.rt_restart order by id`).split('\n');
    assert.equal(committed.length, 60, 'every insert after a completed restart commits');
    await waitFor(() => new Set(events).size === committed.length, 30_000, 'every committed row after the restarts')
      .catch((e) => { throw new Error(`${e.message}; got ${events.length}: ${[...new Set(events)]}`); });
    assert.deepEqual([...new Set(events)], committed, 'in commit order');
    assert.match(s.stderr, /replication interrupted/, 'the stream really broke');
    assert.deepEqual(statuses, ['SUBSCRIBED'], 'the client never noticed');
    await c.removeAllChannels();
  } finally {
    await s?.stop();
    spawnSync('runuser', ['-u', 'postgres', '--', `${bin}/pg_ctl`, '-D', pgdata, '-m', 'immediate', 'stop']);
    removeDataDir(sdir);
    removeDataDir(dir);
  }
});

test('replication slots of other instances that stay inactive are dropped, others kept', async () => {
  psql(db, `select pg_create_logical_replication_slot('substrate_realtime_0000dead', 'pgoutput');
            select pg_create_logical_replication_slot('not_substrate_realtime', 'pgoutput');`);
  try {
    const slots = () => psql(db, `select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots`).split(',');
    await waitFor(() => !slots().includes('substrate_realtime_0000dead'), 15_000, 'the stale slot to be dropped');
    const left = slots();
    assert.ok(left.includes('not_substrate_realtime'), 'a slot without the prefix stays');
    assert.equal(left.filter((s) => s.startsWith('substrate_realtime_')).length, 1, 'our own slot stays');
    await waitFor(() => /dropped the replication slot substrate_realtime_0000dead/.test(substrate.stderr), 5000, 'the warning');
  } finally {
    psql(db, `select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = 'not_substrate_realtime'`);
  }
});

// bench/realtime: latency from INSERT commit to delivery at the client, and memory per
// connection, of `substrate up`'s Realtime (issue 8 Measure). See bench/README.md.
//
// SUBSCRIBERS raw vsn 2.0.0 sockets (default 1000), each a distinct user subscribed to INSERTs on
// an RLS table; a FILTERED share of them (default 1) filters on its own user_id (the
// notifications pattern), the rest rely on row-level security alone. One psql session inserts
// RATE rows/s (default 1000) for DURATION s (default 10) for random subscribers. Latency = client
// receive time - commit_timestamp of the event (the server's commit clock, ms precision, same
// machine). Memory: substrate's RSS growth per connection over IDLE idle sockets (default
// 10000) that joined a channel.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import WebSocket from '../../tests/contract/node_modules/ws/index.js';
import { Substrate, makeDataDir, psql, removeDataDir } from '../../tests/e2e/lib/substrate.mjs';

const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 1000);
const RATE = Number(process.env.RATE ?? 1000);
const DURATION = Number(process.env.DURATION ?? 10);
const FILTERED = Number(process.env.FILTERED ?? 1);
const IDLE = Number(process.env.IDLE ?? 10000);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const dataDir = makeDataDir();
// Enough descriptors for IDLE sockets on both ends.
const substrate = await Substrate.start({ dataDir, settings: ['log.level=warn'] });
let exitCode = 0;
try {
  const secret = fs.readFileSync(path.join(dataDir, 'secrets', 'jwt-secret'), 'utf8').trim();
  const db = substrate.env().DATABASE_URL;
  const anon = substrate.apiKeys().anon;
  const wsUrl = `${substrate.apiUrl.replace('http', 'ws')}/realtime/v1/websocket?apikey=${anon}&vsn=2.0.0`;
  const sign = (claims) => {
    const h = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${h}.${p}.${crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
  };
  const token = (sub) => sign({ sub, role: 'authenticated', aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 3600 });
  psql(db, `
    create table public.bench_notes (id bigserial primary key, user_id uuid not null, body text,
                                     created_at timestamptz default now());
    alter table public.bench_notes enable row level security;
    create policy own on public.bench_notes for select using (auth.uid() = user_id);
    grant select on public.bench_notes to anon, authenticated, service_role;
    alter publication supabase_realtime add table public.bench_notes;`);

  const latencies = [];
  let unexpected = 0;
  const connect = (user, topic, filtered) => new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const binding = { event: 'INSERT', schema: 'public', table: 'bench_notes' };
    if (filtered) binding.filter = `user_id=eq.${user}`;
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify(['1', '1', topic, 'phx_join',
      { config: { postgres_changes: [binding] }, access_token: token(user) }])));
    let joined = false;
    ws.on('message', (data) => {
      const [, , , event, payload] = JSON.parse(data.toString());
      if (event === 'phx_reply' && !joined) {
        joined = true;
        if (payload.status !== 'ok') reject(new Error(JSON.stringify(payload)));
        else resolve(ws);
      } else if (event === 'postgres_changes') {
        const now = Date.now();
        if (payload.data.record.user_id !== user) unexpected++;
        latencies.push(now - Date.parse(payload.data.commit_timestamp));
      }
    });
  });

  // Memory per idle connection.
  const rssBefore = rssKb(substrate.pid);
  const idle = [];
  for (let i = 0; i < IDLE; i += 200) {
    idle.push(...await Promise.all(Array.from({ length: Math.min(200, IDLE - i) }, (_, j) =>
      connect(crypto.randomUUID(), `realtime:idle-${i + j}`, true))));
  }
  await sleep(1000);
  const rssIdle = rssKb(substrate.pid);
  const perConnKb = IDLE > 0 ? (rssIdle - rssBefore) / IDLE : NaN;
  for (const ws of idle) ws.close();
  await sleep(1000);

  // Latency under load.
  const users = Array.from({ length: SUBSCRIBERS }, () => crypto.randomUUID());
  const subs = [];
  for (let i = 0; i < SUBSCRIBERS; i += 200) {
    subs.push(...await Promise.all(users.slice(i, i + 200).map((u, j) =>
      connect(u, `realtime:bench-${i + j}`, (i + j) < FILTERED * SUBSCRIBERS))));
  }
  // WRITERS psql sessions (default 4): one session is bound by its commit's fsync.
  const writers = Array.from({ length: Number(process.env.WRITERS ?? 4) }, () =>
    spawn('psql', [db, '-Xq', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'ignore', 'inherit'] }));
  const total = RATE * DURATION;
  const started = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RATE));
    for (; sent < due; sent++) {
      writers[sent % writers.length].stdin.write(
        `insert into public.bench_notes (user_id, body) values ('${users[sent % SUBSCRIBERS]}', 'n${sent}');\n`);
    }
    await sleep(5);
  }
  for (const w of writers) w.stdin.end();
  await Promise.all(writers.map((w) => new Promise((r) => w.on('exit', r))));
  const writeSeconds = (Date.now() - started) / 1000;
  const deadline = Date.now() + 60_000;
  while (latencies.length < total && Date.now() < deadline) await sleep(50);
  for (const ws of subs) ws.close();

  latencies.sort((a, b) => a - b);
  console.log(`bench/realtime: ${SUBSCRIBERS} subscribers (${Math.round(FILTERED * 100)}% filtered on their user_id, RLS table), ${total} inserts at ${RATE}/s requested (${(total / writeSeconds).toFixed(0)}/s achieved)`);
  console.log(`  delivered   ${latencies.length}/${total} events, ${unexpected} to a wrong subscriber`);
  console.log(`  latency     p50 ${percentile(latencies, 50)} ms   p95 ${percentile(latencies, 95)} ms   p99 ${percentile(latencies, 99)} ms   max ${latencies.at(-1)} ms   (commit -> client)`);
  console.log('  supabase    p50 6 ms      p95 28 ms     p99 213 ms   (published figures)');
  console.log(`  target      p99 < 50 ms: ${percentile(latencies, 99) < 50 ? 'met' : 'NOT met'}`);
  console.log(`  memory      ${perConnKb.toFixed(1)} KB RSS per joined idle connection over ${IDLE} (${((perConnKb * 10000) / 1024).toFixed(0)} MB per 10,000; target < 1 GB)`);
} catch (e) {
  console.error(`bench/realtime failed: ${e.stack ?? e}`);
  exitCode = 1;
} finally {
  await substrate.stop();
  removeDataDir(dataDir);
}
process.exit(exitCode);

// bench/realtime: latency from INSERT commit to delivery at the client, and memory per
// connection, of `substrate up`'s Realtime (issue 8 Measure). See bench/README.md.
//
// SUBSCRIBERS raw vsn 2.0.0 sockets (default 1000), each a distinct user subscribed to INSERTs on
// an RLS table; a FILTERED share of them (default 1) filters on its own user_id (the
// notifications pattern), the rest rely on row-level security alone. WRITERS psql sessions
// (default 8) insert RATE rows/s (default 1000), one row per transaction, for DURATION s
// (default 10) for random subscribers. Latency = client receive time - commit_timestamp of the
// event (the server's commit clock, millisecond precision, same machine).
//
// The sockets live in CLIENT_THREADS worker threads (default 2), so the client's own event loop
// is not what is measured: each thread reports its event-loop delay (p99, max), which bounds how
// much of a latency the client itself added. Memory: substrate's RSS growth per connection over
// IDLE idle sockets (default 10000) that joined a channel.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import WebSocket from '../../tests/contract/node_modules/ws/index.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- worker: a share of the subscriber sockets --------------------------------------------
async function workerMain() {
  const { wsUrl, subscribers, idle } = workerData;
  const latencies = [];
  let unexpected = 0;
  const sockets = [];
  const connect = ({ user, token, topic, filtered }, record) => new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const binding = { event: 'INSERT', schema: 'public', table: 'bench_notes' };
    if (filtered) binding.filter = `user_id=eq.${user}`;
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify(['1', '1', topic, 'phx_join',
      { config: { postgres_changes: [binding] }, access_token: token }])));
    let joined = false;
    ws.on('message', (data) => {
      const now = Date.now();
      const [, , , event, payload] = JSON.parse(data.toString());
      if (event === 'phx_reply' && !joined) {
        joined = true;
        if (payload.status !== 'ok') reject(new Error(JSON.stringify(payload)));
        else resolve(ws);
      } else if (event === 'postgres_changes' && record) {
        if (payload.data.record.user_id !== user) unexpected++;
        latencies.push(now - Date.parse(payload.data.commit_timestamp));
      }
    });
  });
  const connectAll = async (list, record) => {
    for (let i = 0; i < list.length; i += 100) {
      sockets.push(...await Promise.all(list.slice(i, i + 100).map((s) => connect(s, record))));
    }
  };
  await connectAll(idle, false);
  parentPort.postMessage({ type: 'idle-connected' });
  await new Promise((r) => parentPort.once('message', r));  // close the idle ones
  for (const ws of sockets.splice(0)) ws.close();
  await connectAll(subscribers, true);
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  parentPort.postMessage({ type: 'subscribed' });
  const progress = setInterval(() => parentPort.postMessage({ type: 'count', n: latencies.length }), 100);
  await new Promise((r) => parentPort.once('message', r));  // measurement over
  clearInterval(progress);
  lag.disable();
  for (const ws of sockets) ws.close();
  parentPort.postMessage({
    type: 'done', latencies, unexpected,
    lagP99: lag.percentile(99) / 1e6, lagMax: lag.max / 1e6,
  });
}

// ---- main: substrate, writers, results ---------------------------------------------------
function rssKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}

function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;  // utime + stime, USER_HZ ticks
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const { Substrate, makeDataDir, psql, removeDataDir } = await import('../../tests/e2e/lib/substrate.mjs');
  const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 1000);
  const RATE = Number(process.env.RATE ?? 1000);
  const DURATION = Number(process.env.DURATION ?? 10);
  const FILTERED = Number(process.env.FILTERED ?? 1);
  const IDLE = Number(process.env.IDLE ?? 10000);
  const WRITERS = Number(process.env.WRITERS ?? 8);
  const CLIENT_THREADS = Math.max(1, Number(process.env.CLIENT_THREADS ?? 2));
  const loadStart = os.loadavg();

  const dataDir = makeDataDir();
  // Room for every socket of the bench on the api listener (http.connections_max defaults to 10,000).
  const settings = ['log.level=warn', `http.connections_max=${IDLE + SUBSCRIBERS + 1000}`,
    ...(process.env.SETTINGS ?? '').split(' ').filter(Boolean)];
  const substrate = await Substrate.start({ dataDir, settings });
  const workers = [];
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

    const users = Array.from({ length: SUBSCRIBERS }, () => crypto.randomUUID());
    const subscriberSpecs = users.map((user, i) => ({ user, token: token(user), topic: `realtime:bench-${i}`, filtered: i < FILTERED * SUBSCRIBERS }));
    const idleSpecs = Array.from({ length: IDLE }, (_, i) => {
      const user = crypto.randomUUID();
      return { user, token: token(user), topic: `realtime:idle-${i}`, filtered: true };
    });
    const share = (list, w) => list.filter((_, i) => i % CLIENT_THREADS === w);
    const messages = [];
    for (let w = 0; w < CLIENT_THREADS; w++) {
      const worker = new Worker(new URL(import.meta.url), {
        workerData: { wsUrl, subscribers: share(subscriberSpecs, w), idle: share(idleSpecs, w) },
      });
      const inbox = [];
      worker.on('message', (m) => { if (m.type !== 'count') inbox.push(m); });
      worker.on('error', (e) => inbox.push({ type: 'error', error: e }));
      workers.push(worker);
      messages.push(inbox);
    }
    const waitAll = async (type) => {
      for (const inbox of messages) {
        for (;;) {
          const i = inbox.findIndex((m) => m.type === type || m.type === 'error');
          if (i >= 0) {
            const [m] = inbox.splice(i, 1);
            if (m.type === 'error') throw m.error;
            break;
          }
          await sleep(20);
        }
      }
    };

    // Memory per idle connection: RSS before and after IDLE joined sockets.
    const rssBefore = rssKb(substrate.pid);
    await waitAll('idle-connected');
    await sleep(1000);
    const rssIdle = rssKb(substrate.pid);
    const perConnKb = IDLE > 0 ? (rssIdle - rssBefore) / IDLE : NaN;
    for (const w of workers) w.postMessage('close-idle');
    await waitAll('subscribed');
    await sleep(500);

    // Latency under load: WRITERS psql sessions, one INSERT per transaction, paced.
    const writers = Array.from({ length: WRITERS }, () =>
      spawn('psql', [db, '-Xq', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'ignore', 'inherit'] }));
    const total = RATE * DURATION;
    const cpuBefore = cpuSeconds(substrate.pid);
    const started = Date.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RATE));
      for (; sent < due; sent++) {
        writers[sent % writers.length].stdin.write(
          `insert into public.bench_notes (user_id, body) values ('${users[sent % SUBSCRIBERS]}', 'n${sent}');\n`);
      }
      await sleep(2);
    }
    for (const w of writers) w.stdin.end();
    await Promise.all(writers.map((w) => new Promise((r) => w.on('exit', r))));
    const writeSeconds = (Date.now() - started) / 1000;
    const cpuUsed = cpuSeconds(substrate.pid) - cpuBefore;
    const expected = total;  // every row goes to exactly one subscriber: its owner
    const deadline = Date.now() + 60_000;
    let latencies = [];
    let unexpected = 0;
    const lags = [];
    const counts = workers.map(() => 0);
    workers.forEach((w, i) => w.on('message', (m) => { if (m.type === 'count') counts[i] = m.n; }));
    while (counts.reduce((a, b) => a + b, 0) < expected && Date.now() < deadline) await sleep(100);
    await sleep(500);  // anything more would be a duplicate
    for (const w of workers) w.postMessage('done');
    for (const inbox of messages) {
      for (;;) {
        const m = inbox.find((x) => x.type === 'done' || x.type === 'error');
        if (m?.type === 'error') throw m.error;
        if (m) {
          latencies = latencies.concat(m.latencies);
          unexpected += m.unexpected;
          lags.push(m);
          break;
        }
        await sleep(20);
      }
    }

    latencies.sort((a, b) => a - b);
    const loadEnd = os.loadavg();
    const f = (v) => `${v} ms`.padEnd(9);
    console.log(`bench/realtime: SUBSCRIBERS=${SUBSCRIBERS} (FILTERED=${FILTERED}: ${Math.round(FILTERED * 100)}% filter on their own user_id, the rest rely on RLS), RLS table, RATE=${RATE} DURATION=${DURATION} WRITERS=${WRITERS} CLIENT_THREADS=${CLIENT_THREADS} IDLE=${IDLE}`);
    console.log(`  machine     ${os.cpus().length} cores, load average ${loadStart[0].toFixed(1)} at start, ${loadEnd[0].toFixed(1)} at end (1 min)`);
    console.log(`  inserts     ${total} rows, one per transaction, ${(total / writeSeconds).toFixed(0)}/s achieved (${RATE}/s requested)`);
    console.log(`  delivered   ${latencies.length}/${expected} events, ${unexpected} to a wrong subscriber`);
    console.log(`  latency     p50 ${f(percentile(latencies, 50))} p95 ${f(percentile(latencies, 95))} p99 ${f(percentile(latencies, 99))} max ${latencies.at(-1)} ms   (commit -> client)`);
    console.log(`  supabase    p50 ${f(6)} p95 ${f(28)} p99 ${f(213)} (published figures)`);
    console.log(`  target      p99 < 50 ms: ${percentile(latencies, 99) < 50 ? 'met' : 'NOT met'}`);
    console.log(`  client      event-loop delay per thread: ${lags.map((l) => `p99 ${l.lagP99.toFixed(1)} ms, max ${l.lagMax.toFixed(1)} ms`).join('; ')}`);
    console.log(`  substrate   ${cpuUsed.toFixed(1)} CPU seconds during the ${writeSeconds.toFixed(1)} s of inserts (${((cpuUsed / writeSeconds) * 100).toFixed(0)}% of one core)`);
    console.log(`  memory      ${perConnKb.toFixed(1)} KB RSS per joined idle connection over ${IDLE} (${((perConnKb * 10000) / 1024).toFixed(0)} MB per 10,000; target < 1 GB: ${perConnKb * 10000 < 1024 * 1024 ? 'met' : 'NOT met'})`);
  } catch (e) {
    console.error(`bench/realtime failed: ${e.stack ?? e}`);
    exitCode = 1;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    await substrate.stop();
    removeDataDir(dataDir);
  }
  if (process.env.SHOW_LOG) console.log(substrate.stderr.split('\n').filter((l) => l.includes('realtime')).join('\n'));
  process.exit(exitCode);
}

if (isMainThread) await main();
else await workerMain();

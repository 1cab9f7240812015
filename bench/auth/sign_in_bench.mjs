// Password sign-ins per second of `substrate up` (POST /auth/v1/token?grant_type=password),
// with the Argon2id parameters the server uses, which it prints from a stored hash. Each
// sign-in verifies one hash on the blocking pool and commits a session, a refresh token and the
// login outbox row. Two phases: one client at a time (the latency of one sign-in), then
// CONNECTIONS clients at once (the throughput). Measures, never gates: exit 0 when it completed.
import { Substrate, makeDataDir, removeDataDir, psql } from '../../tests/e2e/lib/substrate.mjs';

const duration_s = Number(process.env.DURATION ?? 10);
const connections = Number(process.env.CONNECTIONS ?? 8);
const users = Number(process.env.USERS ?? 20);
const settings = (process.env.SETTINGS ?? '').split(/\s+/).filter(Boolean);

const dataDir = makeDataDir();
let s;
try {
  s = await Substrate.start({ dataDir, settings: ['log.level=warn', ...settings] });
  const { url, anon } = s.apiKeys();
  const env = s.env();
  psql(env.DATABASE_URL, `create schema if not exists substrate;
    create table if not exists substrate.outbox (id bigserial primary key, topic text not null, key text,
      payload jsonb not null, created_at timestamptz not null default now())`);
  const headers = { apikey: anon, Authorization: `Bearer ${anon}`, 'Content-Type': 'application/json' };
  const emails = [];
  for (let i = 0; i < users; i++) {
    const email = `bench-${i}@example.com`;
    const r = await fetch(`${url}/auth/v1/signup`, { method: 'POST', headers, body: JSON.stringify({ email, password: 'bench-password' }) });
    if (r.status !== 200) throw new Error(`sign-up failed: ${r.status} ${await r.text()}`);
    emails.push(email);
  }
  const phc = psql(env.DATABASE_URL, 'select encrypted_password from auth.users limit 1');
  const params = phc.split('$').slice(1, 4).join(' ');

  async function phase(clients, seconds) {
    const latencies = [];
    let errors = 0;
    const end = performance.now() + seconds * 1000;
    let next = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const email = emails[next++ % emails.length];
        const t0 = performance.now();
        const r = await fetch(`${url}/auth/v1/token?grant_type=password`, { method: 'POST', headers, body: JSON.stringify({ email, password: 'bench-password' }) });
        await r.arrayBuffer();
        if (r.status === 200) latencies.push(performance.now() - t0); else errors++;
      }
    }));
    latencies.sort((a, b) => a - b);
    const pick = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : NaN);
    return { rate: latencies.length / seconds, p50: pick(0.5), p99: pick(0.99), count: latencies.length, errors };
  }

  await phase(2, 1);  // warm-up: connections, caches
  const single = await phase(1, Math.max(2, duration_s / 2));
  const loaded = await phase(connections, duration_s);
  const cores = (await import('node:os')).cpus().length;
  console.log(`argon2id parameters: ${params}  (auth.argon2_memory_kib / _iterations / _parallelism)`);
  console.log(`1 client:   ${single.rate.toFixed(1)} sign-ins/s  p50 ${single.p50.toFixed(1)} ms  p99 ${single.p99.toFixed(1)} ms  (${single.count} ok, ${single.errors} errors)`);
  console.log(`${connections} clients: ${loaded.rate.toFixed(1)} sign-ins/s  p50 ${loaded.p50.toFixed(1)} ms  p99 ${loaded.p99.toFixed(1)} ms  (${loaded.count} ok, ${loaded.errors} errors)`);
  console.log(`result: ${loaded.rate.toFixed(1)} password sign-ins/s on ${cores} cores (load generator on the same machine)`);
} finally {
  if (s) await s.stop();
  removeDataDir(dataDir);
}

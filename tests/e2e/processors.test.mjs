// The stream processors as processes (issue 7): inside `substrate up` from a produced event to
// the database rows, and `substrate processors` instances sharing a consumer group, killed with
// SIGKILL at moments spread over the run and restarted, with every message exactly once at the
// end (no duplicates, nothing missing).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Substrate, binary, freePort, makeDataDir, removeDataDir, psql, waitFor } from './lib/substrate.mjs';

const dirs = [];
function dataDir() {
  const d = makeDataDir();
  dirs.push(d);
  return d;
}
after(() => dirs.forEach(removeDataDir));

// contracts.md 2.1 and 2.2, as the platform migration creates them; guarded, so this is a no-op
// once that migration is part of the binary.
const platformTables = `
create table if not exists public.user_notifications (
  id bigint generated always as identity primary key,
  user_id text not null, event_type text not null, payload text not null default '{}',
  event_time text not null, visibility text not null default 'broadcast', recipient_id text,
  created_at timestamptz not null default now());
create table if not exists public.credit_ledger (
  id bigint generated always as identity primary key,
  user_id text not null, amount integer not null, event_type text not null,
  description text not null default '', event_time text not null,
  created_at timestamptz not null default now());`;

function produce(s, topic, records) {
  const r = spawnSync(binary, ['events', 'produce', '--topic', topic, '--bootstrap', s.kafkaBrokers, '--registry', s.registryUrl],
    { input: records.map((x) => JSON.stringify(x)).join('\n') + '\n', encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
}

const alice = '11111111-1111-4111-8111-111111111111';

describe('stream processors', () => {
  test('inside substrate up: a sign-up becomes its notifications, the +2 bonus and a unified event', async () => {
    const s = await Substrate.start({ dataDir: dataDir() });
    try {
      const url = s.env().DATABASE_URL;
      psql(url, platformTables);
      assert.match(s.stdout, /processors +identity-login, identity-signup, identity-signout, message-consumer, login-echo/);
      produce(s, 'public.identity.signup.events', [{ user_id: alice, email: 'a@x.io', signup_time: '2026-02-26T10:00:00Z' }]);
      await waitFor(() => psql(url, 'select count(*) from public.credit_ledger') === '1', 30_000, 'the ledger row');
      assert.equal(psql(url, "select amount || ' ' || event_type || ' ' || event_time from public.credit_ledger"),
        '2 credit.signup_bonus 2026-02-26T10:00:00Z');
      assert.equal(psql(url, 'select string_agg(event_type || \' \' || payload, \',\' order by id) from public.user_notifications'),
        'identity.signup {"email":"a@x.io"},credit.balance_changed {"amount":2,"reason":"signup_bonus"}');
      // The unified event went through the outbox and its relay to the topic, as Avro.
      const consumed = spawnSync(binary, ['events', 'consume', '--topic', 'internal.platform.unified.events', '--from-beginning',
        '--count', '1', '--timeout-ms', '20000', '--bootstrap', s.kafkaBrokers, '--registry', s.registryUrl],
      { encoding: 'utf8', timeout: 60_000 });
      assert.equal(consumed.status, 0, consumed.stderr);
      const unified = JSON.parse(consumed.stdout.trim().split('\n')[0]);
      assert.equal(unified.event_type, 'SIGNUP');
      assert.equal(unified.event_id, `${alice}_2026-02-26T10:00:00Z`);
      assert.equal(unified.device_id, null);
      const metrics = await (await fetch(`${s.adminUrl}/metrics`)).text();
      assert.match(metrics, /substrate_stream_records_in_total\{processor="identity-signup"\} 1/);
      // The dead-letter topics were provisioned at start-up (not auto-created on the first
      // poison record), with provision.partitions (1 by default).
      const listed = spawnSync(binary, ['topics', 'list', '--bootstrap', s.kafkaBrokers], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(listed.status, 0, listed.stderr);
      for (const topic of ['public.identity.login.events', 'public.identity.signup.events',
        'public.identity.signout.events', 'public.user.message.events']) {
        assert.match(listed.stdout, new RegExp(`^${topic.replaceAll('.', '\\.')}\\.dlq +1$`, 'm'), listed.stdout);
      }
    } finally {
      await s.stop();
    }
  });

  test('two substrate processors killed with SIGKILL and restarted: every message exactly once', async () => {
    const s = await Substrate.start({
      dataDir: dataDir(),
      settings: ['processors.enabled=false', 'provision.overrides=public.user.message.events=4'],
    });
    const instances = new Set();
    try {
      const url = s.env().DATABASE_URL;
      psql(url, platformTables);
      const total = 10_000;
      const messages = [];
      for (let i = 0; i < total; i++) {
        messages.push({ user_id: alice, email: 'a@x.io', message: `m${i}`, timestamp: '2026-02-26T10:00:00Z', visibility: 'broadcast', recipient_id: null });
      }
      produce(s, 'public.user.message.events', messages);
      // `substrate processors --only message-consumer` (group go-message-consumer).
      const startWithOnly = async () => {
        const p = new Substrate({
          dataDir: s.dataDir, adminPort: await freePort(), command: 'processors',
          settings: [`database.url=${url}`, `kafka.port=${s.kafkaPort}`, 'processors.batch_records_max=200',
            'processors.retry_backoff_max_ms=200', 'processors.session_timeout_ms=6000'],
          extraArgs: ['--only', 'message-consumer'],
        });
        instances.add(p);
        await p.waitReady();
        return p;
      };
      let a = await startWithOnly();
      let b = await startWithOnly();
      const count = () => Number(psql(url, "select count(*) from public.user_notifications where event_type = 'user.message'"));
      let kills = 0;
      for (const threshold of [0.1, 0.3, 0.5, 0.7]) {
        await waitFor(() => count() >= total * threshold, 120_000, `${threshold * 100}% of the messages`);
        const victim = kills % 2 === 0 ? a : b;
        victim.child.kill('SIGKILL');
        await victim.exited;
        instances.delete(victim);
        kills++;
        const replacement = await startWithOnly();
        if (victim === a) a = replacement; else b = replacement;
      }
      await waitFor(() => count() >= total, 120_000, 'every message');
      // Let any redelivery after the last kill settle, then count exactly.
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(count(), total);
      assert.equal(psql(url, "select count(distinct payload) from public.user_notifications where event_type = 'user.message'"), String(total));
      assert.equal(psql(url, "select sum(next_offset) from substrate.stream_offsets where processor = 'message-consumer'"), String(total));
      assert.equal(kills, 4);
    } finally {
      for (const p of instances) await p.stop().catch(() => {});
      await s.stop();
    }
  });
});

// The outbox relay across kill -9 (issue 5 item 3, docs/decisions/0003-outbox-relay.md):
// rows inserted into substrate.outbox, `substrate up` killed with SIGKILL while it relays them,
// restarted on the same data dir: every row is on the topic exactly once (counted by the
// substrate-outbox-id header, read with kafkajs) and nothing is left in the outbox.
//
// The kill lands at the worst moment on purpose: a statement trigger makes the relay's DELETE
// sleep in the first PostgreSQL (not in the restarted one), so the first round's records are
// acknowledged on the topic while their rows are still in the outbox (the recovery scan's case).
// A sleep can only end by the shutdown that the kill causes, which aborts the DELETE; a lock
// released by that shutdown could let it commit first. The trigger is the test's instrument for
// a timing the relay cannot be made to hit otherwise: killing "while some rows are relayed" by
// polling missed the window on a loaded machine (CI).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Substrate, makeDataDir, removeDataDir, psql, waitFor, postgresProcessesOf } from '../e2e/lib/substrate.mjs';

const topic = 'public.identity.signup.events';
const rows = 4000;
const dirs = [];
const running = [];
const batch = 200;

after(async () => {
  for (const s of running) await s.stop().catch(() => {});
  for (const d of dirs) removeDataDir(d);
});

async function readAll(brokers, expected) {
  const kafka = new Kafka({ clientId: 'outbox-crash', brokers: [brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `outbox-crash-${Date.now()}` });
  const seen = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message);
      if (seen.length >= expected) setTimeout(done, 500);  // and a little longer, to see duplicates
    },
  });
  const timer = setTimeout(done, 60_000);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return seen;
}

test('kill -9 while relaying, restart: every outbox row on the topic exactly once', async (t) => {
  const dataDir = makeDataDir();
  dirs.push(dataDir);
  // Rounds of 200, so the first round's records are a known part of the rows.
  // No processors: they would turn these sign-ups into more outbox rows (the relay's metrics count those too).
  const settings = [`outbox.batch_size=${batch}`, 'web.enabled=false', 'processors.enabled=false', 'gateway.enabled=false',
    'kafka.group_initial_rebalance_delay_ms=0'];
  const first = await Substrate.start({ dataDir, settings });
  running.push(first);
  const url = first.env().DATABASE_URL;
  const started = psql(url, 'select pg_postmaster_start_time()');
  psql(url, `create function public.e2e_sleep_before_outbox_delete() returns trigger language plpgsql as $$
      begin
        if pg_postmaster_start_time() = '${started}'::timestamptz then perform pg_sleep(3600); end if;
        return null;
      end $$;
    create trigger e2e_sleep_before_outbox_delete before delete on substrate.outbox
      for each statement execute function public.e2e_sleep_before_outbox_delete();`);
  const ids = psql(url, `insert into substrate.outbox (topic, payload) select '${topic}', jsonb_build_object(
      'user_id', gen_random_uuid(), 'email', 'u' || n || '@example.test', 'signup_time', '2026-01-01T00:00:00Z')
    from generate_series(1, ${rows}) n returning id`).split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
  assert.equal(ids.length, rows);

  // Kill once the relay's first DELETE sleeps: its round's records are on the topic, every row is
  // still in the outbox.
  const sleeping = () => psql(url, `select count(*) from pg_stat_activity where wait_event = 'PgSleep'
    and pid <> pg_backend_pid()`) === '1';
  await waitFor(sleeping, 30_000, 'the relay\'s DELETE to sleep');
  assert.equal(psql(url, 'select count(*) from substrate.outbox'), String(rows));
  first.child.kill('SIGKILL');
  await first.waitExit(5_000);
  running.pop();
  await waitFor(() => postgresProcessesOf(dataDir).length === 0, 30_000, 'the orphaned PostgreSQL to stop');

  const second = await Substrate.start({
    dataDir, settings, adminPort: first.adminPort, databasePort: first.databasePort, kafkaPort: first.kafkaPort,
    registryPort: first.registryUrl.split(':').pop(),
  });
  running.push(second);
  const url2 = second.env().DATABASE_URL;
  const left = () => Number(psql(url2, 'select count(*) from substrate.outbox'));
  await waitFor(() => left() === 0, 60_000, 'the outbox to drain after the restart');
  assert.equal(psql(url2, 'select count(*) from substrate.outbox_dead'), '0');

  const messages = await readAll(second.kafkaBrokers, rows);
  const times = new Map();
  for (const m of messages) {
    const id = Number(m.headers['substrate-outbox-id']?.toString());
    times.set(id, (times.get(id) ?? 0) + 1);
  }
  const duplicated = [...times].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = ids.filter((id) => !times.has(id));
  assert.deepEqual(duplicated, [], 'no row twice');
  assert.deepEqual(missing, [], 'no row lost');
  assert.equal(messages.length, rows);

  // The records are the platform's Avro: the JS client decodes them.
  const registry = new SchemaRegistry({ host: second.registryUrl });
  const sample = await registry.decode(messages[0].value);
  assert.match(sample.email, /^u\d+@example\.test$/);

  const metrics = await (await fetch(`${second.adminUrl}/metrics`)).text();
  const recovered = Number(metrics.match(/^substrate_outbox_recovered_total (\d+)/m)?.[1]);
  const relayed = Number(metrics.match(/^substrate_outbox_relayed_total (\d+)/m)?.[1]);
  // The first round's records were on the topic already: found by the recovery scan, not sent
  // again; every other row was relayed by the restarted relay.
  assert.equal(recovered, batch, 'the records delivered before the crash were recovered');
  assert.equal(relayed, rows - batch);
  t.diagnostic(`after the restart: ${relayed} relayed, ${recovered} found already delivered`);
  assert.equal((await second.stop()).code, 0);
  running.pop();
});

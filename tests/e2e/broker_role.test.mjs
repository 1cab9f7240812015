// `substrate broker` (the Kafka broker alone, no PostgreSQL) and the operator commands
// `substrate topics list|create|describe|delete` (librdkafka's admin API) against it, with and
// without SASL and ACLs. Real processes, real kcat, dynamic ports.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Substrate, freePort, makeDataDir, removeDataDir, postgresProcessesOf, run } from './lib/substrate.mjs';

const dirs = [];
function dataDir() {
  const d = makeDataDir();
  dirs.push(d);
  return d;
}
after(() => dirs.forEach(removeDataDir));

function topics(broker, args, { user, password } = {}) {
  const sasl = user ? ['--user', user, '--password-stdin'] : [];
  const r = spawnSync(process.env.TEST_SUBSTRATE_BINARY ?? 'build/substrate',
    ['topics', ...args, '--bootstrap', broker.kafkaBrokers, '--timeout-ms', '5000', ...sasl],
    { input: password ? `${password}\n` : '', encoding: 'utf8', timeout: 60_000 });
  return r;
}

function ok(r, what) {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('substrate broker', () => {
  test('serves kcat -L without PostgreSQL and stops on SIGTERM', async () => {
    const dir = dataDir();
    const broker = await Substrate.start({ dataDir: dir, command: 'broker' });
    try {
      assert.match(broker.stdout, /substrate .* broker is up/);
      assert.match(broker.stdout, new RegExp(`kafka +127\\.0\\.0\\.1:${broker.kafkaPort}  \\(no authentication\\)`));
      const produce = spawnSync('kcat', ['-b', broker.kafkaBrokers, '-P', '-t', 'role.events', '-X', 'acks=all'],
        { input: 'a\nb\n', encoding: 'utf8', timeout: 30_000 });
      assert.equal(produce.status, 0, produce.stderr);
      const list = spawnSync('kcat', ['-b', broker.kafkaBrokers, '-L', '-J'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(list.status, 0, list.stderr);
      const metadata = JSON.parse(list.stdout);
      assert.equal(metadata.brokers[0].name, broker.kafkaBrokers);
      assert.ok(metadata.topics.some((t) => t.topic === 'role.events'));
      assert.deepEqual(postgresProcessesOf(dir), [], 'no PostgreSQL for the broker role');
      const metrics = await (await fetch(`${broker.adminUrl}/metrics`)).text();
      assert.match(metrics, /kafka_requests_total\{api="Metadata"\} \d+/);
    } finally {
      const { code } = await broker.stop();
      assert.equal(code, 0);
    }
  });

  test('topics create, list, describe and delete', async () => {
    const broker = await Substrate.start({ dataDir: dataDir(), command: 'broker' });
    try {
      assert.match(ok(topics(broker, ['create', 'orders', '--partitions', '3', '--config', 'retention.ms=3600000']),
        'create'), /created topic orders/);
      const again = topics(broker, ['create', 'orders', '--partitions', '3']);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /topic orders: .*(exists|EXISTS)/);
      const bad = topics(broker, ['create', 'bad name']);
      assert.equal(bad.status, 1);
      assert.match(ok(topics(broker, ['create', 'payments']), 'create with defaults'), /created topic payments/);

      const list = ok(topics(broker, ['list']), 'list');
      assert.match(list, /^TOPIC +PARTITIONS$/m);
      assert.match(list, /^orders +3$/m);
      assert.match(list, /^payments +1$/m);

      const described = ok(topics(broker, ['describe', 'orders']), 'describe');
      assert.match(described, /^topic orders {2}partitions 3$/m);
      for (const p of [0, 1, 2]) assert.match(described, new RegExp(`partition ${p}  leader 0  replicas \\[0\\]  isr \\[0\\]`));
      assert.match(described, /retention\.ms=3600000 {2}\(set on the topic\)/);
      assert.match(described, /cleanup\.policy=delete$/m);
      const missing = topics(broker, ['describe', 'nope']);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /topic nope does not exist/);

      assert.match(ok(topics(broker, ['delete', 'orders']), 'delete'), /deleted topic orders/);
      assert.doesNotMatch(ok(topics(broker, ['list']), 'list'), /^orders /m);
      const gone = topics(broker, ['delete', 'orders']);
      assert.equal(gone.status, 1);
      assert.match(gone.stderr, /topic orders: /);
    } finally {
      await broker.stop();
    }
  });

  test('topics reports an unreachable broker clearly', async () => {
    const r = spawnSync(process.env.TEST_SUBSTRATE_BINARY ?? 'build/substrate',
      ['topics', 'list', '--bootstrap', `127.0.0.1:${await freePort()}`, '--timeout-ms', '1500'],
      { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot get metadata from 127\.0\.0\.1:\d+/);
  });

  test('with SASL and ACLs: users log in, super users administer, others are refused', async () => {
    const dir = dataDir();
    assert.equal(run(['kafka', 'user', 'add', 'ops', '--password-stdin', '--data-dir', dir]).status, 1,
      'stdin is required with --password-stdin');
    for (const [name, pw] of [['ops', 'ops-pw'], ['svc', 'svc-pw']]) {
      const r = spawnSync(process.env.TEST_SUBSTRATE_BINARY ?? 'build/substrate',
        ['kafka', 'user', 'add', name, '--password-stdin', '--data-dir', dir],
        { input: `${pw}\n`, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.equal(run(['kafka', 'acl', 'add', '--user', 'svc', '--topic', 'svc.', '--prefixed',
      '--operation', 'describe', '--data-dir', dir]).status, 0);
    const broker = await Substrate.start({
      dataDir: dir,
      command: 'broker',
      settings: ['kafka.sasl.enabled=true', 'kafka.authorization.enabled=true',
        'kafka.authorization.super_users=User:ops'],
    });
    try {
      assert.match(broker.stdout, /\(SASL SCRAM-SHA-256,PLAIN, ACLs on\)/);
      const ops = { user: 'ops', password: 'ops-pw' };
      const svc = { user: 'svc', password: 'svc-pw' };
      assert.match(ok(topics(broker, ['create', 'svc.audit'], ops), 'create as a super user'), /created topic svc\.audit/);
      ok(topics(broker, ['create', 'private'], ops), 'create as a super user');
      const refused = topics(broker, ['create', 'svc.other'], svc);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /topic svc\.other: .*authoriz/i);
      const seen = ok(topics(broker, ['list'], svc), 'list as svc');
      assert.match(seen, /^svc\.audit +1$/m);
      assert.doesNotMatch(seen, /private/);
      const noSasl = topics(broker, ['list']);
      assert.equal(noSasl.status, 1, 'a client without SASL gets nothing');
    } finally {
      await broker.stop();
    }
  });
});

// The schema registry's roles and provisioning (issue 4 parts 2 and 4): `substrate provision`
// against `substrate broker` (every topic and subject, idempotent, an incompatible change fails
// naming the subject), and `substrate up` running the registry with its URL in substrate.env
// and its state in /readyz. Real processes, dynamic ports.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Substrate, freePort, makeDataDir, removeDataDir, run } from './lib/substrate.mjs';

const dirs = [];
function dataDir() {
  const d = makeDataDir();
  dirs.push(d);
  return d;
}
after(() => dirs.forEach(removeDataDir));

function schemaTopics(dir = path.resolve('schemas'), prefix = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return schemaTopics(path.join(dir, e.name), `${prefix}${e.name}.`);
    return e.name.endsWith('.avsc') ? [`${prefix}${e.name.replace(/\.avsc$/, '')}`] : [];
  }).sort();
}

async function startRegistry(broker) {
  const r = new Substrate({
    dataDir: broker.dataDir, adminPort: await freePort(), kafkaPort: broker.kafkaPort, command: 'registry',
    settings: [`registry.port=${await freePort()}`],
  });
  await r.waitReady();
  r.url = r.stdout.match(/registry +(http:\/\/\S+)/)[1];
  return r;
}

describe('provisioning', () => {
  test('substrate provision creates every topic and subject, and a second run changes nothing', async () => {
    const broker = await Substrate.start({ dataDir: dataDir(), command: 'broker' });
    let registry;
    try {
      const args = ['provision', '--set', `kafka.port=${broker.kafkaPort}`, '--set', 'provision.overrides=public.user.message.events=3/compact'];
      const first = run(args);
      assert.equal(first.status, 0, first.stderr);
      const list = run(['topics', 'list', '--bootstrap', broker.kafkaBrokers]);
      assert.equal(list.status, 0, list.stderr);
      const topics = schemaTopics();
      assert.equal(topics.length, 26);
      for (const t of topics) assert.match(list.stdout, new RegExp(`^${t.replace(/\./g, '\\.')} +${t === 'public.user.message.events' ? 3 : 1}$`, 'm'));
      assert.match(list.stdout, /^_schemas +1$/m);
      const describe = (topic) => {
        const r = run(['topics', 'describe', topic, '--bootstrap', broker.kafkaBrokers]);
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      assert.match(describe('public.user.message.events'), /partitions 3[\s\S]*cleanup\.policy=compact  \(set on the topic\)/);
      assert.match(describe('_schemas'), /partitions 1[\s\S]*cleanup\.policy=compact  \(set on the topic\)/);
      assert.match(describe('public.identity.login.events'), /partitions 1[\s\S]*cleanup\.policy=delete  \(set on the topic\)/);

      const second = run(args);
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stderr + second.stdout, /schemas_registered=0|"schemas_registered":0/);

      registry = await startRegistry(broker);
      const subjects = await (await fetch(`${registry.url}/subjects`)).json();
      assert.deepEqual(subjects, topics.map((t) => `${t}-value`).sort());
      for (const s of subjects) {
        assert.deepEqual(await (await fetch(`${registry.url}/subjects/${s}/versions`)).json(), [1], s);
      }
      const none = await (await fetch(`${registry.url}/config/internal.platform.unified.events-value`)).json();
      assert.deepEqual(none, { compatibilityLevel: 'NONE' });
      assert.equal((await fetch(`${registry.url}/config/public.user.message.events-value`)).status, 404);
    } finally {
      if (registry) await registry.stop();
      await broker.stop();
    }
  });

  test('an incompatible schema change fails provisioning, naming the subject', async () => {
    const broker = await Substrate.start({ dataDir: dataDir(), command: 'broker' });
    const registry = await startRegistry(broker);
    try {
      // What an older deployment registered: user_id as an int. Ours (a uuid string) cannot read it.
      const old = {
        type: 'record', name: 'UserMessageEvent', namespace: 'public.user.message',
        fields: [{ name: 'user_id', type: 'int' }],
      };
      const r = await fetch(`${registry.url}/subjects/public.user.message.events-value/versions`, {
        method: 'POST', headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema: JSON.stringify(old) }),
      });
      assert.equal(r.status, 200);
      const result = run(['provision', '--set', `kafka.port=${broker.kafkaPort}`]);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /subject public\.user\.message\.events-value: .*incompatible.*\(error 409\)/);
    } finally {
      await registry.stop();
      await broker.stop();
    }
  });
});

describe('substrate registry on a SASL cluster', () => {
  test('logs in with registry.kafka_sasl_*, without them start-up fails saying why; basic auth with the same users', async () => {
    const dir = dataDir();
    const add = spawnSync(process.env.TEST_SUBSTRATE_BINARY ?? 'build/substrate',
      ['kafka', 'user', 'add', 'registry', '--password-stdin', '--data-dir', dir], { input: 'reg-pw\n', encoding: 'utf8' });
    assert.equal(add.status, 0, add.stderr);
    const broker = await Substrate.start({ dataDir: dir, command: 'broker', settings: ['kafka.sasl.enabled=true'] });
    try {
      const refused = run(['registry', '--set', `kafka.port=${broker.kafkaPort}`, '--set', `registry.port=${await freePort()}`,
        '--set', 'admin.port=0', '--set', 'registry.timeout_ms=3000']);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /start-up failed: schema registry/);
      const registry = new Substrate({
        dataDir: dir, adminPort: await freePort(), kafkaPort: broker.kafkaPort, command: 'registry',
        settings: [`registry.port=${await freePort()}`, 'registry.kafka_sasl_mechanism=SCRAM-SHA-256',
          'registry.kafka_sasl_username=registry', 'registry.basic_auth=true'],
        env: { SUBSTRATE_REGISTRY_KAFKA_SASL_PASSWORD: 'reg-pw' },
      });
      try {
        await registry.waitReady();
        const url = registry.stdout.match(/registry +(http:\/\/\S+)/)[1];
        // registry.basic_auth: the same broker users log in over HTTP basic auth.
        const denied = await fetch(`${url}/subjects`);
        assert.equal(denied.status, 401);
        assert.equal((await denied.json()).error_code, 401);
        const wrong = await fetch(`${url}/subjects`, { headers: { Authorization: `Basic ${Buffer.from('registry:nope').toString('base64')}` } });
        assert.equal(wrong.status, 401);
        const auth = `Basic ${Buffer.from('registry:reg-pw').toString('base64')}`;
        const r = await fetch(`${url}/subjects/s-value/versions`, {
          method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: auth },
          body: JSON.stringify({ schema: '"string"' }),
        });
        assert.deepEqual(await r.json(), { id: 1 });
      } finally {
        await registry.stop();
      }
    } finally {
      await broker.stop();
    }
  });
});

describe('substrate up', () => {
  test('runs the registry on the built-in broker, provisions, and writes SCHEMA_REGISTRY_URL', async () => {
    const registryPort = await freePort();
    const up = await Substrate.start({ dataDir: dataDir(), settings: [`registry.port=${registryPort}`] });
    try {
      const env = up.env();
      assert.equal(env.SCHEMA_REGISTRY_URL, `http://127.0.0.1:${registryPort}`);
      assert.match(up.stdout, new RegExp(`registry +http://127\\.0\\.0\\.1:${registryPort}`));
      const subjects = await (await fetch(`${env.SCHEMA_REGISTRY_URL}/subjects`)).json();
      assert.equal(subjects.length, 26);
      const latest = await fetch(`${env.SCHEMA_REGISTRY_URL}/subjects/public.user.message.events-value/versions/latest`);
      assert.equal(latest.status, 200);
      assert.equal(latest.headers.get('content-type'), 'application/vnd.schemaregistry.v1+json');
      const ready = await fetch(`${up.adminUrl}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      const { code } = await up.stop();
      assert.equal(code, 0);
    }
  });
});

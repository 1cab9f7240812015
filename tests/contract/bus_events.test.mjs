// `substrate events produce|consume` (src/bus) against the JavaScript clients the reference's
// services use: kafkajs and @kafkajs/confluent-schema-registry. `substrate broker`, `substrate
// registry` and `substrate provision` on dynamic ports. For every platform topic with samples
// (tests/data/avro/samples): records produced by the CLI decode with the JS client to the
// samples; records the JS client encodes and kafkajs produces decode with the CLI; and both
// sides produce byte-identical values for the same record.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Substrate, binary, freePort, makeDataDir, removeDataDir } from '../e2e/lib/substrate.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const samplesDir = path.join(root, 'tests/data/avro/samples');
const samples = Object.fromEntries(fs.readdirSync(samplesDir).filter((f) => f.endsWith('.json'))
  .map((f) => [f.slice(0, -'.json'.length), JSON.parse(fs.readFileSync(path.join(samplesDir, f), 'utf8'))]));
const topics = Object.keys(samples).sort();

let dataDir;
let broker;
let registry;
let settings;

function substrate(args, input) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SUBSTRATE_')) env[k] = v;
  return spawnSync(binary, [...args, ...settings], { input, env, encoding: 'utf8', timeout: 60_000 });
}

// Every record of `topicList` from the beginning, through one kafkajs consumer: topic -> [message].
async function consumeAll(brokers, topicList, expected) {
  const kafka = new Kafka({ clientId: 'bus-contract', brokers: [brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bus-contract-${Date.now()}-${Math.random()}` });
  const seen = Object.fromEntries(topicList.map((t) => [t, []]));
  let total = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: topicList, fromBeginning: true });
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      seen[topic].push(message);
      if (++total === expected) done();
    },
  });
  const timer = setTimeout(done, 30_000);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return seen;
}

before(async () => {
  dataDir = makeDataDir();
  broker = await Substrate.start({ dataDir, command: 'broker', settings: ['kafka.group_initial_rebalance_delay_ms=0'] });
  const registryPort = await freePort();
  registry = new Substrate({
    dataDir, adminPort: await freePort(), kafkaPort: broker.kafkaPort, registryPort, command: 'registry',
  });
  await registry.waitReady();
  settings = ['--set', `kafka.port=${broker.kafkaPort}`, '--set', `registry.port=${registryPort}`];
  const provisioned = substrate(['provision']);
  assert.equal(provisioned.status, 0, provisioned.stderr);
});

after(async () => {
  if (registry) await registry.stop().catch(() => {});
  if (broker) await broker.stop().catch(() => {});
  removeDataDir(dataDir);
});

describe('substrate events with kafkajs and @kafkajs/confluent-schema-registry', () => {
  const cliBytes = {};

  test('records produced by `substrate events produce` decode with the JS client', async () => {
    let expected = 0;
    for (const topic of topics) {
      const lines = samples[topic].map((s) => JSON.stringify(s)).join('\n') + '\n';
      const r = substrate(['events', 'produce', '--topic', topic], lines);
      assert.equal(r.status, 0, `${topic}: ${r.stderr}`);
      const acks = r.stdout.trim().split('\n');
      assert.equal(acks.length, samples[topic].length, `${topic}: one "partition offset" line per record`);
      acks.forEach((line, i) => assert.match(line, /^0 \d+$/, `${topic} record ${i}`));
      expected += samples[topic].length;
    }
    const client = new SchemaRegistry({ host: registry.registryUrl });
    const seen = await consumeAll(broker.kafkaBrokers, topics, expected);
    for (const topic of topics) {
      assert.equal(seen[topic].length, samples[topic].length, `${topic}: every record arrives once`);
      const latest = await client.getLatestSchemaId(`${topic}-value`);
      for (const [i, message] of seen[topic].entries()) {
        assert.equal(message.value.readInt8(0), 0, 'magic byte');
        assert.equal(message.value.readInt32BE(1), latest, `${topic}: framed with the id of ${topic}-value`);
        assert.equal(message.key, null, 'no key (contracts.md 0.2)');
        const decoded = await client.decode(message.value);
        assert.deepEqual(JSON.parse(JSON.stringify(decoded)), samples[topic][i], `${topic} record ${i}`);
      }
      cliBytes[topic] = seen[topic].map((m) => m.value);
    }
  });

  test('the JS client encodes byte-identical values', async () => {
    const client = new SchemaRegistry({ host: registry.registryUrl });
    for (const topic of topics) {
      const id = await client.getLatestSchemaId(`${topic}-value`);
      for (const [i, sample] of samples[topic].entries()) {
        const js = await client.encode(id, sample);
        assert.ok(Buffer.compare(js, cliBytes[topic][i]) === 0,
          `${topic} record ${i}: JS ${js.toString('hex')} vs CLI ${cliBytes[topic][i].toString('hex')}`);
      }
    }
  });

  test('records the JS client encodes and kafkajs produces decode with `substrate events consume`', async () => {
    const client = new SchemaRegistry({ host: registry.registryUrl });
    const kafka = new Kafka({ clientId: 'bus-contract-producer', brokers: [broker.kafkaBrokers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const topic = 'public.user.message.events';
    const id = await client.getLatestSchemaId(`${topic}-value`);
    const records = samples[topic];
    await producer.send({
      topic,
      acks: -1,
      messages: await Promise.all(records.map(async (s) => ({ key: 'from-js', value: await client.encode(id, s) }))),
    });
    await producer.disconnect();
    const total = 2 * records.length;  // the CLI's records of the first test, then these
    const r = substrate(['events', 'consume', '--topic', topic, '--from-beginning', '--count', String(total),
      '--timeout-ms', '10000']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines, [...records, ...records]);
  });

  test('bad input: the line number and the field error, exit status 1', () => {
    const topic = 'public.user.message.events';
    const good = JSON.stringify(samples[topic][0]);
    const bad = JSON.stringify({ ...samples[topic][0], email: 42 });
    const r = substrate(['events', 'produce', '--topic', topic], `${good}\n\n${bad}\n${good}\n`);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^0 \d+\n$/, 'the record before the bad line is produced and printed');
    assert.match(r.stderr, /line 3: .*\$\.email: expected string, got number 42/);

    const unknown = substrate(['events', 'produce', '--topic', 'no.such.topic'], `${good}\n`);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no\.such\.topic-value/);
  });
});

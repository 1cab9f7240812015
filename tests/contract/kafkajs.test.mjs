// kafkajs 2.2.4 (its own protocol code, no librdkafka) against test_broker: admin
// createTopics / fetchTopicMetadata / fetchTopicOffsets / deleteTopics, an idempotent acks=-1
// producer with gzip (the only codec kafkajs has built in, spec section 0 fact 9), a consumer
// group whose eachMessage sees every record once and in order per partition, and two members
// splitting six partitions.
//
// Not run against librdkafka's mock cluster (the reference for the librdkafka and kcat tests):
// kafkajs 2.2.4 cannot produce to it at all ("KafkaJSBrokerNotFound: Broker 0 not found in the
// cached metadata" against the mock's Metadata v2), so it would only test the mock.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { Cluster, hasGroupCoordinator, groupSkipReason } from './lib/clusters.mjs';

function makeKafka(cluster, clientId) {
  return new Kafka({
    clientId,
    brokers: [cluster.address],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 3000,
    requestTimeout: 15000,
  });
}

// Keyed messages with headers; values carry bytes above 0x7f so "identical" is byte for byte.
function messages(prefix, count, partitions = null) {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`${prefix}-key-${i}`),
    value: Buffer.concat([Buffer.from(`${prefix}-value-${i}-`), Buffer.from([0, 0x7f, 0x80, 0xff, i & 0xff])]),
    headers: { trace: `t-${i}`, origin: 'kafkajs' },
    ...(partitions ? { partition: i % partitions } : {}),
  }));
}

async function waitFor(what, predicate, limitMs = 60_000) {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out after ${limitMs} ms waiting for ${what}`);
}

// Every sent message came back exactly once with the same key, value and headers, in send order
// within each partition.
function assertSameRecords(sent, got) {
  assert.equal(got.length, sent.length, 'record count');
  const index = new Map(sent.map((m, i) => [m.key.toString('hex'), i]));
  const lastByPartition = new Map();
  const seen = new Set();
  for (const g of got) {
    const k = g.key.toString('hex');
    assert.ok(index.has(k), `unexpected key ${g.key}`);
    assert.ok(!seen.has(k), `duplicate ${g.key}`);
    seen.add(k);
    const s = sent[index.get(k)];
    assert.ok(g.value.equals(s.value), `value of ${g.key}`);
    assert.deepEqual(Object.fromEntries(Object.entries(g.headers).map(([h, v]) => [h, v.toString()])), s.headers);
    const last = lastByPartition.get(g.partition);
    if (last) {
      assert.ok(BigInt(g.offset) > BigInt(last.offset), `offsets increase in partition ${g.partition}`);
      assert.ok(index.get(k) > last.order, `send order kept in partition ${g.partition}`);
    }
    lastByPartition.set(g.partition, { offset: g.offset, order: index.get(k) });
  }
}

async function produce(kafka, topic, msgs) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const results = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: msgs });
    for (const r of results) assert.equal(r.errorCode, 0, `partition ${r.partition}`);
    return results;
  } finally {
    await producer.disconnect();
  }
}

// A group member that records every message its eachMessage sees and its latest assignment.
async function member(kafka, groupId, topic) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000 });
  const m = { consumer, received: [], assignment: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => { m.assignment = e.payload.memberAssignment[topic] ?? []; });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      m.received.push({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers });
    },
  });
  return m;
}

describe('kafkajs against test_broker', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'substrate-kafkajs-'));
  let cluster;
  let kafka;
  let groups = true;
  before(async () => {
    cluster = await Cluster.broker(dataDir, 3);
    kafka = makeKafka(cluster, 'kafkajs-contract');
    groups = await hasGroupCoordinator(cluster.port, 'probe-group');
  });
  after(async () => {
    if (cluster) await cluster.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('admin createTopics, fetchTopicMetadata, fetchTopicOffsets, deleteTopics', async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topic = 'js-admin';
        assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true }), true);
        assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] }), false, 'already exists');
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        assert.equal(topics.length, 1);
        assert.equal(topics[0].name, topic);
        assert.deepEqual(topics[0].partitions.map((p) => p.partitionId).sort(), [0, 1, 2, 3]);
        for (const p of topics[0].partitions) {
          assert.equal(p.partitionErrorCode, 0);
          assert.equal(p.leader, topics[0].partitions[0].leader, 'one broker leads everything');
        }
        assert.ok((await admin.listTopics()).includes(topic));
        await produce(kafka, topic, messages('admin', 20, 4));
        const offsets = await admin.fetchTopicOffsets(topic);
        assert.deepEqual(offsets.map((o) => [o.partition, o.low, o.high]).sort(),
          [[0, '0', '5'], [1, '0', '5'], [2, '0', '5'], [3, '0', '5']]);
        await admin.deleteTopics({ topics: [topic], timeout: 5000 });
        await waitFor('the topic to leave the listing', async () => !(await admin.listTopics()).includes(topic), 10_000);
      } finally {
        await admin.disconnect();
      }
    });

  test('an idempotent acks=-1 gzip producer: records come back byte for byte in order', async () => {
    const topic = 'js-records';
    const sent = messages('records', 600);
    const results = await produce(kafka, topic, sent);
    assert.equal(new Set(results.map((r) => r.partition)).size, 3, 'spread over the three partitions');
    // kafkajs reads only through a group: without a coordinator, the produce side is all.
    if (!groups) return;
    const m = await member(kafka, 'js-reader', topic);
    try {
      await waitFor('600 records', () => m.received.length >= sent.length);
      await new Promise((r) => setTimeout(r, 500));
      assertSameRecords(sent, m.received);
    } finally {
      await m.consumer.disconnect();
    }
  });

  test('a consumer group resumes from its commits after a restart', async (t) => {
    if (!groups) return t.skip(groupSkipReason);
    const topic = 'js-group';
    const first = messages('first', 90);
    await produce(kafka, topic, first);
    const a = await member(kafka, 'js-group-g', topic);
    try {
      await waitFor('the first 90 records', () => a.received.length >= first.length);
      await new Promise((r) => setTimeout(r, 500));
      assertSameRecords(first, a.received);
    } finally {
      await a.consumer.disconnect();  // commits what eachMessage finished, then LeaveGroup
    }
    const second = messages('second', 45);
    await produce(kafka, topic, second);
    const b = await member(kafka, 'js-group-g', topic);
    try {
      await waitFor('the next 45 records', () => b.received.length >= second.length);
      await new Promise((r) => setTimeout(r, 500));
      assertSameRecords(second, b.received);
    } finally {
      await b.consumer.disconnect();
    }
  });

  test('two members split six partitions and each gets only its own', async (t) => {
    if (!groups) return t.skip(groupSkipReason);
    const topic = 'js-split';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    const a = await member(kafka, 'js-split-g', topic);
    const b = await member(kafka, 'js-split-g', topic);
    try {
      await waitFor('a 3/3 split', () => a.assignment.length === 3 && b.assignment.length === 3
        && a.assignment.every((p) => !b.assignment.includes(p)));
      const sent = messages('split', 120, 6);
      await produce(kafka, topic, sent);
      await waitFor('120 records', () => a.received.length + b.received.length >= sent.length);
      await new Promise((r) => setTimeout(r, 500));
      for (const g of a.received) assert.ok(a.assignment.includes(g.partition), `a got partition ${g.partition}`);
      for (const g of b.received) assert.ok(b.assignment.includes(g.partition), `b got partition ${g.partition}`);
      assertSameRecords(sent, [...a.received, ...b.received]);
    } finally {
      await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()]);
    }
  });
});

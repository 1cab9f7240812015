// The broker driven by the real kcat (librdkafka 2.0.2 on Debian 12): metadata, keyed records
// with headers round-tripping byte for byte and in order per partition, acks=all, every
// compression codec, and a restart that keeps everything. The broker is test_broker (an
// io_pool, the broker and the Kafka listener; tests/contract/broker_main.cc).
//
// Differential: the same scenarios run against librdkafka's own mock cluster
// (rdkafka_mock_cluster, tests/contract/mock_cluster_main.cc), so a failure on both points at
// kcat or the test and one on test_broker alone at our broker. kcat's `-X test.mock.num.brokers=1`
// is no substitute: it gives every kcat process its own empty in-memory cluster, so a consumer
// never sees what a previous producer process wrote. The mock keeps nothing across a restart,
// so the restart scenario runs against test_broker only.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const brokerBinary = process.env.TEST_BROKER_BINARY ?? path.resolve('build/tests/contract/test_broker');
const mockBinary = process.env.TEST_MOCK_CLUSTER_BINARY ?? path.resolve('build/tests/contract/rdkafka_mock_cluster');
const topics = ['keyed', 'acks-all', 'codec-gzip', 'codec-snappy', 'codec-lz4', 'codec-zstd'];

class Broker {
  constructor(dataDir, partitions, binary = brokerBinary, args = null) {
    this.dataDir = dataDir;
    this.stdout = '';
    this.stderr = '';
    this.child = spawn(binary, args ?? ['--port', '0', '--data-dir', dataDir, '--partitions', String(partitions)],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.listening = new Promise((resolve, reject) => {
      this.child.stdout.on('data', (d) => {
        this.stdout += d;
        const m = this.stdout.match(/listening (\d+)/);
        if (m) resolve(Number(m[1]));
      });
      this.exited.then((e) => reject(new Error(`${binary} exited ${JSON.stringify(e)}:\n${this.stderr}`)));
    });
  }

  static async start(dataDir, partitions = 3) {
    const b = new Broker(dataDir, partitions);
    b.port = await b.listening;
    return b;
  }

  // librdkafka's mock cluster with this file's topics created at `partitions` partitions (the
  // mock would auto-create them with its own default of 4).
  static async startMock(partitions = 3) {
    const b = new Broker(null, partitions, mockBinary, topics.flatMap((t) => ['--topic', `${t}:${partitions}`]));
    b.port = await b.listening;
    return b;
  }

  get address() { return `127.0.0.1:${this.port}`; }

  async stop() {
    this.child.kill('SIGTERM');
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('test_broker did not stop within 20 s')), 20_000);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function kcat(args, input) {
  const r = spawnSync('kcat', args, { input, encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, `kcat ${args.join(' ')} failed (${r.status}, ${r.signal}):\n${r.stderr}`);
  return r.stdout;
}

// Records with keys and varied values; kcat -P reads `key:value` lines with -K:.
function records(prefix, count) {
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const value = `${prefix}-value-${i}-${'abcdefghij'.repeat(i % 7)}-${(i * 2654435761) % 1000003}`;
    out.push({ key: `${prefix}-key-${i}`, value });
  }
  return out;
}

function produce(broker, topic, recs, extra = []) {
  const input = recs.map((r) => `${r.key}:${r.value}`).join('\n') + '\n';
  kcat(['-b', broker.address, '-P', '-t', topic, '-K:', '-H', 'trace=abc', '-H', 'origin=kcat', ...extra], input);
}

// Every record of the topic: {partition, offset, key, headers, value}, in the order kcat printed.
function consume(broker, topic) {
  const out = kcat(['-b', broker.address, '-C', '-t', topic, '-e', '-o', 'beginning', '-q',
    '-f', '%p %o %k %h %s\\n']);
  return out.split('\n').filter((l) => l.length > 0).map((line) => {
    const [p, o, key, headers, ...rest] = line.split(' ');
    return { partition: Number(p), offset: Number(o), key, headers, value: rest.join(' ') };
  });
}

// Every record came back once, byte for byte, with dense offsets from 0 and in send order
// within each partition.
function assertRoundTrip(sent, got) {
  assert.equal(got.length, sent.length, 'record count');
  const index = new Map(sent.map((r, i) => [r.key, i]));
  const byPartition = new Map();
  for (const g of got) {
    assert.ok(index.has(g.key), `unexpected key ${g.key}`);
    const s = sent[index.get(g.key)];
    assert.equal(g.value, s.value, `value of ${g.key}`);
    assert.equal(g.headers, 'trace=abc,origin=kcat', `headers of ${g.key}`);
    if (!byPartition.has(g.partition)) byPartition.set(g.partition, []);
    byPartition.get(g.partition).push({ offset: g.offset, order: index.get(g.key) });
  }
  assert.equal(new Set(got.map((g) => g.key)).size, sent.length, 'no duplicates');
  for (const [p, list] of byPartition) {
    list.forEach((r, i) => {
      assert.equal(r.offset, i, `dense offsets in partition ${p}`);
      if (i > 0) assert.ok(r.order > list[i - 1].order, `send order kept in partition ${p}`);
    });
  }
  return byPartition;
}

// The compression codec (attributes bits 0-2) and record count of every batch test_broker
// stored for `topic`
// (docs/formats/log.md: `<data_dir>/<topic>-<partition>/*.log` hold whole batches back to back,
// the preallocated tail zero). The broker must keep batches as they arrived.
function storedCodecs(dataDir, topic, partitions) {
  const codecs = [];
  for (let p = 0; p < partitions; p += 1) {
    const dir = path.join(dataDir, `${topic}-${p}`);
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.log'))) {
      const bytes = fs.readFileSync(path.join(dir, name));
      for (let pos = 0; pos + 61 <= bytes.length;) {
        const length = bytes.readUInt32BE(pos + 8);
        if (length === 0) break;
        codecs.push({ codec: bytes.readInt16BE(pos + 21) & 0x7, records: bytes.readInt32BE(pos + 57) });
        pos += 12 + length;
      }
    }
  }
  return codecs;
}

const codecIds = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

for (const target of ['test_broker', 'mock cluster']) {
  const mock = target === 'mock cluster';
  describe(`kcat against ${target}`, () => {
    const dataDir = mock ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'substrate-kcat-'));
    let broker;
    const sentByTopic = new Map();
    before(async () => { broker = mock ? await Broker.startMock(3) : await Broker.start(dataDir, 3); });
    after(async () => {
      if (broker) await broker.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test('kcat -L lists the broker as controller', () => {
      const out = kcat(['-b', broker.address, '-L']);
      // The mock (Metadata up to v2) names no controller; ours is node 0 and the controller.
      const controller = mock ? '' : ' \\(controller\\)';
      assert.match(out, new RegExp(`1 brokers:\\s+broker \\d+ at 127\\.0\\.0\\.1:${broker.port}${controller}`));
    });

    test('10,000 keyed records with headers round-trip in order per partition', () => {
      const sent = records('keyed', 10_000);
      produce(broker, 'keyed', sent);
      const byPartition = assertRoundTrip(sent, consume(broker, 'keyed'));
      assert.equal(byPartition.size, 3, 'keys spread over the three partitions');
      sentByTopic.set('keyed', sent);
      const listing = kcat(['-b', broker.address, '-L', '-t', 'keyed']);
      assert.match(listing, /topic "keyed" with 3 partitions/);
    });

    test('acks=all with an idempotent producer', () => {
      const sent = records('acks', 3000);
      produce(broker, 'acks-all', sent, ['-X', 'acks=all', '-X', 'enable.idempotence=true']);
      assertRoundTrip(sent, consume(broker, 'acks-all'));
      sentByTopic.set('acks-all', sent);
    });

    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
      test(`${codec} batches round-trip`, () => {
        const topic = `codec-${codec}`;
        const sent = records(codec, 2000);
        produce(broker, topic, sent, ['-z', codec, '-X', 'acks=all']);
        assertRoundTrip(sent, consume(broker, topic));
        sentByTopic.set(topic, sent);
        if (!mock) {
          // librdkafka sends a batch uncompressed when compressing would not shrink it (a lone
          // short record under gzip, say); everything else must be stored as the codec it came in.
          const stored = storedCodecs(dataDir, topic, 3);
          const compressed = stored.filter((b) => b.codec === codecIds[codec]).reduce((n, b) => n + b.records, 0);
          assert.ok(stored.every((b) => b.codec === codecIds[codec] || b.codec === 0), `only ${codec} or none`);
          assert.ok(compressed >= 0.9 * sent.length, `${compressed} of ${sent.length} records stored as ${codec}`);
        }
      });
    }

    test('a restart keeps every record', { skip: mock && 'the mock cluster keeps nothing across a restart' }, async () => {
      const { code } = await broker.stop();
      assert.equal(code, 0, broker.stderr);
      broker = await Broker.start(dataDir, 3);
      const listing = kcat(['-b', broker.address, '-L']);
      for (const [topic, sent] of sentByTopic) {
        assert.match(listing, new RegExp(`topic "${topic}" with 3 partitions`));
        assertRoundTrip(sent, consume(broker, topic));
      }
      // New records continue after the recovered ones.
      const more = records('more', 100);
      produce(broker, 'keyed', more, ['-X', 'acks=all']);
      assert.equal(consume(broker, 'keyed').length, 10_100);
    });
  });
}

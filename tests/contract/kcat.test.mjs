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
import { Cluster, hasGroupCoordinator, groupSkipReason } from './lib/clusters.mjs';

const topics = { keyed: 3, 'acks-all': 3, 'codec-gzip': 3, 'codec-snappy': 3, 'codec-lz4': 3, 'codec-zstd': 3,
  'group-resume': 3 };

// kcat run in the background (a group member), resolving with its stdout when it exits.
function kcatAsync(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`kcat ${args.join(' ')} failed (${code}, ${signal}):\n${stderr}`));
    });
  });
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
    before(async () => { broker = mock ? await Cluster.mock(topics) : await Cluster.broker(dataDir, 3); });
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

    test('kcat -G: a group consumes everything, then resumes from its commits', async (t) => {
      if (!mock && !(await hasGroupCoordinator(broker.port, 'kcat-g'))) return t.skip(groupSkipReason);
      const topic = 'group-resume';
      // -e: exit once every assigned partition is at its end; closing commits the offsets. Not
      // `-o beginning`: in -G mode kcat applies it to every assignment, overriding the commits.
      const groupConsume = () => kcat(['-b', broker.address, '-G', 'kcat-g', '-e', '-q',
        '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=500', '-f', '%p %o %k\\n', topic]).split('\n').filter((l) => l.length > 0)
        .map((l) => { const [p, o, key] = l.split(' '); return { partition: Number(p), offset: Number(o), key }; });
      const first = records('group-first', 300);
      produce(broker, topic, first, ['-X', 'acks=all']);
      const got = groupConsume();
      assert.deepEqual(got.map((g) => g.key).sort(), first.map((r) => r.key).sort(), 'every record once');
      const second = records('group-second', 90);
      produce(broker, topic, second, ['-X', 'acks=all']);
      const resumed = groupConsume();
      assert.deepEqual(resumed.map((g) => g.key).sort(), second.map((r) => r.key).sort(),
        'only the records after the committed offsets');
    });

    test('a restart keeps every record', { skip: mock && 'the mock cluster keeps nothing across a restart' }, async () => {
      const { code } = await broker.stop();
      assert.equal(code, 0, broker.stderr);
      broker = await Cluster.broker(dataDir, 3);
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

// Consumer groups (kcat -G: librdkafka's balanced consumer, JoinGroup 5 / SyncGroup 3 /
// OffsetCommit 7 / OffsetFetch 7 against src/kafka/coordinator).
describe('kcat consumer groups against test_broker', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'substrate-kcat-groups-'));
  // A short initial rebalance delay, so that both members land in the first generation.
  const brokerFlags = ['--group-initial-rebalance-delay-ms', '2000'];
  let broker;
  before(async () => { broker = await Cluster.broker(dataDir, 4, brokerFlags); });
  after(async () => {
    if (broker) await broker.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  // One member of group `group` that reads until every assigned partition is at its end.
  function member(group, topic) {
    return kcatAsync(['-b', broker.address, '-G', group, topic, '-e', '-q', '-X', 'auto.offset.reset=earliest',
      '-f', '%p %o %k %s\\n']);
  }
  function parse(out) {
    return out.split('\n').filter((l) => l.length > 0).map((line) => {
      const [p, o, key, ...rest] = line.split(' ');
      return { partition: Number(p), offset: Number(o), key, value: rest.join(' ') };
    });
  }

  test('two members split a four-partition topic and get every record once', async () => {
    const sent = records('grouped', 2000);
    produce(broker, 'grouped', sent);
    const [one, two] = (await Promise.all([member('pair', 'grouped'), member('pair', 'grouped')])).map(parse);
    const got = [...one, ...two];
    assert.equal(got.length, sent.length, `record count (${one.length} + ${two.length})`);
    assert.deepEqual(new Set(got.map((g) => g.key)), new Set(sent.map((r) => r.key)), 'every key once');
    assert.ok(one.length > 0 && two.length > 0, `both members consumed (${one.length}, ${two.length})`);
    const partitionsOf = (list) => new Set(list.map((g) => g.partition));
    for (const p of partitionsOf(one)) assert.ok(!partitionsOf(two).has(p), `partition ${p} read by one member only`);
    const byKey = new Map(sent.map((r) => [r.key, r.value]));
    for (const g of got) assert.equal(g.value, byKey.get(g.key), `value of ${g.key}`);
  });

  test('a member killed with -9 expires after its session timeout and the other takes over', async () => {
    produce(broker, 'expiry', records('expiry', 200));
    // Long-running members (no -e); kcat reports each assignment on stderr.
    const start = () => {
      const child = spawn('kcat', ['-b', broker.address, '-G', 'expirers', 'expiry', '-X', 'session.timeout.ms=6000',
        '-X', 'auto.offset.reset=earliest', '-f', '%p %o\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const m = { child, stderr: '', stdout: '' };
      child.stderr.on('data', (d) => { m.stderr += d; });
      child.stdout.on('data', (d) => { m.stdout += d; });
      return m;
    };
    const waitFor = async (m, pattern, what) => {
      const deadline = Date.now() + 60_000;
      while (!pattern.test(m.stderr)) {
        assert.ok(Date.now() < deadline, `${what}; kcat said:\n${m.stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const [one, two] = [start(), start()];
    try {
      const split = /assigned: expiry \[\d\], expiry \[\d\]\n/;
      await waitFor(one, split, 'the first member got two partitions');
      await waitFor(two, split, 'the second member got two partitions');
      two.child.kill('SIGKILL');  // no LeaveGroup: only the session timeout can remove it
      await waitFor(one, /assigned: expiry \[0\], expiry \[1\], expiry \[2\], expiry \[3\]/,
        'the survivor got all four partitions after the session expired');
    } finally {
      one.child.kill('SIGKILL');
      two.child.kill('SIGKILL');
    }
  });

  test('committed offsets survive kill -9: a new member resumes where the group stopped', async () => {
    const first = records('resume-a', 500);
    produce(broker, 'resume', first);
    assert.equal(parse(await member('resumers', 'resume')).length, first.length);
    // OffsetCommit is answered after the fsync, so the commits kcat made on close are on disk.
    broker.child.kill('SIGKILL');
    await broker.exited;
    broker = await Cluster.broker(dataDir, 4, brokerFlags);
    const second = records('resume-b', 300);
    produce(broker, 'resume', second);
    const got = parse(await member('resumers', 'resume'));
    assert.deepEqual(new Set(got.map((g) => g.key)), new Set(second.map((r) => r.key)),
      'only the records produced after the last commit');
    // The group and its offsets are visible to kcat's metadata listing as an internal topic.
    assert.match(kcat(['-b', broker.address, '-L']), /topic "__consumer_offsets" with 1 partitions/);
  });
});

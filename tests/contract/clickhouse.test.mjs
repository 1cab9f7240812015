// ClickHouse 18.16 (Debian clickhouse-server, linking the system librdkafka 2.0.2) consumes a
// JSONEachRow topic through its Kafka table engine into a MergeTree table via a materialized
// view: every produced row arrives exactly once (spec kafka-compat.md section 9, item 7).
//
// ClickHouse runs as a child process on a temporary directory with its own minimal config,
// HTTP and native ports picked free on 127.0.0.1, and `<kafka><auto_offset_reset>smallest`
// so its consumer group starts at the beginning of the topic. The records are produced with
// kcat; afterwards the group's committed offsets must cover every record (spec: "committed
// offset advances"). The same scenario runs against librdkafka's mock cluster
// (rdkafka_mock_cluster) as the reference: a failure there is ClickHouse's or the test's, not
// our broker's.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Cluster, freePort, groupSkipReason, hasGroupCoordinator, stopChild } from './lib/clusters.mjs';

const clickhouseBinary = process.env.TEST_CLICKHOUSE_BINARY ?? '/usr/sbin/clickhouse-server';
const topic = 'ch-events';
const rowCount = 2000;

// clickhouse-server on `dir` with only what this test needs; the Debian package's own config
// would listen on fixed ports and write to /var/lib/clickhouse.
class ClickHouse {
  static async start() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'substrate-clickhouse-'));
    fs.chmodSync(dir, 0o755);
    const [httpPort, tcpPort] = [await freePort(), await freePort()];
    fs.writeFileSync(path.join(dir, 'config.xml'), `<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <!-- Passed to librdkafka as auto.offset.reset: read the topic from its start. -->
  <kafka><auto_offset_reset>smallest</auto_offset_reset></kafka>
</yandex>
`);
    fs.writeFileSync(path.join(dir, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <!-- Flush the Kafka stream into the view every 500 ms instead of 7.5 s. -->
  <profiles><default><stream_flush_interval_ms>500</stream_flush_interval_ms></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`);
    const ch = new ClickHouse();
    ch.dir = dir;
    ch.httpPort = httpPort;
    ch.log = '';
    ch.child = spawn(clickhouseBinary, [`--config-file=${dir}/config.xml`], { stdio: ['ignore', 'pipe', 'pipe'] });
    ch.child.stdout.on('data', (d) => { ch.log += d; });
    ch.child.stderr.on('data', (d) => { ch.log += d; });
    ch.exited = new Promise((resolve) => ch.child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await ch.query('SELECT 1')).trim() === '1') break;
      } catch (e) {
        if (Date.now() > deadline || ch.child.exitCode !== null) {
          throw new Error(`clickhouse-server did not come up: ${e.message}\n${ch.log.slice(-4000)}`);
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return ch;
  }

  // One connection per query: an idle keep-alive connection makes clickhouse-server wait ~8 s
  // at shutdown.
  async query(sql) {
    const response = await fetch(`http://127.0.0.1:${this.httpPort}/`, {
      method: 'POST', body: sql, signal: AbortSignal.timeout(30_000), headers: { connection: 'close' },
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`ClickHouse ${response.status} for ${sql}: ${text}`);
    return text;
  }

  async stop() {
    await stopChild(this.child, this.exited);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function kcat(args, input) {
  const r = spawnSync('kcat', args, { input, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `kcat ${args.join(' ')} failed (${r.status}, ${r.signal}):\n${r.stderr}`);
  return r.stdout;
}

function rows(count) {
  return Array.from({ length: count }, (_, i) => ({ id: i + 1, name: `event-${i + 1}-\u00e9`, amount: (i * 7) / 4 }));
}

for (const target of ['test_broker', 'mock cluster']) {
  const mock = target === 'mock cluster';
  describe(`ClickHouse 18.16 Kafka engine against ${target}`, () => {
    const dataDir = mock ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'substrate-clickhouse-broker-'));
    let cluster;
    let clickhouse;
    let groups = true;
    before(async () => {
      cluster = mock ? await Cluster.mock({ [topic]: 3 }) : await Cluster.broker(dataDir, 3);
      groups = mock || await hasGroupCoordinator(cluster.port, 'clickhouse');
      if (groups) clickhouse = await ClickHouse.start();
    });
    after(async () => {
      if (clickhouse) {
        // Dropping the Kafka table first closes its consumer (LeaveGroup) while the broker is up.
        await clickhouse.query('DROP TABLE IF EXISTS events_mv').catch(() => {});
        await clickhouse.query('DROP TABLE IF EXISTS queue').catch(() => {});
        await clickhouse.stop();
      }
      if (cluster) await cluster.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test(`a JSONEachRow topic lands in MergeTree with all ${rowCount} rows`, async (t) => {
      if (!groups) {
        return t.skip(groupSkipReason);
      }
      const sent = rows(rowCount);
      kcat(['-b', cluster.address, '-P', '-t', topic, '-X', 'acks=all'],
        sent.map((r) => JSON.stringify(r)).join('\n') + '\n');

      await clickhouse.query(`CREATE TABLE queue (id UInt64, name String, amount Float64)
        ENGINE = Kafka('${cluster.address}', '${topic}', 'clickhouse', 'JSONEachRow')`);
      await clickhouse.query(`CREATE TABLE events (id UInt64, name String, amount Float64)
        ENGINE = MergeTree() ORDER BY id`);
      await clickhouse.query('CREATE MATERIALIZED VIEW events_mv TO events AS SELECT id, name, amount FROM queue');

      // ClickHouse flushes the Kafka stream into the view in blocks (stream_flush_interval_ms,
      // 500 ms here), so poll; then give it a few more flushes to show duplicates.
      const deadline = Date.now() + 90_000;
      let count = 0;
      while (Date.now() < deadline) {
        count = Number((await clickhouse.query('SELECT count() FROM events')).trim());
        if (count >= rowCount) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(count, rowCount, `rows after 90 s\n${clickhouse.log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 2000));
      const got = (await clickhouse.query('SELECT id, name, amount FROM events ORDER BY id FORMAT JSONEachRow'))
        .split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l))
        // UInt64 comes back as a JSON string (output_format_json_quote_64bit_integers).
        .map((r) => ({ ...r, id: Number(r.id) }));
      assert.equal(got.length, rowCount, 'no row twice');
      assert.deepEqual(got, sent);

      // The group's committed offsets reach the end of every partition (read with kafkajs's
      // OffsetFetch; kafkajs cannot talk to the mock, so on test_broker only).
      if (!mock) {
        const admin = new Kafka({ clientId: 'offsets', brokers: [cluster.address], logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        try {
          let committed = 0;
          const until = Date.now() + 30_000;
          while (Date.now() < until) {
            const [offsets] = await admin.fetchOffsets({ groupId: 'clickhouse', topics: [topic] });
            committed = offsets.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
            if (committed >= rowCount) break;
            await new Promise((r) => setTimeout(r, 250));
          }
          assert.equal(committed, rowCount, 'committed offsets cover every row');
        } finally {
          await admin.disconnect();
        }
      }
    });
  });
}

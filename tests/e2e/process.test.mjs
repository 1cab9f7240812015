// The `substrate` process as an operator sees it: start, readiness, metrics, signals, crashes,
// restarts, configuration errors. Real PostgreSQL, real sockets, real promtool.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  Substrate, freePort, makeDataDir, removeDataDir, postgresProcessesOf, waitFor, psql, run,
} from './lib/substrate.mjs';

const dirs = [];
function dataDir() {
  const d = makeDataDir();
  dirs.push(d);
  return d;
}
after(() => dirs.forEach(removeDataDir));

describe('substrate up', () => {
  test('serves healthz, readyz and promtool-valid metrics, and SIGTERM stops everything', async () => {
    const dir = dataDir();
    const s = await Substrate.start({ dataDir: dir });
    assert.match(s.stdout, /substrate .* is up/);
    assert.match(s.stdout, new RegExp(`admin +http://127\\.0\\.0\\.1:${s.adminPort}`));
    assert.ok(s.stdout.includes(dir), 'banner names the data dir');

    const health = await fetch(`${s.adminUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${s.adminUrl}/readyz`);
    assert.equal(ready.status, 200);

    const metrics = await (await fetch(`${s.adminUrl}/metrics`)).text();
    assert.match(metrics, /process_resident_memory_bytes \d+/);
    assert.match(metrics, /http_requests_total\{listener="admin",method="GET",code="200"\} \d+/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);

    const env = s.env();
    assert.equal(env.ADMIN_URL, s.adminUrl);
    assert.match(env.DATABASE_URL, new RegExp(`^postgresql://postgres:[0-9a-f]+@127\\.0\\.0\\.1:${s.databasePort}/postgres$`));
    assert.equal(fs.statSync(path.join(dir, 'substrate.env')).mode & 0o777, 0o600);
    assert.equal(psql(env.DATABASE_URL, 'show wal_level'), 'logical');

    assert.ok(postgresProcessesOf(dir).length > 0, 'the managed PostgreSQL runs');
    const started = Date.now();
    s.child.kill('SIGTERM');
    const { code } = await s.waitExit(10_000);
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual(postgresProcessesOf(dir), [], 'no PostgreSQL process of this data dir is left');
  });

  test('restart reuses the cluster and does not re-apply migrations', async () => {
    const dir = dataDir();
    const first = await Substrate.start({ dataDir: dir });
    assert.match(first.stderr, /initialising a new PostgreSQL cluster/);
    const url = first.env().DATABASE_URL;
    const before = psql(url, 'select version, applied_at from substrate_migrations order by version');
    assert.notEqual(before, '');
    const versionFile = fs.statSync(path.join(dir, 'postgres', 'PG_VERSION'));
    assert.equal((await first.stop()).code, 0);

    const second = await Substrate.start({
      dataDir: dir, adminPort: first.adminPort, databasePort: first.databasePort, kafkaPort: first.kafkaPort,
    });
    assert.doesNotMatch(second.stderr, /initialising a new PostgreSQL cluster/);
    assert.match(second.stderr, /"applied":0/);
    assert.equal(fs.statSync(path.join(dir, 'postgres', 'PG_VERSION')).mtimeMs, versionFile.mtimeMs);
    assert.equal(psql(second.env().DATABASE_URL, 'select version, applied_at from substrate_migrations order by version'), before);
    assert.equal(second.env().DATABASE_URL, url, 'the password is kept across restarts');
    assert.equal((await second.stop()).code, 0);
  });

  test('after kill -9 of substrate the next up on the same data dir becomes ready', async () => {
    const dir = dataDir();
    const first = await Substrate.start({ dataDir: dir });
    const orphan = first.postmasterPid();
    assert.ok(orphan > 0);
    first.child.kill('SIGKILL');
    await first.waitExit(5_000);
    // The parent-death signal takes the server down without us.
    await waitFor(() => postgresProcessesOf(dir).length === 0, 30_000, 'the orphaned PostgreSQL to stop');

    const second = await Substrate.start({ dataDir: dir, adminPort: first.adminPort, databasePort: first.databasePort });
    assert.equal((await fetch(`${second.adminUrl}/readyz`)).status, 200);
    assert.equal((await second.stop()).code, 0);
  });

  test('kill -9 and an immediate restart: the new up waits for the old server', async () => {
    const dir = dataDir();
    const first = await Substrate.start({ dataDir: dir });
    first.child.kill('SIGKILL');
    await first.waitExit(5_000);
    const second = await Substrate.start({ dataDir: dir, adminPort: first.adminPort, databasePort: first.databasePort });
    assert.equal((await fetch(`${second.adminUrl}/readyz`)).status, 200);
    assert.equal((await second.stop()).code, 0);
    assert.deepEqual(postgresProcessesOf(dir), []);
  });

  test('when the PostgreSQL child is killed, substrate reports it and exits non-zero', async () => {
    const dir = dataDir();
    const s = await Substrate.start({ dataDir: dir });
    process.kill(s.postmasterPid(), 'SIGKILL');
    const { code } = await s.waitExit(15_000);
    assert.notEqual(code, 0);
    assert.match(s.stderr, /the managed PostgreSQL was killed by signal 9/);
    await waitFor(() => postgresProcessesOf(dir).length === 0, 15_000, 'PostgreSQL backends to go');
  });

  test('a second substrate on the same data dir is refused', async () => {
    const dir = dataDir();
    const first = await Substrate.start({ dataDir: dir });
    const second = new Substrate({
      dataDir: dir, adminPort: await freePort(), databasePort: await freePort(), kafkaPort: await freePort(),
    });
    const { code } = await second.waitExit(15_000);
    assert.equal(code, 1);
    assert.match(second.stderr, /another substrate \(pid \d+\) is using the data dir/);
    assert.equal((await fetch(`${first.adminUrl}/readyz`)).status, 200, 'the first one is unharmed');
    assert.equal((await first.stop()).code, 0);
  });

  test('with database.url it uses that server and starts no PostgreSQL of its own', async () => {
    const owner = await Substrate.start({ dataDir: dataDir() });
    const url = owner.env().DATABASE_URL;
    const dir = dataDir();
    const external = await Substrate.start({ dataDir: dir, databasePort: null, settings: [`database.url=${url}`] });
    assert.equal(fs.existsSync(path.join(dir, 'postgres')), false);
    assert.deepEqual(postgresProcessesOf(dir), []);
    assert.match(external.stderr, /"applied":0/, 'the migrations are already there');
    assert.match(external.stdout, /\(external\)/);
    assert.doesNotMatch(external.stdout, /[0-9a-f]{48}/, 'the banner hides the password');
    assert.equal((await external.stop()).code, 0);
    assert.equal((await owner.stop()).code, 0);
  });

  test('readyz names PostgreSQL when an external server goes away', async () => {
    const owner = await Substrate.start({ dataDir: dataDir() });
    const external = await Substrate.start({
      dataDir: dataDir(), databasePort: null, settings: [`database.url=${owner.env().DATABASE_URL}`],
    });
    assert.equal((await owner.stop()).code, 0);
    const r = await fetch(`${external.adminUrl}/readyz`);
    assert.equal(r.status, 503);
    const body = await r.json();
    assert.equal(body.status, 'unavailable');
    assert.match(body.failing.postgres, /PostgreSQL/);
    assert.equal((await fetch(`${external.adminUrl}/healthz`)).status, 200, 'alive while not ready');
    assert.equal((await external.stop()).code, 0);
  });
});

describe('substrate up serves Kafka', () => {
  test('kcat lists the broker, and a record produced with acks=all survives a restart', async () => {
    const dir = dataDir();
    const s = await Substrate.start({ dataDir: dir });
    assert.match(s.stdout, new RegExp(`kafka +127\\.0\\.0\\.1:${s.kafkaPort}`));
    assert.equal(s.env().KAFKA_BROKERS, s.kafkaBrokers);
    const produce = spawnSync('kcat', ['-b', s.kafkaBrokers, '-P', '-t', 'e2e.events', '-K', ':', '-X', 'acks=all'],
      { input: 'k1:hello substrate\n', encoding: 'utf8', timeout: 30_000 });
    assert.equal(produce.status, 0, produce.stderr);
    const list = spawnSync('kcat', ['-b', s.kafkaBrokers, '-L', '-J'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(list.status, 0, list.stderr);
    const metadata = JSON.parse(list.stdout);
    assert.equal(metadata.brokers[0].name, s.kafkaBrokers);
    assert.ok(metadata.topics.some((t) => t.topic === 'e2e.events'));
    assert.equal((await s.stop()).code, 0);

    const again = await Substrate.start({
      dataDir: dir, adminPort: s.adminPort, databasePort: s.databasePort, kafkaPort: s.kafkaPort,
    });
    const consume = spawnSync('kcat', ['-b', again.kafkaBrokers, '-C', '-t', 'e2e.events', '-o', 'beginning', '-e',
      '-f', '%k=%s\n'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(consume.status, 0, consume.stderr);
    assert.equal(consume.stdout, 'k1=hello substrate\n');
    assert.equal((await again.stop()).code, 0);
  });
});

describe('substrate command line', () => {
  test('version and help', () => {
    const v = run(['version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^substrate \d+\.\d+\.\d+/);
    for (const command of [['--help'], ['up', '--help'], ['config', '--help'], ['version', '--help']]) {
      const r = run(command);
      assert.equal(r.status, 0, command.join(' '));
      assert.match(r.stdout, /Usage|Options/i, command.join(' '));
    }
    assert.equal(run([]).status, 2, 'a subcommand is required');
    assert.equal(run(['frobnicate']).status, 2);
  });

  test('config prints the effective configuration with secrets masked', () => {
    const r = run(['config', '--set', 'database.url=postgresql://u:secretpw@h/db', '--data-dir', '/srv/x'],
      { env: { SUBSTRATE_ADMIN_PORT: '9999' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^data_dir: "\/srv\/x"$/m);
    assert.match(r.stdout, /^  port: 9999$/m);
    assert.match(r.stdout, /url: "\*\*\*\*\*\*\*\*"/);
    assert.doesNotMatch(r.stdout, /secretpw/);
    const described = run(['config', '--describe']);
    assert.equal(described.status, 0);
    assert.match(described.stdout, /database\.port {2}\(SUBSTRATE_DATABASE_PORT\)/);
  });

  test('configuration errors exit 2 naming the key', () => {
    const dir = dataDir();
    const file = path.join(dir, 'bad.yaml');
    const cases = [
      [['up', '--set', 'database.port=99999'], {}, /database\.port: 99999 is out of range/],
      [['up', '--set', 'database.prot=1'], {}, /database\.prot: unknown configuration key/],
      [['up'], { SUBSTRATE_ADMIN_PORT: 'eighty' }, /SUBSTRATE_ADMIN_PORT: expected an integer/],
      [['up'], { SUBSTRATE_NO_SUCH_THING: '1' }, /SUBSTRATE_NO_SUCH_THING: unknown configuration variable/],
      [['up', '--config', file], {}, /http\.body_bytes_max: expected an integer/],
      [['up', '--config', path.join(dir, 'missing.yaml')], {}, /cannot read the configuration file/],
    ];
    fs.writeFileSync(file, 'http:\n  body_bytes_max: big\n');
    for (const [args, env, message] of cases) {
      const r = run([...args, '--data-dir', dir], { env });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(fs.existsSync(path.join(dir, 'postgres')), false, 'nothing started');
  });
});

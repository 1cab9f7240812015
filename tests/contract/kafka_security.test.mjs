// SASL and ACLs of the broker, driven by the real kcat (librdkafka 2.0.2): PLAIN and
// SCRAM-SHA-256 logins with users made by `substrate kafka user add`, wrong passwords refused
// with an authentication error, clients without SASL disconnected, and per-principal topic ACLs
// (`substrate kafka acl add`) refusing unauthorised topics while authorised ones work. The broker
// is test_broker (tests/contract/broker_main.cc) with --sasl-users / --acl-file.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const brokerBinary = process.env.TEST_BROKER_BINARY ?? path.resolve('build/tests/contract/test_broker');
const substrateBinary = process.env.TEST_SUBSTRATE_BINARY ?? path.resolve('build/substrate');

class Broker {
  constructor(args) {
    this.stdout = '';
    this.stderr = '';
    this.child = spawn(brokerBinary, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.listening = new Promise((resolve, reject) => {
      this.child.stdout.on('data', (d) => {
        this.stdout += d;
        const m = this.stdout.match(/listening (\d+)/);
        if (m) resolve(Number(m[1]));
      });
      this.exited.then((e) => reject(new Error(`test_broker exited ${JSON.stringify(e)}:\n${this.stderr}`)));
    });
  }

  static async start(args) {
    const b = new Broker(args);
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

function substrate(args, input) {
  const r = spawnSync(substrateBinary, args, { input, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `substrate ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

// kcat with SASL options for `user` (or none); returns the whole spawnSync result.
function kcat(broker, user, args, input) {
  const sasl = user
    ? ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${user.mechanism ?? 'SCRAM-SHA-256'}`,
      '-X', `sasl.username=${user.name}`, '-X', `sasl.password=${user.password}`]
    : [];
  return spawnSync('kcat', ['-b', broker.address, ...sasl, ...args],
    { input, encoding: 'utf8', timeout: 60_000 });
}

function ok(r, what) {
  assert.equal(r.status, 0, `${what} failed (${r.status}, ${r.signal}):\n${r.stderr}`);
  return r.stdout;
}

function produce(broker, user, topic, lines) {
  return kcat(broker, user, ['-P', '-t', topic, '-X', 'acks=all'], `${lines.join('\n')}\n`);
}

function consume(broker, user, topic) {
  return kcat(broker, user, ['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\\n']);
}

function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

async function eventually(what, predicate, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (predicate()) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('SASL against test_broker', () => {
  const dir = tempDir('substrate-sasl-');
  const usersFile = path.join(dir, 'kafka-security', 'users.json');
  let broker;
  let generated;
  before(async () => {
    substrate(['kafka', 'user', 'add', 'alice', '--password-stdin', '--data-dir', dir], 'alice-secret\n');
    const out = substrate(['kafka', 'user', 'add', 'carol', '--data-dir', dir]);
    generated = out.match(/^password: (\S+)$/m)[1];
    assert.equal(fs.statSync(usersFile).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(usersFile, 'utf8').includes('alice-secret'), 'no plaintext password on disk');
    broker = await Broker.start(['--data-dir', path.join(dir, 'kafka'), '--sasl-users', usersFile]);
  });
  after(async () => {
    if (broker) await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256']) {
    test(`${mechanism}: the right password produces and consumes`, () => {
      const alice = { name: 'alice', password: 'alice-secret', mechanism };
      const topic = `sasl-${mechanism.toLowerCase()}`;
      ok(produce(broker, alice, topic, ['one', 'two', 'three']), 'produce');
      assert.deepEqual(ok(consume(broker, alice, topic), 'consume').trim().split('\n'), ['one', 'two', 'three']);
      const carol = { name: 'carol', password: generated, mechanism };
      assert.match(ok(kcat(broker, carol, ['-L']), 'kcat -L as carol'), new RegExp(`topic "${topic}"`));
    });

    test(`${mechanism}: a wrong password fails with an authentication error`, () => {
      for (const user of [{ name: 'alice', password: 'nope', mechanism }, { name: 'mallory', password: 'x', mechanism }]) {
        const r = kcat(broker, user, ['-L', '-m', '3']);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /SASL authentication error: Authentication failed/);
      }
    });
  }

  test('a client without SASL is disconnected before any request is served', async () => {
    const r = kcat(broker, null, ['-L', '-m', '3']);
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stdout, /topic "/);
    // The broker's stderr is read by the event loop, which spawnSync blocked meanwhile.
    await eventually('the broker to log the refusal',
      () => /Metadata before SASL authentication completed/.test(broker.stderr));
  });

  test('users added or deleted while the broker runs take effect at the next login', () => {
    substrate(['kafka', 'user', 'add', 'dave', '--password-stdin', '--data-dir', dir], 'dave-pw\n');
    const dave = { name: 'dave', password: 'dave-pw' };
    ok(kcat(broker, dave, ['-L']), 'kcat -L as a new user');
    assert.match(substrate(['kafka', 'user', 'list', '--data-dir', dir]), /^dave /m);
    substrate(['kafka', 'user', 'delete', 'dave', '--data-dir', dir]);
    const r = kcat(broker, dave, ['-L', '-m', '3']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Authentication failed/);
  });
});

describe('ACLs against test_broker', () => {
  const dir = tempDir('substrate-acl-');
  const usersFile = path.join(dir, 'kafka-security', 'users.json');
  const aclFile = path.join(dir, 'kafka-security', 'acls.json');
  const admin = { name: 'admin', password: 'admin-pw' };
  const svc = { name: 'svc', password: 'svc-pw', mechanism: 'PLAIN' };
  let broker;
  before(async () => {
    substrate(['kafka', 'user', 'add', 'admin', '--password-stdin', '--data-dir', dir], 'admin-pw\n');
    substrate(['kafka', 'user', 'add', 'svc', '--password-stdin', '--data-dir', dir], 'svc-pw\n');
    substrate(['kafka', 'acl', 'add', '--user', 'svc', '--topic', 'orders.', '--prefixed',
      '--operation', 'read,write,create', '--data-dir', dir]);
    substrate(['kafka', 'acl', 'add', '--user', 'svc', '--topic', 'orders.blocked', '--operation', 'write', '--deny',
      '--data-dir', dir]);
    broker = await Broker.start(['--data-dir', path.join(dir, 'kafka'), '--sasl-users', usersFile,
      '--acl-file', aclFile, '--super-users', 'User:admin']);
  });
  after(async () => {
    if (broker) await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an authorised topic works while an unauthorised one is refused', () => {
    ok(produce(broker, svc, 'orders.eu', ['o1', 'o2']), 'produce to an authorised prefix');
    assert.equal(ok(consume(broker, svc, 'orders.eu'), 'consume').trim(), 'o1\no2');
    ok(produce(broker, admin, 'secret', ['s1']), 'a super user writes anywhere');

    const denied = produce(broker, svc, 'secret', ['x']);
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /Topic authorization failed/);
    const unread = consume(broker, svc, 'secret');
    assert.notEqual(unread.status, 0);
    assert.match(unread.stderr, /Topic authorization failed/);
    const blocked = produce(broker, svc, 'orders.blocked', ['x']);
    assert.notEqual(blocked.status, 0, 'a DENY entry wins over the prefix ALLOW');
    assert.match(blocked.stderr, /Topic authorization failed/);

    const visible = ok(kcat(broker, svc, ['-L']), 'kcat -L as svc');
    assert.match(visible, /topic "orders\.eu"/);
    assert.doesNotMatch(visible, /topic "secret"/, 'unauthorised topics are left out of Metadata');
    assert.match(ok(kcat(broker, admin, ['-L']), 'kcat -L as admin'), /topic "secret"/);
    assert.equal(ok(consume(broker, admin, 'secret'), 'consume as admin').trim(), 's1');
  });

  test('an ACL added while the broker runs takes effect, and deleting it revokes it', async () => {
    substrate(['kafka', 'acl', 'add', '--user', 'svc', '--topic', 'secret', '--operation', 'read', '--data-dir', dir]);
    assert.match(substrate(['kafka', 'acl', 'list', '--user', 'svc', '--data-dir', dir]),
      /allow User:svc read topic literal 'secret'/);
    await eventually('read access to secret', () => consume(broker, svc, 'secret').status === 0);
    assert.equal(ok(consume(broker, svc, 'secret'), 'consume').trim(), 's1');
    substrate(['kafka', 'acl', 'delete', '--user', 'svc', '--topic', 'secret', '--data-dir', dir]);
    await eventually('read access revoked', () => consume(broker, svc, 'secret').status !== 0);
  });
});

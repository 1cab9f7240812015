// Kafka clusters for the contract tests: test_broker (tests/contract/broker_main.cc) on port 0
// and a data dir, or librdkafka's mock cluster (rdkafka_mock_cluster, mock_cluster_main.cc) as
// the differential reference. Both print `listening <port>` once they accept connections.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export const brokerBinary = process.env.TEST_BROKER_BINARY ?? path.resolve('build/tests/contract/test_broker');
export const mockBinary =
  process.env.TEST_MOCK_CLUSTER_BINARY ?? path.resolve('build/tests/contract/rdkafka_mock_cluster');

export class Cluster {
  constructor(binary, args, dataDir) {
    this.binary = binary;
    this.dataDir = dataDir;
    this.stdout = '';
    this.stderr = '';
    this.child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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

  // test_broker on `dataDir` (the caller owns and removes it; a restart reuses it), with `extra`
  // flags for broker_main.cc.
  static async broker(dataDir, partitions = 3, extra = []) {
    const c = new Cluster(brokerBinary,
      ['--port', '0', '--data-dir', dataDir, '--partitions', String(partitions), ...extra], dataDir);
    c.port = await c.listening;
    return c;
  }

  // The mock with `topics` ({name: partitions}) created up front: it would auto-create them with
  // its own default of 4 partitions. It keeps everything in memory.
  static async mock(topics = {}) {
    const c = new Cluster(mockBinary, Object.entries(topics).flatMap(([t, n]) => ['--topic', `${t}:${n}`]), null);
    c.port = await c.listening;
    return c;
  }

  get address() { return `127.0.0.1:${this.port}`; }

  // SIGTERM, then SIGKILL after 20 s; resolves to the exit {code, signal}.
  stop() { return stopChild(this.child, this.exited); }

  // stop(), failing unless the process exited 0: a clean shutdown is part of the contract, and
  // under a sanitizer build a report at exit shows up here.
  async stopCleanly() {
    const { code, signal } = await this.stop();
    if (code !== 0) throw new Error(`${this.binary} exited ${code} (${signal}):\n${this.stderr.slice(-4000)}`);
  }
}

export async function stopChild(child, exited) {
  child.kill('SIGTERM');
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 20_000);
  });
  await Promise.race([exited, timeout]);
  clearTimeout(timer);
  return exited;
}

// FindCoordinator v0 over a raw socket: whether the broker serves consumer groups at all (it
// answers COORDINATOR_NOT_AVAILABLE, 15, while it has no coordinator). Lets group scenarios skip
// with that reason instead of timing out.
export function hasGroupCoordinator(port, group) {
  return new Promise((resolve) => {
    const clientId = Buffer.from('probe');
    const key = Buffer.from(group);
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 2 + key.length);
    let at = body.writeInt16BE(10, 0);  // FindCoordinator
    at = body.writeInt16BE(0, at);  // v0
    at = body.writeInt32BE(7, at);  // correlation id
    at = body.writeInt16BE(clientId.length, at);
    at += clientId.copy(body, at);
    at = body.writeInt16BE(key.length, at);
    key.copy(body, at);
    const frame = Buffer.concat([Buffer.alloc(4), body]);
    frame.writeInt32BE(body.length, 0);
    const socket = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const done = (value) => { socket.destroy(); resolve(value); };
    socket.setTimeout(5000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      // size, correlation id, error code
      if (got.length >= 10) done(got.readInt16BE(8) === 0);
    });
  });
}

export const groupSkipReason = 'the broker has no group coordinator yet (FindCoordinator answers an error)';

export { freePort } from '../../e2e/lib/substrate.mjs';

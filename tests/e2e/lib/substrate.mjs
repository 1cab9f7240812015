// Starts and inspects real `substrate` processes for the process and end-to-end tests.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const binary = process.env.TEST_SUBSTRATE_BINARY ?? path.resolve('build/substrate');

// Whether 127.0.0.1:`port` can be listened on now.
function listenable(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

// Ports handed out to the test processes of this machine, as files `<port>.<period>`: a file
// created exclusively claims the port for the current 15-minute period and the next, so no
// other test process (these helpers, or test_support::free_port of the C++ tests) hands it out
// again meanwhile, even before the process under test binds it. A free port alone was not
// enough: two instances of one test file got the same random port (kafka and web listeners of
// one substrate), and parallel tests collided now and then. scripts/run-tests removes old files.
const portClaimsDir = path.join(os.tmpdir(), 'substrate-test-ports');
const claimPeriodMs = 15 * 60 * 1000;

function claimPort(port) {
  const period = Math.floor(Date.now() / claimPeriodMs);
  // Shared by every user's tests, as /tmp is (mkdir's mode is narrowed by the umask).
  if (fs.mkdirSync(portClaimsDir, { recursive: true }) !== undefined) fs.chmodSync(portClaimsDir, 0o1777);
  if (fs.existsSync(path.join(portClaimsDir, `${port}.${period - 1}`))) return false;
  try {
    fs.closeSync(fs.openSync(path.join(portClaimsDir, `${port}.${period}`), 'wx'));
    return true;
  } catch (error) {
    if (error.code === 'EEXIST') return false;
    throw error;
  }
}

// A loopback port that is free now and claimed for this process, below the kernel's ephemeral
// range (ip_local_port_range, 32768 and up by default). The kernel's own pick for port 0 comes
// from that range, where every outgoing connection of the tests running in parallel also takes
// its local port, so the port could be taken again before substrate binds it ("Address already
// in use", seen in make test).
export async function freePort() {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux, or no /proc: the default range
  }
  const lowest = 10000;
  if (!Number.isInteger(ephemeralLow) || ephemeralLow <= lowest + 1000) {
    throw new Error(`the ephemeral port range starts at ${ephemeralLow}: no room below it for test ports`);
  }
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = lowest + Math.floor(Math.random() * (ephemeralLow - lowest));
    if (claimPort(port) && (await listenable(port))) return port;
  }
  throw new Error(`no free, unclaimed loopback port between ${lowest} and ${ephemeralLow} (claims in ${portClaimsDir})`);
}

// A data dir the postgres user can enter (tests may run as root, PostgreSQL never does).
export function makeDataDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'substrate-e2e-'));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export function removeDataDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

// Environment for substrate without the SUBSTRATE_* variables of whoever runs the tests.
function cleanEnvironment(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SUBSTRATE_')) env[key] = value;
  }
  return { ...env, ...extra };
}

export function run(args, { env = {} } = {}) {
  return spawnSync(binary, args, { env: cleanEnvironment(env), encoding: 'utf8', timeout: 60_000 });
}

export class Substrate {
  // `command` is the role to run: 'up' (everything) or 'broker' (the Kafka broker alone).
  // `extraArgs` are appended to the command line (e.g. ['--only', 'NAME'] of `processors`).
  // `registryPort` (the schema registry of 'up' and 'registry') defaults to a free port in start().
  // `apiPort` and `webPort` (the Supabase-compatible API and the web app of 'up') default to free
  // ports in start().
  // `gatewayPort` (the ingress gateway of 'up') defaults to a free port in start(), else 0 (any).
  constructor({ dataDir, adminPort, databasePort, kafkaPort, registryPort, apiPort, webPort, gatewayPort, settings = [], env = {}, command = 'up', extraArgs = [] }) {
    this.dataDir = dataDir;
    this.adminPort = adminPort;
    this.databasePort = databasePort;
    this.kafkaPort = kafkaPort;
    this.adminUrl = `http://127.0.0.1:${adminPort}`;
    this.kafkaBrokers = `127.0.0.1:${kafkaPort}`;
    const args = [command, '--data-dir', dataDir, '--set', `admin.port=${adminPort}`];
    if (databasePort) args.push('--set', `database.port=${databasePort}`);
    if (kafkaPort) args.push('--set', `kafka.port=${kafkaPort}`);
    if (registryPort) args.push('--set', `registry.port=${registryPort}`);
    this.registryUrl = registryPort ? `http://127.0.0.1:${registryPort}` : undefined;
    if (apiPort) args.push('--set', `api.port=${apiPort}`);
    this.apiUrl = apiPort ? `http://127.0.0.1:${apiPort}` : undefined;
    if (command === 'up') args.push('--set', `gateway.port=${gatewayPort ?? 0}`);
    this.gatewayUrl = gatewayPort ? `http://127.0.0.1:${gatewayPort}` : undefined;
    if (webPort) args.push('--set', `web.port=${webPort}`);
    this.webUrl = webPort ? `http://127.0.0.1:${webPort}` : undefined;
    for (const s of settings) args.push('--set', s);
    args.push(...extraArgs);
    this.stdout = '';
    this.stderr = '';
    this.child = spawn(binary, args, { env: cleanEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d) => { this.stdout += d; });
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  static async start(options) {
    const s = new Substrate({
      adminPort: await freePort(),
      databasePort: await freePort(),
      kafkaPort: await freePort(),
      registryPort: await freePort(),
      apiPort: options.command === undefined || options.command === 'up' ? await freePort() : undefined,
      gatewayPort: options.command === undefined || options.command === 'up' ? await freePort() : undefined,
      webPort: options.command === undefined || options.command === 'up' ? await freePort() : undefined,
      ...options,
    });
    await s.waitReady();
    return s;
  }

  get pid() { return this.child.pid; }

  async waitReady(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let exited = null;
    this.exited.then((e) => { exited = e; });
    while (Date.now() < deadline) {
      if (exited) throw new Error(`substrate exited (${JSON.stringify(exited)}) before ready:\n${this.stderr}`);
      try {
        const r = await fetch(`${this.adminUrl}/readyz`);
        if (r.status === 200) return;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`substrate not ready within ${timeoutMs} ms:\n${this.stderr}`);
  }

  // Resolves with {code, signal}, or rejects when the process outlives the timeout.
  async waitExit(timeoutMs) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`substrate still running after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.waitExit(20_000);
  }

  env() {
    const text = fs.readFileSync(path.join(this.dataDir, 'substrate.env'), 'utf8');
    const out = {};
    for (const line of text.split('\n')) {
      const m = line.match(/^([A-Z_]+)=(.*)$/);
      if (m) out[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
    }
    return out;
  }

  // The project's API keys as `up` wrote them to substrate.env.
  apiKeys() {
    const env = this.env();
    return { anon: env.SUPABASE_ANON_KEY, serviceRole: env.SUPABASE_SERVICE_ROLE_KEY, url: env.SUPABASE_URL };
  }

  postmasterPid() {
    const file = path.join(this.dataDir, 'postgres', 'postmaster.pid');
    return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').split('\n')[0]) : null;
  }
}

// Pids of live processes whose command line mentions this cluster directory.
export function postgresProcessesOf(dataDir) {
  const pgdata = path.join(dataDir, 'postgres');
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.split(') ')[1]?.startsWith('Z')) continue;  // zombies are already dead
      if (cmdline.includes(pgdata)) pids.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

export async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function psql(url, sql) {
  const r = spawnSync('psql', [url, '-XAtc', sql], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

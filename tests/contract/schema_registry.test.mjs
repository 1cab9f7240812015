// The schema registry against @kafkajs/confluent-schema-registry (the client the reference's
// services use): `substrate broker` plus `substrate registry` on dynamic ports. Registration,
// lookups, the Confluent wire format encoded in JavaScript and decoded by our C++ Avro library
// (avro_tool) and the reverse, byte-identical payloads, ids stable across a registry restart,
// two registries on one cluster, and the error codes clients see.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Substrate, freePort, makeDataDir, removeDataDir } from '../e2e/lib/substrate.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const tool = process.env.TEST_AVRO_TOOL ?? path.join(root, 'build/tests/contract/avro_tool');
const subject = 'public.user.message.events-value';
const schemaText = fs.readFileSync(path.join(root, 'schemas/public/user/message.events.avsc'), 'utf8');
const samples = JSON.parse(fs.readFileSync(path.join(root, 'tests/data/avro/samples/public.user.message.events.json'), 'utf8'));
const contentType = 'application/vnd.schemaregistry.v1+json';

let dataDir;
let scratch;
let broker;
const registries = [];

async function startRegistry() {
  const r = new Substrate({
    dataDir, adminPort: await freePort(), kafkaPort: broker.kafkaPort, command: 'registry',
    settings: [`registry.port=${await freePort()}`],
  });
  registries.push(r);
  await r.waitReady();
  const m = r.stdout.match(/registry +(http:\/\/\S+)/);
  assert.ok(m, `registry URL in the banner:\n${r.stdout}`);
  r.url = m[1];
  return r;
}

function avroTool(args, lines) {
  const r = spawnSync(tool, args, { input: lines.map((l) => l + '\n').join(''), encoding: 'utf8' });
  assert.equal(r.status, 0, `avro_tool ${args.join(' ')}: ${r.stderr}`);
  const out = r.stdout.split('\n').slice(0, -1);
  for (const line of out) assert.ok(!line.startsWith('!'), `avro_tool: ${line}`);
  return out;
}

async function http(url, { method = 'GET', body } = {}) {
  const r = await fetch(url, { method, headers: { 'Content-Type': contentType }, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), body: text ? JSON.parse(text) : null };
}

before(async () => {
  dataDir = makeDataDir();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'substrate-registry-'));
  broker = await Substrate.start({ dataDir, command: 'broker' });
});

after(async () => {
  for (const r of registries) await r.stop().catch(() => {});
  if (broker) await broker.stop();
  removeDataDir(dataDir);
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('schema registry with @kafkajs/confluent-schema-registry', () => {
  let registry;
  let client;
  let id;

  test('register, getLatestSchemaId, getRegistryIdBySchema and per-subject config', async () => {
    registry = await startRegistry();
    client = new SchemaRegistry({ host: registry.url });
    ({ id } = await client.register({ type: SchemaType.AVRO, schema: schemaText }, { subject }));
    assert.ok(Number.isInteger(id) && id >= 1);
    assert.equal(await client.getLatestSchemaId(subject), id);
    assert.equal(await client.getRegistryId(subject, 1), id);
    assert.equal(await client.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: schemaText }), id);
    // Registering again (the client checks GET /config/{subject} first, now set) keeps the id.
    assert.equal((await client.register({ type: SchemaType.AVRO, schema: schemaText }, { subject })).id, id);
    const config = await http(`${registry.url}/config/${encodeURIComponent(subject)}`);
    assert.deepEqual(config.body, { compatibilityLevel: 'BACKWARD' });
    assert.equal(config.type, contentType);
  });

  test('encode in JavaScript, decode in C++; encode in C++, decode in JavaScript; same bytes', async () => {
    const schemaFile = path.join(scratch, 'registered.avsc');
    const fetched = await http(`${registry.url}/schemas/ids/${id}`);
    fs.writeFileSync(schemaFile, fetched.body.schema);
    const jsFrames = [];
    for (const record of samples) jsFrames.push(await client.encode(id, record));
    for (const frame of jsFrames) {
      assert.equal(frame[0], 0, 'magic byte');
      assert.equal(frame.readInt32BE(1), id, 'schema id');
    }
    // JavaScript -> C++.
    const decoded = avroTool(['decode', schemaFile], jsFrames.map((f) => f.subarray(5).toString('hex')));
    assert.deepEqual(decoded.map((l) => JSON.parse(l)), samples);
    // C++ -> JavaScript, and byte-identical Avro both ways.
    const ours = avroTool(['encode', schemaFile], samples.map((s) => JSON.stringify(s)));
    assert.deepEqual(ours, jsFrames.map((f) => f.subarray(5).toString('hex')));
    for (let i = 0; i < ours.length; ++i) {
      const header = Buffer.alloc(5);
      header.writeInt32BE(id, 1);
      const frame = Buffer.concat([header, Buffer.from(ours[i], 'hex')]);
      // avsc returns an instance of the record class: compare the plain data.
      assert.deepEqual(JSON.parse(JSON.stringify(await client.decode(frame))), samples[i]);
    }
  });

  test('an incompatible change gets 409; a compatible one a new version', async () => {
    const schema = JSON.parse(schemaText);
    const incompatible = { ...schema, fields: [...schema.fields, { name: 'required_new', type: 'string' }] };
    await assert.rejects(
      client.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject }),
      (e) => e.status === 409);
    const raw = await http(`${registry.url}/subjects/${encodeURIComponent(subject)}/versions`,
      { method: 'POST', body: { schema: JSON.stringify(incompatible) } });
    assert.equal(raw.status, 409);
    assert.equal(raw.body.error_code, 409);
    const compatible = { ...schema, fields: [...schema.fields, { name: 'optional_new', type: ['null', 'string'], default: null }] };
    const next = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(compatible) }, { subject });
    assert.ok(next.id > id);
    assert.deepEqual((await http(`${registry.url}/subjects/${encodeURIComponent(subject)}/versions`)).body, [1, 2]);
  });

  test('malformed schema 422/42201, unknown subject 404/40401, unknown id 404/40403', async () => {
    const malformed = await http(`${registry.url}/subjects/x-value/versions`,
      { method: 'POST', body: { schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}' } });
    assert.equal(malformed.status, 422);
    assert.equal(malformed.body.error_code, 42201);
    await assert.rejects(client.getLatestSchemaId('no.such-value'), (e) => e.status === 404);
    const subjectMissing = await http(`${registry.url}/subjects/no.such-value/versions/latest`);
    assert.equal(subjectMissing.status, 404);
    assert.equal(subjectMissing.body.error_code, 40401);
    await assert.rejects(client.getSchema(987654), (e) => e.status === 404);
    const idMissing = await http(`${registry.url}/schemas/ids/987654`);
    assert.equal(idMissing.status, 404);
    assert.equal(idMissing.body.error_code, 40403);
  });

  test('a restarted registry serves the same ids; a second registry on the cluster sees every write', async () => {
    const latestBefore = await client.getLatestSchemaId(subject);
    const { code } = await registry.stop();
    assert.equal(code, 0);
    const restarted = await startRegistry();
    const again = new SchemaRegistry({ host: restarted.url });
    assert.equal(await again.getLatestSchemaId(subject), latestBefore);
    assert.equal(await again.getRegistryId(subject, 1), id);
    assert.equal((await again.register({ type: SchemaType.AVRO, schema: schemaText }, { subject })).id, id);
    // A second registry on the same cluster: a write through one is visible through the other
    // as soon as it is acknowledged.
    const other = await startRegistry();
    const otherClient = new SchemaRegistry({ host: other.url });
    const fresh = await otherClient.register(
      { type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'Fresh', namespace: 'test', fields: [] }) },
      { subject: 'fresh-value' });
    assert.equal(await again.getLatestSchemaId('fresh-value'), fresh.id);
    assert.ok(fresh.id > latestBefore, 'ids are global and never reused');
  });
});

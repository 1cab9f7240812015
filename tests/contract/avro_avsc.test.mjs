// Our Avro library (through build/tests/contract/avro_tool) against avsc, an independent
// implementation: for every schema in schemas/ and for tests/data/avro/all_types.avsc, the same
// records must give byte-identical Avro both ways, and the Parsing Canonical Form and its SHA-256
// fingerprint must agree. The records are the samples in tests/data/avro/samples/ plus random
// ones from a seeded generator (unicode and escapes in strings, int/long extremes, floats, bytes,
// every union branch), so a failure reproduces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const tool = process.env.TEST_AVRO_TOOL ?? path.join(root, 'build/tests/contract/avro_tool');
const randomRecords = 40;

function schemaFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return schemaFiles(p);
    return e.name.endsWith('.avsc') ? [p] : [];
  });
}

// schemas/public/user/message.events.avsc -> public.user.message.events
function topicOf(file) {
  return path.relative(path.join(root, 'schemas'), file).replace(/\.avsc$/, '').split(path.sep).join('.');
}

function run(args, lines) {
  const r = spawnSync(tool, args, { input: lines.map((l) => l + '\n').join(''), encoding: 'utf8' });
  assert.equal(r.status, 0, `avro_tool ${args.join(' ')} failed: ${r.stderr}`);
  const out = r.stdout.split('\n');
  out.pop();
  assert.equal(out.length, lines.length, 'one output line per input line');
  return out;
}

// avsc has no uuid logical type built in; this one keeps the string and lets the generator see it.
class UuidType extends avro.types.LogicalType {
  _fromValue(v) { return v; }
  _toValue(v) { return v; }
}

// mulberry32: a small seeded generator, so every run checks the same records.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const stringPieces = ['a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', 'é', 'ü', '☃', '😀', '\u2028', 'ascii text'];

function generate(type, r, depth = 0) {
  const pick = (arr) => arr[Math.floor(r() * arr.length)];
  const count = () => (depth > 3 ? 0 : Math.floor(r() * 4));
  switch (type.typeName) {
    case 'null': return null;
    case 'boolean': return r() < 0.5;
    case 'int': return pick([0, 1, -1, 63, -64, 64, 2147483647, -2147483648, Math.floor((r() - 0.5) * 2 ** 32) | 0]);
    // avsc computes zig-zag in doubles, exact only below 2^52 in magnitude (it encodes
    // -9007199254740990 as +9007199254740990), so longs stay within that.
    case 'long': return pick([0, -1, 128, 2 ** 52 - 1, -(2 ** 52 - 1), Math.floor((r() - 0.5) * 2 ** 40)]);
    case 'float': return Math.fround(pick([0, 1.5, -2.25, 3.4e38, 1e-7, (r() - 0.5) * 1e6]));
    case 'double': return pick([0, 0.1, -1e300, 5e-324, 123456.789, (r() - 0.5) * 1e12]);
    case 'string': return Array.from({ length: Math.floor(r() * 6) }, () => pick(stringPieces)).join('');
    case 'bytes': return randomBytes(Math.floor(r() * 8));
    case 'fixed': return randomBytes(type.size);
    case 'enum': return pick(type.symbols);
    case 'logical:uuid': return crypto.randomUUID();
    case 'array': return Array.from({ length: count() }, () => generate(type.itemsType, r, depth + 1));
    case 'map': return Object.fromEntries(Array.from({ length: count() }, (_, i) => [`k${i}${pick(stringPieces)}`, generate(type.valuesType, r, depth + 1)]));
    case 'record':
    case 'error':
      return Object.fromEntries(type.fields.map((f) => [f.name, generate(f.type, r, depth + 1)]));
    case 'union:unwrapped': {
      const branches = depth > 3 ? type.types.filter((t) => t.typeName !== 'record') : type.types;
      return generate(pick(branches), r, depth + 1);
    }
    case 'union:wrapped': {
      const branch = pick(type.types);
      const v = generate(branch, r, depth + 1);
      return v === null ? null : { [branch.branchName]: v };
    }
    default:
      throw new Error(`generator: unknown avsc type ${type.typeName}`);
  }
}

// The JSON our encoder takes for a value: Buffers as strings of code points U+0000..U+00FF
// (the Avro JSON encoding of bytes and fixed).
function toJsonValue(v) {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]));
  return v;
}

const files = [...schemaFiles(path.join(root, 'schemas')), path.join(root, 'tests/data/avro/all_types.avsc')];

test('every schema in schemas/ names its topic and the record the contract names', () => {
  const topics = schemaFiles(path.join(root, 'schemas')).map(topicOf);
  assert.equal(topics.length, 26);
  assert.ok(topics.includes('public.user.message.events'));
  const unified = JSON.parse(fs.readFileSync(path.join(root, 'schemas/internal/platform/unified.events.avsc')));
  assert.equal(`${unified.namespace}.${unified.name}`, 'platform.events.PlatformEvent');
});

for (const file of files) {
  const name = path.relative(root, file);
  test(`avsc and substrate agree on ${name}`, () => {
    const schemaJson = JSON.parse(fs.readFileSync(file, 'utf8'));
    const type = avro.Type.forSchema(schemaJson, { logicalTypes: { uuid: UuidType } });

    // Parsing Canonical Form and its SHA-256 fingerprint.
    const c = spawnSync(tool, ['canonical', file], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    const canonical = JSON.parse(c.stdout);
    const avscPlain = avro.Type.forSchema(schemaJson);
    assert.equal(canonical.pcf, JSON.stringify(avscPlain.getSchema()), 'Parsing Canonical Form');
    assert.equal(canonical.sha256, avscPlain.fingerprint('sha256').toString('hex'), 'SHA-256 fingerprint');

    const samplesFile = path.join(root, 'tests/data/avro/samples', `${topicOf(file)}.json`);
    const samples = fs.existsSync(samplesFile) ? JSON.parse(fs.readFileSync(samplesFile, 'utf8')) : [];
    const r = rng(0x5eed + name.length);
    const values = [...samples, ...Array.from({ length: randomRecords }, () => generate(type, r))];
    for (const v of values) assert.ok(type.isValid(v), `generated an invalid value: ${JSON.stringify(v)}`);
    const expected = values.map((v) => type.toBuffer(v).toString('hex'));

    // JSON -> Avro: the plain JSON clients send, and the Avro JSON encoding (tagged unions).
    const plain = values.map((v) => JSON.stringify(toJsonValue(v)));
    assert.deepEqual(run(['encode', file], plain), expected, 'plain JSON encodes like avsc');
    const tagged = values.map((v) => type.toString(v));
    assert.deepEqual(run(['encode', file], tagged), expected, 'Avro JSON encoding encodes like avsc');

    // Avro -> JSON: our decoding of avsc's bytes is avsc's Avro JSON encoding of the value, and
    // reads back in avsc to the same value.
    const decodedTagged = run(['decode', file, 'tagged'], expected);
    decodedTagged.forEach((line, i) => {
      assert.ok(!line.startsWith('!'), line);
      assert.deepEqual(JSON.parse(line), JSON.parse(tagged[i]));
      assert.equal(type.toBuffer(type.fromString(line)).toString('hex'), expected[i]);
    });
    // And the default style, null-or-value for nullable unions, is what plain clients send.
    if (!name.includes('all_types')) {
      const decodedPlain = run(['decode', file], expected);
      decodedPlain.forEach((line, i) => assert.deepEqual(JSON.parse(line), JSON.parse(plain[i])));
    }
  });
}

test('an encoding error names the field path, the expected type and what was got', () => {
  const file = path.join(root, 'schemas/public/user/message.events.avsc');
  const [line] = run(['encode', file], [JSON.stringify({ user_id: crypto.randomUUID(), email: 42 })]);
  assert.match(line, /^!type mismatch: \$\.email: expected string, got number 42$/);
});

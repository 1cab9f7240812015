// The ingress gateway of `substrate up` (issue 6, contracts.md 3.1) end to end: real HTTP
// requests, tokens signed here (HS256 with the project secret, ES256 with a key of a JWKS
// file), records consumed back with kafkajs and decoded with @kafkajs/confluent-schema-registry;
// every error status with its JSON body; routes hot reload; the broker stopped under a running
// gateway (503).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Substrate, freePort, makeDataDir, removeDataDir, waitFor } from '../e2e/lib/substrate.mjs';

const webhookSecret = 'a-webhook-secret-for-the-tests';
const routesText = `webhookRoutes:
  login: public.identity.login.events
  signup: public.identity.signup.events
  signout: public.identity.signout.events
externalRoutes:
  message: public.user.message.events
`;
const topics = [
  'public.user.message.events', 'public.identity.login.events', 'public.identity.signup.events',
  'public.identity.signout.events', 'internal.media.upload.intent', 'internal.media.download.intent',
  'internal.media.delete.intent',
];

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function signHs256(claims, secret, header = { alg: 'HS256', typ: 'JWT' }) {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function signEs256(claims, privateKey, kid) {
  const input = `${b64({ alg: 'ES256', typ: 'JWT', kid })}.${b64(claims)}`;
  const signature = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
const userClaims = (sub = crypto.randomUUID(), extra = {}) => ({
  sub, email: `${sub.slice(0, 8)}@example.com`, role: 'authenticated', aud: 'authenticated', exp: now() + 600, ...extra,
});

let dataDir;
let scratch;
let s;
let secret;
let gateway;
let ecKey;
let kafka;
let consumer;
let registry;
const received = [];  // {topic, headers, value (decoded)}
// gateway.jwks_url: a small local HTTP server whose document the tests rotate.
let jwksServer;
let jwksDocument;
let jwksFetches = 0;
let urlKeys;  // {one, two}: EC key pairs; `one` is served at start

// The listener answers 413 as soon as the declared length exceeds the limit and closes without
// reading the body; fetch() reports that as EPIPE, so this request reads the early answer.
function postEarlyAnswered(pathname, token, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${gateway}${pathname}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`,
        'Content-Length': Buffer.byteLength(body) },
    }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => {
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
        resolve({ status: response.statusCode, headers: new Headers(response.headers), json, text });
      });
    });
    // The server answers before it has read the body: the write may fail (EPIPE) while the answer
    // is on its way. A reset that loses the answer fails the test instead of hanging it.
    request.on('error', (error) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
      else setTimeout(() => reject(new Error(`no answer after ${error.code}`)), 5000).unref();
    });
    request.end(body);
  });
}

async function post(pathname, { token, body, headers = {}, raw } = {}) {
  const h = { 'Content-Type': 'application/json', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  const r = await fetch(`${gateway}${pathname}`, {
    method: 'POST', headers: h, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, json, text };
}

function assertError(r, status, error, message) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json', r.text);
  assert.equal(r.json.error, error, r.text);
  if (message instanceof RegExp) assert.match(r.json.message, message);
  else assert.ok(r.json.message.startsWith(message), `${r.json.message} starts with ${message}`);
}

// The record whose `event_id` header (events, webhooks) is `id`, decoded by writer schema id.
async function recordWith(topic, id) {
  let found;
  await waitFor(() => {
    found = received.find((m) => m.topic === topic && m.headers.event_id === id);
    return found !== undefined;
  }, 15_000, `a record with event_id ${id} on ${topic}`);
  return found.value;
}

before(async () => {
  dataDir = makeDataDir();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'substrate-gateway-'));
  fs.writeFileSync(path.join(scratch, 'routes.yaml'), routesText);
  const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  ecKey = pair.privateKey;
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'test-ec', use: 'sig', alg: 'ES256' };
  fs.writeFileSync(path.join(scratch, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  const publicJwk = (pair, kid) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' });
  urlKeys = {
    one: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    two: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  };
  jwksDocument = { keys: [publicJwk(urlKeys.one, 'url-one')] };
  urlKeys.twoJwk = publicJwk(urlKeys.two, 'url-two');
  jwksServer = http.createServer((request, response) => {
    jwksFetches += 1;
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(jwksDocument));
  });
  await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  s = await Substrate.start({
    dataDir,
    settings: [
      `gateway.routes_file=${path.join(scratch, 'routes.yaml')}`,
      `gateway.jwks_file=${path.join(scratch, 'jwks.json')}`,
      `gateway.jwks_url=http://127.0.0.1:${jwksServer.address().port}/.well-known/jwks.json`,
      'gateway.jwks_refresh_s=3600', 'gateway.jwks_refresh_min_s=1',
      `gateway.webhook_secret=${webhookSecret}`,
      'gateway.rate_limit_per_s=1', 'gateway.rate_limit_burst=8',
      'gateway.media_file_size_max=1000000',
      'kafka.group_initial_rebalance_delay_ms=0',
    ],
  });
  gateway = s.gatewayUrl;
  secret = fs.readFileSync(path.join(dataDir, 'secrets', 'jwt-secret'), 'utf8').trim();
  registry = new SchemaRegistry({ host: s.registryUrl });
  kafka = new Kafka({ clientId: 'gateway-test', brokers: [s.kafkaBrokers], logLevel: logLevel.NOTHING });
  consumer = kafka.consumer({ groupId: `gateway-test-${crypto.randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const headers = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = v?.toString();
      // A plain object: the JS client decodes into its generated record classes.
      received.push({ topic, headers, value: { ...(await registry.decode(message.value)) } });
    },
  });
});

after(async () => {
  if (consumer) await consumer.disconnect().catch(() => {});
  if (s) await s.stop();
  if (jwksServer) jwksServer.close();
  if (dataDir) removeDataDir(dataDir);
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe('POST /api/v1/events/{key}', () => {
  test('202 after the ack; the record carries the token identity, never the body one', async () => {
    const claims = userClaims();
    const r = await post('/api/v1/events/message', {
      token: signHs256(claims, secret),
      body: {
        message: 'hello', timestamp: '2026-02-26T10:00:00Z', visibility: 'direct',
        recipient_id: crypto.randomUUID(), user_id: crypto.randomUUID(), email: 'spoofed@example.com',
      },
    });
    assert.equal(r.status, 202, r.text);
    assert.match(r.json.event_id, /^[0-9a-f-]{36}$/);
    assert.equal(r.json.topic, 'public.user.message.events');
    assert.ok(Number.isInteger(r.json.offset) && r.json.offset >= 0);
    const record = await recordWith('public.user.message.events', r.json.event_id);
    assert.equal(record.user_id, claims.sub);
    assert.equal(record.email, claims.email);
    assert.equal(record.message, 'hello');
    assert.equal(record.visibility, 'direct');
  });

  test('an ES256 token of the JWKS file is accepted; the key is lower-cased', async () => {
    const claims = userClaims();
    const r = await post('/api/v1/events/MESSAGE', {
      token: signEs256(claims, ecKey, 'test-ec'), body: { message: 'es', timestamp: '2026-02-26T10:00:00Z' },
    });
    assert.equal(r.status, 202, r.text);
    const record = await recordWith('public.user.message.events', r.json.event_id);
    assert.equal(record.user_id, claims.sub);
    assert.equal(record.visibility, 'broadcast', 'the schema default');
  });

  test('missing, expired, forged, alg none and wrong-algorithm tokens: 401', async () => {
    const body = { message: 'x', timestamp: 't' };
    assertError(await post('/api/v1/events/message', { body }), 401, 'unauthorized', 'Unauthorized');
    assertError(await post('/api/v1/events/message', { body, headers: { Authorization: 'Basic eDp5' } }),
      401, 'unauthorized', 'Unauthorized');
    const expired = signHs256(userClaims(undefined, { exp: now() - 3600 }), secret);
    assertError(await post('/api/v1/events/message', { body, token: expired }), 401, 'unauthorized',
      /Unauthorized \(Invalid JWT Signature\).*expired/);
    const forged = signHs256(userClaims(), 'not-the-project-secret-but-long-enough');
    assertError(await post('/api/v1/events/message', { body, token: forged }), 401, 'unauthorized',
      'Unauthorized (Invalid JWT Signature)');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(userClaims())}.`;
    assertError(await post('/api/v1/events/message', { body, token: none }), 401, 'unauthorized',
      /alg none is not accepted/);
    const hs512 = signHs256(userClaims(), secret, { alg: 'HS512', typ: 'JWT' });
    assertError(await post('/api/v1/events/message', { body, token: hs512 }), 401, 'unauthorized',
      /alg HS512 is not accepted/);
    // ES256 signed by a key that is not in the JWKS.
    const stranger = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assertError(await post('/api/v1/events/message', { body, token: signEs256(userClaims(), stranger, 'test-ec') }),
      401, 'unauthorized', 'Unauthorized (Invalid JWT Signature)');
    // The anon key verifies but names no user.
    assertError(await post('/api/v1/events/message', { body, token: s.apiKeys().anon }), 401, 'unauthorized',
      /no subject/);
  });

  test('unknown route 403, malformed JSON 400, schema mismatch 400 naming field and type', async () => {
    const token = signHs256(userClaims(), secret);
    assertError(await post('/api/v1/events/login', { token, body: {} }), 403, 'forbidden',
      'Forbidden (Topic mapping not found in allowlist)');
    assertError(await post('/api/v1/events/message', { token, raw: '{"message": ' }), 400, 'invalid_json',
      'Invalid JSON structure');
    assertError(await post('/api/v1/events/message', { token, raw: '[1,2]' }), 400, 'invalid_json',
      'Invalid JSON structure');
    const mismatch = await post('/api/v1/events/message', { token, body: { message: 42, timestamp: 't' } });
    assertError(mismatch, 400, 'schema_violation', 'Internal schema formatting violation');
    assert.match(mismatch.json.message, /\$\.message: expected string/);
    const missing = await post('/api/v1/events/message', { token, body: { message: 'no timestamp' } });
    assertError(missing, 400, 'schema_violation', /\$\.timestamp/);
  });

  test('oversized body 413, wrong content type 415', async () => {
    const token = signHs256(userClaims(), secret);
    const big = JSON.stringify({ message: 'x'.repeat(1_100_000), timestamp: 't' });
    assertError(await postEarlyAnswered('/api/v1/events/message', token, big), 413, 'body_too_large', /exceeds/);
    assertError(await post('/api/v1/events/message', {
      token, raw: 'message=hi', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }), 415, 'unsupported_media_type', 'Unsupported Media Type');
    // The media type is compared without case and parameters; any +json type is JSON.
    const raw = JSON.stringify({ message: 'content type', timestamp: 't' });
    for (const type of ['Application/JSON; charset=utf-8', 'application/json;charset=UTF-8', 'application/merge-patch+JSON']) {
      const accepted = await post('/api/v1/events/message', { token, raw, headers: { 'Content-Type': type } });
      assert.equal(accepted.status, 202, `${type}: ${JSON.stringify(accepted.json)}`);
    }
    for (const type of ['application/jsonx', 'text/json', 'json']) {
      assertError(await post('/api/v1/events/message', { token, raw, headers: { 'Content-Type': type } }), 415,
        'unsupported_media_type', 'Unsupported Media Type');
    }
  });

  test('per-user token bucket: 429 with Retry-After, other users unaffected', async () => {
    const token = signHs256(userClaims(), secret);
    const statuses = [];
    let limited;
    for (let i = 0; i < 10 && !limited; ++i) {
      const r = await post('/api/v1/events/message', { token, raw: '[]' });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, `statuses ${statuses}`);
    assertError(limited, 429, 'rate_limited', 'Too Many Requests');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    const other = await post('/api/v1/events/message', { token: signHs256(userClaims(), secret), raw: '[]' });
    assert.equal(other.status, 400);
  });
});

describe('JWKS of gateway.jwks_url', () => {
  test('a rotated key is fetched at its first unknown kid, rate-limited; the withdrawn key is refused', async () => {
    const body = { message: 'jwks', timestamp: '2026-02-26T10:00:00Z' };
    const byOne = signEs256(userClaims(), urlKeys.one.privateKey, 'url-one');
    assert.equal((await post('/api/v1/events/message', { token: byOne, body })).status, 202, 'served at start');
    assert.ok(jwksFetches >= 1);

    // The provider rotates: url-two in, url-one out. The first token of url-two is refused and
    // makes the gateway fetch the document again; soon after, url-two is accepted.
    jwksDocument = { keys: [urlKeys.twoJwk] };
    const claims = userClaims();
    const byTwo = signEs256(claims, urlKeys.two.privateKey, 'url-two');
    let accepted;
    await waitFor(async () => {
      accepted = await post('/api/v1/events/message', { token: byTwo, body });
      return accepted.status === 202;
    }, 15_000, 'the rotated key to be accepted');
    const record = await recordWith('public.user.message.events', accepted.json.event_id);
    assert.equal(record.user_id, claims.sub);
    assertError(await post('/api/v1/events/message', { token: byOne, body }), 401, 'unauthorized',
      /no ES256 key with this kid/);
    // The file's key is kept through refreshes.
    const byFile = signEs256(userClaims(), ecKey, 'test-ec');
    assert.equal((await post('/api/v1/events/message', { token: byFile, body })).status, 202);

    // Made-up kids cannot make it fetch more than once per gateway.jwks_refresh_min_s (1 s).
    const before = jwksFetches;
    const started = Date.now();
    for (let i = 0; i < 20; ++i) {
      const stranger = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      assertError(await post('/api/v1/events/message', {
        token: signEs256(userClaims(), stranger, `made-up-${i}`), body,
      }), 401, 'unauthorized', /no ES256 key with this kid/);
    }
    await new Promise((r) => setTimeout(r, 300));
    const seconds = (Date.now() - started) / 1000;
    assert.ok(jwksFetches - before <= Math.ceil(seconds) + 1,
      `${jwksFetches - before} fetches in ${seconds} s for 20 unknown kids`);
  });
});

describe('POST /webhooks/{key}', () => {
  const headers = { 'X-Webhook-Secret': webhookSecret };

  test('the reference trigger payload reaches the topic', async () => {
    const userId = crypto.randomUUID();
    const r = await post('/webhooks/login', {
      headers,
      body: {
        user_id: userId, email: 'ada@example.com', login_time: '2026-02-21T10:00:00.123456+00:00',
        device_id: null, user_agent: 'node', ip_address: null,
      },
    });
    assert.equal(r.status, 202, r.text);
    const record = await recordWith('public.identity.login.events', r.json.event_id);
    assert.deepEqual(record, {
      user_id: userId, email: 'ada@example.com', login_time: '2026-02-21T10:00:00.123456+00:00',
      device_id: null, user_agent: 'node', ip_address: null,
    });
  });

  test('a Supabase database webhook (auth.users INSERT, auth.sessions DELETE) is accepted', async () => {
    const userId = crypto.randomUUID();
    const signup = await post('/webhooks/signup/extra/segments', {
      headers,
      body: {
        type: 'INSERT', table: 'users', schema: 'auth', old_record: null,
        record: { id: userId, email: 'db@example.com', created_at: '2026-02-21T10:00:00.5+00:00', aud: 'authenticated' },
      },
    });
    assert.equal(signup.status, 202, signup.text);
    assert.deepEqual(await recordWith('public.identity.signup.events', signup.json.event_id),
      { user_id: userId, email: 'db@example.com', signup_time: '2026-02-21T10:00:00.5+00:00' });
    const signout = await post('/webhooks/signout', {
      headers,
      body: {
        type: 'DELETE', table: 'sessions', schema: 'auth', record: null,
        old_record: { id: crypto.randomUUID(), user_id: userId, user_agent: 'curl/8', ip: '10.1.2.3' },
      },
    });
    assert.equal(signout.status, 202, signout.text);
    const record = await recordWith('public.identity.signout.events', signout.json.event_id);
    assert.equal(record.user_id, userId);
    assert.equal(record.email, null);
    assert.equal(record.ip_address, '10.1.2.3');
    assert.match(record.signout_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('wrong or missing secret 401, unknown key 403, schema mismatch 400', async () => {
    const body = { user_id: crypto.randomUUID(), email: 'a@b.c', signup_time: 't' };
    assertError(await post('/webhooks/signup', { body }), 401, 'unauthorized', 'Unauthorized Webhook Connection');
    assertError(await post('/webhooks/signup', { body, headers: { 'X-Webhook-Secret': `${webhookSecret}x` } }),
      401, 'unauthorized', 'Unauthorized Webhook Connection');
    assertError(await post('/webhooks/message', { body, headers }), 403, 'forbidden',
      'Forbidden (Topic mapping not found in allowlist)');
    assertError(await post('/webhooks/signup', { body: { ...body, user_id: 'not-a-uuid' }, headers }), 400,
      'schema_violation', /\$\.user_id: expected string \(uuid\)/);
  });
});

describe('media intents', () => {
  test('upload intent: server-made request_id, user_id and time; spoofed fields ignored', async () => {
    const claims = userClaims();
    const token = signHs256(claims, secret);
    const r = await post('/api/v1/media/upload-intent', {
      token,
      body: {
        file_name: '../secret/cat.png', media_type: 'image/png', file_size: 1234,
        user_id: crypto.randomUUID(), request_id: 'spoofed', request_time: '1999-01-01T00:00:00Z',
      },
    });
    assert.equal(r.status, 202, r.text);
    assert.match(r.json.request_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const record = await recordWith('internal.media.upload.intent', r.json.request_id);
    assert.equal(record.user_id, claims.sub);
    assert.equal(record.request_id, r.json.request_id);
    assert.equal(record.file_name, 'cat.png');
    assert.equal(record.file_size, 1234);
    assert.ok(Math.abs(Date.parse(record.request_time) / 1000 - now()) < 60, record.request_time);
    const again = await post('/api/v1/media/upload-intent', {
      token, body: { file_name: 'a.png', media_type: 'image/png', file_size: 1 },
    });
    assert.notEqual(again.json.request_id, r.json.request_id);
  });

  test('download and delete intents', async () => {
    const claims = userClaims();
    const token = signHs256(claims, secret);
    for (const [kind, topic] of [['download', 'internal.media.download.intent'], ['delete', 'internal.media.delete.intent']]) {
      const r = await post(`/api/v1/media/${kind}-intent`, { token, body: { file_path: `files/${claims.sub}/a.png` } });
      assert.equal(r.status, 202, r.text);
      const record = await recordWith(topic, r.json.request_id);
      assert.deepEqual({ ...record, request_time: undefined }, {
        user_id: claims.sub, file_path: `files/${claims.sub}/a.png`, request_id: r.json.request_id, request_time: undefined,
      });
    }
  });

  test('validation 400, auth 401', async () => {
    const token = signHs256(userClaims(), secret);
    const cases = [
      [{ media_type: 'image/png', file_size: 1 }, /file_name/],
      [{ file_name: 'a.png', media_type: 'text/html', file_size: 1 }, /media_type/],
      [{ file_name: 'a.png', media_type: 'image/png', file_size: '12' }, /file_size/],
      [{ file_name: 'a.png', media_type: 'image/png', file_size: 0 }, /file_size/],
      [{ file_name: 'a.png', media_type: 'image/png', file_size: 2_000_000 }, /file_size.*maximum/],
    ];
    for (const [body, message] of cases) {
      assertError(await post('/api/v1/media/upload-intent', { token, body }), 400, 'bad_request', message);
    }
    assertError(await post('/api/v1/media/download-intent', { token, body: { file_path: '../x' } }), 400,
      'bad_request', /file_path/);
    assertError(await post('/api/v1/media/delete-intent', { token, raw: '' }), 400, 'bad_request', 'Bad request');
    assertError(await post('/api/v1/media/delete-intent', { body: { file_path: 'a' } }), 401, 'unauthorized',
      'Unauthorized');
  });
});

describe('routes file, admin, health', () => {
  test('a route added to the file works within a second; a broken file keeps the old routes', async () => {
    const adminHeaders = { Authorization: `Bearer ${s.apiKeys().serviceRole}` };
    const before = await (await fetch(`${gateway}/admin/routes`, { headers: adminHeaders })).json();
    assert.deepEqual(before.externalRoutes, { message: 'public.user.message.events' });
    const token = signHs256(userClaims(), secret);
    const body = { message: 'via ping', timestamp: 't' };
    assert.equal((await post('/api/v1/events/ping', { token, body })).status, 403);

    const file = path.join(scratch, 'routes.yaml');
    fs.writeFileSync(`${file}.new`, `${routesText}  ping: public.user.message.events\n`);
    fs.renameSync(`${file}.new`, file);
    const added = Date.now();
    let r;
    await waitFor(async () => {
      r = await post('/api/v1/events/ping', { token, body });
      return r.status !== 403;
    }, 1_000, 'the new route');
    assert.equal(r.status, 202, r.text);
    assert.ok(Date.now() - added < 1_000);
    const reloaded = await (await fetch(`${gateway}/admin/routes`, { headers: adminHeaders })).json();
    assert.notEqual(reloaded.version, before.version);

    fs.writeFileSync(file, 'externalRoutes: [not, a, map');
    await waitFor(async () => {
      const admin = await (await fetch(`${gateway}/admin/routes`, { headers: adminHeaders })).json();
      return admin.last_error !== undefined;
    }, 2_000, 'the reload error');
    const after = await (await fetch(`${gateway}/admin/routes`, { headers: adminHeaders })).json();
    assert.equal(after.version, reloaded.version);
    assert.equal((await post('/api/v1/events/ping', { token, body })).status, 202, 'old routes stay');
    const metrics = await (await fetch(`${gateway}/metrics`)).text();
    assert.match(metrics, /substrate_gateway_routes_reload_total\{result="error"\} 1/);
    fs.writeFileSync(file, routesText);
  });

  test('GET /admin/routes needs a service_role token', async () => {
    const user = await fetch(`${gateway}/admin/routes`, { headers: { Authorization: `Bearer ${signHs256(userClaims(), secret)}` } });
    assert.equal(user.status, 403);
    assert.equal((await fetch(`${gateway}/admin/routes`)).status, 401);
  });

  test('/healthz, /readyz and /metrics per route and status', async () => {
    assert.deepEqual(await (await fetch(`${gateway}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${gateway}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const metrics = await (await fetch(`${gateway}/metrics`)).text();
    assert.match(metrics, /substrate_gateway_requests_total\{route="events",status="202"\} \d+/);
    assert.match(metrics, /substrate_gateway_request_duration_seconds_bucket\{route="webhooks",status="401",le="[^"]+"\} \d+/);
  });
});

test('broker stopped under a running gateway: 503, and nothing reported accepted', async () => {
  const dir = makeDataDir();
  const brokerDir = makeDataDir();
  let broker;
  let up;
  try {
    broker = await Substrate.start({ dataDir: brokerDir, command: 'broker' });
    up = await Substrate.start({
      dataDir: dir,
      settings: [
        'kafka.enabled=false', `registry.kafka_bootstrap=${broker.kafkaBrokers}`,
        `gateway.routes_file=${path.join(scratch, 'routes.yaml')}`, 'gateway.produce_timeout_ms=1500',
      ],
    });
    const upSecret = fs.readFileSync(path.join(dir, 'secrets', 'jwt-secret'), 'utf8').trim();
    const token = signHs256(userClaims(), upSecret);
    const body = { message: 'before', timestamp: 't' };
    const ok = await post2(up.gatewayUrl, token, body);
    assert.equal(ok.status, 202, ok.text);
    await broker.stop();
    broker = null;
    const started = Date.now();
    const refused = await post2(up.gatewayUrl, token, { message: 'after', timestamp: 't' });
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.error, 'broker_unavailable');
    assert.ok(Date.now() - started < 10_000);
    const ready = await fetch(`${up.gatewayUrl}/readyz`);
    assert.equal(ready.status, 503);
  } finally {
    if (up) await up.stop();
    if (broker) await broker.stop();
    removeDataDir(dir);
    removeDataDir(brokerDir);
  }
});

async function post2(base, token, body) {
  const r = await fetch(`${base}/api/v1/events/message`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, text, json: text ? JSON.parse(text) : null };
}

// The Supabase-compatible API listener of `substrate up`: project keys issued on first start,
// written to substrate.env, stable across restarts and signed with the stored secret.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { Substrate, makeDataDir, removeDataDir } from './lib/substrate.mjs';

function verifyHs256(token, secret) {
  const [header, payload, signature] = token.split('.');
  const expected = crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  assert.equal(signature, expected, 'the key is signed with the project secret');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  };
}

test('up issues anon and service_role keys, keeps them across restarts', async () => {
  const dataDir = makeDataDir();
  try {
    let s = await Substrate.start({ dataDir });
    const first = s.apiKeys();
    assert.equal(first.url, s.apiUrl);
    const secretFile = path.join(dataDir, 'secrets', 'jwt-secret');
    assert.equal(fs.statSync(secretFile).mode & 0o777, 0o600);
    const secret = fs.readFileSync(secretFile, 'utf8').trim();
    assert.ok(secret.length >= 32);
    const anon = verifyHs256(first.anon, secret);
    assert.deepEqual(anon.header, { alg: 'HS256', typ: 'JWT' });
    assert.equal(anon.claims.role, 'anon');
    assert.ok(anon.claims.exp > Date.now() / 1000 + 5 * 365 * 24 * 3600);
    assert.equal(verifyHs256(first.serviceRole, secret).claims.role, 'service_role');
    assert.ok(s.stdout.includes(first.anon), 'up prints the anon key');
    await s.stop();

    s = await Substrate.start({ dataDir });
    assert.deepEqual({ ...s.apiKeys(), url: undefined }, { ...first, url: undefined });
    await s.stop();
  } finally {
    removeDataDir(dataDir);
  }
});

test('a configured secret re-issues keys that verify with it', async () => {
  const dataDir = makeDataDir();
  const secret = 'a-configured-secret-that-is-long-enough-0123456789';
  try {
    const s = await Substrate.start({ dataDir, settings: [`api.jwt_secret=${secret}`] });
    const keys = s.apiKeys();
    assert.equal(verifyHs256(keys.anon, secret).claims.role, 'anon');
    assert.equal(verifyHs256(keys.serviceRole, secret).claims.role, 'service_role');
    await s.stop();
  } finally {
    removeDataDir(dataDir);
  }
});

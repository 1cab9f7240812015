// The Auth service (/auth/v1) of `substrate up` driven by @supabase/supabase-js, the client the
// platform's web app and tests use (supabase-compat.md 2 and 5): every call in scope, its error
// cases with GoTrue's status and code, and the identity events in substrate.outbox, which must
// exist exactly for the actions that succeeded (contracts.md 1.3).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { createClient } from '@supabase/supabase-js';
import { Kafka, logLevel } from 'kafkajs';
import ws from 'ws';

import { Substrate, makeDataDir, removeDataDir, psql } from '../e2e/lib/substrate.mjs';

const REUSE_INTERVAL_S = 3;
let s;
let dataDir;
let keys;
let databaseUrl;
let secret;

const clientOptions = { auth: { autoRefreshToken: false, persistSession: false }, realtime: { transport: ws } };
const anonClient = () => createClient(keys.url, keys.anon, clientOptions);
const adminClient = () => createClient(keys.url, keys.serviceRole, clientOptions);
const email = (tag) => `${tag}-${crypto.randomUUID().slice(0, 8)}@Example.com`;

function decode(token) {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  };
}

function sign(claims, key = secret) {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = crypto.createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

// Raw HTTP, for what the client hides (status codes, headers, bodies).
async function call(method, route, { body, bearer, apikey = keys.anon, headers = {} } = {}) {
  const h = { 'X-Supabase-Api-Version': '2024-01-01', ...headers };
  if (apikey !== null) h.apikey = apikey;
  if (bearer) h.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) h['Content-Type'] = 'application/json;charset=UTF-8';
  const r = await fetch(`${keys.url}/auth/v1${route}`, {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

function outboxRows(topic, userId) {
  const out = psql(databaseUrl,
    `select coalesce(json_agg(payload order by id), '[]') from substrate.outbox where topic = '${topic}' and key = '${userId}'`);
  return JSON.parse(out);
}
const outboxTotal = () => Number(psql(databaseUrl, 'select count(*) from substrate.outbox'));

before(async () => {
  dataDir = makeDataDir();
  s = await Substrate.start({
    dataDir,
    settings: [
      `auth.refresh_reuse_interval_s=${REUSE_INTERVAL_S}`,
      // Every request of this file comes from 127.0.0.1; the per-address bucket gets its own test.
      'auth.sign_in_address_failures_burst=1000', 'auth.sign_up_address_burst=1000',
      // Cheaper hashes keep the file fast; the defaults are covered by the unit tests.
      'auth.argon2_memory_kib=8192', 'auth.argon2_iterations=1',
      // The relay would produce and delete the rows this file inspects; the last suite runs it.
      'outbox.enabled=false', 'web.enabled=false',
    ],
  });
  keys = s.apiKeys();
  databaseUrl = s.env().DATABASE_URL;
  secret = fs.readFileSync(path.join(dataDir, 'secrets', 'jwt-secret'), 'utf8').trim();
  // An app's usual companions of auth.users: a profile per user made by a trigger reading the
  // sign-up metadata, and a table with an ON DELETE CASCADE reference.
  psql(databaseUrl, `create table public.profiles (user_id uuid primary key references auth.users on delete cascade,
      name text);
    create function public.on_new_user() returns trigger language plpgsql security definer as $$
      begin insert into public.profiles (user_id, name) values (new.id, new.raw_user_meta_data ->> 'name'); return new; end $$;
    create trigger on_auth_user_created after insert on auth.users for each row execute function public.on_new_user()`);
});

after(async () => {
  if (s) await s.stop();
  if (dataDir) removeDataDir(dataDir);
});

describe('keys and gateway', () => {
  test('the API keys are anon and service_role JWTs', () => {
    assert.equal(decode(keys.anon).claims.role, 'anon');
    assert.equal(decode(keys.serviceRole).claims.role, 'service_role');
  });

  test('a missing or invalid apikey is refused with 401 (supabase-compat 1.5)', async () => {
    const missing = await call('GET', '/settings', { apikey: null });
    assert.equal(missing.status, 401);
    assert.equal(missing.body.message, 'No API key found in request');
    const invalid = await call('GET', '/settings', { apikey: 'not-a-key' });
    assert.equal(invalid.status, 401);
    assert.equal(invalid.body.message, 'Invalid API key');
    const forged = await call('GET', '/settings', { apikey: sign({ role: 'service_role' }, 'x'.repeat(40)) });
    assert.equal(forged.status, 401);
    const client = createClient(keys.url, 'not-a-key', clientOptions);
    const { data, error } = await client.auth.signUp({ email: email('nokey'), password: 'secret123' });
    assert.equal(error.status, 401);
    assert.equal(error.message, 'Invalid API key');
    assert.equal(data.user, null);
  });

  test('jwks (empty for an HS256 project), settings and health', async () => {
    const jwks = await call('GET', '/.well-known/jwks.json', { apikey: null });
    assert.equal(jwks.status, 200);
    assert.deepEqual(jwks.body, { keys: [] });
    const settings = await call('GET', '/settings');
    assert.equal(settings.status, 200);
    assert.equal(settings.body.mailer_autoconfirm, true);
    assert.equal(settings.body.external.email, true);
    const health = await call('GET', '/health', { apikey: null });
    assert.equal(health.status, 200);
    assert.equal(health.body.name, 'GoTrue');
  });
});

describe('sign-up', () => {
  test('returns a session with every claim, runs app triggers, writes signup and login events', async () => {
    const client = anonClient();
    const address = email('signup');
    const { data, error } = await client.auth.signUp({ email: address, password: 'secret123', options: { data: { name: 'Ada' } } });
    assert.equal(error, null);
    assert.ok(data.session.access_token);
    assert.ok(data.session.expires_in > 90);
    assert.equal(data.user.email, address.toLowerCase());
    assert.equal(data.user.user_metadata.name, 'Ada');
    assert.equal(data.user.user_metadata.email_verified, true);
    assert.ok(data.user.email_confirmed_at);
    assert.deepEqual(data.user.app_metadata, { provider: 'email', providers: ['email'] });
    assert.match(data.user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const { header, claims } = decode(data.session.access_token);
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
    assert.equal(claims.sub, data.user.id);
    assert.equal(claims.role, 'authenticated');
    assert.equal(claims.aud, 'authenticated');
    assert.equal(claims.iss, `${keys.url}/auth/v1`);
    assert.equal(claims.exp - claims.iat, 3600);
    assert.equal(claims.email, address.toLowerCase());
    assert.equal(claims.phone, '');
    assert.equal(claims.aal, 'aal1');
    assert.equal(claims.amr[0].method, 'password');
    assert.equal(claims.is_anonymous, false);
    assert.equal(claims.user_metadata.name, 'Ada');
    assert.match(claims.session_id, /^[0-9a-f-]{36}$/);
    assert.equal(psql(databaseUrl, `select name from public.profiles where user_id = '${data.user.id}'`), 'Ada');

    const signups = outboxRows('public.identity.signup.events', data.user.id);
    assert.equal(signups.length, 1);
    assert.equal(signups[0].user_id, data.user.id);
    assert.equal(signups[0].email, address.toLowerCase());
    assert.match(signups[0].signup_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const logins = outboxRows('public.identity.login.events', data.user.id);
    assert.equal(logins.length, 1, 'an auto-confirmed sign-up signs in (GoTrue sets last_sign_in_at)');
    assert.equal(logins[0].ip_address, '127.0.0.1');
    assert.equal(logins[0].device_id, null);
  });

  test('errors: duplicate, weak, empty and long password, bad email; none writes an event', async () => {
    const client = anonClient();
    const address = email('dup');
    assert.equal((await client.auth.signUp({ email: address, password: 'secret123' })).error, null);
    const total = outboxTotal();

    const dup = await anonClient().auth.signUp({ email: address.toUpperCase(), password: 'secret123' });
    assert.equal(dup.error.status, 422);
    assert.equal(dup.error.code, 'user_already_exists');
    assert.equal(dup.error.message, 'User already registered');
    assert.deepEqual(dup.data, { user: null, session: null });

    const weak = await anonClient().auth.signUp({ email: email('weak'), password: '123' });
    assert.equal(weak.error.name, 'AuthWeakPasswordError');
    assert.equal(weak.error.code, 'weak_password');
    assert.equal(weak.error.status, 422);
    assert.equal(weak.error.message, 'Password should be at least 6 characters.');
    assert.ok(weak.error.reasons.includes('length'));

    const empty = await call('POST', '/signup', { body: { email: email('empty'), password: '' } });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.code, 'validation_failed');
    assert.equal(empty.body.message, 'Signup requires a valid password');
    assert.equal(empty.headers.get('x-supabase-api-version'), '2024-01-01');

    const long = await call('POST', '/signup', { body: { email: email('long'), password: 'x'.repeat(73) } });
    assert.equal(long.status, 400);
    assert.equal(long.body.code, 'validation_failed');

    const bad = await anonClient().auth.signUp({ email: 'not-an-email', password: 'secret123' });
    assert.equal(bad.error.status, 400);
    assert.equal(bad.error.code, 'validation_failed');
    assert.equal(bad.error.message, 'Unable to validate email address: invalid format');

    const junk = await fetch(`${keys.url}/auth/v1/signup`, {
      method: 'POST', headers: { apikey: keys.anon, 'Content-Type': 'application/json' }, body: '{"email":',
    });
    assert.equal(junk.status, 400);
    assert.equal((await junk.json()).code, 'bad_json');

    assert.equal(outboxTotal(), total, 'failed sign-ups write no event');
  });
});

describe('sign-in, session, refresh', () => {
  test('wrong password and unknown e-mail: 400 invalid_credentials, no event', async () => {
    const address = email('signin');
    const { data } = await anonClient().auth.signUp({ email: address, password: 'secret123' });
    const total = outboxTotal();
    const client = anonClient();
    const wrong = await client.auth.signInWithPassword({ email: address, password: 'secret124' });
    assert.equal(wrong.error.status, 400);
    assert.equal(wrong.error.code, 'invalid_credentials');
    assert.equal(wrong.error.message, 'Invalid login credentials');
    assert.deepEqual(wrong.data, { user: null, session: null });
    const unknown = await client.auth.signInWithPassword({ email: email('nobody'), password: 'secret123' });
    assert.equal(unknown.error.code, 'invalid_credentials');
    assert.equal(outboxTotal(), total);
    assert.equal(outboxRows('public.identity.login.events', data.user.id).length, 1);
  });

  test('sign-in, events, getSession, getUser, refresh rotation and reuse detection', async () => {
    const address = email('flow');
    const { data: created } = await anonClient().auth.signUp({ email: address, password: 'secret123' });
    const client = anonClient();
    const events = [];
    client.auth.onAuthStateChange((event) => events.push(event));
    const { data, error } = await client.auth.signInWithPassword({ email: address, password: 'secret123' });
    assert.equal(error, null);
    assert.equal(data.user.id, created.user.id);
    assert.ok(data.user.last_sign_in_at);
    assert.notEqual(decode(data.session.access_token).claims.session_id, decode(created.session.access_token).claims.session_id);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(events.slice(0, 2), ['INITIAL_SESSION', 'SIGNED_IN']);
    const logins = outboxRows('public.identity.login.events', created.user.id);
    assert.equal(logins.length, 2);
    assert.equal(logins[1].email, address.toLowerCase());

    const stored = await client.auth.getSession();
    assert.equal(stored.data.session.access_token, data.session.access_token);
    const user = await client.auth.getUser();
    assert.equal(user.error, null);
    assert.equal(user.data.user.id, created.user.id);

    const first = data.session.refresh_token;
    const refreshed = await client.auth.refreshSession();
    assert.equal(refreshed.error, null);
    const second = refreshed.data.session.refresh_token;
    assert.notEqual(second, first);
    // (The access token may equal the previous one when both were issued in the same second.)
    assert.equal(decode(refreshed.data.session.access_token).claims.session_id,
      decode(data.session.access_token).claims.session_id);
    assert.ok(events.includes('TOKEN_REFRESHED'));

    // The previous token again, within the reuse interval: the current pair (two tabs racing).
    const reuse = await call('POST', '/token?grant_type=refresh_token', { body: { refresh_token: first } });
    assert.equal(reuse.status, 200);
    assert.equal(reuse.body.refresh_token, second);
    assert.equal(reuse.body.token_type, 'bearer');

    // After the interval: refresh_token_already_used, and the whole session's tokens are revoked.
    await new Promise((r) => setTimeout(r, REUSE_INTERVAL_S * 1000 + 300));
    const late = await call('POST', '/token?grant_type=refresh_token', { body: { refresh_token: first } });
    assert.equal(late.status, 400);
    assert.equal(late.body.code, 'refresh_token_already_used');
    assert.equal(late.body.message, 'Invalid Refresh Token: Already Used');
    const current = await call('POST', '/token?grant_type=refresh_token', { body: { refresh_token: second } });
    assert.equal(current.status, 400);
    assert.equal(current.body.code, 'refresh_token_already_used');

    const unknown = await call('POST', '/token?grant_type=refresh_token', { body: { refresh_token: 'nope' } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, 'refresh_token_not_found');
    const grant = await call('POST', '/token?grant_type=magic', { body: {} });
    assert.equal(grant.status, 400);
    assert.equal(grant.body.message, 'unsupported_grant_type');
  });

  test('an ancestor older than the previous token is a reuse at once', async () => {
    const { data } = await anonClient().auth.signUp({ email: email('ancestor'), password: 'secret123' });
    const t0 = data.session.refresh_token;
    const r1 = await call('POST', '/token?grant_type=refresh_token', { body: { refresh_token: t0 } });
    const r2 = await call('POST', '/token?grant_type=refresh_token', { body: { refresh_token: r1.body.refresh_token } });
    assert.equal(r2.status, 200);
    const again = await call('POST', '/token?grant_type=refresh_token', { body: { refresh_token: t0 } });
    assert.equal(again.body.code, 'refresh_token_already_used');
  });

  test('brute force: five failures lock the e-mail with 429 over_request_rate_limit', async () => {
    const address = email('brute');
    await anonClient().auth.signUp({ email: address, password: 'secret123' });
    for (let i = 0; i < 5; i++) {
      const { error } = await anonClient().auth.signInWithPassword({ email: address, password: `wrong${i}xx` });
      assert.equal(error.code, 'invalid_credentials');
    }
    const locked = await anonClient().auth.signInWithPassword({ email: address, password: 'secret123' });
    assert.equal(locked.error.status, 429);
    assert.equal(locked.error.code, 'over_request_rate_limit');
    const other = email('other');
    await anonClient().auth.signUp({ email: other, password: 'secret123' });
    assert.equal((await anonClient().auth.signInWithPassword({ email: other, password: 'secret123' })).error, null);
  });

  test('an unconfirmed user (admin create without email_confirm) gets email_not_confirmed', async () => {
    const address = email('unconfirmed');
    const created = await adminClient().auth.admin.createUser({ email: address, password: 'secret123' });
    assert.equal(created.error, null);
    const { error } = await anonClient().auth.signInWithPassword({ email: address, password: 'secret123' });
    assert.equal(error.status, 400);
    assert.equal(error.code, 'email_not_confirmed');
  });
});

describe('tokens on /user', () => {
  test('no bearer 401, forged/expired 403 bad_jwt, anon key 403, deleted user 403', async () => {
    const none = await call('GET', '/user');
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'no_authorization');
    const { data } = await anonClient().auth.signUp({ email: email('jwt'), password: 'secret123' });
    const claims = decode(data.session.access_token).claims;
    const forged = await call('GET', '/user', { bearer: sign(claims, 'f'.repeat(40)) });
    assert.equal(forged.status, 403);
    assert.equal(forged.body.code, 'bad_jwt');
    const now = Math.floor(Date.now() / 1000);
    const expired = await call('GET', '/user', { bearer: sign({ ...claims, iat: now - 7200, exp: now - 3600 }) });
    assert.equal(expired.status, 403);
    assert.equal(expired.body.code, 'bad_jwt');
    const viaClient = await anonClient().auth.getUser(sign({ ...claims, exp: now - 3600 }));
    assert.equal(viaClient.error.status, 403);
    assert.equal(viaClient.error.code, 'bad_jwt');
    const anon = await call('GET', '/user', { bearer: keys.anon });
    assert.equal(anon.status, 403);
    assert.equal(anon.body.message, 'invalid claim: missing sub claim');
    const ghost = await call('GET', '/user', { bearer: sign({ ...claims, sub: crypto.randomUUID(), session_id: undefined }) });
    assert.equal(ghost.status, 403);
    assert.equal(ghost.body.code, 'user_not_found');
    // A global Authorization header: getUser works without a local session.
    const global = createClient(keys.url, keys.anon, { ...clientOptions, global: { headers: { Authorization: `Bearer ${data.session.access_token}` } } });
    assert.equal((await global.auth.getUser()).data.user.id, data.user.id);
  });

  test('PUT /user updates metadata and the password', async () => {
    const address = email('put');
    const client = anonClient();
    await client.auth.signUp({ email: address, password: 'secret123' });
    const { data, error } = await client.auth.updateUser({ password: 'secret456', data: { theme: 'dark' } });
    assert.equal(error, null);
    assert.equal(data.user.user_metadata.theme, 'dark');
    assert.equal((await anonClient().auth.signInWithPassword({ email: address, password: 'secret456' })).error, null);
  });
});

describe('sign-out', () => {
  async function sessions(address, n) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const client = anonClient();
      const { data, error } = await client.auth.signInWithPassword({ email: address, password: 'secret123' });
      assert.equal(error, null);
      out.push({ client, token: data.session.access_token, refresh: data.session.refresh_token });
    }
    return out;
  }
  const alive = async (token) => (await call('GET', '/user', { bearer: token })).status === 200;

  test('default (global) scope: 204, SIGNED_OUT, session_not_found afterwards, one signout event per session', async () => {
    const address = email('out');
    const { data } = await anonClient().auth.signUp({ email: address, password: 'secret123' });
    const [a, b] = await sessions(address, 2);
    const events = [];
    a.client.auth.onAuthStateChange((event) => events.push(event));
    const raw = await call('POST', '/logout?scope=local', { bearer: b.token, body: undefined });
    assert.equal(raw.status, 204);
    const before = outboxRows('public.identity.signout.events', data.user.id).length;
    assert.equal(before, 1);
    const { error } = await a.client.auth.signOut();
    assert.equal(error, null);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(events.includes('SIGNED_OUT'));
    const after = await anonClient().auth.getUser(a.token);
    assert.equal(after.error.name, 'AuthSessionMissingError');
    assert.equal(await alive(data.session.access_token), false, 'global ended the sign-up session too');
    const signouts = outboxRows('public.identity.signout.events', data.user.id);
    assert.equal(signouts.length, 3, 'local (1) + global (the sign-up session and a)');
    assert.equal(signouts[1].email, address.toLowerCase());
    assert.equal(signouts[1].ip_address, '127.0.0.1');
    const refresh = await call('POST', '/token?grant_type=refresh_token', { body: { refresh_token: a.refresh } });
    assert.equal(refresh.body.code, 'refresh_token_not_found');
    // Signing out again: the session is gone (403, ignored by the client), nothing emitted.
    const again = await call('POST', '/logout', { bearer: a.token });
    assert.equal(again.status, 403);
    assert.equal(again.body.code, 'session_not_found');
    assert.equal(outboxRows('public.identity.signout.events', data.user.id).length, 3);
  });

  test('others and local scopes', async () => {
    const address = email('scopes');
    await anonClient().auth.signUp({ email: address, password: 'secret123' });
    const [a, b, c] = await sessions(address, 3);
    assert.equal((await a.client.auth.signOut({ scope: 'others' })).error, null);
    assert.equal(await alive(a.token), true);
    assert.equal(await alive(b.token), false);
    assert.equal(await alive(c.token), false);
    assert.equal((await a.client.auth.signOut({ scope: 'local' })).error, null);
    assert.equal(await alive(a.token), false);
    const bad = await call('POST', '/logout?scope=everything', { bearer: a.token });
    assert.equal(bad.status, 400);
  });
});

describe('admin', () => {
  test('create, sign in, list with pagination, get, update, delete with cascade and signout events', async () => {
    const admin = adminClient();
    const address = email('admin');
    const created = await admin.auth.admin.createUser({
      email: address, password: 'secret123', email_confirm: true, user_metadata: { name: 'Bo' }, app_metadata: { plan: 'pro' },
    });
    assert.equal(created.error, null);
    const id = created.data.user.id;
    assert.equal(created.data.user.email, address.toLowerCase());
    assert.equal(created.data.user.app_metadata.plan, 'pro');
    assert.equal(created.data.user.app_metadata.provider, 'email');
    assert.equal(outboxRows('public.identity.signup.events', id).length, 1);
    assert.equal(psql(databaseUrl, `select name from public.profiles where user_id = '${id}'`), 'Bo');

    const signedIn = await anonClient().auth.signInWithPassword({ email: address, password: 'secret123' });
    assert.equal(signedIn.error, null);

    const list = await admin.auth.admin.listUsers();
    assert.equal(list.error, null);
    assert.ok(list.data.users.some((u) => u.id === id));
    assert.ok(list.data.total >= 1);
    assert.equal(list.data.users[0].id, id, 'newest first');
    const page = await admin.auth.admin.listUsers({ page: 1, perPage: 1 });
    assert.equal(page.data.users.length, 1);
    assert.equal(page.data.total, list.data.total);
    assert.equal(page.data.nextPage, 2);
    const raw = await call('GET', '/admin/users?page=&per_page=', { bearer: keys.serviceRole });
    assert.equal(raw.status, 200);
    assert.equal(raw.body.aud, 'authenticated');
    assert.match(raw.headers.get('link'), /rel="last"/);
    assert.equal(raw.headers.get('x-total-count'), String(list.data.total));
    const badPage = await call('GET', '/admin/users?page=x', { bearer: keys.serviceRole });
    assert.equal(badPage.status, 400);

    const got = await admin.auth.admin.getUserById(id);
    assert.equal(got.data.user.email, address.toLowerCase());
    const updated = await admin.auth.admin.updateUserById(id, { user_metadata: { name: 'Bob' } });
    assert.equal(updated.error, null);
    assert.equal(updated.data.user.user_metadata.name, 'Bob');

    const dup = await admin.auth.admin.createUser({ email: address, password: 'secret123' });
    assert.equal(dup.error.status, 422);
    assert.equal(dup.error.code, 'email_exists');

    const removed = await admin.auth.admin.deleteUser(id);
    assert.equal(removed.error, null);
    assert.equal(psql(databaseUrl, `select count(*) from public.profiles where user_id = '${id}'`), '0');
    const signouts = outboxRows('public.identity.signout.events', id);
    assert.equal(signouts.length, 1, 'the session of the sign-in ended with the user');
    assert.equal(signouts[0].email, null);
    const after = await anonClient().auth.signInWithPassword({ email: address, password: 'secret123' });
    assert.equal(after.error.code, 'invalid_credentials');
    const gone = await admin.auth.admin.getUserById(id);
    assert.equal(gone.error.status, 404);
    assert.equal(gone.error.code, 'user_not_found');
    const again = await admin.auth.admin.deleteUser(id);
    assert.equal(again.error.status, 404);
    const stale = await call('GET', '/user', { bearer: signedIn.data.session.access_token });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.code, 'user_not_found');
  });

  test('soft delete keeps the row and signs the user out', async () => {
    const admin = adminClient();
    const address = email('soft');
    const { data } = await anonClient().auth.signUp({ email: address, password: 'secret123' });
    assert.equal((await admin.auth.admin.deleteUser(data.user.id, true)).error, null);
    assert.equal(psql(databaseUrl, `select deleted_at is not null from auth.users where id = '${data.user.id}'`), 't');
    assert.equal((await anonClient().auth.signInWithPassword({ email: address, password: 'secret123' })).error.code, 'invalid_credentials');
  });

  test('the anon key and user tokens are not admins; no bearer is 401', async () => {
    const anon = await anonClient().auth.admin.listUsers();
    assert.equal(anon.error.status, 403);
    assert.equal(anon.error.code, 'not_admin');
    const { data } = await anonClient().auth.signUp({ email: email('notadmin'), password: 'secret123' });
    const user = await call('POST', '/admin/users', { bearer: data.session.access_token, body: { email: email('x') } });
    assert.equal(user.status, 403);
    assert.equal(user.body.code, 'not_admin');
    const none = await call('DELETE', `/admin/users/${data.user.id}`, { body: {} });
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'no_authorization');
    assert.equal((await call('GET', `/admin/users/${data.user.id}`, { bearer: keys.serviceRole })).status, 200);
  });
});

describe('metrics', () => {
  test('/metrics counts sign-ups, sign-ins and refreshes by outcome', async () => {
    const text = await (await fetch(`${s.adminUrl}/metrics`)).text();
    const value = (name, outcome) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{outcome="${outcome}"} `));
      assert.ok(line, `${name}{outcome="${outcome}"} is exported`);
      return Number(line.split(' ')[1]);
    };
    // The suites above signed up, signed in (right and wrong), hit the brute-force lock and refreshed.
    assert.ok(value('substrate_auth_sign_ups_total', 'ok') >= 10);
    assert.ok(value('substrate_auth_sign_ups_total', 'failed') >= 3);
    assert.ok(value('substrate_auth_sign_ins_total', 'ok') >= 3);
    assert.ok(value('substrate_auth_sign_ins_total', 'failed') >= 5);
    assert.ok(value('substrate_auth_sign_ins_total', 'rate_limited') >= 1);
    assert.ok(value('substrate_auth_refreshes_total', 'ok') >= 1);
    assert.ok(value('substrate_auth_refreshes_total', 'failed') >= 1);
    assert.equal(value('substrate_auth_sign_ups_total', 'rate_limited'), 0);
  });
});

describe('auto-confirm off, one blocking thread, a small sign-up burst', () => {
  let other;
  let otherDir;
  before(async () => {
    otherDir = makeDataDir();
    other = await Substrate.start({
      dataDir: otherDir,
      settings: ['auth.autoconfirm=false', 'auth.argon2_memory_kib=8192', 'auth.argon2_iterations=1',
        'outbox.enabled=false', 'web.enabled=false', 'auth.sign_up_address_burst=4',
        'auth.sign_in_address_failures_burst=1000', 'blocking_threads=1', 'auth.password_threads=1'],
    });
  });
  after(async () => {
    if (other) await other.stop();
    if (otherDir) removeDataDir(otherDir);
  });

  test('sign-up returns the bare user without a session; sign-in says email_not_confirmed', async () => {
    const { url, anon } = other.apiKeys();
    const client = createClient(url, anon, clientOptions);
    const address = email('confirm');
    const { data, error } = await client.auth.signUp({ email: address, password: 'secret123' });
    assert.equal(error, null);
    assert.equal(data.session, null);
    assert.equal(data.user.email, address.toLowerCase());
    assert.equal(data.user.email_confirmed_at, undefined);
    assert.ok(data.user.confirmation_sent_at);
    const db = other.env().DATABASE_URL;
    assert.equal(psql(db, `select count(*) from substrate.outbox where key = '${data.user.id}' and topic = 'public.identity.signup.events'`), '1');
    assert.equal(psql(db, `select count(*) from substrate.outbox where key = '${data.user.id}' and topic = 'public.identity.login.events'`), '0');
    const signIn = await createClient(url, anon, clientOptions).auth.signInWithPassword({ email: address, password: 'secret123' });
    assert.equal(signIn.error.status, 400);
    assert.equal(signIn.error.code, 'email_not_confirmed');
    // A duplicate gets an obfuscated user (another id, no identities): no account enumeration.
    const dup = await createClient(url, anon, clientOptions).auth.signUp({ email: address, password: 'secret123' });
    assert.equal(dup.error, null);
    assert.notEqual(dup.data.user.id, data.user.id);
    assert.deepEqual(dup.data.user.identities, []);
    assert.equal(psql(db, `select count(*) from auth.users where lower(email) = lower('${address}')`), '1');
  });

  test('sign-ups from one address are limited: 429 over_request_rate_limit, no user created', async () => {
    const { url, anon } = other.apiKeys();
    let refused = null;
    let accepted = 0;
    // The test above used two of the four; at most four in all pass.
    for (let i = 0; i < 5 && !refused; i++) {
      const address = email('burst');
      const r = await createClient(url, anon, clientOptions).auth.signUp({ email: address, password: 'secret123' });
      if (r.error) refused = { ...r, address };
      else accepted += 1;
    }
    assert.ok(refused, 'a sign-up was refused');
    assert.ok(accepted <= 4);
    assert.equal(refused.error.status, 429);
    assert.equal(refused.error.code, 'over_request_rate_limit');
    const db = other.env().DATABASE_URL;
    assert.equal(psql(db, `select count(*) from auth.users where lower(email) = lower('${refused.address}')`), '0');
    const text = await (await fetch(`${other.adminUrl}/metrics`)).text();
    assert.match(text, /^substrate_auth_sign_ups_total\{outcome="rate_limited"\} 1$/m);
  });

  test('a burst of sign-ins waits on the password threads, not in front of REST', async () => {
    // One password thread and one blocking thread: twenty sign-ins (each hashes, unknown e-mails
    // against the dummy hash) queue on the password thread while a REST read, sent after them,
    // is served by the blocking thread at once, so it completes before the burst does.
    const { url, anon } = other.apiKeys();
    const order = [];
    const signIns = Array.from({ length: 20 }, (_, i) => createClient(url, anon, clientOptions).auth
      .signInWithPassword({ email: email(`nobody${i}`), password: 'secret123' })
      .then((r) => { assert.equal(r.error.code, 'invalid_credentials'); order.push('sign-in'); }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const rest = createClient(url, anon, clientOptions).from('user_notifications').select('id')
      .then((r) => { assert.equal(r.error, null); order.push('rest'); });
    await Promise.all([...signIns, rest]);
    assert.notEqual(order.indexOf('rest'), order.length - 1, `REST finished last: ${order.join(' ')}`);
    assert.ok(order.indexOf('rest') < 15, `REST waited for the sign-ins: ${order.join(' ')}`);
  });
});

describe('identity events reach Kafka', () => {
  test('sign-up, sign-in and sign-out arrive once each as Avro through the outbox relay', async () => {
    const relayDir = makeDataDir();
    const relayed = await Substrate.start({
      dataDir: relayDir,
      settings: ['auth.argon2_memory_kib=8192', 'auth.argon2_iterations=1', 'web.enabled=false',
        'kafka.group_initial_rebalance_delay_ms=0'],
    });
    try {
      const { url, anon } = relayed.apiKeys();
      const address = email('relay');
      const client = createClient(url, anon, clientOptions);
      const { data: up } = await client.auth.signUp({ email: address, password: 'secret123' });
      const { error: inError } = await client.auth.signInWithPassword({ email: address, password: 'secret123' });
      assert.equal(inError, null);
      assert.equal((await client.auth.signOut()).error, null);
      const userId = up.user.id;
      // Expected: signup 1; login 2 (the auto-confirmed sign-up and the sign-in); signout 2
      // (global sign-out ends both sessions).
      const expected = { 'public.identity.signup.events': 1, 'public.identity.login.events': 2, 'public.identity.signout.events': 2 };
      const registry = new SchemaRegistry({ host: relayed.registryUrl });
      const kafka = new Kafka({ clientId: 'auth-contract', brokers: [relayed.kafkaBrokers], logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: `auth-contract-${crypto.randomUUID()}` });
      const seen = [];
      await consumer.connect();
      await consumer.subscribe({ topics: Object.keys(expected), fromBeginning: true });
      const total = Object.values(expected).reduce((a, b) => a + b, 0);
      let done;
      const finished = new Promise((resolve) => { done = resolve; });
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          const value = await registry.decode(message.value);
          if (value.user_id === userId) seen.push({ topic, value });
          if (seen.length >= total) setTimeout(done, 1000);  // a little longer, to see duplicates
        },
      });
      const timer = setTimeout(done, 60_000);
      await finished;
      clearTimeout(timer);
      await consumer.disconnect();
      for (const [topic, count] of Object.entries(expected)) {
        assert.equal(seen.filter((m) => m.topic === topic).length, count, topic);
      }
      const signup = seen.find((m) => m.topic === 'public.identity.signup.events').value;
      assert.equal(signup.email, address.toLowerCase());
      const signout = seen.find((m) => m.topic === 'public.identity.signout.events').value;
      assert.equal(signout.email, address.toLowerCase());
      assert.equal(psql(relayed.env().DATABASE_URL, 'select count(*) from substrate.outbox'), '0');
    } finally {
      await relayed.stop();
      removeDataDir(relayDir);
    }
  });
});

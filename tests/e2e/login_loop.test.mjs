// The platform's login loop and messaging, end to end through `substrate up` (issue 9 item 2;
// contracts.md 8.1 scenarios 3-8): Auth -> outbox -> Kafka -> processors -> user_notifications ->
// REST and Realtime, and the gateway for messages, each user seeing only what RLS allows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { client, eventually, notificationsOf, password, postMessage, signUp, subscribeNotifications }
  from './lib/platform.mjs';
import { Substrate, makeDataDir, removeDataDir } from './lib/substrate.mjs';

let s;
let dataDir;
const clients = [];

before(async () => {
  dataDir = makeDataDir();
  s = await Substrate.start({ dataDir });
});

after(async () => {
  for (const c of clients) await c.removeAllChannels();
  await s?.stop();
  if (dataDir) removeDataDir(dataDir);
});

async function user(prefix) {
  const u = await signUp(s, prefix);
  clients.push(u.supabase);
  return u;
}

test('sign-up gives an identity.signup notification and exactly one +2 credit bonus', async () => {
  const a = await user('signup');
  const [signup] = await eventually(notificationsOf(a.supabase, 'identity.signup'), (rows) => rows.length > 0,
    { what: 'identity.signup' });
  assert.equal(signup.user_id, a.user.id);
  assert.equal(JSON.parse(signup.payload).email, a.email);

  const [changed] = await eventually(notificationsOf(a.supabase, 'credit.balance_changed'), (rows) => rows.length > 0,
    { what: 'credit.balance_changed' });
  const payload = JSON.parse(changed.payload);
  assert.equal(payload.amount, 2);
  assert.equal(payload.reason, 'signup_bonus');
  const ledger = await eventually(() => a.supabase.from('credit_ledger').select('*'), (rows) => rows.length > 0,
    { what: 'the ledger row' });
  assert.deepEqual(ledger.map((r) => [r.event_type, r.amount]), [['credit.signup_bonus', 2]]);
  const { data: balance } = await a.supabase.from('user_credit_balances').select('balance').eq('user_id', a.user.id).single();
  assert.equal(Number(balance.balance), 2);
});

test('sign-in gives identity.login and sign-out gives identity.signout', async () => {
  const a = await user('loop');
  const fresh = client(s);
  clients.push(fresh);
  const { data, error } = await fresh.auth.signInWithPassword({ email: a.email, password });
  assert.equal(error, null);
  const [login] = await eventually(notificationsOf(fresh, 'identity.login'), (rows) => rows.length > 0,
    { what: 'identity.login' });
  assert.equal(JSON.parse(login.payload).email, a.email);
  assert.equal(login.user_id, data.user.id);

  assert.equal((await fresh.auth.signOut()).error, null);
  const [signout] = await eventually(notificationsOf(a.supabase, 'identity.signout'), (rows) => rows.length > 0,
    { what: 'identity.signout' });
  assert.ok(JSON.parse(signout.payload).email, 'the signout event names the e-mail');
});

test('a broadcast reaches everyone; a direct message only its sender and recipient, over REST and realtime', async () => {
  const [a, b, c] = [await user('msg-a'), await user('msg-b'), await user('msg-c')];
  const liveB = await subscribeNotifications(b.supabase, b.session.access_token);
  const liveC = await subscribeNotifications(c.supabase, c.session.access_token);

  const secret = `direct ${Date.now()} for b only`;
  const direct = await postMessage(s, a.session, { message: secret, visibility: 'direct', recipientId: b.user.id });
  assert.equal(direct.status, 202, await direct.text());
  const hello = `broadcast ${Date.now()}`;
  const broadcast = await postMessage(s, a.session, { message: hello });
  assert.equal(broadcast.status, 202, await broadcast.text());

  const isMessage = (text) => (row) => row.event_type === 'user.message' && JSON.parse(row.payload).message === text;
  await liveB.waitFor(isMessage(secret));
  await liveB.waitFor(isMessage(hello));
  // Messages are processed in order, so once C has the broadcast it has had its chance at the
  // direct message too.
  await liveC.waitFor(isMessage(hello));
  assert.equal(liveC.rows.filter(isMessage(secret)).length, 0, 'C never receives the direct message live');

  for (const [who, sees] of [[a, true], [b, true], [c, false]]) {
    const rows = await eventually(notificationsOf(who.supabase, 'user.message'),
      (r) => r.some(isMessage(hello)), { what: `the broadcast for ${who.email}` });
    assert.equal(rows.some(isMessage(secret)), sees, `${who.email} sees the direct message: ${sees}`);
  }
});

test('the identity comes from the token, never from the message body', async () => {
  const [a, b] = [await user('spoof-a'), await user('spoof-b')];
  const text = `spoof ${Date.now()}`;
  const r = await fetch(`${s.gatewayUrl}/api/v1/events/message`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${a.session.access_token}` },
    body: JSON.stringify({ user_id: b.user.id, email: b.email, message: text, timestamp: new Date().toISOString(),
      visibility: 'broadcast', recipient_id: null }),
  });
  assert.equal(r.status, 202, await r.text());
  const rows = await eventually(notificationsOf(a.supabase, 'user.message'),
    (x) => x.some((row) => JSON.parse(row.payload).message === text), { what: 'the message' });
  const row = rows.find((x) => JSON.parse(x.payload).message === text);
  assert.equal(row.user_id, a.user.id);
  assert.equal(JSON.parse(row.payload).email, a.email);
});

test('RLS isolates two users on every table', async () => {
  const [a, b] = [await user('rls-a'), await user('rls-b')];
  await eventually(() => a.supabase.from('credit_ledger').select('id'), (rows) => rows.length > 0, { what: 'A bonus' });
  await eventually(() => b.supabase.from('credit_ledger').select('id'), (rows) => rows.length > 0, { what: 'B bonus' });
  const service = client(s, s.apiKeys().serviceRole);
  clients.push(service);
  const { error: seedError } = await service.from('media_files').insert({
    user_id: a.user.id, file_name: 'a.png', file_path: `files/${a.user.id}/x/a.png`, file_size: 10,
    media_type: 'image/png', upload_time: new Date().toISOString(),
  });
  assert.equal(seedError, null);

  for (const table of ['user_notifications', 'credit_ledger', 'user_credit_balances', 'media_files']) {
    const { data, error } = await b.supabase.from(table).select('user_id').eq('user_id', a.user.id);
    assert.equal(error, null, table);
    assert.deepEqual(data, [], `B reads none of A's rows in ${table}`);
    const anon = await client(s).from(table).select('user_id');
    assert.deepEqual(anon.data ?? [], [], `anon reads nothing in ${table}`);
    const all = await service.from(table).select('user_id').eq('user_id', a.user.id);
    assert.ok(all.data.length > 0, `the service role sees A's rows in ${table}`);
  }
  const own = await a.supabase.from('media_files').select('file_name');
  assert.deepEqual(own.data, [{ file_name: 'a.png' }]);
});

// The web client's pure helpers (contracts.md 7.8 and 7.9).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createNotificationHandler, describeNotification } from '../src/events.js';
import { formatSize, isAllowedMediaType, mediaCategory, parsePayload, stripTrailingSlashes } from '../src/format.js';
import { createNotificationWaiter } from '../src/waiter.js';

test('sizes use base-1024 units with at most one decimal', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(-5), '0 B');
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(1024), '1 KB');
  assert.equal(formatSize(1536), '1.5 KB');
  assert.equal(formatSize(1024 ** 3), '1 GB');
  assert.equal(formatSize(1024 ** 5 * 3), '3072 TB');
});

test('media types are checked exactly; categories come from the prefix', () => {
  assert.ok(isAllowedMediaType('image/png'));
  for (const bad of ['IMAGE/PNG', ' image/png', 'image/png ', '', null, undefined, 'application/pdf', 'image/bmp']) {
    assert.equal(isAllowedMediaType(bad), false, String(bad));
  }
  assert.equal(mediaCategory('video/x-anything'), 'video');
  assert.equal(mediaCategory('application/pdf'), 'unknown');
  assert.equal(stripTrailingSlashes('http://x:8080///'), 'http://x:8080');
});

test('payloads: missing or null are {}, malformed JSON throws', () => {
  assert.deepEqual(parsePayload(undefined), {});
  assert.deepEqual(parsePayload(null), {});
  assert.deepEqual(parsePayload('null'), {});
  assert.deepEqual(parsePayload('{"a":1}'), { a: 1 });
  assert.throws(() => parsePayload('{oops'));
});

test('notifications read as text, including hostile payloads', () => {
  const message = describeNotification({
    event_type: 'user.message', visibility: 'direct',
    payload: JSON.stringify({ email: 'ann@example.com', message: '<img src=x onerror=alert(1)>' }),
  });
  assert.equal(message, '💬 ann (direct): <img src=x onerror=alert(1)>');
  assert.match(describeNotification({ event_type: 'identity.login', payload: '{}', event_time: '2026-01-01T00:00:00Z' }),
    /^🚀 Logged in: /);
  assert.equal(describeNotification({ event_type: 'credit.balance_changed', payload: '{"amount":2,"reason":"signup_bonus"}' }),
    '⚡ Credits +2 (signup bonus)');
  assert.equal(describeNotification({ event_type: 'media.upload_failed', payload: '{}' }), '❌ Upload failed: unknown');
  assert.match(describeNotification({ event_type: 'x.y', payload: '{bad', event_time: 't' }), /^📌 x\.y: /);
});

test('the waiter resolves by request_id before file_path, once', async () => {
  const waiter = createNotificationWaiter();
  const byRequest = waiter.waitFor(['req-1', 'files/a.png'], ['media.upload_ready'], 1000);
  const byPath = waiter.waitFor(['files/b.png'], ['media.file_deleted'], 1000);
  assert.equal(waiter.handle({ event_type: 'media.file_deleted', payload: '{"request_id":"req-1"}' }), false,
    'a matching key with another type does not resolve');
  assert.equal(waiter.handle({ event_type: 'media.upload_ready', payload: '{"request_id":"req-1","file_path":"files/b.png"}' }), true);
  assert.equal((await byRequest).event_type, 'media.upload_ready');
  assert.equal(waiter.pending, 1);
  assert.equal(waiter.handle({ event_type: 'media.file_deleted', payload: '{"file_path":"files/b.png"}' }), true);
  await byPath;
  assert.equal(waiter.pending, 0);
});

test('the waiter times out and cleans up with the contract messages', async () => {
  const waiter = createNotificationWaiter();
  await assert.rejects(waiter.waitFor(['r9'], ['x'], 10), /Notification timeout for request r9/);
  const pending = waiter.waitFor(['r10'], ['x'], 10_000);
  waiter.cleanup();
  await assert.rejects(pending, /Notification waiter cleaned up/);
  assert.equal(waiter.pending, 0);
});

test('a live credit change re-reads the balance even when the history read already showed its row', () => {
  const shownIds = new Set();
  const list = { add: (row) => (shownIds.has(row.id) ? false : (shownIds.add(row.id), true)) };
  const handled = [];
  const waiter = { handle: (row) => { handled.push(row.id); return false; } };
  let reads = 0;
  const warnings = [];
  const onNotification = createNotificationHandler({
    list, waiter, refreshCredits: () => { reads += 1; }, warn: (...args) => warnings.push(args),
  });
  const credit = { id: 7, event_type: 'credit.balance_changed', payload: '{"amount":2}' };

  // The race seen in CI: the balance read at SUBSCRIBED ran before the bonus's commit, the history
  // read after it, so the row is shown when its live copy arrives.
  shownIds.add(credit.id);
  onNotification(credit);
  assert.equal(reads, 1, 'the duplicate live row still reads the balance');
  assert.deepEqual(handled, [], 'a row already shown is not handed to the waiter again');

  onNotification({ id: 8, event_type: 'credit.balance_changed', payload: '{"amount":-1}' });
  assert.equal(reads, 2);
  assert.deepEqual(handled, [8]);

  onNotification({ id: 9, event_type: 'identity.login', payload: '{}' });
  onNotification({ id: 9, event_type: 'identity.login', payload: '{}' });
  assert.equal(reads, 2, 'other types do not read the balance');
  assert.deepEqual(handled, [8, 9], 'each row reaches the waiter once');

  const throwing = createNotificationHandler({
    list: { add: () => true },
    waiter: { handle: () => { throw new SyntaxError('bad payload'); } },
    refreshCredits: () => { reads += 1; },
    warn: (...args) => warnings.push(args),
  });
  throwing({ id: 10, event_type: 'credit.balance_changed', payload: '{oops' });
  assert.equal(reads, 3, 'a malformed payload still reads the balance');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0][1], 10);
});

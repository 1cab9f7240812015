// The web app listener of `substrate up`: the built app with the right content types and
// caching, /config.json naming this instance, the SPA fallback, and no path escapes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Substrate, makeDataDir, removeDataDir } from './lib/substrate.mjs';

const webRoot = path.resolve('web/dist');
let s;
let dataDir;

before(async () => {
  assert.ok(fs.existsSync(path.join(webRoot, 'index.html')), 'web/dist is built by `make build`');
  dataDir = makeDataDir();
  s = await Substrate.start({ dataDir, settings: [`web.root=${webRoot}`] });
});

after(async () => {
  await s?.stop();
  if (dataDir) removeDataDir(dataDir);
});

test('/config.json names this instance and is never cached', async () => {
  const r = await fetch(`${s.webUrl}/config.json`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const config = await r.json();
  const keys = s.apiKeys();
  assert.equal(config.supabaseUrl, s.apiUrl);
  assert.equal(config.anonKey, keys.anon);
  assert.notEqual(config.anonKey, keys.serviceRole, 'the service key never reaches the browser');
  assert.match(config.gatewayUrl, /^http:\/\//);
  assert.equal(s.env().WEB_URL, s.webUrl);
});

test('index.html is revalidated, hashed assets are immutable, types are right', async () => {
  const index = await fetch(`${s.webUrl}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const html = await index.text();
  assert.equal(html, fs.readFileSync(path.join(webRoot, 'index.html'), 'utf8'));
  const script = html.match(/src="(\/assets\/[^"]+\.js)"/)[1];
  const js = await fetch(`${s.webUrl}${script}`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
  const css = html.match(/href="(\/assets\/[^"]+\.css)"/)[1];
  assert.equal((await fetch(`${s.webUrl}${css}`)).headers.get('content-type'), 'text/css; charset=utf-8');

  const etag = index.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(`${s.webUrl}/`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
});

test('client routes fall back to index.html; missing files and escapes are 404', async () => {
  const route = await fetch(`${s.webUrl}/some/client/route`);
  assert.equal(route.status, 200);
  assert.match(await route.text(), /<main id="app">/);
  assert.equal((await fetch(`${s.webUrl}/assets/missing.js`)).status, 404);
  for (const escape of ['/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd.txt', '/assets/..%2F..%2Fpackage.json']) {
    const r = await fetch(`${s.webUrl}${escape}`);
    assert.ok(r.status === 404 || (r.status === 200 && (await r.text()).includes('<main id="app">')), escape);
  }
});

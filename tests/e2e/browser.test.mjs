// The web app in a real browser (Debian's Chromium via playwright-core) against `substrate up`:
// the auth view, and once signed up the home view. Screenshots land in test-artifacts/browser/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchChromium, screenshot, watchErrors } from './lib/browser.mjs';
import { Substrate, makeDataDir, removeDataDir } from './lib/substrate.mjs';

let s;
let dataDir;
let browser;

before(async () => {
  dataDir = makeDataDir();
  s = await Substrate.start({ dataDir, settings: [`web.root=${path.resolve('web/dist')}`] });
  // The app sends events to the gateway of this instance.
  assert.ok(s.gatewayUrl);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await s?.stop();
  if (dataDir) removeDataDir(dataDir);
});

test('the auth view loads and toggles between log-in and sign-up', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(s.webUrl);
  await page.locator('#auth-view').waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await page.locator('#home-view').isVisible(), false);
  assert.equal(await page.locator('#auth-submit').textContent(), 'Log In');
  assert.ok(await page.locator('#email').isVisible());
  assert.ok(await page.locator('#password').isVisible());
  await page.click('#auth-toggle');
  assert.equal(await page.locator('#auth-submit').textContent(), 'Sign Up');
  assert.equal(await page.locator('#auth-title').textContent(), 'Create an account');
  await screenshot(page, 'auth-view-signup');
  await page.click('#auth-toggle');
  assert.equal(await page.locator('#auth-title').textContent(), 'Welcome back');
  assert.deepEqual(errors, []);
  await context.close();
});

test('an unknown e-mail and password shows the server\'s error, not a crash', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(s.webUrl);
  await page.locator('#auth-view').waitFor({ state: 'visible', timeout: 10_000 });
  await page.fill('#email', 'nobody@e2e-test.local');
  await page.fill('#password', 'Wrong-password-1');
  await page.click('#auth-submit');
  const alert = page.locator('#auth-alert');
  await alert.waitFor({ state: 'visible', timeout: 10_000 });
  assert.ok((await alert.textContent()).length > 0);
  assert.equal(await page.locator('#home-view').isVisible(), false);
  await screenshot(page, 'auth-view-error');
  await context.close();
});

async function signUpInBrowser(page, email) {
  await page.goto(s.webUrl);
  await page.locator('#auth-view').waitFor({ state: 'visible', timeout: 10_000 });
  await page.click('#auth-toggle');
  await page.fill('#email', email);
  await page.fill('#password', 'Test1234!!');
  await page.click('#auth-submit');
  await page.locator('#home-view').waitFor({ state: 'visible', timeout: 15_000 });
}

test('sign-up shows the home view, the live events arrive, and the credits become 2', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  const email = `pw-${Date.now()}-a@e2e-test.local`;
  await signUpInBrowser(page, email);
  assert.match(await page.locator('#welcome').textContent(), /^Hello pw-/);
  await page.locator('#events-list li[data-event-type="identity.signup"]').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('#credit-count').textContent === '2', null, { timeout: 30_000 });
  assert.equal(await page.locator('#credit-badge').getAttribute('class'), 'badge');
  await screenshot(page, 'home-after-signup');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a broadcast sent in one browser arrives live in another; sign-out returns to the auth view', async () => {
  const senderContext = await browser.newContext();
  const readerContext = await browser.newContext();
  const sender = await senderContext.newPage();
  const reader = await readerContext.newPage();
  await signUpInBrowser(reader, `pw-${Date.now()}-r@e2e-test.local`);
  await reader.waitForFunction(() => document.querySelector('#live-status').textContent === 'live', null,
    { timeout: 15_000 });
  await signUpInBrowser(sender, `pw-${Date.now()}-s@e2e-test.local`);
  const text = `hello from the browser ${Date.now()} <b>not bold</b>`;
  await sender.fill('#message-input', text);
  await sender.click('#message-send');
  const item = reader.locator('#events-list li[data-event-type="user.message"]', { hasText: text });
  await item.waitFor({ timeout: 30_000 });
  assert.equal(await reader.locator('#events-list b').count(), 0, 'message text is rendered as text, never HTML');
  await screenshot(reader, 'reader-with-broadcast');
  await reader.click('#sign-out');
  await reader.locator('#auth-view').waitFor({ state: 'visible', timeout: 5_000 });
  assert.equal(await reader.locator('#home-view').isVisible(), false);
  await senderContext.close();
  await readerContext.close();
});

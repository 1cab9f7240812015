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

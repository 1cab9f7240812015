// The web app in a real browser (Debian's Chromium via playwright-core) against `substrate up`:
// the auth view, and once signed up the home view. Screenshots land in test-artifacts/browser/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchChromium, screenshot, watchErrors } from './lib/browser.mjs';
import { Substrate, makeDataDir, psql, removeDataDir } from './lib/substrate.mjs';

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

// A new browser context with a user signed up in its page; `tag` tells the users apart.
async function signedUpPage(tag) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  const email = `pw-${Date.now()}-${tag}@e2e-test.local`;
  await signUpInBrowser(page, email);
  return { context, page, errors, email };
}

function creditCountShows(page, text, timeout) {
  return page.waitForFunction((expected) => document.querySelector('#credit-count').textContent === expected, text,
    { timeout });
}

test('sign-up shows the home view, the live events arrive, and the credits become 2', async () => {
  const { context, page, errors } = await signedUpPage('a');
  assert.match(await page.locator('#welcome').textContent(), /^Hello pw-/);
  await page.locator('#events-list li[data-event-type="identity.signup"]').waitFor({ timeout: 30_000 });
  await creditCountShows(page, '2', 30_000);
  assert.equal(await page.locator('#credit-badge').getAttribute('class'), 'badge');
  await screenshot(page, 'home-after-signup');
  assert.deepEqual(errors, []);
  await context.close();
});

// The interleaving CI met once, forced with delays only: at subscription the balance is read
// before a credit change commits, the history after it, and the change's live notification
// arrives last, a duplicate of a row already shown. The change is committed the way the signup
// processor commits the bonus: a ledger row and its notification in one transaction.
test('a credit change the history already showed still updates the balance', async () => {
  const { context, page, errors, email } = await signedUpPage('h');
  await creditCountShows(page, '2', 30_000);
  const databaseUrl = s.env().DATABASE_URL;
  const userId = psql(databaseUrl, `select id from auth.users where email = '${email}'`);
  assert.match(userId, /^[0-9a-f-]{36}$/);
  const reason = `e2e_race_${Date.now()}`;

  let armed = false;
  let historyAsked = false;
  let released = false;
  let socket = null;
  let held = null;  // the server's frames from the change's notification on, until released
  let balanceRead;
  const balanceReadBeforeCommit = new Promise((resolve) => { balanceRead = resolve; });
  let commit;
  const committed = new Promise((resolve) => { commit = resolve; });
  await page.routeWebSocket(/\/realtime\/v1\/websocket/, (ws) => {
    socket = ws;
    const server = ws.connectToServer();
    ws.onMessage((message) => server.send(message));
    server.onMessage((message) => {
      if (!released && (held || String(message).includes(reason))) {
        (held ??= []).push(message);
        return;
      }
      ws.send(message);
    });
  });
  await page.route(/\/rest\/v1\/user_notifications/, async (route) => {
    if (!armed || historyAsked || route.request().method() !== 'GET') return route.continue();
    historyAsked = true;
    await balanceReadBeforeCommit;
    psql(databaseUrl, `begin;
      insert into public.credit_ledger (user_id, amount, event_type, description, event_time)
        values ('${userId}', 3, 'credit.e2e', 'e2e', '2026-01-01T00:00:00Z');
      insert into public.user_notifications (user_id, event_type, payload, event_time)
        values ('${userId}', 'credit.balance_changed', '{"amount":3,"reason":"${reason}"}', '2026-01-01T00:00:00Z');
      commit;`);
    commit();
    return route.continue();
  });
  await page.route(/\/rest\/v1\/user_credit_balances/, async (route) => {
    // The read at SUBSCRIBED is the one asked after the history.
    if (!historyAsked || route.request().method() !== 'GET') return route.continue();
    const response = await route.fetch();
    balanceRead();
    await committed;
    return route.fulfill({ response });
  });

  // A reload subscribes again with the stored session.
  armed = true;
  await page.reload();
  await page.locator('#home-view').waitFor({ state: 'visible', timeout: 15_000 });
  await page.locator('#events-list li', { hasText: reason.replaceAll('_', ' ') }).waitFor({ timeout: 30_000 });
  await creditCountShows(page, '2', 10_000);
  assert.ok(held?.length > 0, 'the change\'s live notification was held behind the history');
  released = true;
  for (const message of held.splice(0)) socket.send(message);
  await creditCountShows(page, '5', 15_000);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a broadcast sent in one browser arrives live in another; sign-out returns to the auth view', async () => {
  const { context: readerContext, page: reader } = await signedUpPage('r');
  await reader.waitForFunction(() => document.querySelector('#live-status').textContent === 'live', null,
    { timeout: 15_000 });
  const { context: senderContext, page: sender } = await signedUpPage('s');
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

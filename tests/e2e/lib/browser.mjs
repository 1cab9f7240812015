// Debian's Chromium driven by playwright-core (never a downloaded browser), with screenshots
// saved under test-artifacts/browser/ for whoever reads a failed run.
import fs from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const artifactsDir = path.resolve('test-artifacts/browser');

export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export async function screenshot(page, name) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Collects page errors and console errors so a test can assert the page stayed healthy.
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

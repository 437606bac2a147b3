// End to end in a real browser: Debian's chromium (never a downloaded one) driven by playwright-core opens
// the page `hcx serve` serves at /, sends a message and checks that the streamed reply appears.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tiny, tinyEngine, greedyChat } from './fixture.js';
import { startServer } from '../../src/serve/server.js';

const CHROMIUM = process.env.HCX_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

test('web chat page streams a reply in headless Chromium', { timeout: 60_000, skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install -y chromium)` }, async () => {
  const { chromium } = await import('playwright-core');
  const { tok, model } = await tiny();
  const server = await startServer(tinyEngine(tok, model), tok, { modelName: 'tiny-web' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url + '/');
    await page.fill('#temperature', '0');
    await page.fill('#max_tokens', '12');
    await page.fill('#input', 'What is continuous batching?');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.user');
    const reply = page.locator('.msg.assistant').first();
    await page.waitForSelector('.msg.assistant[data-state="done"]', { timeout: 30_000 });
    const text = await reply.textContent();
    const want = greedyChat(tok, model, 'What is continuous batching?', 12);
    assert.ok(want.length > 0);
    assert.equal(text, want, 'the page shows the streamed greedy reply');
    // The metrics panel fills from /v1/stats.
    await page.waitForFunction(() => document.querySelectorAll('#stats tr').length > 5, undefined, { timeout: 10_000 });
    assert.equal(await page.textContent('#model'), 'tiny-web');
    const stats = await page.textContent('#stats');
    assert.match(stats ?? '', /KV blocks/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close(0);
  }
});

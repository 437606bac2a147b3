// The dashboard in headless Chromium (Debian's, through playwright-core): opened on an empty store, it
// follows a pipeline run live (stage states change without a reload), then shows the loss curves, the
// evaluation table per checkpoint and, on a click, the log of the failed job. Saves a screenshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDashboard } from '../../src/pipeline/dashboard.js';
import { openStore } from '../../src/pipeline/store.js';
import { hcx, tinyPlan, writeCorpus } from './fixture.js';

const CHROMIUM = process.env.HCX_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts/dashboard.png');

const BROKEN = `  broken:
    kind: eval
    after: tokenizer
    retries: 0
    config: { suites: [heldout] }
`;

test('dashboard follows a run live: stages, curves, evaluations, a failed job\'s log (headless Chromium)', { timeout: 180_000, skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install -y chromium)` }, async () => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(path.join(tmpdir(), 'hcx-dash-'));
  writeCorpus(dir);
  tinyPlan(dir, { extra: BROKEN });
  const store = await openStore(`sqlite:${path.join(dir, 'out', 'pipeline.db')}`);
  const dash = await startDashboard(store, { port: 0, pollMs: 200 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dash.url + '/');
    await page.waitForSelector('#live.on');
    // Record every state the pretrain card shows, to prove the page changes while the run goes on.
    await page.evaluate(() => {
      const w = window as unknown as { seen: string[] };
      w.seen = [];
      setInterval(() => {
        const s = document.querySelector('.stage[data-stage=pretrain]')?.getAttribute('data-state');
        if (s && w.seen[w.seen.length - 1] !== s) w.seen.push(s);
      }, 20);
    });
    const run = hcx(['pipeline', 'run', 'plan.yaml'], dir);
    await page.waitForSelector('.stage[data-stage=pretrain][data-state=done]', { timeout: 120_000 });
    await page.waitForFunction(() => document.querySelectorAll('#eval-table tr[data-row^="pretrain-"]').length === 3, undefined, { timeout: 60_000 });
    const r = await run.done;
    assert.equal(r.code, 1, 'the plan has a failing stage');
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    assert.ok(seen.length >= 2 && seen[seen.length - 1] === 'done', `the pretrain card changed live: ${seen.join(' -> ')}`);
    await page.waitForSelector('.stage[data-stage=broken][data-state=failed]');
    assert.equal(await page.getAttribute('.stage[data-stage=data]', 'data-state'), 'done');
    // Loss curve: 12 training steps, 2 held-out points (steps 6 and 12).
    await page.waitForSelector('[data-chart="pretrain: loss"] path[data-series=loss]');
    assert.equal(await page.getAttribute('[data-chart="pretrain: loss"] path[data-series=loss]', 'data-points'), '12');
    assert.equal(await page.getAttribute('[data-chart="pretrain: loss"] path[data-series=eval_loss]', 'data-points'), '2');
    const header = await page.textContent('#eval-table thead');
    for (const c of ['heldout.loss', 'heldout.perplexity', 'generate.distinct_2']) assert.ok(header?.includes(c), `evaluation column ${c}`);
    assert.deepEqual(await page.$$eval('#eval-table tr[data-row^="pretrain-"] td:nth-child(2)', (tds) => tds.map((t) => t.textContent)), ['4', '8', '12']);
    // The failed job's log, one click away.
    await page.click('button[data-job^="stage|broken"]');
    await page.waitForFunction(() => document.querySelector('#log')?.textContent?.includes('exactly one upstream stage with a checkpoint'), undefined, { timeout: 10_000 });
    mkdirSync(path.dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await dash.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

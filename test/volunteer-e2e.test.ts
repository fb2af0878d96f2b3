import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../coordinator/server';
import { REFERENCE_MODEL } from '../worker/engine-choice';
import { accessibilityProblems, launchChromium } from './browser';
import { api, mlpJob, tempDir, waitUntil } from './helpers';

// Callbacks given to page.evaluate run in Chromium; these are the page globals they touch (this file is Node code).
declare const document: {
  querySelector(s: string): { shadowRoot: { querySelector(s: string): { textContent: string | null } | null } | null } | null;
  dispatchEvent(e: unknown): void;
};
declare const Event: new (type: string) => unknown;
type Row = { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };
declare const navigator: { serviceWorker?: { controller: unknown } };

const DIST = resolve(import.meta.dirname, '..', 'dist');
const TOKEN = 'gt_volunteer_test_operator';

// A volunteer opens the page, consents, and its Web Worker trains on Chromium's WebGPU; the PWA survives a reload
// (IndexedDB keeps its identity and totals) and starts offline from the service worker.
describe('volunteer PWA in headless Chromium', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let browser: Browser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(join(DIST, 'index.html'))) throw new Error('web client not built: `npm test` runs `npm run build` first');
    const dir = tempDir('grid-volunteer-');
    coord = await startCoordinator({
      port: 0,
      host: '127.0.0.1',
      databaseUrl: `sqlite:${join(dir, 'grid.db')}`,
      dataDir: dir,
      webDir: DIST,
      enrolment: true,
      operatorToken: TOKEN,
      maxFrameBytes: 64 << 20,
      maxBodyBytes: 1 << 20,
      heartbeatMs: 5000,
      log: { debug() {}, info() {}, warn() {}, error: console.error },
    });
    url = `http://127.0.0.1:${coord.port}`;
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e}`));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await coord?.close();
  });

  const text = async (sel: string) => (await page.$eval(`pierce/${sel}`, (e) => e.textContent ?? '')).trim();

  it('consents, times its engines, contributes shards on the fastest, and the job completes', async () => {
    // The model every worker times at start: the rates it reports are the ones it chose this job's engine by.
    const spec = mlpJob({
      model: REFERENCE_MODEL,
      rounds: 3,
      globalBatch: 128,
      shardSize: 64,
      evalEvery: 0,
      leaseMs: 120_000,
      description: 'telling trousers from pullovers',
    });
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', spec);
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('grid-volunteer')?.shadowRoot?.querySelector('#adapter')?.textContent?.includes('webgpu'), {
      timeout: 60_000,
    });
    console.log(`volunteer GPU: ${await text('#adapter')}`);
    expect(await text('#fallback')).toMatch(/software \(CPU\) fallback/); // SwiftShader here: the volunteer is told
    await (await page.waitForSelector('pierce/#contribute'))!.click();
    await waitUntil('job done', async () => (await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`)).state === 'done', 300_000, 500);
    type Rate = { engine: string; adapter: string; samplesPerSec: number };
    const workers = await api<{ id: string; kind: string; shardsDone: number; capabilities: { backend: string; engines: Rate[] } }[]>(
      url,
      TOKEN,
      '/api/workers',
    );
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({ kind: 'browser', shardsDone: 6, capabilities: { backend: 'webgpu' } });
    // Every engine the browser has was timed; the shards ran on the fastest, as the page says.
    const rates = workers[0].capabilities.engines;
    console.log(`volunteer engines: ${rates.map((r) => `${r.engine} ${r.samplesPerSec}/s`).join(', ')}`);
    expect(rates.map((r) => r.engine).sort()).toEqual(['ort-wasm', 'ort-webgpu', 'webgpu']);
    expect(rates.every((r) => r.samplesPerSec > 0)).toBe(true);
    expect(await text('#engine')).toBe(`${rates[0].engine} (${rates[0].samplesPerSec.toLocaleString('en-US')} samples/s)`);
    await waitUntil('page shows contribution', async () => (await text('#contributed')).startsWith('6 shards'), 10_000);
    expect(await text('#about')).toBe('test-mlp, for operator (env): telling trousers from pullovers'); // what, for whom
    // How far the job is when its last shard was handed out (in the last of 3 rounds: 2 done), and when it should end
    // at the pace this volunteer saw.
    expect(await text('#progress')).toMatch(/^66% \(about \d+ (s|min) to go\)$/);
    // 6 fp32 results of the 784-256-128-10 MLP (235,146 parameters, 4 bytes each) went up: at least 5.6 MB.
    expect(Number.parseFloat(await text('#uploaded'))).toBeGreaterThanOrEqual(5.6);
  }, 400_000);

  it('shows the operator the jobs and the workers with their standing, with no token in any URL', async () => {
    const consolePage = await browser.newPage();
    await consolePage.goto(`${url}/console/workers`); // the workers' view, at its own address
    const input = await consolePage.waitForSelector('pierce/#token');
    await input?.type(TOKEN);
    await input?.press('Enter');
    await consolePage.$eval('pierce/#token', (e) => e.dispatchEvent(new Event('change')));
    const cells = async (table: string) =>
      consolePage.$$eval(`pierce/#${table} tr`, (rows) =>
        rows.slice(1).map((r) => Array.from((r as unknown as Row).querySelectorAll('td'), (td) => td.textContent?.trim())),
      );
    await waitUntil('workers table', async () => (await cells('workers')).length === 1, 20_000);
    const [worker] = await cells('workers');
    const fastest = (await api<{ capabilities: { engines: { engine: string }[] } }[]>(url, TOKEN, '/api/workers'))[0].capabilities.engines[0].engine;
    expect(worker.slice(1, 6)).toEqual(['browser', fastest, 'online', '1.000', '6']);
    await (await consolePage.waitForSelector('pierce/#nav-runs'))?.click();
    await waitUntil('jobs table', async () => (await cells('jobs')).length === 1, 20_000);
    expect((await cells('jobs'))[0]?.[3]).toBe('done'); // after the compare box, id and name
    const hrefs = await consolePage.$$eval('pierce/a', (as) => as.map((a) => (a as unknown as { href: string }).href));
    expect(hrefs.filter((h) => h.includes('token='))).toEqual([]);
    // model.onnx through the page (token in a header), loadable by onnxruntime-node.
    const downloads = tempDir('grid-downloads-');
    const cdp = await consolePage.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await (await consolePage.waitForSelector('pierce/#jobs button.onnx'))?.click();
    const file = await waitUntil('model.onnx downloaded', async () => readdirSync(downloads).find((f) => f.endsWith('.onnx')), 20_000);
    const session = await ort.InferenceSession.create(readFileSync(join(downloads, file)));
    expect(session.outputNames).toEqual(['logits', 'probabilities']);
    await consolePage.close();
  }, 60_000);

  it('keeps its identity and totals across a reload and carries on contributing', async () => {
    const before = (await api<{ id: string }[]>(url, TOKEN, '/api/workers'))[0].id;
    const uploaded = async () => Number.parseFloat(await text('#uploaded'));
    const uploadedBefore = await uploaded();
    expect(uploadedBefore).toBeGreaterThan(0);
    // The GPU's matmul timing is kept beside the engine rates: the reload opens the device without timing it (10 s here).
    const kept = (await page.evaluate(`new Promise((done) => {
      const open = indexedDB.open('grid-volunteer');
      open.onsuccess = () => {
        const keys = open.result.transaction('bytes').objectStore('bytes').getAllKeys();
        keys.onsuccess = () => done(keys.result);
      };
    })`)) as string[];
    expect(kept.filter((k) => k.startsWith('matmul-verdict:')).length).toBe(1);
    expect(kept.filter((k) => k.startsWith('engine-rate:')).length).toBeGreaterThanOrEqual(2);
    await page.reload();
    await waitUntil('auto-resume', async () => (await text('#state')) === 'running', 30_000);
    expect(await text('#contributed')).toMatch(/^6 shards/);
    expect(await uploaded()).toBeGreaterThanOrEqual(uploadedBefore); // byte totals survive the reload too
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', mlpJob({ rounds: 1, globalBatch: 64, shardSize: 64, evalEvery: 0, leaseMs: 120_000 }));
    await waitUntil('second job done', async () => (await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`)).state === 'done', 120_000, 500);
    const workers = await api<{ id: string; shardsDone: number }[]>(url, TOKEN, '/api/workers');
    expect(workers.map((w) => w.id)).toEqual([before]);
    expect(workers[0].shardsDone).toBe(7);
  }, 200_000);

  it('keeps its local-step optimizer state across a reload (IndexedDB), continuing the step count', async () => {
    const local = { mode: 'local', local: { steps: 4, lr: 0.001 }, rounds: 2000, globalBatch: 64, shardSize: 64, evalEvery: 0 };
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', mlpJob(local));
    const step = async () => Number((await text('#inner').catch(() => '')).match(/step (\d+)/)?.[1] ?? 0);
    await waitUntil('a few local shards', async () => (await step()) >= 12, 60_000, 100);
    const before = await step();
    await page.reload();
    await waitUntil('auto-resume', async () => (await text('#state')) === 'running', 30_000);
    const after = await waitUntil('a local shard after the reload', step, 60_000, 50);
    await api(url, TOKEN, `/api/jobs/${id}/cancel`, {}); // before any assertion: a running job would change the next test's credit
    console.log(`inner AdamW step before the reload ${before}, first after it ${after}`);
    // A fresh state would start again at 4. The last shard's IndexedDB write may still be uncommitted when the page
    // reloads (a reload aborts it), so the state resumes from that shard's or the one before: never less than `before`.
    expect(after).toBeGreaterThan(4);
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after % 4).toBe(0);
  }, 200_000);

  it("pauses while its tab is hidden when asked to, and shows the verified credit on the coordinator's record", async () => {
    await (await page.waitForSelector('pierce/#hidden'))?.click(); // "Pause while this tab is hidden"
    const visibility = (state: 'hidden' | 'visible') =>
      page.evaluate((v) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => v });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await visibility('hidden');
    await waitUntil('paused while hidden', async () => (await text('#state')) === 'paused: this tab is hidden', 10_000, 100);
    await visibility('visible');
    await waitUntil('resumed when visible', async () => (await text('#state')) === 'running', 10_000, 100);
    const [worker] = await api<{ id: string; name: string }[]>(url, TOKEN, '/api/workers');
    // The record as it stands: read again at each look, since a round that closed as the last job was cancelled can
    // land after the cancel returned.
    const onRecord = async () => {
      const standing = (await Promise.all((await api<{ id: number }[]>(url, TOKEN, '/api/jobs')).map((j) => coord.store.results(j.id))))
        .flat()
        .filter((r) => r.worker_id === worker.id && r.accepted === 1);
      // Points are GFLOPs of work that stood: 6 per parameter per sample and step (4 steps a sample in the local job).
      const points = Math.round(standing.reduce((n, r) => n + r.points, 0) * 10) / 10;
      const perDay = Math.round((points / 7) * 10) / 10; // all of it this week
      const expected = `${points.toLocaleString('en-US')} points (${perDay.toLocaleString('en-US')} a day this week), ${standing.length} shards, ${standing.reduce((n, r) => n + r.samples, 0)} samples`;
      return { standing, points, perDay, expected };
    };
    expect((await onRecord()).points).toBeGreaterThan(0);
    const team = await page.waitForSelector('pierce/#team');
    await team?.type('Lab 7');
    await team?.press('Tab'); // change: kept in the settings, told to the coordinator when the worker next says hello
    // The settings reach IndexedDB asynchronously: reloading before they land would lose the team.
    const savedTeam = () =>
      page.evaluate(`new Promise((done) => {
        const open = indexedDB.open('grid-volunteer');
        open.onerror = () => done('');
        open.onsuccess = () => {
          const get = open.result.transaction('state').objectStore('state').get('settings');
          get.onsuccess = () => done(get.result?.team ?? '');
          get.onerror = () => done('');
        };
      })`) as Promise<string>;
    await waitUntil('team saved', async () => (await savedTeam()) === 'Lab 7', 10_000, 100);
    await page.reload(); // the page reads the credit when it starts (and every 10 s)
    let shown = '';
    let record = await onRecord();
    await waitUntil(
      () => `credit shown: "${shown}", on record "${record.expected}"`,
      async () => {
        [shown, record] = await Promise.all([text('#credit'), onRecord()]);
        return shown === record.expected;
      },
      30_000,
      200,
    );
    const { standing, points, perDay } = record;
    const teams = async () =>
      page.$$eval('pierce/#teams tr', (rows) => rows.slice(1).map((r) => Array.from((r as unknown as Row).querySelectorAll('td'), (td) => td.textContent)));
    await waitUntil('team credited', async () => (await teams()).length === 1, 45_000, 500);
    expect(await teams()).toEqual([['Lab 7', '1', points.toLocaleString('en-US'), perDay.toLocaleString('en-US')]]);
    const board = await page.$$eval('pierce/#leaderboard tr', (rows) =>
      rows.slice(1).map((r) => Array.from((r as unknown as Row).querySelectorAll('td'), (td) => td.textContent)),
    );
    expect(board.map((row) => [row[1], row[3]])).toEqual([[points.toLocaleString('en-US'), String(standing.length)]]);
    // A certificate of it, in a window of its own, ready to print.
    const opened = new Promise<Page>((resolve) => page.once('popup', (p) => resolve(p as Page)));
    // Polled: waitForSelector re-checks pierce/ selectors on light-DOM mutations only, and the button is the shadow DOM's.
    await (await waitUntil('certificate button', async () => (await page.$('pierce/#certificate')) ?? undefined, 20_000, 100)).click();
    const certificate = await opened;
    const said = await certificate.$eval('#certificate', (e) => e.textContent?.replace(/\s+/g, ' ') ?? '');
    expect(said).toContain(`${points.toLocaleString('en-US')} points`);
    expect(said).toContain(`in ${standing.length} shards`);
    await certificate.close();
  }, 120_000);

  it('has no serious or critical accessibility violations (axe-core) on the volunteer page and the console', async () => {
    const shots = resolve(import.meta.dirname, '..', 'artifacts', 'screenshots');
    mkdirSync(shots, { recursive: true });
    const problems: string[] = [];
    for (const path of ['/', '/console']) {
      const p = await browser.newPage();
      await p.goto(`${url}${path}`);
      await p.waitForSelector(path === '/' ? 'pierce/#adapter' : 'pierce/#token');
      for (const problem of await accessibilityProblems(p)) problems.push(`${path}: ${problem}`);
      for (const [name, width, height] of [
        ['desktop', 1280, 900],
        ['phone', 390, 844],
      ] as const) {
        await p.setViewport({ width, height });
        await new Promise((r) => setTimeout(r, 500)); // let the page lay out and paint at the new width
        await p.screenshot({ path: join(shots, `${path === '/' ? 'volunteer' : 'console'}-${name}.png`), fullPage: true });
      }
      await p.close();
    }
    expect(problems).toEqual([]);
  }, 60_000);

  it('is installable and starts offline from the service worker', async () => {
    await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, { timeout: 30_000 });
    const manifest = await page.$eval('link[rel=manifest]', (l) => (l as unknown as { href: string }).href);
    expect(((await (await fetch(manifest)).json()) as { display: string }).display).toBe('standalone');
    await page.setOfflineMode(true);
    await page.reload();
    await page.waitForSelector('pierce/h1', { timeout: 30_000 });
    expect(await text('h1')).toContain('Lend your GPU');
    // The volunteer is told, in words, that the server cannot be reached and when the next try is.
    await waitUntil('told it is offline', async () => /^server unreachable, retrying in \d+ s$/.test(await text('#event')), 60_000, 200);
    await page.setOfflineMode(false);
  }, 120_000);

  it('tells the volunteer why its identity was shut out, and again on every device (here, a reload) that tries it', async () => {
    await page.reload();
    await waitUntil('auto-resume', async () => (await text('#state')) === 'running', 30_000);
    const [worker] = await api<{ id: string }[]>(url, TOKEN, '/api/workers');
    await coord.store.setWorkerState(worker.id, 'quarantined'); // what the quarantine does on evidence against a worker
    await coord.scheduler.dispatcher.shutOut(worker.id, 'test: results refused as wrong');
    const told = async () => (await text('#stopped').catch(() => '')).includes('no longer takes work from this volunteer identity');
    await waitUntil('told why it stopped', told, 20_000, 200);
    expect(await text('#state')).toBe('stopped');
    await page.reload(); // the same token from another start: refused at hello, and said so
    await waitUntil('told again after a reload', told, 30_000, 200);
  }, 90_000);
});

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser';
import { api, startTestCoordinator, tempDir, volunteerJoins, waitUntil } from './helpers';

const DIST = resolve(import.meta.dirname, '..', 'dist');
const TOKEN = 'gt_default_job_operator';
/** What the form's default job moved up for 5 epochs before it defaulted to the volunteer mode (the 2026-12-03 review). */
const BEFORE_UP_MB = 2204.8;

// The job a researcher gets by pressing Submit on the console's form as it comes (5 epochs of the Fashion-MNIST MLP),
// computed by one browser volunteer from start to end: the bytes it costs a home connection, printed and bounded.
describe("the console form's default job, computed by a browser volunteer", () => {
  let coord: Awaited<ReturnType<typeof startTestCoordinator>>;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(join(DIST, 'console.html'))) throw new Error('web client not built: `npm test` runs `npm run build` first');
    coord = await startTestCoordinator(tempDir('grid-default-job-'), TOKEN, { webDir: DIST, enrolment: true });
    url = `http://127.0.0.1:${coord.port}`;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await coord?.close();
  });

  it('moves at least 10x fewer bytes up than it did, and learns', async () => {
    const console_ = await browser.newPage();
    await console_.goto(`${url}/console`);
    const token = await console_.waitForSelector('pierce/#token');
    await token?.type(TOKEN);
    await console_.$eval('pierce/#token', (e) => e.dispatchEvent(new Event('change')));
    const name = await console_.waitForSelector('pierce/#f-name');
    await name?.click({ count: 3 });
    await name?.type('as-the-form-comes');
    await (await console_.waitForSelector('pierce/#submit'))?.click();
    const job = await waitUntil('the job submitted', async () =>
      (await api<{ id: number; name: string }[]>(url, TOKEN, '/api/jobs')).find((j) => j.name === 'as-the-form-comes'),
    );
    const { spec } = await api<{ spec: Record<string, unknown> }>(url, TOKEN, `/api/jobs/${job.id}`);
    expect(spec).toMatchObject({ epochs: 5, mode: 'local', encoding: 'int8', download: 'int8-delta' });

    const volunteer = await browser.newPage();
    volunteer.on('pageerror', (e) => console.error(`page error: ${e}`));
    const started = performance.now();
    await volunteerJoins(volunteer, url, TOKEN);
    const done = await waitUntil(
      'the job done',
      async () => {
        const j = await api<{ state: string; bytesUp: number; bytesDown: number; round: number; totalRounds: number }>(url, TOKEN, `/api/jobs/${job.id}`);
        return j.state === 'done' && j;
      },
      540_000,
      1000,
    );
    const seconds = (performance.now() - started) / 1000;
    const { workers } = await api<{ workers: { kind: string; accepted: number }[] }>(url, TOKEN, `/api/jobs/${job.id}/workers`);
    const accuracy =
      (await api<{ name: string; value: number }[]>(url, TOKEN, `/api/jobs/${job.id}/metrics`)).filter((m) => m.name === 'test_accuracy').at(-1)?.value ?? 0;
    const [up, down] = [done.bytesUp / 1e6, done.bytesDown / 1e6];
    console.log(
      `the form's default job (5 epochs, ${done.totalRounds} rounds) by one browser volunteer in ${seconds.toFixed(0)} s: ` +
        `${up.toFixed(1)} MB up, ${down.toFixed(1)} MB down (${(BEFORE_UP_MB / up).toFixed(0)}x fewer up than ${BEFORE_UP_MB} MB), ` +
        `test accuracy ${(accuracy * 100).toFixed(2)}%`,
    );
    expect(workers.map((w) => w.kind)).toEqual(['browser']);
    expect(up * 10).toBeLessThan(BEFORE_UP_MB);
    expect(accuracy).toBeGreaterThan(0.8);
  }, 600_000);
});

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { zipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { startCoordinator } from '../coordinator/server';
import { initParams } from '../kernels/models/index';
import { inferenceGraph } from '../kernels/onnx/models';
import type { ModelSpec } from '../protocol/model';
import { accessibilityProblems, launchChromium } from './browser';
import { api, mlpJob, type Proc, startTestCoordinator, startWorker, tempDir, waitUntil } from './helpers';

const DIST = resolve(import.meta.dirname, '..', 'dist');
const SHOTS = resolve(import.meta.dirname, '..', 'artifacts', 'screenshots');
const TOKEN = 'gt_console_researcher_op';

// A researcher's way through the console: sign in, fill the job form (a bad value is refused at its field), submit,
// watch the job page's charts fill, download model.onnx through the page.
describe('researcher console in headless Chromium', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let browser: Browser;
  let page: Page;
  let worker: Proc;

  beforeAll(async () => {
    if (!existsSync(join(DIST, 'console.html'))) throw new Error('web client not built: `npm test` runs `npm run build` first');
    const dir = tempDir('grid-console-');
    coord = await startTestCoordinator(dir, TOKEN, { webDir: DIST, enrolment: true, maxBodyBytes: 1 << 20 });
    worker = startWorker(`http://127.0.0.1:${coord.port}`, TOKEN, 'console-worker');
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e}`));
  }, 120_000);
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await browser?.close();
    await coord?.close();
  });

  const text = async (sel: string) => (await page.$eval(`pierce/${sel}`, (e) => e.textContent ?? '')).trim();
  // Polled: puppeteer's waitForSelector re-checks a pierce/ selector on mutations of the light DOM only, so an element a
  // shadow root renders later (a view filled by its fetch) can be missed until the timeout.
  const find = (sel: string, timeoutMs = 30_000) => waitUntil(sel, async () => (await page.$(`pierce/${sel}`)) ?? undefined, timeoutMs, 100);
  const fill = async (sel: string, value: string) => {
    const input = await find(sel);
    await input?.click({ count: 3 });
    await input?.type(value);
  };
  const jsonBox = () => page.$eval('pierce/#json', (e) => (e as unknown as { value: string }).value);
  const shoot = async (name: string) => {
    mkdirSync(SHOTS, { recursive: true });
    for (const [size, width, height] of [
      ['desktop', 1280, 900],
      ['phone', 390, 844],
    ] as const) {
      await page.setViewport({ width, height });
      await new Promise((r) => setTimeout(r, 500)); // let the page lay out and paint at the new width
      await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`), fullPage: true });
      // Nothing wider than a phone: wide tables scroll in their own box, charts follow their width.
      if (size === 'phone') expect(await page.evaluate('document.documentElement.scrollWidth'), `${name} at 390 px`).toBeLessThanOrEqual(width);
    }
    await page.setViewport({ width: 1280, height: 900 });
  };

  it('stops polling with a refused token and forgets the refusal when a good one is entered', async () => {
    await page.goto(`http://127.0.0.1:${coord.port}/console`);
    const apiCalls: string[] = [];
    const count = (r: { url(): string }) => r.url().includes('/api/') && apiCalls.push(r.url());
    page.on('request', count);
    await fill('#token', 'gt_not_a_token');
    await page.$eval('pierce/#token', (e) => e.dispatchEvent(new Event('change')));
    const message = "document.querySelector('grid-console')?.shadowRoot?.querySelector('#message')?.textContent ?? ''";
    await page.waitForFunction(`/UNAUTHORIZED/.test(${message})`);
    const afterRefusal = apiCalls.length;
    await new Promise((r) => setTimeout(r, 5000)); // two and a half polling periods
    expect(apiCalls.length - afterRefusal).toBe(0);
    await fill('#token', TOKEN);
    await page.$eval('pierce/#token', (e) => e.dispatchEvent(new Event('change')));
    await page.waitForFunction(`!/UNAUTHORIZED/.test(${message})`);
    page.off('request', count);
  });

  it('submits through the form, shows the job live, and hands over its model.onnx', async () => {
    await page.goto(`http://127.0.0.1:${coord.port}/console`);
    await fill('#token', TOKEN);
    await page.$eval('pierce/#token', (e) => e.dispatchEvent(new Event('change')));
    await fill('#f-name', 'console-mlp');
    await fill('#f-layers', '784,64,10');
    await fill('#f-globalBatch', '-5'); // checked as typed, by the schema the server uses
    await waitUntil('field error', async () => (await text('#e-globalBatch')).includes('globalBatch'), 5000, 100);
    expect(await page.$eval('pierce/#f-globalBatch', (e) => e.getAttribute('aria-invalid'))).toBe('true');
    await fill('#f-globalBatch', '256');
    await fill('#f-epochs', '0.2');
    expect(await text('#e-globalBatch')).toBe('');
    expect(JSON.parse(await jsonBox())).toMatchObject({ name: 'console-mlp', globalBatch: 256, model: { layers: [784, 64, 10] } });
    expect(await text('#f-traffic')).toMatch(/a volunteer computing 1,000 samples\/s moves [\d.]+ MB an hour/); // volunteer mode by default
    // Presets by who will compute it: trusted native workers get synchronous fp32 (and the form warns what it costs a home uplink).
    const choose = (sel: string, v: string) =>
      page.$eval(
        `pierce/${sel}`,
        (e, to) => {
          (e as unknown as { value: string }).value = to;
          e.dispatchEvent(new Event('change'));
        },
        v,
      );
    const value = (sel: string) => page.$eval(`pierce/${sel}`, (e) => (e as unknown as { value: string }).value);
    expect(await value('#f-preset')).toBe('home volunteers');
    await choose('#f-preset', 'trusted native workers');
    await waitUntil('the preset applied', async () => (await value('#f-mode')) === 'sync' && (await value('#f-encoding')) === 'fp32', 5000, 100);
    expect([await value('#f-shardSizing'), await value('#f-workers')]).toEqual(['by-rate', 'native']);
    expect(await text('#f-traffic-warning')).toMatch(/More than a home connection should give/);
    await choose('#f-preset', 'home volunteers');
    await waitUntil('back to the volunteer preset', async () => (await value('#f-mode')) === 'local' && (await value('#f-workers')) === 'any', 5000, 100);
    await shoot('job-form');
    await (await page.waitForSelector('pierce/#submit'))?.click();
    await waitUntil('job page', async () => (await text('#job-state').catch(() => '')).startsWith('running'), 20_000, 200);
    // The charts fill as rounds close: the loss chart's legend shows a value once a round is in.
    const progress = async () => Number((await text('#job-progress')).split(' ')[0]);
    await waitUntil('rounds closing', async () => (await progress()) >= 3, 60_000, 200);
    await page.waitForSelector('pierce/.uplot canvas');
    await waitUntil('done', async () => (await text('#job-state')).startsWith('done'), 120_000, 500);
    expect(await text('#job-best')).toMatch(/^\d+\.\d\d%$/);
    // The run log: the submission, the evaluation of the last round, the end; the throughput chart drawn.
    await waitUntil('the run log', async () => (await text('#run-log')).includes('test_accuracy'), 10_000, 100);
    expect(await text('#run-log')).toMatch(/done at round \d+[\s\S]*submitted/);
    expect(await page.$eval('pierce/#throughput-chart', (c) => c.shadowRoot?.textContent ?? '')).toContain('samples/s');
    // Bytes over time: the job's totals at each round's close, charted; each worker's share of the samples that stand.
    const base = `http://127.0.0.1:${coord.port}`;
    const jobId = Number(new URL(page.url()).pathname.split('/').pop());
    const moved = (await api<{ name: string; value: number }[]>(base, TOKEN, `/api/jobs/${jobId}/metrics`))
      .filter((m) => m.name === 'bytes_up')
      .map((m) => m.value);
    const total = await api<{ bytesUp: number }>(base, TOKEN, `/api/jobs/${jobId}`);
    expect(moved.length).toBeGreaterThanOrEqual(2);
    expect(
      moved.every((b, i) => b > (moved[i - 1] ?? 0) && b <= total.bytesUp),
      `${moved} of ${total.bytesUp}`,
    ).toBe(true);
    expect(await page.$eval('pierce/#bytes-chart', (c) => c.shadowRoot?.textContent ?? '')).toContain('bytes_down');
    await waitUntil('the contribution', async () => (await text('#contribution')).includes('console-worker'), 10_000, 100);
    expect(await text('#contribution')).toMatch(/100\.0% \([\d,]+ samples\)/); // one worker: all of it
    // Zoom: a drag across the loss chart narrows its x range; a double click shows it all again.
    const range = () => page.$eval('pierce/#loss-chart', (c) => (c as unknown as { xRange: [number, number] }).xRange);
    const full = await range();
    const chart = await find('#loss-chart');
    const box = await (await chart?.$('pierce/.u-over'))?.boundingBox();
    if (!box) throw new Error('no plot area on the loss chart');
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, y, { steps: 5 });
    await page.mouse.up();
    const zoomed = await range();
    expect(zoomed[0]).toBeGreaterThan(full[0]);
    expect(zoomed[1]).toBeLessThan(full[1]);
    await new Promise((r) => setTimeout(r, 2500)); // a polling period: fresh data leaves the zoom alone
    expect(await range()).toEqual(zoomed);
    await page.mouse.click(box.x + box.width / 2, y, { count: 2 });
    await waitUntil('zoomed out', async () => (await range())[0] === full[0], 5000, 100);
    expect(await accessibilityProblems(page)).toEqual([]); // signed in: form, job page, operator view
    await shoot('job-page');
    const downloads = tempDir('grid-console-downloads-');
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await (await page.waitForSelector('pierce/#job-onnx'))?.click();
    const file = await waitUntil('model.onnx downloaded', async () => readdirSync(downloads).find((f) => f.endsWith('.onnx')), 20_000);
    const session = await ort.InferenceSession.create(readFileSync(join(downloads, file)));
    expect(session.inputNames).toEqual(['input']);
    // The run page's chart controls: smoothing draws each metric again, smoothed; the loss goes on a log scale.
    const lossChart = () => page.$eval('pierce/#loss-chart', (c) => c.shadowRoot?.textContent ?? '');
    await page.$eval('pierce/#smoothing', (el) => {
      (el as unknown as { value: string }).value = '0.6';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await waitUntil('smoothed series', async () => (await lossChart()).includes('train_loss smoothed'), 10_000, 100);
    expect(await text('#smoothing-value')).toBe('0.60');
    await (await page.waitForSelector('pierce/#log-loss'))?.click();
    await waitUntil('log scale', async () => (await lossChart()).includes('(log scale)'), 10_000, 100);
    await shoot('job-page-smoothed');
    // Every metric of the run as one CSV, a column per metric.
    await (await page.waitForSelector('pierce/#job-metrics-csv'))?.click();
    const csv = await waitUntil('metrics.csv downloaded', async () => readdirSync(downloads).find((f) => f.endsWith('-metrics.csv')), 20_000);
    const [header, ...rows] = readFileSync(join(downloads, csv), 'utf8').trim().split('\n');
    expect(header).toMatch(/^round,time,.*train_loss/);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    await (await page.waitForSelector('pierce/#job-metrics-json'))?.click(); // the same points as JSON, one object each
    const json = await waitUntil('metrics.json downloaded', async () => readdirSync(downloads).find((f) => f.endsWith('-metrics.json')), 20_000);
    const points = JSON.parse(readFileSync(join(downloads, json), 'utf8')) as { round: number; name: string; value: number; at: number }[];
    expect(points.filter((p) => p.name === 'train_loss' && Number.isFinite(p.value)).length).toBeGreaterThanOrEqual(3);
  }, 240_000);

  it('gives each run its own address, which a reload keeps and back leaves', async () => {
    const id = Number(/\/console\/jobs\/(\d+)$/.exec(page.url())?.[1]); // the run the last test submitted and watched
    expect(id).toBeGreaterThan(0);
    await page.reload();
    await waitUntil('the same run after a reload', async () => (await text('#job-state').catch(() => '')).startsWith('done'), 20_000, 200);
    expect(await text('#job-title')).toContain(`${id}`);
    await page.goBack(); // to /console, where the form was
    await waitUntil('no run page at /console', async () => (await page.$('pierce/#job-state')) === null, 10_000, 100);
    expect(new URL(page.url()).pathname).toBe('/console');
    await page.goForward();
    await waitUntil('the run again', async () => (await text('#job-state').catch(() => '')).startsWith('done'), 10_000, 100);
  }, 60_000);

  it('shows what a language model wrote at its evaluations, and continues a prompt from its page', async () => {
    const base = `http://127.0.0.1:${coord.port}`;
    const corpus = readFileSync('/usr/share/common-licenses/GPL-3').subarray(0, 8000);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const up = await fetch(`${base}/api/datasets/gpl-console/train?format=text&blockSize=16`, { method: 'POST', headers: auth, body: corpus });
    expect(up.status).toBe(201);
    const { classes: vocab, tokenizer } = (await up.json()) as { classes: number; tokenizer: { vocab: string } };
    const spec = mlpJob({
      ...{ name: 'console-gpt', model: { kind: 'gpt', vocab, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 } },
      ...{ dataset: { name: 'gpl-console', split: 'train', evalSplit: 'validation' }, rounds: 20, globalBatch: 16, shardSize: 16 },
      ...{ evalEvery: 10, checkpointEvery: 10, evalSamples: 64 },
    });
    const { id } = await api<{ id: number }>(base, TOKEN, '/api/jobs', spec);
    await page.goto(`${base}/console/jobs/${id}`);
    // Signed in already when the tests before ran; this one can run alone. Set through the DOM, as below.
    await find('#token');
    await page.$eval(
      'pierce/#token',
      (el, token) => {
        (el as unknown as { value: string }).value = token;
        el.dispatchEvent(new Event('change'));
      },
      TOKEN,
    );
    await waitUntil('done', async () => (await text('#job-state').catch(() => '')).startsWith('done'), 120_000, 200);
    // Two samples at each of its two evaluations, each a continuation in the corpus's own characters.
    const samples = await api<{ round: number; prompt: string; text: string }[]>(base, TOKEN, `/api/jobs/${id}/samples`);
    expect(samples.map((s) => s.round)).toEqual([20, 20, 10, 10]);
    for (const s of samples) expect([...(s.prompt + s.text)].every((c) => tokenizer.vocab.includes(c)) && s.text.length > 0).toBe(true);
    await waitUntil('the latest samples on the page', async () => (await text('#text-samples').catch(() => '')).includes(samples[0].text.trim()), 20_000, 200);
    // A prompt of the researcher's own, continued by the latest checkpoint: what the API gives for the same request.
    // Typed and sent through the DOM: clicks at coordinates on a page whose list re-renders can tick a box instead.
    await find('#prompt');
    await page.$eval('pierce/#prompt', (el) => {
      (el as unknown as { value: string }).value = 'This License';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.$eval('pierce/#generate-button', (b) => (b as unknown as { click(): void }).click());
    const generated = await waitUntil('generated text', async () => (await text('#generated').catch(() => '')) || undefined, 30_000, 200);
    const same = await api<{ text: string }>(base, TOKEN, `/api/jobs/${id}/generate`, {
      prompt: 'This License',
      maxTokens: 100,
      temperature: 0.8,
      topK: 20,
      seed: 1,
    });
    expect(generated).toBe(`This License${same.text}`.trim());
    expect(await accessibilityProblems(page)).toEqual([]);
    await shoot('job-page-text');
  }, 180_000);

  it('fills the form from a pasted spec, keeps what no field shows, follows a field back into the JSON, and says why one is refused', async () => {
    await page.$eval('pierce/grid-job-form', (f) => {
      for (const d of (f as unknown as { shadowRoot: { querySelectorAll(s: string): Iterable<{ open: boolean }> } }).shadowRoot.querySelectorAll('details'))
        d.open = true;
    });
    const paste = (value: string) =>
      page.$eval(
        'pierce/#json',
        (e, v) => {
          (e as unknown as { value: string; dispatchEvent(e: Event): void }).value = v;
          e.dispatchEvent(new Event('input'));
        },
        value,
      );
    const value = (sel: string) => page.$eval(`pierce/${sel}`, (e) => (e as unknown as { value: string }).value);
    await paste('{ not json');
    await waitUntil('the JSON error', async () => (await text('#e-json')).length > 0, 10_000, 100);
    await paste(JSON.stringify({ ...mlpJob({ name: 'pasted-spec', rounds: 2, globalBatch: 64, shardSize: 64 }), shardsize: 64 }));
    await waitUntil('the typo named', async () => (await text('#e-json')).includes('did you mean shardSize?'), 10_000, 100);
    // The README's own spec, as a researcher would copy it from the curl line: the fields fill in.
    const readme = /-d '(\{[\s\S]*?\})' http/.exec(readFileSync(resolve(import.meta.dirname, '..', 'README.md'), 'utf8'))?.[1] ?? '';
    await paste(readme);
    await waitUntil('the README spec in the fields', async () => (await value('#f-name')) === JSON.parse(readme).name, 10_000, 100);
    expect([await value('#f-layers'), await value('#f-lr'), await value('#f-globalBatch'), await value('#f-epochs'), await value('#f-evalSplit')]).toEqual([
      '784,256,128,10',
      '0.002',
      '512',
      '5',
      'test',
    ]);
    expect(JSON.parse(await jsonBox())).toEqual(JSON.parse(readme)); // nothing added to it, nothing lost
    await paste(JSON.stringify(mlpJob({ name: 'pasted-spec', rounds: 2, globalBatch: 64, shardSize: 64, checkpointEvery: 7 })));
    await waitUntil('the fields filled', async () => (await value('#f-name')) === 'pasted-spec', 10_000, 100);
    expect([await value('#f-globalBatch'), await value('#f-layers'), await value('#f-optimizer'), await value('#f-mode')]).toEqual([
      '64',
      '784,64,10',
      'sgd',
      'sync',
    ]);
    expect(await text('#e-json')).toBe('');
    await fill('#f-lr', '0.05'); // a field changed after the paste: the JSON follows, the rest of the pasted spec stays
    await waitUntil('the JSON follows', async () => JSON.parse(await jsonBox()).optimizer.lr === 0.05, 10_000, 100);
    await (await page.waitForSelector('pierce/#submit'))?.click();
    const base = `http://127.0.0.1:${coord.port}`;
    const job = await waitUntil(
      'pasted job listed',
      async () => (await api<{ id: number; name: string }[]>(base, TOKEN, '/api/jobs')).find((j) => j.name === 'pasted-spec'),
      10_000,
    );
    const { spec } = await api<{ spec: Record<string, unknown> }>(base, TOKEN, `/api/jobs/${job.id}`);
    expect(spec).toMatchObject({ rounds: 2, checkpointEvery: 7, leaseMs: 10_000, optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 } });
  });

  it('compares two runs at an address of their own: a line per run, the settings that differ marked', async () => {
    const jobs = await api<{ id: number; name: string }[]>(`http://127.0.0.1:${coord.port}`, TOKEN, '/api/jobs');
    const ids = jobs
      .filter((j) => j.name === 'console-mlp' || j.name === 'pasted-spec')
      .map((j) => j.id)
      .sort((a, b) => a - b);
    expect(ids.length).toBe(2);
    // Sets every box by DOM clicks until exactly these two are picked: a click at a box's coordinates can land while
    // the list re-renders on its poll (CI lost one that way twice), a DOM click needs no layout, and a box an earlier
    // test's click may have ticked by accident is cleared.
    const pickOnly = (want: number[]) =>
      page.$$eval(
        'pierce/input.pick',
        (boxes, wanted) => {
          for (const el of boxes) {
            const box = el as unknown as { checked: boolean; click(): void; getAttribute(a: string): string | null };
            if (box.checked !== wanted.includes(Number(box.getAttribute('aria-label')?.split(' ').pop()))) box.click();
          }
        },
        want,
      );
    await waitUntil(
      'both runs picked',
      async () => {
        await pickOnly(ids);
        return (await text('#compare-runs')).includes('compare 2 runs');
      },
      30_000,
      200,
    );
    // A DOM click too: the job list above the button re-renders on its poll, and a click at coordinates can miss.
    await page.$eval('pierce/#compare-runs', (b) => (b as unknown as { click(): void }).click());
    // Generous under a loaded CI machine: the view fetches every metric of both runs before it shows its title.
    await waitUntil('the comparison', async () => (await text('#compare-title').catch(() => '')).includes(ids.join(', ')), 30_000, 100);
    expect(new URL(page.url()).search).toBe(`?ids=${ids.join(',')}`);
    const legend = () => page.$eval('pierce/#compare-loss', (c) => c.shadowRoot?.textContent ?? '');
    await waitUntil(
      'a line per run',
      async () => {
        const shown = await legend();
        return ids.every((id) => shown.includes(`job ${id}`));
      },
      10_000,
      100,
    );
    const differing = await page.$$eval('pierce/#hparams tr.differs td.key', (cells) => cells.map((c) => c.textContent));
    expect(differing).toEqual(expect.arrayContaining(['name', 'rounds']));
    await shoot('compare');
    await page.reload(); // the comparison's address keeps it
    await waitUntil('the comparison after a reload', async () => (await text('#compare-title').catch(() => '')).includes(ids.join(', ')), 30_000, 200);
  }, 120_000);

  it('shows the server’s refusal at the field it names', async () => {
    await fill('#f-layers', '784,64,3'); // fewer outputs than Fashion-MNIST has classes: only the server knows
    await (await page.waitForSelector('pierce/#submit'))?.click();
    await waitUntil('server refusal at the model field', async () => (await text('#e-kind')).includes('classes'), 10_000, 100);
  });

  it('uploads a data set from the form (a CSV, then a zipped text corpus) and offers it at once', async () => {
    const csv = join(tempDir('grid-console-csv-'), 'toy.csv');
    writeFileSync(csv, Array.from({ length: 50 }, (_, i) => `${i % 7},${i % 5},${i % 3}`).join('\n'));
    await page.$eval('pierce/#upload', (d) => d.setAttribute('open', ''));
    const file = await page.waitForSelector('pierce/#upload input[type=file]');
    await (file as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(csv);
    await fill('#upload input[name=name]', 'toy');
    await (await page.waitForSelector('pierce/#upload button'))?.click();
    await waitUntil('uploaded', async () => (await text('#message')) === 'data set toy/train: 50 samples', 10_000, 200);
    // The form takes it once the list of data sets is read again, just after the message.
    const field = () => page.$eval('pierce/#f-dataset', (e) => (e as unknown as { value: string }).value);
    await waitUntil('form offers it', async () => (await field()) === 'toy/train', 5_000, 100);
    // A text corpus, here two .txt files in a zip: its train and validation splits, tokenized by character.
    const zip = join(tempDir('grid-console-zip-'), 'books.zip');
    const license = readFileSync('/usr/share/common-licenses/GPL-3');
    writeFileSync(zip, zipSync({ 'books/1.txt': license.subarray(0, 6000), 'books/2.txt': license.subarray(6000, 9000) }));
    await (file as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(zip);
    await fill('#upload input[name=name]', 'books');
    await fill('#upload input[name=blockSize]', '32');
    await (await page.waitForSelector('pierce/#upload button'))?.click();
    await waitUntil('corpus uploaded', async () => /^data set books\/train: \d+ samples \(and books\/validation\)$/.test(await text('#message')), 20_000, 200);
    const evalSplit = () => page.$eval('pierce/#f-evalSplit', (e) => (e as unknown as { value: string }).value);
    await waitUntil('form offers the corpus', async () => (await field()) === 'books/train' && (await evalSplit()) === 'validation', 5_000, 100);
    const manifest = await api<{ targets: { width: number }; tokenizer: { kind: string } }>(
      `http://127.0.0.1:${coord.port}`,
      TOKEN,
      '/api/datasets/books/validation',
    );
    expect([manifest.targets.width, manifest.tokenizer.kind]).toEqual([32, 'char']);
  });

  it('registers an ONNX model from the form and sets up an inference job on it', async () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [784, 16, 10] };
    const onnxFile = join(tempDir('grid-console-onnx-'), 'small.onnx');
    writeFileSync(onnxFile, inferenceGraph(spec, initParams(spec, 1)));
    const file = await page.waitForSelector('pierce/#upload input[type=file]');
    await (file as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(onnxFile);
    await fill('#upload input[name=name]', 'small-mlp');
    await (await page.waitForSelector('pierce/#upload button'))?.click();
    await waitUntil('registered', async () => (await text('#message')).startsWith('model small-mlp registered: '), 20_000, 200);
    const sha = (await text('#message')).split(': ')[1];
    const value = (sel: string) => page.$eval(`pierce/${sel}`, (e) => (e as unknown as { value: string }).value);
    await waitUntil('inference form on the model', async () => (await value('#f-kind')) === 'inference' && (await value('#f-model')) === sha, 10_000, 200);
    expect(JSON.parse(await jsonBox())).toMatchObject({ mode: 'inference', model: { sha256: sha } });
  });

  it('checks a layer list as it is typed, naming the layer that does not fit', async () => {
    await page.$eval('pierce/#f-kind', (e) => {
      (e as unknown as { value: string }).value = 'layers';
      e.dispatchEvent(new Event('change'));
    });
    expect(JSON.parse(await jsonBox())).toMatchObject({ model: { kind: 'layers', input: [1, 28, 28] } });
    await fill('#f-layerList', '[{"type": "layerNorm"}, {"type": "dense", "units": 10}]');
    await waitUntil('error at the layer list', async () => (await text('#e-layerList')).includes('layerNorm takes a vector'), 5000, 100);
    await fill('#f-layerList', '[{"type": "dense", "units": 10}]');
    await waitUntil('fixed', async () => (await text('#e-layerList')) === '', 5000, 100);
  });

  it('lets an operator issue and revoke a token, and shows the audit log', async () => {
    const nav = async (view: string) => {
      await (await find(`#nav-${view}`))?.click();
      await page.waitForFunction(`location.pathname === '/console/${view}'`);
    };
    const rowsOf = async (table: string) => page.$$eval(`pierce/#${table} tr`, (r) => r.slice(1).map((x) => x.textContent ?? '')).catch(() => []);
    await nav('datasets'); // the upload above, and the model registered above, each in a view of its own
    await waitUntil('data sets listed', async () => (await rowsOf('datasets')).length > 0, 10_000, 200);
    expect(await accessibilityProblems(page)).toEqual([]);
    await nav('models');
    await waitUntil('models listed', async () => (await rowsOf('models')).length > 0, 10_000, 200);
    await shoot('models');
    await nav('workers');
    await waitUntil('status', async () => (await text('#status').catch(() => '')).includes('workers connected'), 10_000, 200);
    expect(await text('#status')).toMatch(/^1 workers connected .*; jobs: 0 running, 0 queued, 0 paused; [\d,]+ samples\/s over the last minute$/);
    await shoot('workers');
    await nav('tokens');
    await fill('#issue input[name=name]', 'lab volunteer');
    await (await page.waitForSelector('pierce/#issue button'))?.click();
    await waitUntil('token shown once', async () => (await text('#issued').catch(() => '')).startsWith('gt_'), 10_000, 200);
    const rows = async () => page.$$eval('pierce/#tokens tr', (r) => r.slice(1).map((x) => x.textContent ?? ''));
    await waitUntil('token listed', async () => (await rows()).some((r) => r.includes('lab volunteer')), 10_000, 200);
    page.once('dialog', (d) => void d.accept()); // "Revoke token N?"
    await page.$$eval('pierce/#tokens tr', (trs) => {
      const row = trs.find((r) => r.textContent?.includes('lab volunteer'));
      (row?.querySelector('button') as unknown as { click(): void } | null)?.click();
    });
    await waitUntil('token revoked', async () => (await rows()).some((r) => r.includes('lab volunteer') && r.includes('revoked')), 10_000, 200);
    await shoot('tokens');
    expect(await accessibilityProblems(page)).toEqual([]);
    await nav('audit');
    await page.reload(); // each view has its own address: a reload keeps it
    expect(await page.$eval('pierce/#nav-audit', (a) => a.getAttribute('aria-current'))).toBe('page');
    await waitUntil('audit', async () => (await page.$$eval('pierce/#audit td', (c) => c.map((x) => x.textContent))).includes('token.revoke'), 10_000, 200);
  });

  it('closes enrolment from the operator view; a volunteer then joins with an invitation token', async () => {
    await page.goto(`http://127.0.0.1:${coord.port}/console/tokens`);
    const box = await find('#enrolment');
    await waitUntil('enrolment shown open', async () => box?.evaluate((e) => (e as unknown as { checked: boolean }).checked), 10_000, 200);
    await box?.click(); // open -> closed
    const enrol = async () =>
      ((await (await fetch(`http://127.0.0.1:${coord.port}/api/enrol`, { method: 'POST' })).json()) as { error?: { code: string } }).error?.code;
    await waitUntil('enrolment closed', async () => (await enrol()) === 'ENROLMENT_CLOSED', 10_000, 200);
    const issued = await fetch(`http://127.0.0.1:${coord.port}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: 'invited', scopes: ['worker'] }),
    });
    const { token } = (await issued.json()) as { token: string };
    const volunteer = await browser.newPage();
    await volunteer.goto(`http://127.0.0.1:${coord.port}/`);
    await (await volunteer.waitForSelector('pierce/#contribute'))?.click();
    const error = () => volunteer.$eval('pierce/#error', (e) => e.textContent ?? '').catch(() => '');
    await waitUntil('told to bring an invitation', async () => /invited volunteers only/.test(await error()), 30_000, 200);
    const invitation = await volunteer.waitForSelector('pierce/#invitation');
    await invitation?.type(token);
    await (await volunteer.waitForSelector('pierce/#join'))?.click();
    let state: string | null = '';
    // A first visit times its engines before it runs: 47 s on an idle 2-core machine, longer beside the GPU tests.
    await waitUntil(
      () => `invited volunteer running (state "${state}")`,
      async () => {
        state = await volunteer.$eval('pierce/#state', (e) => e.textContent).catch(() => '');
        return state === 'running';
      },
      150_000,
      200,
    );
    await volunteer.close();
  }, 200_000);
});

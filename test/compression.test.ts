import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { startCoordinator } from '../coordinator/server';
import { onnxEngine } from '../kernels/onnx/engine';
import { memoryCache } from '../worker/host';
import { WorkerLoop } from '../worker/loop';
import { api, mlpJob, startTestCoordinator, tempDir, waitUntil } from './helpers';

const TOKEN = 'gt_compression_operator';

// Fewer bytes both ways: int8 results with error feedback up, int8 parameter deltas down; the same job trained
// with full fp32 copies reaches the same accuracy, from four times the bytes.
describe('compressed parameter downloads', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  let loop: WorkerLoop;

  beforeAll(async () => {
    const dir = tempDir('grid-compression-');
    coord = await startTestCoordinator(dir, TOKEN, { maxFrameBytes: 16 << 20, maxBodyBytes: 1 << 20 });
    url = `http://127.0.0.1:${coord.port}`;
    loop = new WorkerLoop({
      ...{ coordinator: url, token: TOKEN, cache: memoryCache(), connect: (u, p) => new WebSocket(u, p) },
      engines: [onnxEngine(ort, 'cpu', 'ort-node', 'onnxruntime-node cpu')],
      capabilities: { kind: 'native', backend: 'cpu', cores: 2, memoryMB: 1000 },
    });
    loop.start();
  });
  afterAll(async () => {
    await loop?.stop('release');
    await coord?.close();
  });

  const train = async (download: 'fp32' | 'int8-delta') => {
    const spec = mlpJob({ name: download, rounds: 60, globalBatch: 128, shardSize: 128, evalEvery: 60, evalSamples: 2000, download });
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', spec);
    await waitUntil(`${download} job done`, async () => (await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`)).state === 'done', 120_000, 200);
    await new Promise((r) => setTimeout(r, 1500)); // byte totals are written every second
    const job = await api<{ bytesDown: number }>(url, TOKEN, `/api/jobs/${id}`);
    const metrics = await api<{ name: string; value: number }[]>(url, TOKEN, `/api/jobs/${id}/metrics`);
    return { bytesDown: job.bytesDown, accuracy: metrics.filter((m) => m.name === 'test_accuracy').at(-1)?.value ?? 0 };
  };

  it('downloads int8 deltas at about a quarter of the bytes, to the same accuracy', async () => {
    const full = await train('fp32');
    const deltas = await train('int8-delta');
    console.log(`fp32 copies: ${full.bytesDown} B down, ${full.accuracy}; int8 deltas: ${deltas.bytesDown} B down, ${deltas.accuracy}`);
    expect(deltas.bytesDown / full.bytesDown).toBeLessThan(0.35);
    expect(full.accuracy).toBeGreaterThan(0.7);
    expect(Math.abs(deltas.accuracy - full.accuracy)).toBeLessThan(0.02);
  }, 120_000);
});

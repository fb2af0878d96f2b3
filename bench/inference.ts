import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadFashionMnist } from '../coordinator/data/datasets';
import { startCoordinator } from '../coordinator/server';
import { initParams } from '../kernels/models/index';
import { inferenceGraph } from '../kernels/onnx/models';
import { gatherBatch } from '../protocol/dataset';
import type { ModelSpec } from '../protocol/model';
import { api, type Proc, startWorker, tempDir, waitUntil } from '../test/helpers';

const TOKEN = 'gt_bench_inference';
const SHARD = Number(process.env.BENCH_SHARD ?? 500);
const TARGET = 0.7;
/** A CNN heavy enough that the run is about compute, not polling: conv16-pool-conv32-pool-dense on 28x28. */
const MODEL: ModelSpec = { kind: 'cnn', input: [1, 28, 28], channels: [16, 32], kernel: 5, classes: 10 };

/** onnxruntime-node in this process over the 10,000 test images, in shards of SHARD: the plain baseline, samples/s. */
async function plainRate(file: Uint8Array, x: Float32Array): Promise<number> {
  const session = await ort.InferenceSession.create(file);
  const n = x.length / 784;
  const pass = async () => {
    const t0 = performance.now();
    for (let s = 0; s < n; s += SHARD) {
      const count = Math.min(SHARD, n - s);
      await session.run({ input: new ort.Tensor('float32', x.subarray(s * 784, (s + count) * 784), [count, 784]) });
    }
    return n / ((performance.now() - t0) / 1000);
  };
  await pass(); // warm-up
  const rate = await pass();
  await session.release();
  return rate;
}

/** One inference job over the test set on `workers` native workers: samples/s from submission to done. */
async function gridRate(workers: number, file: Uint8Array): Promise<{ cold: number; warm: number }> {
  const dir = tempDir('grid-bench-inference-');
  const coord = await startCoordinator({
    ...{ port: 0, host: '127.0.0.1', databaseUrl: `sqlite:${join(dir, 'grid.db')}`, dataDir: dir, webDir: join(dir, 'web'), enrolment: false },
    ...{ operatorToken: TOKEN, maxFrameBytes: 64 << 20, maxBodyBytes: 64 << 20, heartbeatMs: 5000 },
    log: { debug() {}, info() {}, warn() {}, error: console.error },
  });
  const url = `http://127.0.0.1:${coord.port}`;
  const procs: Proc[] = Array.from({ length: workers }, (_, i) => startWorker(url, TOKEN, `bench-${i}`));
  try {
    await Promise.all(procs.map((p) => p.waitFor(/"msg":"connected"/)));
    const reg = await fetch(`${url}/api/models?name=bench-cnn`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: file });
    const { sha256 } = (await reg.json()) as { sha256: string };
    const spec = { mode: 'inference', model: { sha256, output: 'logits' }, dataset: { name: 'fashion-mnist', split: 'test' }, shardSize: SHARD };
    const once = async (name: string) => {
      const t0 = performance.now();
      const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', { ...spec, name, redundancy: { fraction: 0 } });
      await waitUntil(name, async () => (await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`)).state === 'done', 300_000, 20);
      return 10_000 / ((performance.now() - t0) / 1000);
    };
    // The first job fetches the model and the data chunks; the second finds them in the workers' caches.
    return { cold: await once('cold'), warm: await once('warm') };
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    await coord.close();
  }
}

export async function benchInference() {
  const file = inferenceGraph(MODEL, initParams(MODEL, 1));
  const test = loadFashionMnist('test');
  const { x } = gatherBatch(
    test.manifest,
    (c) => test.chunks[c],
    Uint32Array.from({ length: 10_000 }, (_, i) => i),
  );
  console.log(`Fashion-MNIST test set (10,000 images), CNN conv16-pool-conv32-pool-dense as ONNX, shards of ${SHARD}, no redundant copies`);
  const plain = await plainRate(file, x);
  console.log(`plain process, onnxruntime-node: ${plain.toFixed(0)} samples/s`);
  for (const workers of [1, 2]) {
    const grid = await gridRate(workers, file);
    console.log(
      `grid, ${workers} native worker(s): ${grid.warm.toFixed(0)} samples/s with warm caches (grid/plain ${(grid.warm / plain).toFixed(2)}, target >= ${TARGET}), ` +
        `${grid.cold.toFixed(0)} samples/s on the first job (model and data downloaded: ${(grid.cold / plain).toFixed(2)})`,
    );
  }
}

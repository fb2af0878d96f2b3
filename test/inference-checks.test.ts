import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadFashionMnist } from '../coordinator/data/datasets';
import type { startCoordinator } from '../coordinator/server';
import { initParams } from '../kernels/models/index';
import { inferenceGraph } from '../kernels/onnx/models';
import { type InferenceEngine, onnxInference } from '../kernels/onnx/session';
import { gatherBatch } from '../protocol/dataset';
import { postprocess } from '../protocol/inference';
import type { ModelSpec } from '../protocol/model';
import { decodeNpy } from '../protocol/npy';
import { memoryCache } from '../worker/host';
import { WorkerLoop } from '../worker/loop';
import { api, startTestCoordinator, tempDir, waitUntil } from './helpers';

const TOKEN = 'gt_inference_checks';
const MODEL: ModelSpec = { kind: 'mlp', layers: [784, 32, 10] };

/** onnxruntime-node, lying: every sample's logits come back reversed, so its classes are wrong yet well formed. */
function lyingEngine(): InferenceEngine {
  const honest = onnxInference(ort, 'cpu', 'ort-node cpu');
  return {
    name: 'ort-node cpu',
    async open(bytes) {
      const session = await honest.open(bytes);
      return {
        release: session.release,
        async run(input, x, shape, output) {
          const y = await session.run(input, x, shape, output);
          for (let i = 0; i < y.length; i += 10) y.subarray(i, i + 10).reverse();
          return y;
        },
      };
    },
  };
}

// Checked inference results: every shard computed twice by workers of different tokens; a worker whose classes are
// wrong is outvoted by a third computation, its other results are computed again, and the output is the truth.
describe('inference results checked by redundancy', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const loops: WorkerLoop[] = [];

  beforeAll(async () => {
    const dir = tempDir('grid-inference-checks-');
    coord = await startTestCoordinator(dir, TOKEN);
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(async () => {
    for (const l of loops) await l.stop('release');
    await coord?.close();
  });

  it('outvotes a worker that returns wrong classes; the assembled classes are the honest ones', async () => {
    const file = inferenceGraph(MODEL, initParams(MODEL, 3));
    const reg = await fetch(`${url}/api/models?name=mlp`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: file });
    const { sha256 } = (await reg.json()) as { sha256: string };
    for (const [name, engine] of [
      ['liar', lyingEngine()],
      ['honest-1', onnxInference(ort, 'cpu', 'ort-node cpu')],
      ['honest-2', onnxInference(ort, 'cpu', 'ort-node cpu')],
    ] as const) {
      const { token } = await api<{ token: string }>(url, TOKEN, '/api/tokens', { name, scopes: ['worker'] });
      const loop = new WorkerLoop({
        ...{ coordinator: url, token, name, cache: memoryCache(), connect: (u, p) => new WebSocket(u, p) },
        ...{ engines: [], inference: [engine], capabilities: { kind: 'native', backend: 'cpu', cores: 1, memoryMB: 100 } },
      });
      loop.start();
      loops.push(loop);
    }
    await waitUntil('three workers', async () => (await api<unknown[]>(url, TOKEN, '/api/workers')).length === 3, 20_000);
    const spec = { name: 'checked', mode: 'inference', model: { sha256, output: 'logits' }, dataset: { name: 'fashion-mnist' }, shardSize: 1000 };
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', { ...spec, postprocess: 'argmax', redundancy: { fraction: 1 } });
    await waitUntil('job done', async () => (await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`)).state === 'done', 120_000, 200);

    const test = loadFashionMnist('test');
    const { x } = gatherBatch(
      test.manifest,
      (c) => test.chunks[c],
      Uint32Array.from({ length: 10_000 }, (_, i) => i),
    );
    const session = await ort.InferenceSession.create(file);
    const logits = (await session.run({ input: new ort.Tensor('float32', x, [10_000, 784]) })).logits.data as Float32Array;
    const expected = postprocess(logits, 10_000, 10, { kind: 'argmax' });
    const res = await fetch(`${url}/api/jobs/${id}/output.npy`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const out = decodeNpy(new Uint8Array(await res.arrayBuffer()));
    expect(out).toMatchObject({ dtype: '<i4', shape: [10_000] });
    expect(out.values).toEqual(expected);

    const liar = (await api<{ id: string; name: string }[]>(url, TOKEN, '/api/workers')).find((w) => w.name === 'liar');
    const results = await coord.store.results(id);
    const liars = results.filter((r) => r.worker_id === liar?.id);
    expect(liars.some((r) => r.reason === 'MISMATCH')).toBe(true);
    expect(liars.filter((r) => r.accepted)).toEqual([]); // nothing of the liar's stands
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/grid_results_total\{accepted="false",code="MISMATCH"\} [1-9]/);
  }, 150_000);
});

import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

/**
 * onnxruntime-node, lying: on every `every`-th shard it runs (every one by default) each sample's logits come back
 * reversed, so its classes are wrong yet well formed. Two of these with the same `every` tell the same lies.
 */
function lyingEngine(every = 1): InferenceEngine {
  const honest = onnxInference(ort, 'cpu', 'ort-node cpu');
  let shards = 0;
  return {
    name: 'ort-node cpu',
    async open(bytes) {
      const session = await honest.open(bytes);
      return {
        release: session.release,
        async run(input, x, shape, output) {
          const y = await session.run(input, x, shape, output);
          if (shape[0] > 100 && shards++ % every === 0) for (let i = 0; i < y.length; i += 10) y.subarray(i, i + 10).reverse(); // not the engine probe
          return y;
        },
      };
    },
  };
}

interface WorkerRow {
  id: string;
  name: string;
  state: string;
}

// Inference outputs checked by the coordinator's own run of the model (inference/referee.ts) and by redundancy: a
// worker whose classes are wrong is caught, its results computed again by others, and the download is the truth;
// no honest worker is ever outvoted, not by a colluding pair telling the same lie either.
describe('inference results checked by the coordinator and by redundancy', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  let sha256: string;
  let file: Uint8Array;
  let expected: Float32Array;
  let loops: WorkerLoop[] = [];

  beforeAll(async () => {
    const dir = tempDir('grid-inference-checks-');
    coord = await startTestCoordinator(dir, TOKEN);
    url = `http://127.0.0.1:${coord.port}`;
    file = inferenceGraph(MODEL, initParams(MODEL, 3));
    const reg = await fetch(`${url}/api/models?name=mlp`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: file });
    sha256 = ((await reg.json()) as { sha256: string }).sha256;
    const test = loadFashionMnist('test');
    const { x } = gatherBatch(
      test.manifest,
      (c) => test.chunks[c],
      Uint32Array.from({ length: 10_000 }, (_, i) => i),
    );
    const session = await ort.InferenceSession.create(file);
    const logits = (await session.run({ input: new ort.Tensor('float32', x, [10_000, 784]) })).logits.data as Float32Array;
    expected = postprocess(logits, 10_000, 10, { kind: 'argmax' });
  });
  afterEach(async () => {
    for (const l of loops) await l.stop('release');
    loops = [];
  });
  afterAll(() => coord?.close());

  /** Volunteers of their own tokens with these engines, then an argmax job over the test split; its download and workers. */
  async function run(job: string, volunteers: [string, InferenceEngine][], redundancy: number) {
    for (const [name, engine] of volunteers) {
      const { token } = await api<{ token: string }>(url, TOKEN, '/api/tokens', { name: `${job}-${name}`, scopes: ['worker'] });
      const loop = new WorkerLoop({
        ...{ coordinator: url, token, name: `${job}-${name}`, cache: memoryCache(), connect: (u, p) => new WebSocket(u, p) },
        ...{ engines: [], inference: [engine], capabilities: { kind: 'native', backend: 'cpu', cores: 1, memoryMB: 100 } },
      });
      loop.start();
      loops.push(loop);
    }
    const mine = async () => (await api<WorkerRow[]>(url, TOKEN, '/api/workers')).filter((w) => w.name.startsWith(`${job}-`));
    await waitUntil('workers', async () => (await mine()).filter((w) => w.state === 'online').length === volunteers.length, 20_000);
    const spec = { name: job, mode: 'inference', model: { sha256, output: 'logits' }, dataset: { name: 'fashion-mnist' }, shardSize: 500 };
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', { ...spec, postprocess: 'argmax', redundancy: { fraction: redundancy } });
    await waitUntil('job done', async () => (await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`)).state === 'done', 120_000, 200);
    const res = await fetch(`${url}/api/jobs/${id}/output.npy`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const out = decodeNpy(new Uint8Array(await res.arrayBuffer()));
    expect(out).toMatchObject({ dtype: '<i4', shape: [10_000] });
    const wrongRows = out.values.filter((v, i) => v !== expected[i]).length;
    const results = await coord.store.results(id);
    const byName = new Map((await mine()).map((w) => [w.name.slice(job.length + 1), w]));
    const of = (name: string) => results.filter((r) => r.worker_id === byName.get(name)?.id);
    return { wrongRows, of, state: (name: string) => byName.get(name)?.state };
  }

  it('catches a worker that returns wrong classes: its shards computed again, the download is the truth', async () => {
    const r = await run(
      'one-liar',
      [
        ['liar', lyingEngine()],
        ['honest-1', onnxInference(ort, 'cpu', 'h')],
        ['honest-2', onnxInference(ort, 'cpu', 'h')],
      ],
      1,
    );
    expect(r.wrongRows).toBe(0);
    expect(r.of('liar').some((x) => x.reason === 'MISMATCH')).toBe(true);
    expect(r.of('liar').filter((x) => x.accepted)).toEqual([]); // nothing of the liar's stands
    for (const h of ['honest-1', 'honest-2']) expect(r.of(h).filter((x) => x.reason === 'MISMATCH')).toEqual([]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/grid_results_total\{accepted="false",code="MISMATCH"\} [1-9]/);
  }, 150_000);

  it('two colluding liars telling the same lie outvote nobody: 0 wrong rows, no honest worker refused or quarantined', async () => {
    const liars: [string, InferenceEngine][] = [
      ['liar-a', lyingEngine()],
      ['liar-b', lyingEngine()],
    ];
    const r = await run('colluding', [...liars, ['honest-1', onnxInference(ort, 'cpu', 'h')], ['honest-2', onnxInference(ort, 'cpu', 'h')]], 1);
    expect(r.wrongRows).toBe(0);
    for (const h of ['honest-1', 'honest-2']) {
      expect(r.of(h).filter((x) => !x.accepted)).toEqual([]);
      expect(r.state(h)).not.toBe('quarantined');
    }
    for (const [l] of liars) expect(r.of(l).filter((x) => x.accepted)).toEqual([]);
  }, 150_000);

  it('a liar on one shard in five, under the default 5% redundancy, is caught: 0 wrong rows', async () => {
    const r = await run(
      'one-in-five',
      [
        ['liar', lyingEngine(5)],
        ['honest-1', onnxInference(ort, 'cpu', 'h')],
      ],
      0.05,
    );
    expect(r.wrongRows).toBe(0);
    expect(r.of('liar').some((x) => x.reason === 'MISMATCH')).toBe(true);
    expect(r.of('honest-1').filter((x) => !x.accepted)).toEqual([]);
  }, 150_000);
});

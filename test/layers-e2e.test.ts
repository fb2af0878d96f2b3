import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadFashionMnist } from '../coordinator/data/datasets';
import { CpuBackend } from '../kernels/cpu/backend';
import { kernelsEngine } from '../kernels/engine';
import { onnxEngine } from '../kernels/onnx/engine';
import { onnx } from '../kernels/onnx/graph';
import { memoryCache } from '../worker/host';
import type { WorkerEvent } from '../worker/loop';
import { WorkerLoop } from '../worker/loop';
import { api, mlpJob, startTestCoordinator, tempDir, trainOnOrtNode, waitUntil } from './helpers';

// A model given as a list of layers (a residual block with layer norm and GELU) is trained by the grid from its graph:
// autodiff writes its backward, onnxruntime-node runs the step, and the export scores as the coordinator recorded.
describe('a layer-list model trained end to end', () => {
  let coord: Awaited<ReturnType<typeof startTestCoordinator>>;
  let url: string;
  const token = 'gt_layers_operator';
  const rounds = 60;
  const model = {
    kind: 'layers',
    input: [1, 28, 28],
    layers: [
      { type: 'dense', units: 64 },
      { type: 'gelu' },
      { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'dense', units: 64 }, { type: 'gelu' }] },
      { type: 'dense', units: 10 },
    ],
  };

  beforeAll(async () => {
    coord = await startTestCoordinator(tempDir('grid-layers-'), token);
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  it('reaches a useful accuracy, checkpoints under the graph names, and exports a model that scores the same', async () => {
    const spec = mlpJob({
      model,
      rounds,
      optimizer: { kind: 'adamw', lr: 0.003 },
      globalBatch: 256,
      shardSize: 128,
      evalEvery: rounds,
      evalSamples: 10_000,
      checkpointEvery: 30,
    });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    const events: WorkerEvent[] = [];
    const loop = new WorkerLoop({
      ...{ coordinator: url, token, cache: memoryCache(), connect: (u, p) => new WebSocket(u, p), measureMs: 300 },
      // The CPU reference can run the graph too; the worker times both and trains on the faster.
      engines: [kernelsEngine(new CpuBackend()), onnxEngine(ort, 'cpu', 'ort-node', 'onnxruntime-node cpu')],
      capabilities: { kind: 'native', backend: 'cpu', cores: 2, memoryMB: 1000 },
      onEvent: (e) => events.push(e),
    });
    loop.start();
    await waitUntil('job done', async () => (await api<{ state: string }>(url, token, `/api/jobs/${id}`)).state === 'done', 150_000);
    await loop.stop('release');
    const chosen = events.find((e) => e.type === 'engine');
    expect(chosen).toMatchObject({ engine: 'ort-node' });
    const recorded = (await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`)).find((m) => m.name === 'test_accuracy')?.value ?? 0;
    expect(recorded).toBeGreaterThan(0.75);

    const ckpt = await fetch(`${url}/api/jobs/${id}/checkpoints/30`, { headers: { authorization: `Bearer ${token}` } });
    const bytes = new Uint8Array(await ckpt.arrayBuffer());
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header['l2.0.scale']).toMatchObject({ dtype: 'F32', shape: [64] });
    expect(header['l3.w']).toMatchObject({ shape: [64, 10] });

    const file = new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/model.onnx`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
    const test = loadFashionMnist('test');
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({
      input: new ort.Tensor(
        'float32',
        Float32Array.from(test.features, (v) => v / 255),
        [10_000, 784],
      ),
    });
    const logits = out.logits.data as Float32Array;
    let correct = 0;
    for (let i = 0; i < 10_000; i++) {
      const row = logits.subarray(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
    }
    console.log(`layer-list model: coordinator recorded ${(recorded * 100).toFixed(2)}%, its model.onnx in onnxruntime-node ${(correct / 100).toFixed(2)}%`);
    expect(Math.abs(correct / 10_000 - recorded)).toBeLessThan(0.001);
  }, 200_000);

  it('trains a residual CNN given as layers, on onnxruntime-node, to a useful accuracy', async () => {
    const cnn = {
      kind: 'layers',
      input: [1, 28, 28],
      layers: [
        { type: 'conv2d', filters: 8, kernel: 3 },
        { type: 'relu' },
        { type: 'maxPool', size: 2 },
        { type: 'residual', layers: [{ type: 'conv2d', filters: 8, kernel: 3 }, { type: 'relu' }] },
        { type: 'maxPool', size: 2 },
        { type: 'dense', units: 10 },
      ],
    };
    const { recorded } = await trainAndScore(cnn, 60);
    console.log(`residual CNN as layers: ${(recorded * 100).toFixed(2)}% on 2,000 test images after 60 rounds`);
    expect(recorded).toBeGreaterThan(0.7);
  }, 200_000);

  it('trains the resnet preset with batch norm, and exports the running statistics the grid kept', async () => {
    const resnet = { kind: 'resnet', input: [1, 28, 28], widths: [8, 16], blocks: 1, classes: 10 };
    const { id, recorded } = await trainAndScore(resnet, 60, 0.01);
    const job = await api<{ spec: { model: { kind: string } } }>(url, token, `/api/jobs/${id}`);
    expect(job.spec.model.kind).toBe('layers'); // the preset stands for its layer list
    const file = new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/model.onnx`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
    const graph = onnx.ModelProto.decode(file).graph;
    expect(graph?.node?.filter((n) => n.opType === 'BatchNormalization').length).toBe(6);
    const init = graph?.initializer?.find((t) => t.name === 'l1.var');
    const variances = [...new Float32Array(Uint8Array.from(init?.rawData ?? []).buffer)];
    console.log(
      `resnet preset: ${(recorded * 100).toFixed(2)}% on 2,000 test images after 60 rounds; stem running variances ${variances.map((v) => v.toFixed(3))}`,
    );
    // The running statistics moved off where they start (variance 1) to the batches': inference depends on them.
    expect(variances.length).toBe(8);
    expect(variances.every((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    expect(recorded).toBeGreaterThan(0.4); // a floor for a broken gradient or statistic (chance is 10%), not a target
  }, 200_000);

  it('trains a small transformer on token sequences: which of two tokens comes first', async () => {
    // Each sequence holds tokens 1 and 2 once, at random places among others; the label says whether 1 comes first.
    let seed = 11;
    const random = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    const sequence = () => {
      const tokens = Array.from({ length: 8 }, () => 3 + Math.floor(random() * 5));
      const [a, b] = [Math.floor(random() * 8), Math.floor(random() * 7)];
      tokens[a] = 1;
      tokens[b >= a ? b + 1 : b] = 2;
      return [...tokens, Number(tokens.indexOf(1) < tokens.indexOf(2))];
    };
    for (const [split, n] of [
      ['train', 4000],
      ['test', 500],
    ] as const) {
      const body = Array.from({ length: n }, () => sequence().join(',')).join('\n');
      const res = await fetch(`${url}/api/datasets/order/${split}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
      expect(res.status).toBe(201);
    }
    const model = {
      kind: 'layers',
      input: [8],
      layers: [
        { type: 'embedding', vocab: 8, dim: 16 },
        { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'attention', heads: 2, causal: true }] },
        { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'dense', units: 32 }, { type: 'gelu' }, { type: 'dense', units: 16 }] },
        { type: 'layerNorm' },
        { type: 'meanPool' },
        { type: 'dense', units: 2 },
      ],
    };
    const spec = mlpJob({
      model,
      dataset: { name: 'order', split: 'train', evalSplit: 'test' },
      rounds: 120,
      optimizer: { kind: 'adamw', lr: 0.003 },
      globalBatch: 128,
      shardSize: 64,
      evalEvery: 120,
    });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    await trainOnOrtNode(url, token, id);
    const accuracy = (await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`)).find((m) => m.name === 'test_accuracy')?.value ?? 0;
    console.log(`transformer on token order: ${(accuracy * 100).toFixed(1)}% of 500 test sequences after 120 rounds`);
    expect(accuracy).toBeGreaterThan(0.85); // chance is about 50%
  }, 200_000);

  async function trainAndScore(model: unknown, rounds: number, lr = 0.003) {
    const spec = mlpJob({ model, rounds, optimizer: { kind: 'adamw', lr }, globalBatch: 256, shardSize: 128, evalEvery: rounds, evalSamples: 2000 });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    await trainOnOrtNode(url, token, id);
    const metrics = await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`);
    return { id, recorded: metrics.find((m) => m.name === 'test_accuracy')?.value ?? 0 };
  }
});

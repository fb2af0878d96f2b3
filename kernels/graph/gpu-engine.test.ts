import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayersSpec } from '../../protocol/model';
import { gptSpec } from '../../protocol/presets';
import { CpuBackend } from '../cpu/backend';
import { kernelsEngine } from '../engine';
import { GpuBackend } from '../gpu/backend';
import { openDawn } from '../gpu/dawn';
import type { GpuHandle } from '../gpu/device';
import { buildModel, initParams } from '../models/index';
import { sampleBatch } from '../models/sample-batch';
import { GraphBuilder } from './builder';
import { runOnCpu } from './cpu-run';
import { gpuGap, runOnGpu } from './gpu-run';
import { checkGraph, forwardGraph } from './gradcheck';
import type { HostTensor } from './ir';
import { FORWARD_CASES, OP_CASES } from './op-cases';
import { relativeError } from './ort-run';

// Graph ops on our WGSL kernels (Dawn on lavapipe here): every op case whose graph has only ops with a `gpu` form
// gives the CPU reference's loss and gradients; a layer-list MLP trains on them like on the CPU.
describe('graph ops on our WGSL kernels (Dawn)', () => {
  let gpu: GpuHandle;
  let b: GpuBackend;
  beforeAll(async () => {
    gpu = await openDawn('vulkan');
    b = new GpuBackend(gpu);
  }, 120_000);
  afterAll(() => gpu?.device.destroy());

  const runnable = OP_CASES.filter((c) => !gpuGap(checkGraph(c).graph));
  it('covers the elementwise, reduction, shape, softmax and matrix ops', () => {
    const ops = new Set(runnable.map((c) => c.op));
    for (const op of [
      'Add',
      'Sub',
      'Mul',
      'Div',
      'Max',
      'Relu',
      'Exp',
      'Log',
      'Tanh',
      'Sigmoid',
      'MatMul',
      'Transpose',
      'ReduceSum',
      'ReduceMean',
      'LogSoftmax',
    ])
      expect(ops, op).toContain(op);
  });
  it.each(runnable.map((c) => [`${c.op}${c.label ? ` (${c.label})` : ''}`, c] as const))('%s: loss and gradients as on the CPU', async (_label, c) => {
    const { graph, loss, grads } = checkGraph(c);
    const want = runOnCpu(graph, {});
    const got = await runOnGpu(b, graph, {}, [loss, ...grads]);
    for (const name of [loss, ...grads]) {
      expect(got[name].shape, name).toEqual((want.get(name) as HostTensor).shape);
      expect(relativeError(got[name], want.get(name) as HostTensor), name).toBeLessThan(1e-4);
    }
  });
  it.each(FORWARD_CASES.filter((c) => !gpuGap(forwardGraph(c).graph)).map((c) => [c.op, c] as const))('%s (forward only)', async (_label, c) => {
    const { graph, output } = forwardGraph(c);
    const got = (await runOnGpu(b, graph, {}, [output]))[output];
    expect(relativeError(got, runOnCpu(graph, {}).get(output) as HostTensor)).toBeLessThan(1e-6);
  });

  // A workgroup shares each output from 128 values up (batch-norm statistics, a loss's sum, a conv's weight gradient);
  // attention takes 64 rows a workgroup and keys a tile at a time.
  it.each([
    ['ReduceSum over 300 values a row', { op: 'ReduceSum', inputs: [[6, 300]], attrs: { axes: [1], keepdims: 0 } }],
    ['ReduceMean over axes 0 and 1, 280 values each', { op: 'ReduceMean', inputs: [[4, 70, 5]], attrs: { axes: [0, 1], keepdims: 1 } }],
    ['ReduceMax over 500 values a row', { op: 'ReduceMax', inputs: [[3, 500]], attrs: { axes: [1], keepdims: 0 } }],
    [
      'Conv whose weights each gather 400 products',
      { op: 'Conv', inputs: [[4, 3, 12, 12], [2, 3, 3, 3], [2]], attrs: { pads: [1, 0, 0, 1], strides: [1, 1] } },
    ],
    [
      'FusedAttention over 70 positions of width 32: rows cross a workgroup, keys cross tiles',
      {
        op: 'FusedAttention',
        inputs: [
          [1, 2, 70, 32],
          [1, 2, 70, 32],
          [1, 2, 70, 32],
        ],
        attrs: { scale: 1 / Math.sqrt(32), causal: 1 },
      },
    ],
    [
      'FusedAttention, not causal, 130 keys of width 64 for 3 queries',
      {
        op: 'FusedAttention',
        inputs: [
          [2, 1, 3, 64],
          [2, 1, 130, 64],
          [2, 1, 130, 64],
        ],
        attrs: { scale: 0.125, causal: 0 },
      },
    ],
  ] as const)('%s: loss and gradients as on the CPU', async (_label, c) => {
    const { graph, loss, grads } = checkGraph(c as unknown as (typeof OP_CASES)[number]);
    const want = runOnCpu(graph, {});
    const got = await runOnGpu(b, graph, {}, [loss, ...grads]);
    for (const name of [loss, ...grads]) expect(relativeError(got[name], want.get(name) as HostTensor), name).toBeLessThan(1e-4);
  });

  it('Pow as JavaScript computes it: integer powers of negatives, 0^0 = 1, 0^-1 = Infinity', async () => {
    const g = new GraphBuilder();
    const a = g.constant(Float32Array.of(-2, 0, 3, -2, 0, -8), [6]);
    const e = g.constant(Float32Array.of(3, 0, 0.5, 2, -1, 1 / 3), [6]);
    const y = g.op('Pow', [a, e]);
    const got = Array.from((await runOnGpu(b, g.graph, {}, [y]))[y].data);
    expect(got.slice(0, 5).map((v) => Number(v.toFixed(5)))).toEqual([-8, 1, 1.73205, 4, Number.POSITIVE_INFINITY]);
    expect(got[5]).toBeNaN(); // as (-8) ** (1/3) is in JavaScript
  });

  const mlp: LayersSpec = { kind: 'layers', input: [20], layers: [{ type: 'dense', units: 16 }, { type: 'relu' }, { type: 'dense', units: 5 }] };
  it('a layer-list MLP: the engine takes it, its step matches the CPU reference, its logits too', async () => {
    expect(kernelsEngine(b).supports(mlp)).toBe(true);
    const params = initParams(mlp, 3);
    const batch = sampleBatch(mlp, 33);
    const [got, want] = await Promise.all([
      buildModel(mlp, b).lossAndGradients(params, batch),
      buildModel(mlp, new CpuBackend()).lossAndGradients(params, batch),
    ]);
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
    expect(got.correct).toBe(want.correct);
    const scale = Math.max(...want.grads.map(Math.abs));
    for (let i = 0; i < want.grads.length; i++) expect(Math.abs(got.grads[i] - want.grads[i]) / scale).toBeLessThan(1e-4);
    const logits = await buildModel(mlp, b).predict(params, batch.x);
    const cpuLogits = await buildModel(mlp, new CpuBackend()).predict(params, batch.x);
    for (let i = 0; i < logits.length; i++) expect(logits[i]).toBeCloseTo(cpuLogits[i], 4);
  });
  it('a residual CNN with a grouped conv, batch norm, SiLU, strides and overlapping pools: the engine takes it, its step matches the CPU reference', async () => {
    const cnn: LayersSpec = {
      kind: 'layers',
      input: [2, 6, 6],
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3, groups: 2 },
        { type: 'maxPool', size: 3, stride: 1, padding: 'same' },
        { type: 'batchNorm' },
        { type: 'silu' },
        {
          type: 'residual',
          layers: [{ type: 'conv2d', filters: 5, kernel: 3, stride: 2 }, { type: 'batchNorm' }, { type: 'tanh' }],
          shortcut: [{ type: 'conv2d', filters: 5, kernel: 1, stride: 2 }],
        },
        { type: 'avgPool', size: 2, stride: 1, padding: 'same' },
        { type: 'maxPool', size: 2 },
        { type: 'dense', units: 3 },
      ],
    };
    expect(kernelsEngine(b).supports(cnn)).toBe(true);
    const params = initParams(cnn, 5);
    const batch = sampleBatch(cnn, 7);
    const [got, want] = await Promise.all([
      buildModel(cnn, b).lossAndGradients(params, batch),
      buildModel(cnn, new CpuBackend()).lossAndGradients(params, batch),
    ]);
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
    const scale = Math.max(...want.grads.map(Math.abs));
    for (let i = 0; i < want.grads.length; i++) expect(Math.abs(got.grads[i] - want.grads[i]) / scale).toBeLessThan(1e-4);
  });

  it('the GPT preset (embeddings, causal attention, layer norm, GELU, dropout): the engine takes it, its step matches the CPU reference', async () => {
    // Dropout on: the masks come from the batch's seed, so both engines draw the same ones.
    const gpt = gptSpec({ kind: 'gpt', vocab: 11, blockSize: 6, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0.2 }, 'spec');
    expect(kernelsEngine(b).supports(gpt)).toBe(true);
    const params = initParams(gpt, 9);
    const batch = { ...sampleBatch(gpt, 3), seed: 21 };
    const [got, want] = await Promise.all([
      buildModel(gpt, b).lossAndGradients(params, batch),
      buildModel(gpt, new CpuBackend()).lossAndGradients(params, batch),
    ]);
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
    const scale = Math.max(...want.grads.map(Math.abs));
    for (let i = 0; i < want.grads.length; i++) expect(Math.abs(got.grads[i] - want.grads[i]) / scale).toBeLessThan(1e-4);
  });

  it('refuses, by op name, a graph with an op it has no program for', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', [3, 4]);
    const y = g.op('ArgMax', [x], { axis: 1 });
    expect(gpuGap(g.graph)).toMatch(/no WGSL program for ArgMax/);
    await expect(runOnGpu(b, g.graph, { x: { shape: [3, 4], data: new Float32Array(12) } }, [y])).rejects.toMatchObject({ code: 'UNSUPPORTED_OP' });
  });
});

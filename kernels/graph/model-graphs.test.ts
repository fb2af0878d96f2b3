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

import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { onnxEngine } from './onnx/engine';
import { onnx } from './onnx/graph';
import { inferenceGraph, trainingGraph } from './onnx/models';
import { compareWithReference, MODEL_CASES } from './testing/engine-check';

// onnxruntime runs our ONNX graphs (forward + backward in standard ops); every engine must match the CPU reference.
const ENGINES = [onnxEngine(ortNode, 'cpu', 'ort-node', 'onnxruntime-node cpu'), onnxEngine(ortWeb, 'wasm', 'ort-wasm', 'onnxruntime-web wasm')];

describe.each(ENGINES.map((e) => [e.name, e] as const))('%s matches the CPU reference', (_, engine) => {
  it.each(MODEL_CASES.map((c) => [c.name, c.spec] as const))('%s', async (_name, spec) => {
    const r = await compareWithReference(engine, spec);
    expect(r.gradients).toBeLessThan(1e-4);
    expect(r.loss).toBeLessThan(1e-5);
    expect(r.correct).toBe(0);
    expect(r.logits).toBeLessThan(1e-5);
    expect(r.local).toBeLessThan(1e-3);
    expect(r.resumed).toBeLessThan(1e-5);
  });
});

describe('ONNX graphs', () => {
  it('are standard ONNX at opset 17 with a symbolic batch and named inputs and outputs', () => {
    const m = onnx.ModelProto.decode(trainingGraph({ kind: 'mlp', layers: [4, 3, 2] }));
    expect(Number(m.opsetImport[0].version)).toBe(17);
    expect(m.graph?.input?.map((i) => i.name)).toEqual(['x', 'y', 'w0', 'b0', 'w1', 'b1']);
    expect(m.graph?.output?.map((o) => o.name)).toEqual(['loss', 'correct', 'grad.w0', 'grad.b0', 'grad.w1', 'grad.b1']);
    expect(m.graph?.input?.[0].type?.tensorType?.shape?.dim?.[0].dimParam).toBe('batch');
    const ops = new Set(m.graph?.node?.map((n) => n.opType));
    for (const op of ops)
      expect([
        'Gemm',
        'Relu',
        'LogSoftmax',
        'Mul',
        'ReduceSum',
        'Neg',
        'Div',
        'Equal',
        'ArgMax',
        'Cast',
        'Sub',
        'Exp',
        'Where',
        'Greater',
        'Gather',
        'Shape',
        'Identity',
      ]).toContain(op);
  });

  it('refuses to store weights of the wrong size in an inference graph', () => {
    expect(() => inferenceGraph({ kind: 'mlp', layers: [4, 3, 2] }, new Float32Array(5))).toThrow(/23 parameters, got 5/);
  });
});

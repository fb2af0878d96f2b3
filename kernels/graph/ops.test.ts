import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder';
import { runOnCpu } from './cpu-run';
import { gradientError } from './gradcheck';
import { OP_CASES } from './op-cases';
import { erf } from './ops/erf';

describe('graph ops on the CPU reference', () => {
  for (const c of OP_CASES)
    it(`${c.op}${c.label ? ` (${c.label})` : ''}: backward rule matches finite differences`, () => {
      expect(gradientError(c)).toBeLessThan(1e-2);
    });

  it('computes known values: matmul, softmax rows summing to one, erf', () => {
    const g = new GraphBuilder();
    const a = g.input('a', [2, 2]);
    const b = g.input('b', [2, 2]);
    const y = g.op('MatMul', [a, b]);
    const s = g.op('Softmax', [a], { axis: -1 });
    const v = runOnCpu(g.graph, { a: { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }, b: { shape: [2, 2], data: Float32Array.of(5, 6, 7, 8) } });
    expect([...(v.get(y)?.data ?? [])]).toEqual([19, 22, 43, 50]);
    const rows = v.get(s)?.data ?? new Float32Array();
    expect(rows[0] + rows[1]).toBeCloseTo(1, 6);
    expect(rows[1] / rows[0]).toBeCloseTo(Math.E, 5);
    expect(erf(0.5)).toBeCloseTo(0.5204998778, 9);
    expect(erf(-3.5)).toBeCloseTo(-0.9999992569, 9);
  });

  it('refuses an op outside the set by name, and a shape that does not fit', () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 3]);
    expect(() => g.op('NonMaxSuppression', [x])).toThrow(/UNSUPPORTED_OP|NonMaxSuppression is not one/);
    expect(() => g.op('MatMul', [x, g.input('w', [4, 2])])).toThrow(/inner dimensions differ/);
    const img = g.input('img', ['N', 3, 8, 8]);
    expect(g.shapeOf(g.op('MaxPool', [img], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }))).toEqual(['N', 3, 4, 4]);
    expect(() => g.op('MaxPool', [img], { kernel_shape: [3, 3], dilations: [2, 2] })).toThrow(/only undilated windows/);
    expect(() => g.op('MaxPool', [img], { kernel_shape: [2, 2], ceil_mode: 1 })).toThrow(/ceil_mode 1/);
    expect(() => g.op('AveragePool', [img], { kernel_shape: [2, 2], pads: [2, 0, 0, 0] })).toThrow(/must be smaller than its kernel/);
    expect(g.shapeOf(g.op('Conv', [img, g.input('k', [3, 1, 3, 3])], { group: 3 }))).toEqual(['N', 3, 6, 6]);
    expect(() => g.op('Conv', [img, g.input('k3', [4, 1, 3, 3])], { group: 3 })).toThrow(/in 3 groups do not fit an input of 3 channels/);
    expect(() => g.op('Conv', [img, g.input('k4', [3, 3, 3, 3])], { group: 3 })).toThrow(/in 3 groups do not fit/);
    expect(() => g.op('Conv', [x, g.input('k2', [3, 3, 1, 1])])).toThrow(/only 2-D images/);
  });

  it('keeps the batch symbolic through reshapes and reductions', () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 4, 5]);
    expect(g.shapeOf(g.op('Flatten', [x]))).toEqual(['N', 20]);
    expect(g.shapeOf(g.reshape(x, ['N', 2, 10]))).toEqual(['N', 2, 10]);
    expect(g.shapeOf(g.op('ReduceMean', [x], { axes: [1, 2], keepdims: 0 }))).toEqual(['N']);
    expect(g.shapeOf(g.op('MatMul', [x, g.input('w', [5, 3])]))).toEqual(['N', 4, 3]);
  });
});

import { axisOf } from '../broadcast';
import type { Attrs, HostTensor } from '../ir';
import type { OpDef } from '../op';

const axisAttr = (attrs: Attrs) => (typeof attrs.axis === 'number' ? attrs.axis : -1);

/** Apply `f` to every 1-D slice along `axis` (read and written through a stride). */
export function alongAxis(x: HostTensor, axis: number, f: (get: (i: number) => number, set: (i: number, v: number) => void, n: number) => void): HostTensor {
  const a = axisOf(axis, x.shape.length);
  const n = x.shape[a];
  const inner = x.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const outer = x.data.length / (n * inner);
  const data = new Float32Array(x.data.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      f(
        (k) => x.data[base + k * inner],
        (k, v) => {
          data[base + k * inner] = v;
        },
        n,
      );
    }
  return { shape: x.shape, data };
}

/** log Σ exp over a slice, shifted by its maximum so that it never overflows. */
function logSumExp(get: (i: number) => number, n: number) {
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < n; k++) max = Math.max(max, get(k));
  let sum = 0;
  for (let k = 0; k < n; k++) sum += Math.exp(get(k) - max);
  return max + Math.log(sum);
}

/** y = softmax(x); dx = y (dy - Σ dy·y) along the axis. */
export const Softmax: OpDef = {
  name: 'Softmax',
  gpu: { kind: 'softmax', log: false },
  shape: ([x]) => [x],
  cpu: ([x], attrs) => [
    alongAxis(x, axisAttr(attrs), (get, set, n) => {
      const lse = logSumExp(get, n);
      for (let k = 0; k < n; k++) set(k, Math.exp(get(k) - lse));
    }),
  ],
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined];
    const y = node.outputs[0];
    const dot = g.op('ReduceSum', [g.op('Mul', [dy, y])], { axes: [axisAttr(node.attrs)], keepdims: 1 });
    return [g.op('Mul', [y, g.op('Sub', [dy, dot])])];
  },
};

/** y = x - logΣexp(x); dx = dy - softmax(x) Σ dy along the axis. */
export const LogSoftmax: OpDef = {
  name: 'LogSoftmax',
  gpu: { kind: 'softmax', log: true },
  shape: ([x]) => [x],
  cpu: ([x], attrs) => [
    alongAxis(x, axisAttr(attrs), (get, set, n) => {
      const lse = logSumExp(get, n);
      for (let k = 0; k < n; k++) set(k, get(k) - lse);
    }),
  ],
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined];
    const total = g.op('ReduceSum', [dy], { axes: [axisAttr(node.attrs)], keepdims: 1 });
    return [g.op('Sub', [dy, g.op('Mul', [g.op('Exp', [node.outputs[0]]), total])])];
  },
};

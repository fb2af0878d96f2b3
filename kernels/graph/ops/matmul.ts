import { GridError } from '../../../protocol/errors';
import { broadcastShapes, broadcastStrides, forEachIndex, sizeOfDims } from '../broadcast';
import type { HostTensor } from '../ir';
import type { Emitter, OpDef } from '../op';

/** The last two axes swapped. */
const swapLast = (g: Emitter, x: string) => {
  const r = g.shapeOf(x).length;
  return g.op('Transpose', [x], { perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });
};

/** numpy matmul of two tensors of rank 2 or more: [..., m, k] x [..., k, n], leading axes broadcast. */
export function matmul(a: HostTensor, b: HostTensor): HostTensor {
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) throw new Error(`matmul of [${a.shape}] and [${b.shape}]`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)) as number[];
  const out = new Float32Array(sizeOfDims(batch) * m * n);
  const strides = [broadcastStrides(a.shape.slice(0, -2), batch), broadcastStrides(b.shape.slice(0, -2), batch)];
  forEachIndex(batch, strides, ([ai, bi], flat) => {
    const [ao, bo, oo] = [ai * m * k, bi * k * n, flat * m * n];
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++) {
        const av = a.data[ao + i * k + p];
        for (let j = 0; j < n; j++) out[oo + i * n + j] += av * b.data[bo + p * n + j];
      }
  });
  return { shape: [...batch, m, n], data: out };
}

export const MatMul: OpDef = {
  name: 'MatMul',
  gpu: { kind: 'matmul' },
  shape: ([a, b]) => {
    if (a.length < 2 || b.length < 2) throw new GridError('UNSUPPORTED_OP', `MatMul of a rank-1 tensor ([${a}] x [${b}]) is not supported yet`);
    if (a.at(-1) !== b.at(-2)) throw new GridError('BAD_MODEL', `MatMul of [${a}] and [${b}]: inner dimensions differ`);
    return [[...broadcastShapes(a.slice(0, -2), b.slice(0, -2)), a.at(-2) as number, b.at(-1) as number]];
  },
  cpu: ([a, b]) => [matmul(a, b)],
  /** dA = dY Bᵀ, dB = Aᵀ dY, each summed over the batch axes it was broadcast along. */
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined, undefined];
    const [a, b] = node.inputs;
    const da = g.op('MatMul', [dy, swapLast(g, b)]);
    const db = g.op('MatMul', [swapLast(g, a), dy]);
    return [g.op('SumAs', [da, a]), g.op('SumAs', [db, b])];
  },
};

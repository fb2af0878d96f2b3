import { mapBroadcast } from '../broadcast';
import type { Attrs, HostTensor } from '../ir';
import type { OpDef } from '../op';
import { matmul } from './matmul';
import { transpose } from './transpose';

const num = (attrs: Attrs, key: string, fallback: number) => (typeof attrs[key] === 'number' ? (attrs[key] as number) : fallback);

/** alpha · op(A) op(B) + beta · C, op a transpose when transA / transB: what exporters write for a linear layer. */
export const Gemm: OpDef = {
  name: 'Gemm',
  gpu: { kind: 'gemm' },
  shape: ([a, b], attrs) => {
    const rows = num(attrs, 'transA', 0) ? a[1] : a[0];
    const cols = num(attrs, 'transB', 0) ? b[0] : b[1];
    return [[rows, cols]];
  },
  cpu: ([a, b, c], attrs) => {
    const at: HostTensor = num(attrs, 'transA', 0) ? transpose(a, [1, 0]) : a;
    const bt: HostTensor = num(attrs, 'transB', 0) ? transpose(b, [1, 0]) : b;
    const ab = matmul(at, bt);
    const [alpha, beta] = [num(attrs, 'alpha', 1), num(attrs, 'beta', 1)];
    return [c ? mapBroadcast([ab, c], (x, y) => alpha * x + beta * y) : { shape: ab.shape, data: ab.data.map((x) => alpha * x) }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined, undefined, undefined];
    const [a, b, c] = node.inputs;
    const [transA, transB] = [num(node.attrs, 'transA', 0), num(node.attrs, 'transB', 0)];
    const [alpha, beta] = [num(node.attrs, 'alpha', 1), num(node.attrs, 'beta', 1)];
    const scaled = alpha === 1 ? dy : g.op('Mul', [dy, g.constant(alpha)]);
    const t = (x: string) => g.op('Transpose', [x], { perm: [1, 0] });
    // Y = A' B' with A' = transA ? Aᵀ : A: dA' = dY B'ᵀ and dB' = A'ᵀ dY, transposed back where the input was.
    const aEff = transA ? t(a) : a;
    const bEff = transB ? t(b) : b;
    const daEff = g.op('MatMul', [scaled, t(bEff)]);
    const dbEff = g.op('MatMul', [t(aEff), scaled]);
    const dc = c === undefined ? undefined : g.op('SumAs', [beta === 1 ? dy : g.op('Mul', [dy, g.constant(beta)]), c]);
    return [transA ? t(daEff) : daEff, transB ? t(dbEff) : dbEff, dc];
  },
  // alpha and beta are FLOAT attributes in ONNX, whole or not.
  onnx: (w, n) => {
    const { alpha, beta, ...rest } = n.attrs;
    const floats = { ...(alpha === undefined ? {} : { alpha: { float: Number(alpha) } }), ...(beta === undefined ? {} : { beta: { float: Number(beta) } }) };
    w.node('Gemm', [...n.inputs], { ...rest, ...floats }, [...n.outputs]);
  },
};

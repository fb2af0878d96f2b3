import type { GraphBuilder } from './graph';

export type Activation = 'relu' | 'gelu' | 'tanh';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** act(z), the same formulas as the CPU reference (GELU in its tanh form). */
export function activation(g: GraphBuilder, z: string, kind: Activation): string {
  if (kind === 'relu') return g.op('Relu', [z]);
  if (kind === 'tanh') return g.op('Tanh', [z]);
  const t = geluTanh(g, z);
  return g.op('Mul', [g.op('Mul', [g.scalar(0.5), z]), g.op('Add', [g.scalar(1), t])]);
}

/** dL/dz from dL/dh for h = act(z). */
export function activationGrad(g: GraphBuilder, dh: string, z: string, h: string, kind: Activation): string {
  if (kind === 'relu') return g.op('Where', [g.op('Greater', [z, g.scalar(0)]), dh, g.scalar(0)]);
  if (kind === 'tanh') return g.op('Mul', [dh, g.op('Sub', [g.scalar(1), g.op('Mul', [h, h])])]);
  // 0.5 (1 + t) + 0.5 z (1 - t²) √(2/π) (1 + 3·0.044715 z²)
  const t = geluTanh(g, z);
  const left = g.op('Mul', [g.scalar(0.5), g.op('Add', [g.scalar(1), t])]);
  const sech2 = g.op('Sub', [g.scalar(1), g.op('Mul', [t, t])]);
  const inner = g.op('Add', [g.scalar(1), g.op('Mul', [g.scalar(3 * 0.044715), g.op('Mul', [z, z])])]);
  const right = g.op('Mul', [g.op('Mul', [g.op('Mul', [g.scalar(0.5 * SQRT_2_OVER_PI), z]), sech2]), inner]);
  return g.op('Mul', [dh, g.op('Add', [left, right])]);
}

function geluTanh(g: GraphBuilder, z: string) {
  const z3 = g.op('Mul', [g.op('Mul', [z, z]), z]);
  return g.op('Tanh', [g.op('Mul', [g.scalar(SQRT_2_OVER_PI), g.op('Add', [z, g.op('Mul', [g.scalar(0.044715), z3])])])]);
}

/** The batch size as a float scalar, read from `x` at run time (the batch dimension is symbolic). */
export const batchSize = (g: GraphBuilder, x: string) => g.op('Cast', [g.op('Gather', [g.op('Shape', [x]), g.ints(0)], { axis: 0 })], { to: 1 });

/**
 * Softmax cross-entropy against one-hot labels `y`: the mean loss, the count of correct predictions (first maximum
 * wins, as in the reference) and dLoss/dLogits.
 */
export function crossEntropy(g: GraphBuilder, logits: string, y: string, n: string) {
  const logp = g.op('LogSoftmax', [logits], { axis: 1 });
  const total = g.op('ReduceSum', [g.op('Mul', [y, logp])], { keepdims: 0 });
  const loss = g.op('Neg', [g.op('Div', [total, n])]);
  const hits = g.op('Equal', [g.op('ArgMax', [logits], { axis: 1, keepdims: 0 }), g.op('ArgMax', [y], { axis: 1, keepdims: 0 })]);
  const correct = g.op('ReduceSum', [g.op('Cast', [hits], { to: 1 })], { keepdims: 0 });
  const dlogits = g.op('Div', [g.op('Sub', [g.op('Exp', [logp]), y]), n]);
  return { loss, correct, dlogits };
}

/** Gradients of z = x·W + b, given dz: dW = xᵀ·dz, db = Σ_rows dz, and dx = dz·Wᵀ when wanted. */
export function denseGrad(g: GraphBuilder, x: string, w: string, dz: string, wantDx: boolean) {
  const dw = g.op('Gemm', [x, dz], { transA: 1 });
  const db = g.op('ReduceSum', [dz, g.ints([0])], { keepdims: 0 });
  return { dw, db, dx: wantDx ? g.op('Gemm', [dz, w], { transB: 1 }) : undefined };
}

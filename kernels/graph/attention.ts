import type { GraphBuilder } from './builder';
import type { Dim } from './ir';

/** An attention layer's projections: [features, features] weights and their biases. */
export interface AttentionParams {
  wq: string;
  bq: string;
  wk: string;
  bk: string;
  wv: string;
  bv: string;
  wo: string;
  bo: string;
}

/** What a masked-out score becomes: its softmax weight is exactly 0 in float32. */
const MASKED = -1e9;

/** [t, t] with MASKED above the diagonal: position i attends to positions 0..i only. */
function causalMask(t: number): Float32Array {
  return Float32Array.from({ length: t * t }, (_, k) => (k % t > Math.floor(k / t) ? MASKED : 0));
}

/** The causal mask for `t` positions; for a symbolic length, the mask of the longest cut to the sequence `h` has. */
function maskFor(g: GraphBuilder, h: string, t: Dim, maxPositions?: number): string {
  if (typeof t === 'number') return g.constant(causalMask(t), [t, t]);
  if (!maxPositions) throw new Error('a causal mask over a symbolic length needs the longest length');
  return g.op('Prefix', [g.constant(causalMask(maxPositions), [maxPositions, maxPositions]), h], { axes: [0, 1], dims: [1, 1] });
}

/**
 * Multi-head scaled dot-product self-attention (Vaswani et al. 2017) on `h` [batch, positions, features], written in
 * the graph's own ops (MatMul, Softmax, Transpose, Reshape), so autodiff and every engine that runs those run it.
 * Positions may be a symbol (an export for any length up to `maxPositions`): the causal mask is then cut to it.
 */
export function selfAttention(g: GraphBuilder, h: string, p: AttentionParams, heads: number, causal: boolean, maxPositions?: number): string {
  const [batch, t, d] = g.shapeOf(h) as [Dim, Dim, number];
  const dh = d / heads;
  const project = (w: string, b: string) => g.op('Add', [g.op('MatMul', [h, w]), b]);
  const byHead = (x: string, perm: number[]) => g.op('Transpose', [g.reshape(x, [batch, t, heads, dh])], { perm });
  const q = byHead(project(p.wq, p.bq), [0, 2, 1, 3]); // [batch, heads, t, dh]
  const kT = byHead(project(p.wk, p.bk), [0, 2, 3, 1]); // [batch, heads, dh, t]
  const v = byHead(project(p.wv, p.bv), [0, 2, 1, 3]);
  const scaled = g.op('Mul', [g.op('MatMul', [q, kT]), g.constant(1 / Math.sqrt(dh))]);
  const scores = causal ? g.op('Add', [scaled, maskFor(g, h, t, maxPositions)]) : scaled;
  const mixed = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]); // [batch, heads, t, dh]
  const merged = g.reshape(g.op('Transpose', [mixed], { perm: [0, 2, 1, 3] }), [batch, t, d]);
  return g.op('Add', [g.op('MatMul', [merged, p.wo]), p.bo]);
}

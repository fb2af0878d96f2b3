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

/**
 * Multi-head scaled dot-product self-attention (Vaswani et al. 2017) on `h` [batch, positions, features]: projections
 * in the graph's own ops, the attention itself one FusedAttention node (flash attention on our WGSL, standard ONNX
 * steps elsewhere). Positions may be a symbol (an export for any length): the causal mask follows the length.
 */
export function selfAttention(g: GraphBuilder, h: string, p: AttentionParams, heads: number, causal: boolean): string {
  const [batch, t, d] = g.shapeOf(h) as [Dim, Dim, number];
  const dh = d / heads;
  const project = (w: string, b: string) => g.op('Add', [g.op('MatMul', [h, w]), b]);
  const byHead = (x: string) => g.op('Transpose', [g.reshape(x, [batch, t, heads, dh])], { perm: [0, 2, 1, 3] }); // [batch, heads, t, dh]
  const qkv = [project(p.wq, p.bq), project(p.wk, p.bk), project(p.wv, p.bv)].map(byHead);
  // Two outputs: the log-sum-exp of each row is what the backward rebuilds the softmax from.
  const [mixed] = g.ops('FusedAttention', qkv, { scale: 1 / Math.sqrt(dh), causal: causal ? 1 : 0 }, 2);
  const merged = g.reshape(g.op('Transpose', [mixed], { perm: [0, 2, 1, 3] }), [batch, t, d]);
  return g.op('Add', [g.op('MatMul', [merged, p.wo]), p.bo]);
}

// Plain JavaScript so worker threads load it without a TypeScript loader; aggregate.ts uses the same function.

/**
 * out[start:end] = sum_i w[i] * g[i][start:end], summed in the order given.
 * @param {Float32Array} out @param {Float32Array[]} grads @param {number[]} weights @param {number} start @param {number} end
 */
export function weightedSumRange(out, grads, weights, start, end) {
  const g = grads.slice();
  const w = weights.slice();
  // Pad to a multiple of 8 with zero-weight copies so the unrolled loop needs no tail case.
  while (g.length % 8) {
    g.push(g[0]);
    w.push(0);
  }
  const BLOCK = 2048; // one block of `out` stays in L1 while every contribution streams through it
  for (let s0 = start; s0 < end; s0 += BLOCK) {
    const s1 = Math.min(end, s0 + BLOCK);
    out.fill(0, s0, s1);
    // Eight inputs per pass: V8 does not vectorize, so fewer loads and stores of `out` is what buys bandwidth.
    for (let i = 0; i < g.length; i += 8) {
      const [a, b, c, d, e, f, h, k] = g.slice(i, i + 8);
      const [wa, wb, wc, wd, we, wf, wh, wk] = w.slice(i, i + 8);
      for (let j = s0; j < s1; j++) out[j] += wa * a[j] + wb * b[j] + wc * c[j] + wd * d[j] + we * e[j] + wf * f[j] + wh * h[j] + wk * k[j];
    }
  }
}

/** The piscina task: one coordinate range of the sum, written into shared memory. */
export default function sumTask({ out, grads, weights, start, end }) {
  weightedSumRange(out, grads, weights, start, end);
  return end - start;
}

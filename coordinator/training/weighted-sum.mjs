// Plain JavaScript so worker threads load it without a TypeScript loader; aggregate.ts uses the same function.

/**
 * out[start:end] = sum_i w[i] * g[i][start:end], summed in the order given.
 * @param {Float32Array} out @param {Float32Array[]} grads @param {number[]} weights @param {number} start @param {number} end
 */
export function weightedSumRange(out, grads, weights, start, end) {
  if (grads.length === 1) {
    // One part (one worker's shard a round): a scaled copy, the same bits as the general path gives.
    const [g, w] = [grads[0], weights[0]];
    for (let j = start; j < end; j++) out[j] = w * g[j];
    return;
  }
  const full = grads.length - (grads.length % 8);
  const BLOCK = 2048; // one block of `out` stays in L1 while every contribution streams through it
  for (let s0 = start; s0 < end; s0 += BLOCK) {
    const s1 = Math.min(end, s0 + BLOCK);
    out.fill(0, s0, s1);
    // Eight inputs per pass: V8 does not vectorize, so fewer loads and stores of `out` is what buys bandwidth.
    for (let i = 0; i < full; i += 8) {
      const [a, b, c, d, e, f, h, k] = grads.slice(i, i + 8);
      const [wa, wb, wc, wd, we, wf, wh, wk] = weights.slice(i, i + 8);
      for (let j = s0; j < s1; j++) out[j] += wa * a[j] + wb * b[j] + wc * c[j] + wd * d[j] + we * e[j] + wf * f[j] + wh * h[j] + wk * k[j];
    }
    // The last few inputs in one more pass (not padded to eight: a one-part mean would do eight times the work).
    if (full < grads.length)
      for (let j = s0; j < s1; j++) {
        let sum = 0;
        for (let i = full; i < grads.length; i++) sum += weights[i] * grads[i][j];
        out[j] += sum;
      }
  }
}

/** The piscina task: one coordinate range of the sum, written into shared memory. */
export default function sumTask({ out, grads, weights, start, end }) {
  weightedSumRange(out, grads, weights, start, end);
  return end - start;
}

import { GridError } from '../protocol/errors';

export type AggregationRule = 'mean' | 'trimmed-mean' | 'median';

export interface Contribution {
  values: Float32Array;
  samples: number;
}

// Sized to keep one block of the output plus one of the input in L1/L2 while every contribution streams through it.
const BLOCK = 2048;

/**
 * Combine contributions given in shard order. `mean` weights by sample count; the robust rules are
 * coordinate-wise and unweighted. The order of summation is fixed, so the result does not depend on arrival order.
 */
export function aggregate(parts: Contribution[], rule: AggregationRule = 'mean', trim = 0.1, out?: Float32Array): Float32Array {
  if (parts.length === 0) throw new GridError('BAD_REQUEST', 'nothing to aggregate');
  const n = parts[0].values.length;
  for (const p of parts) if (p.values.length !== n) throw new GridError('WRONG_SIZE', `contribution of ${p.values.length} elements, expected ${n}`);
  const result = out ?? new Float32Array(n);
  if (rule === 'mean') weightedMean(parts, result);
  else coordinateWise(parts, result, rule === 'median' ? medianOf : (xs) => trimmedMeanOf(xs, trim));
  return result;
}

function weightedMean(parts: Contribution[], out: Float32Array) {
  const total = parts.reduce((s, p) => s + p.samples, 0);
  const w = parts.map((p) => p.samples / total);
  const g = parts.map((p) => p.values);
  // Pad to a multiple of 8 with zero-weight copies so the unrolled loop needs no tail case.
  while (g.length % 8) {
    g.push(g[0]);
    w.push(0);
  }
  const n = out.length;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    out.fill(0, start, end);
    // Eight inputs per pass: V8 does not vectorize, so fewer loads and stores of `out` is what buys bandwidth.
    for (let i = 0; i < g.length; i += 8) {
      const [a, b, c, d, e, f, h, k] = g.slice(i, i + 8);
      const [wa, wb, wc, wd, we, wf, wh, wk] = w.slice(i, i + 8);
      for (let j = start; j < end; j++)
        out[j] += wa * a[j] + wb * b[j] + wc * c[j] + wd * d[j] + we * e[j] + wf * f[j] + wh * h[j] + wk * k[j];
    }
  }
}

function coordinateWise(parts: Contribution[], out: Float32Array, reduce: (xs: Float32Array) => number) {
  const column = new Float32Array(parts.length);
  for (let j = 0; j < out.length; j++) {
    for (let i = 0; i < parts.length; i++) column[i] = parts[i].values[j];
    out[j] = reduce(column);
  }
}

function medianOf(xs: Float32Array): number {
  xs.sort();
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

function trimmedMeanOf(xs: Float32Array, trim: number): number {
  xs.sort();
  const k = Math.min(Math.floor(xs.length * trim), (xs.length - 1) >> 1);
  let s = 0;
  for (let i = k; i < xs.length - k; i++) s += xs[i];
  return s / (xs.length - 2 * k);
}

export function l2Norm(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Scale `a` in place so its L2 norm is at most `max`; returns the norm before clipping. */
export function clipByNorm(a: Float32Array, max: number): number {
  const norm = l2Norm(a);
  if (norm > max && norm > 0) {
    const k = max / norm;
    for (let i = 0; i < a.length; i++) a[i] *= k;
  }
  return norm;
}

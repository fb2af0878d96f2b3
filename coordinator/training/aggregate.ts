import { GridError } from '../../protocol/errors';
import { vectorStats, weightedSumRange } from './simd.mjs';

export type AggregationRule = 'mean' | 'trimmed-mean' | 'median' | 'centered-clip';

export interface Contribution {
  values: Float32Array;
  samples: number;
}

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
  else if (rule === 'centered-clip') centeredClip(parts, result);
  else coordinateWise(parts, result, rule === 'median' ? medianOf : (xs) => trimmedMeanOf(xs, trim));
  return result;
}

function weightedMean(parts: Contribution[], out: Float32Array) {
  const total = parts.reduce((s, p) => s + p.samples, 0);
  weightedSumRange(
    out,
    parts.map((p) => p.values),
    parts.map((p) => p.samples / total),
    0,
    out.length,
  );
}

/**
 * Centered clipping (Karimireddy, He and Jaggi, 2021): start from the coordinate-wise median and move toward each
 * contribution by at most a radius, three times. The radius is the median distance to the centre, so a few far
 * contributions (scaled, flipped) pull the result by no more than an honest one does.
 */
function centeredClip(parts: Contribution[], out: Float32Array) {
  coordinateWise(parts, out, medianOf);
  const step = new Float64Array(out.length);
  for (let iteration = 0; iteration < 3; iteration++) {
    const distances = parts.map((p) => {
      let s = 0;
      for (let j = 0; j < out.length; j++) s += (p.values[j] - out[j]) ** 2;
      return Math.sqrt(s);
    });
    const radius = medianOf(Float32Array.from(distances));
    step.fill(0);
    parts.forEach((p, i) => {
      const k = distances[i] > radius && distances[i] > 0 ? radius / distances[i] : 1;
      for (let j = 0; j < out.length; j++) step[j] += ((p.values[j] - out[j]) * k) / parts.length;
    });
    for (let j = 0; j < out.length; j++) out[j] += step[j];
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

/** The L2 norm, summed in f64 (simd.mjs: the same sum the result checks use). */
export const l2Norm = (a: Float32Array): number => vectorStats(a).norm;

/** Scale `a` in place so its L2 norm (given, or computed) is at most `max`; returns the norm before clipping. */
export function clipByNorm(a: Float32Array, max: number, norm = l2Norm(a)): number {
  if (norm > max && norm > 0) {
    const k = max / norm;
    for (let i = 0; i < a.length; i++) a[i] *= k;
  }
  return norm;
}

/** Median of the L2 norms of a round's accepted results: the yardstick for the next round's norm bound. */
export function medianNorm(r: { shards: { result?: { norm: number } }[] }): number {
  const norms = r.shards.map((s) => s.result?.norm ?? 0).sort((a, b) => a - b);
  return norms[norms.length >> 1] ?? 0;
}

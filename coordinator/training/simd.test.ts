import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assemble, generated } from '../../scripts/build-wasm.mjs';
import { adamStep, dot, vectorStats, weightedSumRange } from './simd.mjs';

const random = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 3);
// Lengths that cross the 8192-float staging blocks and end mid-lane.
const N = 2 * 8192 + 7;

describe('SIMD kernels (simd.wat)', () => {
  it('ships the bytes simd.wat assembles to', async () => {
    const wat = new URL('./simd.wat', import.meta.url).pathname;
    expect(readFileSync(new URL('./simd-wasm.mjs', import.meta.url), 'utf8')).toBe(generated(await assemble(wat)));
  });

  it.each([1, 3, 9])('sums %i contributions in order, within f32 rounding of a float64 sum, and only inside the range', (parts) => {
    const grads = Array.from({ length: parts }, (_, i) => random(N, i));
    const weights = grads.map((_, i) => (i + 1) / parts);
    const out = new Float32Array(N).fill(7);
    const [start, end] = [3, N - 2];
    weightedSumRange(out, grads, weights, start, end);
    for (let j = 0; j < N; j++) {
      if (j < start || j >= end) {
        expect(out[j]).toBe(7);
        continue;
      }
      let sum = 0;
      let scale = 0;
      for (let i = 0; i < parts; i++) [sum, scale] = [sum + weights[i] * grads[i][j], scale + Math.abs(weights[i] * grads[i][j])];
      if (Math.abs(out[j] - sum) > 1e-6 * scale + 1e-30) expect.fail(`element ${j}: ${out[j]} vs ${sum}`);
    }
  });

  it('takes a dot product within f32 rounding of a float64 one, the lanes past the end not counted', () => {
    const [x, y] = [random(N, 5), random(N, 6)];
    let want = 0;
    let scale = 0;
    for (let i = 0; i < N; i++) [want, scale] = [want + x[i] * y[i], scale + Math.abs(x[i] * y[i])];
    expect(Math.abs(dot(x, y) - want)).toBeLessThan(1e-6 * scale);
    const head = x[0] * y[0] + x[1] * y[1] + x[2] * y[2] + x[3] * y[3] + x[4] * y[4];
    weightedSumRange(new Float32Array(16), [new Float32Array(16).fill(Number.NaN)], [1], 0, 16); // stale NaN where y is staged
    expect(dot(x.subarray(0, 5), y.subarray(0, 5))).toBeCloseTo(head, 5);
  });

  it('steps Adam(W) as the formula does, within f32 rounding, on every element', () => {
    const [p, g, m, v] = [random(N, 1), random(N, 2), random(N, 3).map((x) => x / 10), random(N, 4).map((x) => x * x)];
    const c = { b1: 0.9, b2: 0.999, mScale: 0.01 / (1 - 0.9 ** 3), vScale: 1 / (1 - 0.999 ** 3), eps: 1e-8, keep: 1 - 0.01 * 0.1, l2: 0.05 };
    const want = Array.from(p, (pi, i) => {
      const gi = g[i] + c.l2 * pi;
      const mi = c.b1 * m[i] + (1 - c.b1) * gi;
      const vi = c.b2 * v[i] + (1 - c.b2) * gi * gi;
      return [c.keep * pi - (c.mScale * mi) / (Math.sqrt(c.vScale * vi) + c.eps), mi, vi];
    });
    adamStep(p, g, m, v, c);
    for (let i = 0; i < N; i++) {
      const [pi, mi, vi] = want[i];
      if (
        Math.abs(p[i] - pi) > 1e-5 * Math.max(1, Math.abs(pi)) ||
        Math.abs(m[i] - mi) > 1e-6 * Math.max(1, Math.abs(mi)) ||
        Math.abs(v[i] - vi) > 1e-6 * Math.max(1, vi)
      )
        expect.fail(`element ${i}: p ${p[i]} vs ${pi}, m ${m[i]} vs ${mi}, v ${v[i]} vs ${vi}`);
    }
  });

  it('finds the largest magnitude and the norm in one pass, and a NaN or an infinity wherever it is', () => {
    const x = random(N, 5);
    let [max, sumSq] = [0, 0];
    for (const v of x) [max, sumSq] = [Math.max(max, Math.abs(v)), sumSq + v * v];
    const stats = vectorStats(x);
    expect(stats.maxAbs).toBe(max);
    expect(stats.norm).toBeCloseTo(Math.sqrt(sumSq), 10);
    for (const at of [0, 8191, 8192, N - 1]) {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const y = x.slice();
        y[at] = bad;
        expect(Number.isFinite(vectorStats(y).maxAbs)).toBe(false);
      }
    }
    expect(vectorStats(Float32Array.of(3, -4, 0))).toMatchObject({ maxAbs: 4, norm: 5 }); // a partial lane counts only its own
  });

  it('fingerprints the bits: equal for equal values, different for any one element changed in any block, or a length', () => {
    const x = random(N, 6);
    const { fingerprint } = vectorStats(x);
    expect(fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(vectorStats(x.slice()).fingerprint).toBe(fingerprint);
    for (const at of [0, 1, 2, 3, 8191, 8192, N - 1]) {
      const y = x.slice();
      y[at] = -y[at];
      expect(vectorStats(y).fingerprint).not.toBe(fingerprint);
    }
    const zeros = vectorStats(new Float32Array(6)).fingerprint;
    expect(vectorStats(new Float32Array(5)).fingerprint).not.toBe(zeros); // the padding lanes are not a free tail
    expect(vectorStats(Float32Array.of(1, 2, 0, 0, 0, 0)).fingerprint).not.toBe(vectorStats(Float32Array.of(2, 1, 0, 0, 0, 0)).fingerprint);
  });
});

import { describe, expect, it } from 'vitest';
import { aggregate, clipByNorm, l2Norm } from './aggregate';
import { AggregationPool, sharedFloat32 } from './aggregate-pool';

const vec = (...xs: number[]) => Float32Array.from(xs);

describe('aggregate', () => {
  it('weights the mean by sample count', () => {
    const out = aggregate([
      { values: vec(1, 2), samples: 1 },
      { values: vec(4, 8), samples: 3 },
    ]);
    expect(Array.from(out)).toEqual([3.25, 6.5]);
  });

  it('sums any number of parts, one, eight and the few past eight alike, to the weighted mean', () => {
    for (const k of [1, 2, 7, 8, 9, 13, 16, 17]) {
      const parts = Array.from({ length: k }, (_, i) => ({ values: Float32Array.from({ length: 3000 }, (_, j) => Math.cos(i * 7 + j)), samples: 1 + i }));
      const total = parts.reduce((n, p) => n + p.samples, 0);
      const out = aggregate(parts);
      for (let j = 0; j < 3000; j += 97) {
        const want = parts.reduce((sum, p) => sum + (p.samples / total) * p.values[j], 0);
        expect(Math.abs(out[j] - want)).toBeLessThan(1e-6);
      }
    }
  });

  it('gives bit-identical results for the same shard order across blocks', () => {
    const parts = Array.from({ length: 7 }, (_, i) => ({ values: Float32Array.from({ length: 10_000 }, (_, j) => Math.sin(i * 31 + j)), samples: 10 + i }));
    expect(aggregate(parts)).toEqual(aggregate(parts.map((p) => ({ values: p.values.slice(), samples: p.samples }))));
  });

  it('median, trimmed mean and centered clipping ignore one wild contribution', () => {
    const parts = [vec(1), vec(1.1), vec(0.9), vec(1e6), vec(1)].map((values) => ({ values, samples: 1 }));
    expect(aggregate(parts, 'median')[0]).toBeCloseTo(1);
    expect(aggregate(parts, 'trimmed-mean', 0.2)[0]).toBeCloseTo(1.0333, 3);
    expect(aggregate(parts, 'centered-clip')[0]).toBeCloseTo(1, 1);
    expect(aggregate(parts, 'mean')[0]).toBeGreaterThan(1e5);
  });

  it('refuses contributions of different sizes', () => {
    expect(() =>
      aggregate([
        { values: vec(1), samples: 1 },
        { values: vec(1, 2), samples: 1 },
      ]),
    ).toThrow(/WRONG_SIZE|expected 1/);
  });

  it('clips by L2 norm', () => {
    const a = vec(3, 4);
    expect(clipByNorm(a, 1)).toBe(5);
    expect(l2Norm(a)).toBeCloseTo(1);
  });
});

describe('aggregation pool', () => {
  it('splits the weighted mean across threads with a bit-identical result', async () => {
    const n = 300_001;
    const parts = Array.from({ length: 11 }, (_, i) => {
      const values = sharedFloat32(n);
      for (let j = 0; j < n; j++) values[j] = Math.cos(i * 17 + j * 0.001);
      return { values, samples: 5 + i };
    });
    const pool = new AggregationPool(2);
    const threaded = await pool.mean(parts, sharedFloat32(n));
    await pool.close();
    expect(Array.from(threaded)).toEqual(Array.from(aggregate(parts)));
  });

  const contributions = (count: number, n: number, seed: number) =>
    Array.from({ length: count }, (_, i) => {
      const values = sharedFloat32(n);
      for (let j = 0; j < n; j++) values[j] = ((seed * 7 + i * 13 + j) % 101) / 101 - 0.5;
      return { values, samples: 3 + i };
    });

  /** Elements that differ bit for bit (toEqual on a million floats is slow). */
  const mismatches = (x: Float32Array, y: Float32Array) => {
    let bad = x.length === y.length ? 0 : Math.max(x.length, y.length);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (!Object.is(x[i], y[i])) bad++;
    return bad;
  };

  it('answers overlapping mean() calls each with its own sum', async () => {
    const n = 1 << 18;
    const [a, b] = [contributions(16, n, 1), contributions(16, n, 2)];
    const pool = new AggregationPool(2);
    const [ra, rb] = await Promise.all([pool.mean(a, sharedFloat32(n)).then((r) => r.slice()), pool.mean(b, sharedFloat32(n)).then((r) => r.slice())]);
    await pool.close();
    expect(mismatches(ra, aggregate(a))).toBe(0);
    expect(mismatches(rb, aggregate(b))).toBe(0);
  });

  it('still returns the exact sum when its threads die mid-call', async () => {
    const n = 1 << 18;
    const parts = contributions(8, n, 3);
    const pool = new AggregationPool(2);
    const pending = pool.mean(parts, sharedFloat32(n));
    await pool.killThreadsForTest();
    expect(mismatches(await pending, aggregate(parts))).toBe(0);
    expect(mismatches(await pool.mean(parts, sharedFloat32(n)), aggregate(parts))).toBe(0);
    await pool.close();
  });
});

import { describe, expect, it } from 'vitest';
import { smooth } from './smoothing';

describe('smoothing a metric', () => {
  const pts = (ys: number[]) => ys.map((y, x) => ({ x, y }));
  it('leaves the points as they are at weight 0, and a constant series constant at any weight (debiased)', () => {
    expect(smooth(pts([3, 1, 2]), 0)).toEqual(pts([3, 1, 2]));
    for (const p of smooth(pts([2, 2, 2, 2]), 0.9)) expect(p.y).toBeCloseTo(2, 12);
  });
  it('is the weighted mean of the points so far, weight^age each', () => {
    const [a, b, c] = smooth(pts([1, 0, 4]), 0.5);
    expect(a.y).toBe(1);
    expect(b.y).toBeCloseTo((0.5 * 1 + 0) / 1.5, 12);
    expect(c.y).toBeCloseTo((0.25 * 1 + 0.5 * 0 + 4) / 1.75, 12);
  });
  it('passes a NaN through without spoiling the points after it', () => {
    const out = smooth(pts([1, Number.NaN, 1]), 0.5);
    expect(out[1].y).toBeNaN();
    expect(out[2].y).toBe(1);
  });
});

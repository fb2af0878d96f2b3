import { describe, expect, it } from 'vitest';
import { f16ToF32 as fromHalfBits, f32ToF16 as toHalfBits } from './half';

describe('f16 conversion', () => {
  it('round-trips what binary16 holds exactly and rounds the rest to nearest even', () => {
    for (const x of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, -3.140625]) expect(fromHalfBits(toHalfBits(x))).toBe(x);
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // halfway: to even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(fromHalfBits(toHalfBits(0.1))).toBeCloseTo(0.1, 3);
  });
  it('saturates to infinity, flushes below the smallest subnormal, keeps NaN', () => {
    expect(toHalfBits(1e6)).toBe(0x7c00);
    expect(toHalfBits(-1e6)).toBe(0xfc00);
    expect(toHalfBits(1e-9)).toBe(0);
    expect(Number.isNaN(fromHalfBits(toHalfBits(Number.NaN)))).toBe(true);
  });
});

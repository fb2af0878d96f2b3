import { describe, expect, it } from 'vitest';
import { TransferBudget } from './budget';

describe('bandwidth budget over a sliding hour', () => {
  it('counts what was moved in the last hour only, and says when more will fit', () => {
    let now = 0;
    const b = new TransferBudget(1000, () => now);
    b.recordTotal(600);
    now = 10 * 60_000;
    b.recordTotal(900); // 300 more
    expect(b.used()).toBe(900);
    expect(b.fits(100)).toBe(true);
    expect(b.fits(101)).toBe(false);
    // 500 more fit once the first 600 age out, an hour after they were moved.
    expect(b.msUntilFits(500)).toBe(50 * 60_000);
    now = 60 * 60_000;
    expect(b.used()).toBe(300);
    expect(b.fits(700)).toBe(true);
  });

  it('never fits what is over the whole hourly cap, and records no negative totals', () => {
    let now = 0;
    const b = new TransferBudget(1000, () => now);
    expect(b.msUntilFits(1001)).toBe(Number.POSITIVE_INFINITY);
    b.recordTotal(500);
    b.recordTotal(400); // the running total went down (a reset): nothing is recorded
    now = 1;
    expect(b.used()).toBe(500);
  });
});

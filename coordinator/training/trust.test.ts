import { describe, expect, it } from 'vitest';
import { agree } from '../jobs/redundancy';
import { FULL_STANDING, MIN_CHECK_RATE, TrustLedger } from '../jobs/trust-ledger';
import { AGAINST, clipFactor, FULL_AGREEMENT, heldOutAccepts, type Reference, score, trustedCoefficients, weightOf } from './trust';

const ref: Reference = { grads: Float32Array.from([1, 0, 0]), norm: 1, samples: 128, heldOutLoss: 1 };

describe('root of trust', () => {
  it('weighs a result fully unless it is against the reference, and a fresh identity less', () => {
    const along = score('a', Float32Array.from([2, 1, 0]), 32, ref);
    const flipped = score('b', Float32Array.from([-2, -1, 0]), 32, ref);
    expect(along.cosine).toBeCloseTo(2 / Math.sqrt(5));
    expect(weightOf(along, 1)).toBe(32);
    const orthogonal = score('c', Float32Array.from([-1, 20, 0]), 32, ref); // honest noise: slightly below zero
    expect(orthogonal.cosine).toBeGreaterThan(AGAINST);
    expect(orthogonal.cosine).toBeLessThan(0);
    expect(weightOf(orthogonal, 1)).toBe(32);
    expect(weightOf(score('d', Float32Array.from([-1, 5, 0]), 32, ref), 1)).toBe(0); // cosine -0.2: against it
    expect(weightOf(flipped, 1)).toBe(0);
    expect(weightOf(along, 0.05)).toBeCloseTo(weightOf(along, 1) * 0.05); // a fresh identity weighs less
  });

  it('weighs a result nobody can recompute (local steps) by its agreement with the reference', () => {
    const c = score('c', Float32Array.from([1, 20, 0]), 32, ref); // nearly orthogonal
    expect(weightOf(c, 1, false)).toBeCloseTo((32 * (1 / Math.sqrt(401))) / FULL_AGREEMENT);
    expect(weightOf(score('a', Float32Array.from([2, 1, 0]), 32, ref), 1, false)).toBe(32);
    expect(weightOf(score('o', Float32Array.from([-1, 20, 0]), 32, ref), 1, false)).toBe(0); // slightly against: nothing
  });

  it('bounds a result by the norm an honest gradient over its samples could have', () => {
    const scaled = score('a', Float32Array.from([1000, 0, 0]), 32, ref);
    expect(scaled.bound).toBeCloseTo(2); // sqrt(128 / 32) times the reference's norm
    expect(clipFactor(scaled)).toBeCloseTo(0.002);
    const [k] = trustedCoefficients([scaled], [weightOf(scaled, 1)]) ?? [];
    expect(k * 1000).toBeCloseTo(2);
  });

  it('falls back to the reference when nothing weighs anything', () => {
    const flipped = score('b', Float32Array.from([-1, 0, 0]), 32, ref);
    expect(trustedCoefficients([flipped], [0])).toBeUndefined();
  });

  it('refuses a step that blows the held-out loss up, not one that wobbles it', () => {
    expect(heldOutAccepts(1, 1.2)).toBe(true);
    expect(heldOutAccepts(1, 1.6)).toBe(false);
    expect(heldOutAccepts(1, Number.NaN)).toBe(false);
  });
});

describe('trust ledger', () => {
  it('holds a worker against the reference only when its recent results pull away with confidence', () => {
    const ledger = new TrustLedger();
    // An honest worker over small batches: mostly aligned, sometimes (one in seven) pointing away.
    const honest = [0.4, 0.3, -0.1, 0.5, 0.2, -0.2, 0.35, 0.1, 0.45, 0.3, -0.05, 0.25];
    honest.forEach((c, i) => ledger.record('honest', c, i));
    expect(ledger.pullsAgainst('honest')).toBe(false);
    // A sign-flipper early in training: the honest cosines' mirror (a median of -0.33, as measured on the MLP).
    const flipped = [...honest, 0.4, 0.45, 0.3, 0.5].map((c) => -c - 0.1);
    flipped.slice(0, 7).forEach((c, i) => ledger.record('flip', c, 100 + i));
    expect(ledger.pullsAgainst('flip')).toBe(false); // seven results are no evidence yet
    flipped.slice(7).forEach((c, i) => ledger.record('flip', c, 107 + i));
    expect(ledger.pullsAgainst('flip')).toBe(true);
  });

  it('holds a steady puller too mild for sixteen results to show, once it has given enough of them', () => {
    // Cosines of -0.1 and -0.3 in turn: a mean of -0.2 needs 38 results for three standard errors (spread 0.2) to
    // fall under -0.1; over 16 it never does.
    const ledger = new TrustLedger();
    let heldAt = -1;
    for (let i = 0; i < 200 && heldAt < 0; i++) {
      ledger.record('mild', i % 2 ? -0.3 : -0.1, i);
      if (ledger.pullsAgainst('mild')) heldAt = i + 1;
    }
    expect(heldAt).toBe(38);
  });

  it('does not hold an honest worker whose gradients turned to noise (a converged model) however long the run', () => {
    // Cosines near zero, as small batches give once the model has settled: a window of them falls two standard
    // errors below zero now and then (the two-error rule held this worker at its sixth result).
    let state = 1;
    const uniform = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return (state + 0.5) / 2 ** 32;
    };
    const ledger = new TrustLedger();
    let flaggedAt = -1;
    for (let i = 0; i < 2000 && flaggedAt < 0; i++) {
      const normal = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      ledger.record('settled', 0.02 + 0.3 * normal, i);
      if (ledger.pullsAgainst('settled')) flaggedAt = i;
    }
    expect(flaggedAt).toBe(-1);
  });

  it('counts a reopened round’s results once', () => {
    const ledger = new TrustLedger();
    for (let i = 0; i < 10; i++) ledger.record('w', -0.5, 7);
    expect(ledger.pullsAgainst('w')).toBe(false);
  });

  it('grows standing only with verified results, checks a fresh identity far more often, and wipes it on a lie', () => {
    const ledger = new TrustLedger();
    expect(ledger.standing('fresh')).toBe(1 / FULL_STANDING);
    expect(ledger.checkRate('fresh')).toBe(1); // until a result is verified: a fresh identity per lie is always caught
    ledger.checked(0, 'fresh', true);
    expect(ledger.checkRate('fresh')).toBeCloseTo(0.9);
    for (let i = 0; i < FULL_STANDING; i++) ledger.checked(i, 'known', true);
    expect(ledger.standing('known')).toBe(1);
    expect(ledger.checkRate('known')).toBe(MIN_CHECK_RATE);
    ledger.checked(99, 'known', false); // earned standing, then lied: checked as a stranger again
    expect(ledger.standing('known')).toBe(1 / FULL_STANDING);
    expect(ledger.checkRate('known')).toBe(1);
    expect(ledger.wasChecked(99)).toBe(true);
  });

  it('keeps standing on record and recalls it after a restart, without lowering what it already holds', async () => {
    const counts = new Map<string, number>();
    const store = {
      verifiedCounts: async (ids: string[]) => new Map(ids.filter((id) => counts.has(id)).map((id) => [id, counts.get(id) as number])),
      addVerified: async (id: string) => void counts.set(id, (counts.get(id) ?? 0) + 1),
      resetVerified: async (id: string) => void counts.set(id, 0),
    };
    const before = new TrustLedger();
    await before.checked(20, 'known', false, store);
    expect(counts.get('known')).toBe(0);
    for (let i = 0; i < 9; i++) await before.checked(i, 'known', true, store);
    const after = new TrustLedger(); // a restarted coordinator, or another one on the same store
    expect(after.standing('known')).toBe(1 / FULL_STANDING);
    await after.recall(['known', 'fresh'], store);
    expect(after.standing('known')).toBe(10 / FULL_STANDING);
    expect(after.standing('fresh')).toBe(1 / FULL_STANDING);
    await after.checked(10, 'known', true, store);
    await after.recall(['known'], store); // already held here: not read back over the count it has
    expect(after.standing('known')).toBe(11 / FULL_STANDING);
  });

  it('tells a recomputed honest gradient from a coalition lie (the spot check’s comparison)', () => {
    const honest = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i));
    const jittered = honest.map((x) => x * (1 + 1e-6));
    const lie = honest.map((x) => x - 0.3 * Math.abs(x));
    expect(agree({ values: jittered, rounding: 0 }, { values: honest, rounding: 0 }, 0.005)).toBe(true);
    expect(agree({ values: lie, rounding: 0 }, { values: honest, rounding: 0 }, 0.005)).toBe(false);
  });
});

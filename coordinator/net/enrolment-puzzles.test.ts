import { describe, expect, it } from 'vitest';
import { GridError } from '../../protocol/errors';
import { solvePuzzle, solves } from '../../protocol/proof-of-work';
import { EnrolmentPuzzles } from './enrolment-puzzles';

const refusal = (f: () => void) => {
  try {
    f();
  } catch (e) {
    return e instanceof GridError ? `${e.code}: ${e.message}` : String(e);
  }
  return 'accepted';
};

describe('enrolment puzzles', () => {
  it('accepts a solved challenge once, and refuses a missing proof, a wrong nonce, a reuse', async () => {
    const puzzles = new EnrolmentPuzzles(10);
    const p = puzzles.issue();
    expect(p.bits).toBe(10);
    const nonce = await solvePuzzle(p);
    expect(refusal(() => puzzles.redeem(undefined))).toMatch(/^PROOF_REQUIRED: enrolment here costs a proof of work/);
    let wrong = 0;
    while (solves(p.challenge, String(wrong), 10)) wrong++;
    expect(refusal(() => puzzles.redeem({ challenge: p.challenge, nonce: String(wrong) }))).toMatch(/does not give 10 leading zero bits/);
    expect(refusal(() => puzzles.redeem({ challenge: p.challenge, nonce }))).toBe('accepted');
    expect(refusal(() => puzzles.redeem({ challenge: p.challenge, nonce }))).toMatch(/already redeemed/);
  });

  it('refuses a challenge it did not issue (another coordinator, another difficulty, edited) and one past its time', async () => {
    let now = 1_000_000;
    const puzzles = new EnrolmentPuzzles(8, () => now);
    const forged = new EnrolmentPuzzles(8).issue(); // another secret
    expect(refusal(() => puzzles.redeem({ challenge: forged.challenge, nonce: '0' }))).toMatch(/not issued here/);
    const easier = new EnrolmentPuzzles(1, () => now);
    const p = puzzles.issue();
    const [expires, random, mac] = p.challenge.split('.');
    const later = `${Number(expires) + 3_600_000}.${random}.${mac}`; // a longer life, written in by hand
    expect(refusal(() => puzzles.redeem({ challenge: later, nonce: '0' }))).toMatch(/not issued here/);
    expect(refusal(() => easier.redeem({ challenge: p.challenge, nonce: '0' }))).toMatch(/not issued here/); // the MAC binds the difficulty
    const nonce = await solvePuzzle(p);
    now += 11 * 60_000;
    expect(refusal(() => puzzles.redeem({ challenge: p.challenge, nonce }))).toMatch(/expired/);
  });

  it('asks for nothing at 0 bits', () => {
    expect(refusal(() => new EnrolmentPuzzles(0).redeem(undefined))).toBe('accepted');
  });
});

import { describe, expect, it } from 'vitest';
import { leadingZeroBits, solvePuzzle, solves } from './proof-of-work';

describe('enrolment proof of work', () => {
  it('counts leading zero bits across bytes', () => {
    expect(leadingZeroBits(Uint8Array.of(0x80, 0))).toBe(0);
    expect(leadingZeroBits(Uint8Array.of(0x00, 0x1f))).toBe(11);
    expect(leadingZeroBits(Uint8Array.of(0, 0))).toBe(16);
  });

  it('finds a nonce that solves the puzzle, which the checker accepts and a harder puzzle does not', async () => {
    const challenge = 'test-challenge';
    const nonce = await solvePuzzle({ challenge, bits: 12 });
    expect(solves(challenge, nonce, 12)).toBe(true);
    expect(solves(`${challenge}x`, nonce, 12)).toBe(false); // bound to its challenge
    const tries = Number.parseInt(nonce, 36);
    expect(solves(challenge, nonce, 40)).toBe(false);
    expect(tries).toBeLessThan(2 ** 12 * 20); // expected 4,096 tries; 20x that is a 1-in-10^8 run
  });
});

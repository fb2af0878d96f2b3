import { sha256 } from '@noble/hashes/sha2.js';

/**
 * Hashcash for anonymous enrolment: a token costs about 2^bits SHA-256 evaluations of `challenge:nonce`, checked with
 * one. The same code solves it in the browser and checks it on the coordinator.
 */
export interface EnrolmentPuzzle {
  challenge: string;
  bits: number;
  /** When the challenge stops being accepted (ms since the epoch). */
  expiresAt: number;
}

const utf8 = new TextEncoder();

/** Leading zero bits of a hash. */
export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** Whether `nonce` solves the challenge at this difficulty. */
export const solves = (challenge: string, nonce: string, bits: number) => leadingZeroBits(sha256(utf8.encode(`${challenge}:${nonce}`))) >= bits;

/** Hashes tried between yields to the event loop: a page solving a puzzle stays responsive. */
const SLICE = 20_000;

/**
 * Find a nonce for the puzzle, yielding to the event loop between slices; `progress` hears how many hashes were
 * tried. Expected work 2^bits hashes.
 */
export async function solvePuzzle(p: Pick<EnrolmentPuzzle, 'challenge' | 'bits'>, progress?: (tried: number) => void): Promise<string> {
  for (let n = 0; ; n++) {
    if (solves(p.challenge, n.toString(36), p.bits)) return n.toString(36);
    if (n % SLICE === SLICE - 1) {
      progress?.(n + 1);
      await new Promise((r) => setTimeout(r, 0));
    }
  }
}

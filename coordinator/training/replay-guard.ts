import { createHash } from 'node:crypto';

/**
 * Payload hashes of a job's recent results. Two shards never give bit-identical honest results, so a payload seen
 * before is a replay (an old result re-headed for a new shard) and is refused. Bounded: hashes older than `keep`
 * rounds are forgotten.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly keep = 8) {}

  /** Record `payload` for `round`; true when it was already seen (a replay). */
  seenBefore(payload: Uint8Array, round: number): boolean {
    const hash = createHash('sha256').update(payload).digest('base64');
    if (this.seen.has(hash)) return true;
    this.seen.set(hash, round);
    return false;
  }

  prune(round: number) {
    for (const [hash, r] of this.seen) if (r < round - this.keep) this.seen.delete(hash);
  }

  get size() {
    return this.seen.size;
  }
}

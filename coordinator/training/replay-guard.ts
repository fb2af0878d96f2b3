import { createHash } from 'node:crypto';

/** Where a payload was first received. */
export interface PayloadOrigin {
  round: number;
  shard: number;
}

/**
 * Payload hashes of a job's recent results, with the shard each came for. Two shards never give bit-identical
 * honest results, so a payload first received for another shard is a replay (an old result re-headed for a new
 * shard). The same shard computed again on the same parameters gives the same bytes on a deterministic engine (a
 * lapsed lease redone, a refused result's shard handed to someone else): that is not a replay. Bounded: hashes
 * older than `keep` rounds are forgotten.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, PayloadOrigin>();

  constructor(private readonly keep = 8) {}

  /** Record `payload` for `at`; returns where it was first received when that was another shard (a replay). */
  replayOf(payload: Uint8Array, at: PayloadOrigin): PayloadOrigin | undefined {
    const hash = createHash('sha256').update(payload).digest('base64');
    const first = this.seen.get(hash);
    if (!first) this.seen.set(hash, { ...at });
    return first && (first.round !== at.round || first.shard !== at.shard) ? first : undefined;
  }

  prune(round: number) {
    for (const [hash, origin] of this.seen) if (origin.round < round - this.keep) this.seen.delete(hash);
  }

  get size() {
    return this.seen.size;
  }
}

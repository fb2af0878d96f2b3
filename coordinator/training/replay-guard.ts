/** Where a payload was first received. */
export interface PayloadOrigin {
  round: number;
  shard: number;
}

/**
 * Fingerprints of a job's recent results (vectorStats: 128 bits of the values, seeded per process), with the shard each came for. Two shards never give bit-identical
 * honest results, so a payload first received for another shard is a replay (an old result re-headed for a new
 * shard). The same shard computed again on the same parameters gives the same bytes on a deterministic engine (a
 * lapsed lease redone, a refused result's shard handed to someone else): that is not a replay. Bounded: fingerprints
 * older than `keep` rounds are forgotten.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, PayloadOrigin>();

  constructor(private readonly keep = 8) {}

  /** Record a result's `fingerprint` for `at`; returns where it was first received when that was another shard (a replay). */
  replayOf(fingerprint: string, at: PayloadOrigin): PayloadOrigin | undefined {
    const first = this.seen.get(fingerprint);
    if (!first) this.seen.set(fingerprint, { ...at });
    return first && (first.round !== at.round || first.shard !== at.shard) ? first : undefined;
  }

  prune(round: number) {
    for (const [fingerprint, origin] of this.seen) if (origin.round < round - this.keep) this.seen.delete(fingerprint);
  }

  get size() {
    return this.seen.size;
  }
}

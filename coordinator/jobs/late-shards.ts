import type { Lease } from './leases';
import type { Round, Shard } from './round';

/**
 * Which shard of `round` an idle worker (`workerId`, observed `rate` samples/s) should lease a backup of, if any.
 * Only once nothing unleased is left, and only a shard whose holder, at its own observed rate, still needs at least
 * twice what this worker would take, and has had at least that long already: a holder up to about three times
 * slower (or that only looks it, its shard having queued behind another) is left alone, and the backup that wins is
 * the one that ends the wait soonest. Checks (copies) are never
 * backed up: who computes them is chosen for verification.
 */
export function lateShard(
  round: Round,
  workerId: string,
  rate: number,
  now: number,
  leaseOf: (assignmentId: number | undefined) => Lease | undefined,
  rateOf: (workerId: string) => number,
): Shard | undefined {
  if (round.shards.some((s) => !s.lease && !s.result && !s.waived)) return undefined;
  let late: Shard | undefined;
  let latest = 0;
  for (const s of round.shards) {
    if (s.result || s.waived || s.backup || s.copyOf !== undefined || !s.lease || s.lease.workerId === workerId) continue;
    const lease = leaseOf(s.lease.assignmentId);
    if (!lease?.live) continue;
    const mine = (1000 * s.count) / rate;
    const elapsed = now - lease.since;
    const remaining = (1000 * s.count) / Math.max(rateOf(lease.workerId), 1e-9) - elapsed;
    if (elapsed < 2 * mine || remaining < 2 * mine || remaining <= latest) continue;
    late = s;
    latest = remaining;
  }
  return late;
}

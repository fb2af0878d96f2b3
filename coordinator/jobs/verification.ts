import { verdict } from './redundancy';
import { addCopy, passOver, primaries, type Round, type Shard, type ShardLease, type ShardResult } from './round';

/** What settling a shard's group decided, for the store and the workers' reputations. */
export interface Settlement {
  /** Results that agreed with no other while others agreed: discarded, their workers lose reputation. */
  outvoted: ShardResult[];
  /** Results dropped because none agreed with another: discarded, nobody judged, the shard is computed again. */
  dropped: ShardResult[];
}

const NOTHING: Settlement = { outvoted: [], dropped: [] };

/** A shard and its redundant copies still wanted, the shard first. */
export function groupOf(round: Round, shard: Shard): Shard[] {
  const primary = shard.copyOf ?? shard.index;
  return round.shards.filter((s) => !s.waived && (s.index === primary || s.copyOf === primary));
}

/** Who holds or computed each other member of `copy`'s group. */
export const othersIn = (round: Round, copy: Shard): (ShardLease | ShardResult)[] =>
  groupOf(round, copy).flatMap((s) => (s === copy ? [] : [s.lease ?? s.result ?? []].flat()));

/** A third (or later) computation of a shard: it breaks a tie. */
export const isTiebreak = (round: Round, copy: Shard) => groupOf(round, copy).indexOf(copy) >= 2;

/**
 * Settle `shard`'s group after a result for it landed: agreeing results stand; a first mismatch adds a third
 * computation, or with `refereed` marks the shard disputed for the coordinator's own check (no vote, so neither
 * arrival nor a colluding pair decides); an outvoted result is taken out (a shard's own place goes to a result that
 * agreed); with no agreement among three, every result is dropped and the shard is computed again without copies.
 */
export function settle(round: Round, shard: Shard, tolerance: number, refereed = false): Settlement {
  const group = groupOf(round, shard);
  if (group.length < 2) return NOTHING;
  const done = group.filter((s) => s.result);
  const v = verdict(
    done.map((s) => s.result as ShardResult),
    group.length,
    tolerance,
  );
  if (v.kind === 'tiebreak') {
    if (refereed) group[0].disputed = true;
    else addCopy(round, group[0]);
    return NOTHING;
  }
  if (v.kind === 'undecided') return dropAll(group);
  if (v.kind !== 'resolved') return NOTHING;
  const winner = done.find((_, i) => !v.outvoted.includes(i)) as Shard;
  const outvoted = v.outvoted.map((i) => done[i].result as ShardResult);
  for (const i of v.outvoted) {
    const s = done[i];
    if (s.copyOf === undefined) s.result = winner.result;
    else Object.assign(s, { result: undefined, waived: true });
  }
  return { outvoted, dropped: [] };
}

/**
 * Give up a copy nobody eligible can run. A tie that can no longer be broken drops the disagreeing results: the
 * shard is computed again, unchecked, rather than trusting either.
 */
export function waive(round: Round, copy: Shard, tolerance: number): Settlement {
  copy.waived = true;
  const group = groupOf(round, copy);
  const results = group.flatMap((s) => (s.result ? [s.result] : []));
  return results.length === group.length && verdict(results, group.length, tolerance).kind === 'tiebreak' ? dropAll(group) : NOTHING;
}

function dropAll(group: Shard[]): Settlement {
  const dropped = group.flatMap((s) => (s.result ? [s.result] : []));
  const [primary] = group;
  for (const r of dropped) passOver(primary, r.workerId);
  for (const s of group) Object.assign(s, { result: undefined, waived: s.copyOf !== undefined });
  return { outvoted: [], dropped };
}

/**
 * After a result for `shard` lands (or on a timer, with none): settle its group, then waive every copy whose shard
 * is under way but which no connected worker may compute, so a round never waits for a check nobody can run.
 */
export function verifyRound(round: Round, shard: Shard | undefined, tolerance: number, couldCheck: (copy: Shard) => boolean, refereed = false): Settlement {
  const out = shard ? settle(round, shard, tolerance, refereed) : { outvoted: [], dropped: [] };
  for (const s of round.shards) {
    if (s.copyOf === undefined || s.waived || s.lease || s.result) continue;
    const primary = round.shards[s.copyOf];
    if ((primary.lease || primary.result) && !couldCheck(s)) {
      const w = waive(round, s, tolerance);
      out.outvoted.push(...w.outvoted);
      out.dropped.push(...w.dropped);
    }
  }
  return out;
}

/** Workers whose results stand in a complete round: they earn credit for it. */
export const credited = (round: Round) => [...new Set(round.shards.flatMap((s) => (s.result ? [s.result.workerId] : [])))];

/**
 * After `workerId` was outvoted, every other result of it standing in the round is computed again by another
 * worker, as a check; returns how many checks were added.
 */
export function recheck(round: Round, workerId: string): number {
  let added = 0;
  for (const s of primaries(round)) {
    if (s.result?.workerId !== workerId || groupOf(round, s).length > 1) continue;
    addCopy(round, s);
    added++;
  }
  return added;
}

import type { ResultRow } from '../store/index';

/** What a worker returned for one shard, after checking. */
export interface ShardResult {
  workerId: string;
  tokenId: number | null;
  /** The network its worker connected from, when known (placement.ts keeps checks apart by it). */
  network?: string;
  assignmentId: number;
  values: Float32Array;
  /** Upper bound on the L2 error its wire encoding added: what a redundant computation may differ by. */
  rounding: number;
  /** L2 norm of `values` (after clipping), computed once by the result check. */
  norm: number;
  samples: number;
  loss: number;
  correct: number;
}

/** A shard's lease; `assignmentId` is unset while the lease row is being written. */
export interface ShardLease {
  workerId: string;
  tokenId: number | null;
  network?: string;
  assignmentId?: number;
}

export interface Shard {
  index: number;
  cursor: number;
  count: number;
  lease?: ShardLease;
  /** A second lease of a late shard to an idle worker: the first valid result of the two wins, the other is revoked. */
  backup?: ShardLease;
  result?: ShardResult;
  /** Workers passed over for this shard (a result refused, a lease let lapse or handed back): offered it again only when nobody else can take it. */
  refusedBy?: Set<string>;
  /** Set on a redundant computation: the index of the shard it checks (same samples). */
  copyOf?: number;
  /** A redundant computation no longer wanted (nobody eligible to run it, or its result was outvoted). */
  waived?: boolean;
  /** On a shard of a refereed kind: its computations disagree, and the coordinator's own recomputation decides. */
  disputed?: boolean;
}

/** One round of a job: its shards, and whether its close has begun (it begins exactly once). */
export interface Round {
  index: number;
  cursor: number;
  shards: Shard[];
  closing: boolean;
  /** Writes of accepted results still in flight; the close waits for them. true = on record. */
  writes: Promise<boolean>[];
  /** Results of a kind that records them at its close (`JobKind.recordsAtClose`), by assignment id, not yet written. */
  unrecorded: Map<number, ResultRow>;
}

/** A round of `shards`, then one redundant copy of each with probability `fraction`: unpredictable, so no worker knows which are checked. */
export function newRound(index: number, cursor: number, shards: Shard[], fraction: number, random = Math.random): Round {
  for (const s of shards.slice()) if (random() < fraction) addCopy({ shards } as Round, s);
  return { index, cursor, shards, closing: false, writes: [], unrecorded: new Map() };
}

/** Add a redundant computation of `primary` (the same samples) to the round. */
export function addCopy(round: Pick<Round, 'shards'>, primary: Shard) {
  round.shards.push({ index: round.shards.length, cursor: primary.cursor, count: primary.count, copyOf: primary.index });
}

/** Pass `workerId` over for `shard` while someone else can take it. */
export function passOver(shard: Shard, workerId: string) {
  shard.refusedBy = (shard.refusedBy ?? new Set()).add(workerId);
}

/** The shards whose results make up the round (not the redundant copies). */
export const primaries = (r: Round) => r.shards.filter((s) => s.copyOf === undefined);

/** Every shard has its result, and every redundant copy still wanted has one. */
export const roundComplete = (r: Round) => r.shards.every((s) => s.result || s.waived);

/**
 * Results that will not count after all: those still waiting for the round's close are marked refused with `reason`
 * (they go on record so); returns the ids of the others, which are on record already.
 */
export function refuseUnrecorded(round: Round, assignmentIds: number[], reason: string): number[] {
  const recorded: number[] = [];
  for (const id of assignmentIds) {
    const row = round.unrecorded.get(id);
    if (row) Object.assign(row, { accepted: 0, reason, points: 0 });
    else recorded.push(id);
  }
  return recorded;
}

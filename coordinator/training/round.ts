import { shardsPerRound, stepsPerShard, type TrainingSpec } from '../../protocol/job';
import { aggregate, type Contribution } from './aggregate';
import { type AggregationPool, sharedFloat32 } from './aggregate-pool';

/** What a worker returned for one shard, after checking. */
export interface ShardResult {
  workerId: string;
  tokenId: number | null;
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
  /** Workers whose result for this shard was refused, or who let its lease lapse or handed it back: not offered it again while others can take it. */
  refusedBy?: Set<string>;
  /** Set on a redundant computation: the index of the shard it checks (same samples). */
  copyOf?: number;
  /** A redundant computation no longer wanted (nobody eligible to run it, or its result was outvoted). */
  waived?: boolean;
}

/** One synchronous round: its shards, and whether its close has begun (it begins exactly once). */
export interface Round {
  index: number;
  cursor: number;
  shards: Shard[];
  closing: boolean;
  /** Writes of accepted results still in flight; the close waits for them. true = on record. */
  writes: Promise<boolean>[];
}

/**
 * The shards of round `index`, starting at sample `cursor` of the endless shuffled stream, then one redundant copy
 * of each shard `random` samples (spec.redundancy.fraction); unpredictable, so no worker knows which are checked.
 * `batches` are the shards' batch sizes (they sum to globalBatch): shardSize each, or sized by rate (pace.ts).
 */
export function planRound(spec: TrainingSpec, index: number, cursor: number, random = Math.random, batches = fixedBatches(spec)): Round {
  const steps = stepsPerShard(spec);
  const shards: Shard[] = [];
  let offset = 0;
  for (const [i, batch] of batches.entries()) {
    shards.push({ index: i, cursor: cursor + offset, count: batch * steps });
    offset += batch * steps;
  }
  for (const s of shards.slice()) if (random() < spec.redundancy.fraction) shards.push({ ...s, index: shards.length, copyOf: s.index });
  return { index, cursor, shards, closing: false, writes: [] };
}

/** globalBatch cut into shardSize batches, the last one what is left. */
const fixedBatches = (spec: TrainingSpec) =>
  Array.from({ length: shardsPerRound(spec) }, (_, i) => Math.min(spec.shardSize, spec.globalBatch - i * spec.shardSize));

/** The shards whose results make up the round (not the redundant copies). */
export const primaries = (r: Round) => r.shards.filter((s) => s.copyOf === undefined);

/** Every shard has its result, and every redundant copy still wanted has one. */
export const roundComplete = (r: Round) => r.shards.every((s) => s.result || s.waived);

/** Sample-weighted training loss and accuracy of a complete round. */
export function roundStats(r: Round) {
  const results = primaries(r).map((s) => s.result as ShardResult);
  const samples = results.reduce((n, x) => n + x.samples, 0);
  const loss = results.reduce((n, x) => n + x.loss * x.samples, 0) / samples;
  const accuracy = results.reduce((n, x) => n + x.correct, 0) / samples;
  return { samples, loss, accuracy };
}

/** Each worker's sample-weighted mean over its shards of the round, in first-shard order. */
export function perWorker(r: Round): Map<string, Contribution> {
  const groups = new Map<string, Contribution[]>();
  for (const s of primaries(r)) {
    const res = s.result as ShardResult;
    groups.set(res.workerId, [...(groups.get(res.workerId) ?? []), { values: res.values, samples: res.samples }]);
  }
  const out = new Map<string, Contribution>();
  for (const [worker, parts] of groups)
    out.set(worker, { values: parts.length === 1 ? parts[0].values : aggregate(parts, 'mean'), samples: parts.reduce((n, p) => n + p.samples, 0) });
  return out;
}

/**
 * Combine a complete round. `mean` weighs every shard by its samples, in shard order. The robust rules combine one
 * contribution per worker, so a worker that returned many shards still has one vote.
 */
export async function combineRound(r: Round, spec: TrainingSpec, pool: AggregationPool, size: number, votes = perWorker(r)): Promise<Float32Array> {
  const { rule, trim } = spec.aggregation;
  if (rule === 'mean') {
    const parts = primaries(r).map((s) => ({ values: (s.result as ShardResult).values, samples: (s.result as ShardResult).samples }));
    return pool.mean(parts, sharedFloat32(size));
  }
  return aggregate([...votes.values()], rule, trim);
}

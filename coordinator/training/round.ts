import { type JobSpec, shardsPerRound, stepsPerShard } from '../../protocol/job';
import { aggregate } from './aggregate';
import { type AggregationPool, sharedFloat32 } from './aggregate-pool';

/** What a worker returned for one shard, after checking. */
export interface ShardResult {
  values: Float32Array;
  samples: number;
  loss: number;
  correct: number;
}

/** A shard's lease; `assignmentId` is unset while the lease row is being written. */
export interface ShardLease {
  workerId: string;
  assignmentId?: number;
}

export interface Shard {
  index: number;
  cursor: number;
  count: number;
  lease?: ShardLease;
  result?: ShardResult;
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

/** The shards of round `index`, starting at sample `cursor` of the endless shuffled stream. */
export function planRound(spec: JobSpec, index: number, cursor: number): Round {
  const steps = stepsPerShard(spec);
  const shards: Shard[] = [];
  let offset = 0;
  for (let i = 0; i < shardsPerRound(spec); i++) {
    const batch = Math.min(spec.shardSize, spec.globalBatch - i * spec.shardSize);
    shards.push({ index: i, cursor: cursor + offset, count: batch * steps });
    offset += batch * steps;
  }
  return { index, cursor, shards, closing: false, writes: [] };
}

export const roundComplete = (r: Round) => r.shards.every((s) => s.result);

/** Sample-weighted training loss and accuracy of a complete round. */
export function roundStats(r: Round) {
  const results = r.shards.map((s) => s.result as ShardResult);
  const samples = results.reduce((n, x) => n + x.samples, 0);
  const loss = results.reduce((n, x) => n + x.loss * x.samples, 0) / samples;
  const accuracy = results.reduce((n, x) => n + x.correct, 0) / samples;
  return { samples, loss, accuracy };
}

/** Combine a complete round's results in shard order with the job's rule. */
export async function combineRound(r: Round, spec: JobSpec, pool: AggregationPool, size: number): Promise<Float32Array> {
  const parts = r.shards.map((s) => ({ values: (s.result as ShardResult).values, samples: (s.result as ShardResult).samples }));
  const { rule, trim } = spec.aggregation;
  return rule === 'mean' ? pool.mean(parts, sharedFloat32(size)) : aggregate(parts, rule, trim);
}

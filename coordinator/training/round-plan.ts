import { shardsPerRound, stepsPerShard, type TrainingSpec } from '../../protocol/job';
import { sizesByRate } from '../jobs/pace';
import { newRound, primaries, type Round, type Shard, type ShardResult } from '../jobs/round';
import { aggregate, type Contribution } from './aggregate';
import { type AggregationPool, sharedFloat32 } from './aggregate-pool';

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
  return newRound(index, cursor, shards, spec.redundancy.fraction, random);
}

/** globalBatch cut into shardSize batches, the last one what is left. */
const fixedBatches = (spec: TrainingSpec) =>
  Array.from({ length: shardsPerRound(spec) }, (_, i) => Math.min(spec.shardSize, spec.globalBatch - i * spec.shardSize));

/**
 * A synchronous job's next shard sizes when it asks for them by rate (`shardSizing: "by-rate"`); undefined otherwise.
 * `rates` is only called then: other jobs do not gather and sort every worker's rate at each round's close.
 */
export function batchesByRate(spec: TrainingSpec, rates: () => readonly number[]): number[] | undefined {
  if (spec.mode !== 'sync' || spec.shardSizing !== 'by-rate') return undefined;
  return sizesByRate(spec.globalBatch, spec.shardSize, rates());
}

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
    if (parts.length === 1) return parts[0].values; // the mean of one is itself, bit for bit: no pass, no allocation
    return pool.mean(parts, sharedFloat32(size));
  }
  return aggregate([...votes.values()], rule, trim);
}

import { trainingSpec } from '../../protocol/job';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Fence, Store } from '../store/index';
import { medianNorm } from './aggregate';
import type { AggregationPool } from './aggregate-pool';
import { packCheckpoint } from './checkpoint';
import { publish, type Run } from './job-run';
import type { LeaseTable } from './leases';
import { optimizerStep } from './optimizer';
import { batchesByRate } from './pace';
import type { Quarantine } from './quarantine';
import { nextReputation, outliers } from './reputation';
import { combineRound, perWorker, planRound, roundStats } from './round';
import { credited } from './verification';

/** A result whose norm is this many times the last round's median is refused before it counts. */
export const NORM_FACTOR = 10;

export interface RoundCloseContext {
  store: Store;
  metrics: Metrics;
  log: Logger;
  pool: AggregationPool;
  quarantine: Quarantine;
  leases: LeaseTable;
  fence: Fence;
  /** Rates of the workers that may run the job, fastest first: what a job sized by rate cuts its rounds by (pace.ts). */
  rates?: (run: Run) => readonly number[];
}

/**
 * Close a complete training round: combine its results in shard order, step the optimizer, and record progress,
 * metrics, the checkpoint when due and the workers' credit in one fenced transaction; then move the run to the next
 * round. Returns undefined when outlier contributions reopened the round instead, else whether it was the last.
 */
export async function stepRound(ctx: RoundCloseContext, run: Run): Promise<{ last: boolean } | undefined> {
  const spec = trainingSpec(run.spec);
  const round = run.round;
  if ((await Promise.all(round.writes)).includes(false)) throw new Error('a result of this round could not be recorded');
  const votes = perWorker(round);
  const flagged = outliers(votes);
  if (flagged.size) {
    await ctx.quarantine.reopen(run, flagged);
    return undefined;
  }
  const update = await combineRound(round, spec, ctx.pool, run.params.length, votes);
  optimizerStep(spec, run.params, update, run.opt, round.index / run.totalRounds);
  const stats = roundStats(round);
  const batches = batchesByRate(spec, () => ctx.rates?.(run) ?? []);
  const next = planRound(spec, round.index + 1, round.cursor + stats.samples, Math.random, batches);
  const last = next.index >= run.totalRounds;
  next.closing = last; // past the last round nothing is handed out, while the final evaluation runs
  const state = { round: next.index, cursor: next.cursor, paramsVersion: run.version + 1, params: run.params, optimizer: run.opt };
  const checkpoint = last || next.index % spec.checkpointEvery === 0 ? packCheckpoint(spec.model, state) : undefined;
  await ctx.store.closeRound({
    jobId: run.id,
    round: next.index,
    paramsVersion: state.paramsVersion,
    metrics: { train_loss: stats.loss, train_accuracy: stats.accuracy, samples: stats.samples },
    checkpoint,
    judgements: credited(round).map((workerId) => ({ workerId, rule: (r: number) => nextReputation(r, 'good') })),
    fence: ctx.fence,
  });
  run.normLimit = NORM_FACTOR * medianNorm(round);
  run.version = state.paramsVersion;
  run.round = next;
  publish(run);
  ctx.leases.prune(run.id, next.index);
  run.replays.prune(next.index);
  ctx.metrics.rounds.inc();
  const fields = { job: run.id, round: next.index, loss: Number(stats.loss.toFixed(5)), accuracy: Number(stats.accuracy.toFixed(4)) };
  ctx.log.info('round closed', { ...fields, checkpoint: checkpoint?.sha256 });
  return { last };
}

import type { CloseContext } from '../jobs/kind';
import { nextReputation } from '../jobs/reputation';
import { primaries, type ShardResult } from '../jobs/round';
import { credited } from '../jobs/verification';
import { medianNorm } from './aggregate';
import type { AggregationPool } from './aggregate-pool';
import { packCheckpoint } from './checkpoint';
import { publish, type TrainingRun } from './job-run';
import { stepParams } from './optimizer';
import { outliers } from './outliers';
import { NORM_FACTOR } from './result-check';
import { judgedByReference, type RootOfTrust } from './root-of-trust';
import { batchesByRate, combineRound, perWorker, planRound, roundStats } from './round-plan';
import { heldOutLossUnderWay, type StepMode, settleUnverified, trustedStep } from './trusted-step';

/**
 * Close a complete training round: combine its results in shard order, step the optimizer, and record the round's
 * results, progress, metrics, the checkpoint when due and the workers' credit in one fenced transaction, which
 * runs while the next round is computed (its workers hold the new version before it is on record: if it never
 * lands, their results for it are not taken either, since the next close waits for it); then move the run to the next
 * round. Returns undefined when outlier contributions reopened the round instead, else whether it was the last.
 */
export async function stepRound(ctx: CloseContext, pool: AggregationPool, trust: RootOfTrust, run: TrainingRun): Promise<{ last: boolean } | undefined> {
  const t = run.data;
  const { spec } = t;
  const round = run.round;
  const part = ctx.metrics.closePart.bind(ctx.metrics);
  await part('store', () => t.recording); // the last round's record, written meanwhile, lands before this one's
  await part('held-out', () => settleLastStep(ctx, run));
  const step = t.voided !== round.index;
  // The step is taken before its held-out check comes back, except where a checkpoint or the job's end would keep it.
  const optimistic = round.index + 1 < run.totalRounds && (round.index + 1) % spec.checkpointEvery !== 0;
  // The operator's own machines are not judged: a round of only their results is combined as it is.
  const judged = judgedByReference(spec) && primaries(round).some((s) => !ctx.trusted((s.result as ShardResult).workerId));
  const flagged = judged
    ? await part('judge', () => stepTrusted(ctx, pool, trust, run, { step, optimistic }))
    : await stepByRule(ctx, pool, run, !judgedByReference(spec), step);
  if (flagged?.size) {
    await ctx.reopen(flagged);
    return undefined;
  }
  const stats = roundStats(round);
  const batches = batchesByRate(spec, ctx.rates);
  const next = planRound(spec, round.index + 1, round.cursor + stats.samples, Math.random, batches);
  const last = next.index >= run.totalRounds;
  next.closing = last; // past the last round nothing is handed out, while the final evaluation runs
  const state = { round: next.index, cursor: next.cursor, paramsVersion: run.version + 1, params: t.params, optimizer: t.opt };
  const checkpoint = last || next.index % spec.checkpointEvery === 0 ? packCheckpoint(spec.model, state) : undefined;
  const record = {
    jobId: run.id,
    round: next.index,
    paramsVersion: state.paramsVersion,
    metrics: { train_loss: stats.loss, train_accuracy: stats.accuracy, samples: stats.samples },
    checkpoint,
    judgements: credited(round).map((workerId) => ({ workerId, rule: (r: number) => nextReputation(r, 'good') })),
    fence: ctx.fence,
    results: [...round.unrecorded.values()],
    bytes: ctx.unrecordedBytes(),
  };
  // Written while the next round is computed, after the one before it; a failure stops the job (the scheduler's).
  const previous = t.recording;
  t.recording = ctx.withLeases((leases) => previous.then(() => ctx.store.closeRound({ ...record, leases })));
  ctx.afterwards(t.recording);
  if (last) await part('store', () => t.recording); // the job is done only once its last round is on record
  t.normLimit = NORM_FACTOR * medianNorm(round);
  run.version = state.paramsVersion;
  run.round = next;
  const published = ctx.metrics.roundClosePartSeconds.startTimer({ part: 'publish' }); // synchronous: nothing sees the version without its frame
  publish(t, run.id, run.version);
  published();
  // Volunteers were in this round: the next one's reference starts now, with the held-out loss its step's check takes.
  if (judged) trust.begin(run, ctx.datasets, heldOutLossUnderWay(run));
  ctx.pruneLeases(next.index);
  t.replays.prune(next.index);
  ctx.metrics.roundClosed(run.id, next.index, stats.loss, stats.samples);
  const fields = { job: run.id, round: next.index, loss: Number(stats.loss.toFixed(5)), accuracy: Number(stats.accuracy.toFixed(4)) };
  ctx.log.debug('round closed', { ...fields, checkpoint: checkpoint?.sha256 }); // a line a round: at debug, the job's own lines at info
  return { last };
}

/**
 * The last close's step, published before its held-out check: when the check failed, it is undone and replaced, and
 * this round, computed on it, is voided (judged, its work credited, not stepped on; the next round starts afresh).
 */
async function settleLastStep(ctx: CloseContext, run: TrainingRun) {
  const replaced = await settleUnverified(run);
  if (!replaced) return;
  run.data.voided = run.round.index;
  ctx.metrics.trustedSteps.inc({ on: 'undone' });
  ctx.metrics.trustedSteps.inc({ on: replaced.on });
  ctx.log.warn('a published step failed its held-out check: undone and stepped again', { job: run.id, round: run.round.index - 1, ...replaced });
}

/** The rule alone; with `majority`, outliers judged against the workers' own median (the reference is off). */
async function stepByRule(ctx: CloseContext, pool: AggregationPool, run: TrainingRun, majority: boolean, step: boolean): Promise<Set<string> | undefined> {
  const t = run.data;
  const votes = perWorker(run.round);
  const flagged = majority ? outliers(votes) : new Set<string>();
  if (flagged.size || !step) return flagged;
  const update = await ctx.metrics.closePart('combine', () => combineRound(run.round, t.spec, pool, t.params.length, votes));
  await ctx.metrics.closePart('step', () => stepParams(t.spec, t.params, update, t.opt, t.state, run.round.index / run.totalRounds));
}

/** Judged against the coordinator's own reference (trusted-step.ts); a step other than the combination is logged. */
async function stepTrusted(ctx: CloseContext, pool: AggregationPool, trust: RootOfTrust, run: TrainingRun, mode: StepMode): Promise<Set<string> | undefined> {
  const ref = await ctx.metrics.closePart('reference', () => trust.referenceFor(run, ctx.datasets));
  const part = ctx.metrics.closePart.bind(ctx.metrics);
  const judge = { referee: trust.referee(ctx.datasets), ledger: trust.ledger, checks: trust.checks, trusted: ctx.trusted, pool, store: ctx.store, part };
  const outcome = await trustedStep(run, ref, judge, run.round.index / run.totalRounds, mode);
  if ('flagged' in outcome) return outcome.flagged;
  ctx.metrics.trustedSteps.inc({ on: outcome.stepped });
  for (const [weight, n] of Object.entries(outcome.judged)) ctx.metrics.judgedResults.inc({ weight }, n);
  if (outcome.stepped !== 'combined') ctx.log.warn('the round was not stepped on its combination', { job: run.id, round: run.round.index, ...outcome });
}

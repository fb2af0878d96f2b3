import { primaries, type ShardResult } from '../jobs/round';
import { aggregate } from './aggregate';
import { type AggregationPool, sharedFloat32 } from './aggregate-pool';
import type { TrainingRun } from './job-run';
import { newOptimizerState, type OptimizerState, stepParams } from './optimizer';
import type { Referee, RoundReference } from './referee';
import type { Judge } from './root-of-trust';
import { perWorker } from './round-plan';
import { clipFactor, FAR_BEYOND, heldOutAccepts, type Scored, score, trustedCoefficients, weightOf } from './trust';

/** How the round moved the model: its combination, without its lowest-weighted half, the reference alone, or that after clearing momentum. */
export type TrustedOutcome =
  | { flagged: Set<string> }
  | { stepped: 'combined' | 'without-lowest' | 'reference' | 'reset'; weighted: number; judged: JudgedCounts };

/** How the results of workers that are not the operator's fared: weighed fully, in part, not at all; clipped to their bound. */
export interface JudgedCounts {
  full: number;
  partial: number;
  none: number;
  clipped: number;
}

/**
 * Judge a complete synchronous round against its reference and step on what it trusts. Workers with evidence
 * against them (a result far beyond any honest norm, recent results that pull against the reference, a spot-checked
 * result the coordinator's recomputation disagrees with) are returned as flagged and nothing is stepped. Otherwise the results are combined by trust (trust.ts) and the step
 * is taken only if the held-out loss does not blow up; failing that, without the lowest-weighted half, then the
 * reference alone; when even that fails, the damage is in the optimizer's momentum (earlier rounds' updates), which
 * is cleared before the reference step.
 */
export async function trustedStep(run: TrainingRun, ref: RoundReference, judge: Judge, progress: number): Promise<TrustedOutcome> {
  const { referee, ledger } = judge;
  const t = run.data;
  const round = run.round;
  const results = primaries(round).map((s) => s.result as ShardResult);
  // Standing earned before a restart, or with another coordinator on the same store, still counts.
  await ledger.recall(
    results.map((r) => r.workerId),
    judge.store,
  );
  // The operator's own results are scored (for the record) but neither bounded nor weighed down.
  const scored = results.map((r) => ({
    ...score(r.workerId, r.values, r.samples, ref, r.norm),
    ...(judge.trusted(r.workerId) && { bound: Number.POSITIVE_INFINITY }),
  }));
  scored.forEach((s, i) => ledger.record(s.workerId, s.cosine, results[i].assignmentId));
  const flagged = new Set(scored.filter((s) => s.norm > FAR_BEYOND * s.bound || ledger.pullsAgainst(s.workerId)).map((s) => s.workerId));
  // A local-step result continues its worker's own inner optimizer, which the coordinator does not hold: no recomputation.
  const part = judge.part ?? (async (_stage, f) => f());
  if (!flagged.size && t.spec.mode === 'sync') for (const id of await part('checks', () => judge.checks.collect(run, judge))) flagged.add(id);
  if (flagged.size) return { flagged };

  const spotChecked = t.spec.mode === 'sync';
  const weights = scored.map((s) => (judge.trusted(s.workerId) ? s.samples : weightOf(s, ledger.standing(s.workerId), spotChecked)));
  const judged = countJudged(
    scored.filter((s) => !judge.trusted(s.workerId)),
    spotChecked,
  );
  const candidates: [Exclude<TrustedOutcome, { flagged: Set<string> }>['stepped'], () => Promise<Float32Array>][] = [
    ['combined', () => combineBy(run, scored, weights, ref, judge.pool)],
    ['without-lowest', () => combineBy(run, scored, withoutLowestHalf(weights), ref, judge.pool)],
    ['reference', async () => ref.grads],
  ];
  for (const [how, update] of candidates) {
    const next = await part('held-out', async () => tentativeStep(run, await update(), progress, ref, referee));
    if (!next) continue;
    t.params.set(next.params);
    t.opt.t = next.opt.t;
    t.opt.m.set(next.opt.m);
    t.opt.v.set(next.opt.v);
    return { stepped: how, weighted: how === 'reference' ? 0 : weights.filter((w) => w > 0).length, judged };
  }
  t.opt.m.fill(0);
  stepParams(t.spec, t.params, ref.grads, t.opt, t.state, progress);
  return { stepped: 'reset', weighted: 0, judged };
}

function countJudged(scored: Scored[], spotChecked: boolean): JudgedCounts {
  const agreement = scored.map((s) => weightOf(s, 1, spotChecked) / Math.max(1, s.samples));
  return {
    full: agreement.filter((a) => a >= 1).length,
    partial: agreement.filter((a) => a > 0 && a < 1).length,
    none: agreement.filter((a) => a <= 0).length,
    clipped: scored.filter((s) => clipFactor(s) < 1).length,
  };
}

/** The mean rule weighs each shard; a robust rule combines one clipped vote per worker that agrees with the reference. */
async function combineBy(run: TrainingRun, scored: Scored[], weights: number[], ref: RoundReference, pool: AggregationPool): Promise<Float32Array> {
  const { rule, trim } = run.data.spec.aggregation;
  if (rule === 'mean') {
    const coefficients = trustedCoefficients(scored, weights);
    if (!coefficients) return ref.grads;
    return pool.weightedSum(
      scored.map((s) => s.values),
      coefficients,
      sharedFloat32(ref.grads.length),
    );
  }
  const kept = new Set(scored.filter((_, i) => weights[i] > 0).map((s) => s.workerId));
  const votes = [...perWorker(run.round)]
    .filter(([id]) => kept.has(id))
    .map(([id, v]) => {
      const s = score(id, v.values, v.samples, ref);
      const k = clipFactor(s);
      return { values: k === 1 ? v.values : v.values.map((x) => x * k), samples: v.samples };
    });
  return votes.length ? aggregate(votes, rule, trim) : ref.grads;
}

function withoutLowestHalf(weights: number[]): number[] {
  const positive = weights.filter((w) => w > 0).sort((a, b) => a - b);
  const cut = positive[Math.floor(positive.length / 2)] ?? Number.POSITIVE_INFINITY;
  return weights.map((w) => (w >= cut ? w : 0));
}

/** Each run's copies of its parameters and optimizer for tentative steps, kept from round to round (no 3 MB a round to collect). */
const scratch = new WeakMap<TrainingRun, { params: Float32Array; opt: OptimizerState }>();

/** The step on copies of the parameters and optimizer, kept only if the held-out loss allows it. */
async function tentativeStep(run: TrainingRun, update: Float32Array, progress: number, ref: RoundReference, referee: Referee) {
  const { spec, params, opt, state } = run.data;
  let next = scratch.get(run);
  if (next?.params.length !== params.length) {
    next = { params: new Float32Array(params.length), opt: newOptimizerState(params.length) };
    scratch.set(run, next);
  }
  next.params.set(params);
  next.opt.t = opt.t;
  next.opt.m.set(opt.m);
  next.opt.v.set(opt.v);
  stepParams(spec, next.params, update, next.opt, state, progress);
  const after = await referee.heldOutLoss(spec.model, next.params, ref.heldOut);
  return heldOutAccepts(ref.heldOutLoss, after) ? next : undefined;
}

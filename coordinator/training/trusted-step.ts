import { primaries, type ShardResult } from '../jobs/round';
import { aggregate } from './aggregate';
import { type AggregationPool, sharedFloat32 } from './aggregate-pool';
import type { TrainingRun } from './job-run';
import { newOptimizerState, type OptimizerState, stepParams } from './optimizer';
import type { Referee, RoundReference } from './referee';
import type { Judge } from './root-of-trust';
import { perWorker } from './round-plan';
import { clipFactor, FAR_BEYOND, heldOutAccepts, type Scored, score, trustedCoefficients, weightOf } from './trust';

/**
 * How the round moved the model: its combination, without its lowest-weighted half, the reference alone, or that after
 * clearing momentum; or not at all ('none': its results were computed on a step since undone).
 */
export type Stepped = 'combined' | 'without-lowest' | 'reference' | 'reset' | 'none';
export type TrustedOutcome = { flagged: Set<string> } | { stepped: Stepped; weighted: number; judged: JudgedCounts };

/** What a round may be stepped on, in the order tried, with how many results it weighs. */
interface Candidate {
  on: Stepped;
  update: () => Promise<Float32Array>;
  weighted: number;
}

/** How the close steps: `optimistic`, on its combination at once with the held-out check settled at the next close. */
export interface StepMode {
  step: boolean;
  optimistic: boolean;
}

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
 * result the coordinator's recomputation disagrees with) are returned as flagged and nothing is stepped. Otherwise
 * the results are combined by trust (trust.ts) and the step is kept only if the held-out loss does not blow up
 * (checked before it is taken, or in `optimistic` mode after, settled by the next close: settleUnverified); failing
 * that, without the lowest-weighted half, then the reference alone; when even that fails, the damage is in the
 * optimizer's momentum (earlier rounds' updates), which is cleared before the reference step.
 */
export async function trustedStep(
  run: TrainingRun,
  ref: RoundReference,
  judge: Judge,
  progress: number,
  mode: StepMode = { step: true, optimistic: false },
): Promise<TrustedOutcome> {
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
  if (!mode.step) return { stepped: 'none', weighted: 0, judged };
  const lowerHalfOut = withoutLowestHalf(weights);
  const candidates: Candidate[] = [
    { on: 'combined', update: () => combineBy(run, scored, weights, ref, judge.pool), weighted: weights.filter((w) => w > 0).length },
    { on: 'without-lowest', update: () => combineBy(run, scored, lowerHalfOut, ref, judge.pool), weighted: lowerHalfOut.filter((w) => w > 0).length },
    { on: 'reference', update: async () => ref.grads, weighted: 0 },
  ];
  const { on, weighted } = await (mode.optimistic ? stepUnverified : stepChecked)(run, candidates, { progress, ref, referee, part });
  return { stepped: on, weighted, judged };
}

type StepContext = { progress: number; ref: RoundReference; referee: Referee; part: NonNullable<Judge['part']> };

/** The first candidate whose step passes the held-out check; failing all, the reference after clearing momentum. */
async function stepChecked(run: TrainingRun, candidates: Candidate[], c: StepContext): Promise<Pick<Candidate, 'on' | 'weighted'>> {
  const t = run.data;
  for (const candidate of candidates) {
    const next = await c.part('held-out', async () => tentativeStep(run, await candidate.update(), c.progress, c.ref, c.referee));
    if (!next) continue;
    restore(t, next);
    return { on: candidate.on, weighted: candidate.weighted };
  }
  t.opt.m.fill(0);
  stepParams(t.spec, t.params, c.ref.grads, t.opt, t.state, c.progress);
  return { on: 'reset', weighted: 0 };
}

/** A step published before its held-out check came back, and what undoes it should the check fail. */
const unverified = new WeakMap<TrainingRun, { loss: Promise<number>; accepted: Promise<boolean>; undo: () => Promise<Pick<Candidate, 'on' | 'weighted'>> }>();

/**
 * The first candidate stepped on at once, its held-out loss taken in the background while the next round computes:
 * off the close's path, where it was the largest part (5.2 ms of a volunteer's 12.3 ms close on the MLP).
 */
async function stepUnverified(run: TrainingRun, [first, ...rest]: Candidate[], c: StepContext): Promise<Pick<Candidate, 'on' | 'weighted'>> {
  const t = run.data;
  const update = await first.update();
  const before = copied(run);
  stepParams(t.spec, t.params, update, t.opt, t.state, c.progress);
  // A copy: the referee's thread may take the task after the next close has moved the parameters on.
  const after = c.referee.heldOutLoss(t.spec.model, t.params.slice(), c.ref.heldOut);
  const accepted = after.then(
    (loss) => heldOutAccepts(c.ref.heldOutLoss, loss),
    () => false, // unchecked is not accepted
  );
  unverified.set(run, {
    loss: after,
    accepted,
    undo: () => {
      restore(t, before);
      return stepChecked(run, rest, c);
    },
  });
  return { on: first.on, weighted: first.weighted };
}

/** The held-out loss at the run's parameters while its last step's check is under way: the next reference's own. */
export const heldOutLossUnderWay = (run: TrainingRun): Promise<number> | undefined => unverified.get(run)?.loss;

/**
 * Settle the held-out check of the step the last close published: undefined when it passed (or there was none); when
 * it failed, the parameters and optimizer are put back as they were before it and the round stepped on the next
 * candidate that passes, which is returned. The round computed on the undone step must not be stepped on.
 */
export async function settleUnverified(run: TrainingRun): Promise<Pick<Candidate, 'on' | 'weighted'> | undefined> {
  const pending = unverified.get(run);
  if (!pending) return undefined;
  unverified.delete(run);
  return (await pending.accepted) ? undefined : pending.undo();
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

type Copy = { params: Float32Array; opt: OptimizerState };

/**
 * Each run's copy of its parameters and optimizer, kept from round to round (no 3 MB a round to collect): a tentative
 * step's, or what undoes an unverified step (read back before any tentative step of the next close writes it).
 */
const scratch = new WeakMap<TrainingRun, Copy>();

/** The run's parameters and optimizer, copied into its scratch buffers. */
function copied(run: TrainingRun): Copy {
  const { params, opt } = run.data;
  let copy = scratch.get(run);
  if (copy?.params.length !== params.length) {
    copy = { params: new Float32Array(params.length), opt: newOptimizerState(params.length) };
    scratch.set(run, copy);
  }
  copy.params.set(params);
  copy.opt.t = opt.t;
  copy.opt.m.set(opt.m);
  copy.opt.v.set(opt.v);
  return copy;
}

function restore(t: TrainingRun['data'], from: Copy) {
  t.params.set(from.params);
  t.opt.t = from.opt.t;
  t.opt.m.set(from.opt.m);
  t.opt.v.set(from.opt.v);
}

/** The step on copies of the parameters and optimizer, kept only if the held-out loss allows it. */
async function tentativeStep(run: TrainingRun, update: Float32Array, progress: number, ref: RoundReference, referee: Referee) {
  const { spec, state } = run.data;
  const next = copied(run);
  stepParams(spec, next.params, update, next.opt, state, progress);
  const after = await referee.heldOutLoss(spec.model, next.params, ref.heldOut);
  return heldOutAccepts(ref.heldOutLoss, after) ? next : undefined;
}

import { describe, expect, it } from 'vitest';
import { stateLayout } from '../../kernels/state-step';
import { parseTrainingSpec } from '../../protocol/job';
import { parameterCount } from '../../protocol/model';
import type { Round, Shard, ShardResult } from '../jobs/round';
import { TrustLedger } from '../jobs/trust-ledger';
import type { AggregationPool } from './aggregate-pool';
import type { TrainingRun } from './job-run';
import { newOptimizerState, stepParams } from './optimizer';
import type { Referee, RoundReference } from './referee';
import type { Judge } from './root-of-trust';
import { SpotChecks } from './spot-check';
import { heldOutLossUnderWay, settleUnverified, trustedStep } from './trusted-step';

const spec = parseTrainingSpec({
  name: 't',
  model: { kind: 'mlp', layers: [3, 2] },
  dataset: { name: 'd' },
  optimizer: { kind: 'adam', lr: 0.1 },
  mode: 'local',
  local: { steps: 1, lr: 0.01 },
  globalBatch: 4,
  shardSize: 2,
  rounds: 10,
});
const n = parameterCount(spec.model);
const gradient = Float32Array.from({ length: n }, (_, i) => (i % 3) - 1 + 0.25);
const ref: RoundReference = {
  grads: gradient,
  norm: Math.hypot(...gradient),
  samples: 4,
  heldOutLoss: 1,
  heldOut: { x: new Float32Array(3), y: new Uint32Array(1) },
};

/** A local-step run of two shards, both from the operator's own workers, agreeing with the reference. */
function runOf(): TrainingRun {
  const result = (workerId: string, assignmentId: number): ShardResult => ({
    workerId,
    tokenId: null,
    assignmentId,
    values: gradient.slice(),
    rounding: 0,
    norm: ref.norm,
    samples: 2,
    loss: 1,
    correct: 0,
  });
  const shards = [result('a', 1), result('b', 2)].map((r, index) => ({ index, result: r }) as unknown as Shard);
  const params = Float32Array.from({ length: n }, (_, i) => i / n);
  return {
    id: 1,
    round: { index: 3, shards } as unknown as Round,
    totalRounds: 10,
    data: { spec, params, opt: newOptimizerState(n), state: stateLayout(spec.model, []) },
  } as unknown as TrainingRun;
}

/** A judge whose referee answers held-out losses from `losses` in turn (the loss before the step is 1). */
function judgeOf(losses: number[]): Judge & { asked: () => number } {
  let asked = 0;
  const referee = { heldOutLoss: async () => losses[Math.min(asked++, losses.length - 1)] } as unknown as Referee;
  const pool = {
    weightedSum: async (parts: Float32Array[], c: number[], out: Float32Array) => out.map((_, i) => parts.reduce((s, p, k) => s + c[k] * p[i], 0)),
  };
  const store = { verifiedCounts: async () => new Map(), addVerified: async () => {}, resetVerified: async () => {} };
  return {
    referee,
    ledger: new TrustLedger(),
    checks: new SpotChecks(),
    trusted: () => true,
    pool: pool as unknown as AggregationPool,
    store,
    asked: () => asked,
  };
}

/** The parameters after one step on `update` from the run's starting point and a fresh optimizer. */
function oneStep(update: Float32Array) {
  const run = runOf();
  stepParams(spec, run.data.params, update, run.data.opt, run.data.state, 0.3);
  return Array.from(run.data.params);
}

describe('a judged step published before its held-out check', () => {
  it('moves the parameters at once and keeps the step when the check passes', async () => {
    const run = runOf();
    const judge = judgeOf([1.01]);
    expect(await trustedStep(run, ref, judge, 0.3, { step: true, optimistic: true })).toMatchObject({ stepped: 'combined', weighted: 2 });
    expect(Array.from(run.data.params)).toEqual(oneStep(gradient));
    // The check's loss is the next round's held-out loss before its step (the same samples, these parameters): taken once.
    expect(await heldOutLossUnderWay(run)).toBe(1.01);
    expect(await settleUnverified(run)).toBeUndefined();
    expect(heldOutLossUnderWay(run)).toBeUndefined();
    expect(Array.from(run.data.params)).toEqual(oneStep(gradient));
    expect([run.data.opt.t, judge.asked()]).toEqual([1, 1]);
  });

  it('undoes it when the check fails: parameters and optimizer as before, then the next candidate that passes', async () => {
    const run = runOf();
    // The combination blows the held-out loss up (1 -> 9); without its lowest half (here, all of it) it would too, the reference does not.
    const judge = judgeOf([9, 9, 1.2]);
    await trustedStep(run, ref, judge, 0.3, { step: true, optimistic: true });
    expect(await settleUnverified(run)).toEqual({ on: 'reference', weighted: 0 });
    // One step from where the round started (the optimizer's count too), not a second one on top of the undone step.
    expect(Array.from(run.data.params)).toEqual(oneStep(ref.grads));
    expect([run.data.opt.t, judge.asked()]).toEqual([1, 3]);
    expect(await settleUnverified(run)).toBeUndefined(); // settled once
  });

  it('checks before stepping where the step must not wait (a checkpoint, the last round), and steps nothing on a voided round', async () => {
    const run = runOf();
    const judge = judgeOf([9, 1.2]);
    expect(await trustedStep(run, ref, judge, 0.3, { step: true, optimistic: false })).toMatchObject({ stepped: 'without-lowest' });
    expect(await settleUnverified(run)).toBeUndefined();
    const voided = runOf();
    expect(await trustedStep(voided, ref, judgeOf([1]), 0.3, { step: false, optimistic: true })).toMatchObject({ stepped: 'none' });
    expect(Array.from(voided.data.params)).toEqual(Array.from(runOf().data.params));
  });
});

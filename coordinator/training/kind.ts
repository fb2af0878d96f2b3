import { stepsPerShard, trainingSpec } from '../../protocol/job';
import { shardTraffic } from '../../protocol/traffic';
import type { JobKind } from '../jobs/kind';
import { TrustLedger } from '../jobs/trust-ledger';
import { AggregationPool } from './aggregate-pool';
import { EvaluationPool, type Evaluator, recordEvaluation } from './evaluate';
import { resolveImported } from './imported-model';
import { checkTraining, loadTraining, type TrainingState, trainingAssignment } from './job-run';
import { checkTrainingResult } from './result-check';
import { judgedByReference, RootOfTrust } from './root-of-trust';
import { stepRound } from './round-close';
import { fitTargets } from './targets';

/**
 * Synchronous and local-step training: rounds of gradient (or delta) shards combined in shard order, an optimizer
 * step per round, checkpoints, evaluations on the test split in the background.
 */
export class TrainingKind implements JobKind<TrainingState> {
  private readonly pool = new AggregationPool();
  private readonly trust: RootOfTrust;
  private readonly evaluations?: EvaluationPool;
  private readonly evaluator: Evaluator;
  /** Background evaluations and rounds' records; idle() and shutdown() wait for them. */
  private pending = Promise.resolve();

  constructor(evaluator?: Evaluator, ledger = new TrustLedger()) {
    this.trust = new RootOfTrust(ledger);
    if (!evaluator) this.evaluations = new EvaluationPool();
    this.evaluator = evaluator ?? (this.evaluations as EvaluationPool).evaluate;
  }

  check: JobKind<TrainingState>['check'] = async (parsed, ctx) => {
    const spec = fitTargets(await resolveImported(trainingSpec(parsed), ctx), ctx);
    return { ...checkTraining(spec, ctx), spec };
  };
  load: JobKind<TrainingState>['load'] = (job, spec, ctx) => {
    if (judgedByReference(trainingSpec(spec))) this.trust.referee(ctx.datasets); // made now: the first round's results are checked as they arrive
    return loadTraining(job, spec, ctx);
  };
  finished: JobKind<TrainingState>['finished'] = (run) => run.round.index >= run.totalRounds;
  /** A round's results count only with its step: they are written with it, one transaction a round. */
  readonly recordsAtClose = true;
  /** Forward and backward, about 6 FLOPs per parameter, for each step a shard takes on its samples. */
  flopsPerSample: JobKind<TrainingState>['flopsPerSample'] = (run) => 6 * run.data.params.length * stepsPerShard(run.data.spec);
  assignment: JobKind<TrainingState>['assignment'] = trainingAssignment;

  /** Parameters down (a delta when the job sends deltas) and the result up. */
  shardBytes: JobKind<TrainingState>['shardBytes'] = (run) => {
    const { down, up } = shardTraffic(run.data.spec, run.data.params.length);
    return down + up;
  };

  /** So one fast worker cannot supply most of a round's votes. */
  shareCap: JobKind<TrainingState>['shareCap'] = (run) => run.data.spec.aggregation.maxShare;
  tolerance: JobKind<TrainingState>['tolerance'] = (run) => run.spec.redundancy.tolerance;

  accept: JobKind<TrainingState>['accept'] = (run, shard, meta, frame, leased) => {
    const { values, norm } = checkTrainingResult(run, shard, meta, frame, leased.paramsVersion, leased.trusted);
    if (!leased.trusted) this.trust.arrived(run, shard, { workerId: leased.workerId, values });
    return { values, norm, correct: meta.correct ?? 0 };
  };

  /** Step the round (round-close.ts), evaluate when due; after the last one, wait for the final evaluation. */
  closeRound: JobKind<TrainingState>['closeRound'] = async (run, ctx) => {
    const closed = await stepRound(ctx, this.pool, this.trust, run);
    if (!closed) return 'reopened';
    const recorded = run.data.recording.then(noop, noop); // its failure is the next close's to act on
    this.pending = Promise.all([this.pending, recorded]).then(noop);
    const { spec, params } = run.data;
    const round = run.round.index;
    if (spec.evalEvery > 0 && (closed.last || round % spec.evalEvery === 0)) {
      const evaluation = recordEvaluation(this.evaluator, { id: run.id, spec }, params.slice(), round, ctx);
      if (closed.last) await evaluation;
      else this.pending = this.pending.then(() => evaluation);
    }
    return closed.last ? 'finished' : 'next';
  };

  /** The parameters of the current version: the int8 delta from the version before when the caller holds that one. */
  params: NonNullable<JobKind<TrainingState>['params']> = (run, from) => {
    const { delta, paramsFrame } = run.data;
    return delta && from === run.version - 1 ? delta : paramsFrame;
  };

  idle = () => this.pending;

  async shutdown() {
    await this.pending;
    await this.pool.close();
    await this.trust.close();
    await this.evaluations?.close();
  }
}

const noop = () => {};

import { type StateLayout, stateLayout } from '../../kernels/state-step';
import { augmentRefusal } from '../../protocol/augment';
import { GridError } from '../../protocol/errors';
import { type JobSpec, shardsPerRound, stepsPerShard, type TrainingSpec, totalRounds, trainingSpec } from '../../protocol/job';
import type { Assignment } from '../../protocol/messages';
import { classCount, inputSize, parameterCount, sizeOf } from '../../protocol/model';
import { fullParams, stepPublished } from '../../protocol/params-delta';
import type { KindContext, Run } from '../jobs/kind';
import type { Round, Shard } from '../jobs/round';
import type { Job } from '../store/index';
import { unpackCheckpoint } from './checkpoint';
import { frozenRanges, startingParams } from './imported-model';
import { newOptimizerState, type OptimizerState } from './optimizer';
import { ReplayGuard } from './replay-guard';
import { planRound } from './round-plan';

/** A training job's own live state: its parameters, what workers compute on, the optimizer, the result guards. */
export interface TrainingState {
  /** The spec, parsed once as a training spec. */
  spec: TrainingSpec;
  params: Float32Array;
  /**
   * The parameters workers compute on: the optimizer's own with fp32 downloads, else a shadow that follows them by
   * int8 deltas (params-delta.ts). `paramsFrame` is it as one full frame; `delta` takes a worker from the version
   * before to this one.
   */
  published: Float32Array;
  paramsFrame: Uint8Array;
  delta?: Uint8Array;
  opt: OptimizerState;
  /** Results with a larger norm are refused; set from each closed round (none before the first). */
  normLimit?: number;
  /** The parts of the parameter vector the optimizer leaves: frozen tensors and kept statistics, and running ones. */
  state: StateLayout;
  replays: ReplayGuard;
  /** The records of closed rounds, written one after another in the background (round-close.ts). */
  recording: Promise<unknown>;
  /** A round computed on a step since undone (its held-out check failed after it was published): judged, not stepped on. */
  voided?: number;
}

export type TrainingRun = Run<TrainingState>;

/** Rebuild a training job from its latest checkpoint (or its seed); whatever came after that checkpoint is redone. */
export async function loadTraining(job: Job, parsed: JobSpec, ctx: KindContext) {
  const { owner, store, datasets, log } = ctx;
  const spec = trainingSpec(parsed);
  datasets.get(spec.dataset.name, spec.dataset.split); // the data set must still be there
  let opt = newOptimizerState(parameterCount(spec.model));
  let round = 0;
  let cursor = 0;
  let version = 0;
  const ckpt = await store.latestCheckpoint(job.id);
  let params = ckpt ? new Float32Array(0) : await startingParams(spec, ctx);
  if (ckpt) {
    const c = unpackCheckpoint(await store.checkpointData(ckpt.id), ckpt.sha256, spec.model);
    ({ params, round, cursor } = c);
    version = c.paramsVersion;
    opt = c.optimizer;
    log.info('job resumed from checkpoint', { job: job.id, round, sha256: ckpt.sha256 });
  }
  // Whatever a previous owner did after this point is redone here; fenced, like every write for the job.
  await store.fenced({ jobId: job.id, owner, epoch: job.owner_epoch }, (tx) => tx.supersedeAfter(job.id, round));
  const state = stateLayout(spec.model, frozenRanges(spec));
  const data: TrainingState = {
    spec,
    params,
    published: params,
    paramsFrame: new Uint8Array(0),
    opt,
    replays: new ReplayGuard(),
    state,
    recording: Promise.resolve(),
  };
  publish(data, job.id, version, true);
  return { round: planRound(spec, round, cursor) as Round, version, data };
}

/** A full copy of the published parameters at least this often (in versions), whatever the deltas. */
const FULL_COPY_EVERY = 50;

/**
 * Publish the parameters of `version`: with int8-delta downloads, move the shadow by one delta (a full reset to
 * the parameters when loaded and every FULL_COPY_EVERY versions); otherwise workers get the parameters themselves.
 */
export function publish(t: TrainingState, jobId: number, version: number, loaded = false) {
  const deltas = t.spec.download === 'int8-delta';
  t.delta = undefined;
  if (!deltas) t.published = t.params;
  else if (loaded || version % FULL_COPY_EVERY === 0) t.published = t.params.slice();
  else t.delta = stepPublished(t.published, t.params, jobId, version);
  t.paramsFrame = fullParams(t.published, jobId, version);
}

/** The message that leases `shard` of a training run to a worker. */
export function trainingAssignment(run: TrainingRun, shard: Shard, assignmentId: number): Assignment {
  const { spec } = run.data;
  return {
    type: 'assign',
    assignmentId,
    jobId: run.id,
    round: run.round.index,
    shard: shard.index,
    model: spec.model,
    paramsVersion: run.version,
    paramsUrl: `/api/jobs/${run.id}/params?version=${run.version}`,
    data: { dataset: spec.dataset.name, split: spec.dataset.split, seed: spec.seed, cursor: shard.cursor, count: shard.count, augment: spec.dataset.augment },
    task: { mode: spec.mode, steps: stepsPerShard(spec), batch: spec.shardSize, lr: spec.mode === 'local' ? spec.local.lr : 0, encoding: spec.encoding },
  };
}

/** Check a training spec against its model, its data set and this coordinator's limits; returns its rounds. */
export function checkTraining(parsed: JobSpec, { datasets, limits }: Pick<KindContext, 'datasets' | 'limits'>): { rounds: number } {
  const spec = trainingSpec(parsed);
  // Checked before anything is allocated: a spec must not be able to exhaust the coordinator.
  const params = parameterCount(spec.model);
  if (params > limits.maxParams) throw new GridError('BAD_JOB_SPEC', `model has ${params} parameters; this coordinator takes at most ${limits.maxParams}`);
  if (shardsPerRound(spec) > limits.maxShardsPerRound)
    throw new GridError('BAD_JOB_SPEC', `${shardsPerRound(spec)} shards per round; this coordinator takes at most ${limits.maxShardsPerRound}`);
  const { name, split, evalSplit } = spec.dataset;
  if (!datasets.has(name, split)) throw new GridError('BAD_JOB_SPEC', `dataset ${name}/${split} is not registered`);
  const train = datasets.get(name, split).manifest;
  const have = sizeOf(train.featureShape);
  if (inputSize(spec.model) !== have)
    throw new GridError('BAD_JOB_SPEC', `model takes ${inputSize(spec.model)} inputs but ${name} has ${have} features per sample`);
  const unaugmentable = spec.dataset.augment && augmentRefusal(train.featureShape);
  if (unaugmentable) throw new GridError('BAD_JOB_SPEC', `dataset.augment: ${unaugmentable}`);
  if (classCount(spec.model) < train.classes)
    throw new GridError('BAD_JOB_SPEC', `model has ${classCount(spec.model)} outputs but the data set has ${train.classes} classes`);
  if (spec.evalEvery && evalSplit && !datasets.has(name, evalSplit)) throw new GridError('BAD_JOB_SPEC', `eval split ${evalSplit} is not registered`);
  const rounds = totalRounds(spec, train.samples);
  if (rounds > limits.maxRounds) throw new GridError('BAD_JOB_SPEC', `${rounds} rounds; this coordinator runs at most ${limits.maxRounds} per job`);
  const work = rounds * spec.globalBatch * stepsPerShard(spec);
  if (work > limits.maxJobSamples)
    throw new GridError('BAD_JOB_SPEC', `${work} samples of work; this coordinator takes at most ${limits.maxJobSamples} per job`);
  return { rounds };
}

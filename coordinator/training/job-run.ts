import { initParams } from '../../kernels/models/index';
import { GridError } from '../../protocol/errors';
import { frameBytes } from '../../protocol/frames';
import { type JobSpec, parseJobSpec, shardsPerRound, stepsPerShard, type TrainingSpec, totalRounds, trainingSpec } from '../../protocol/job';
import type { ServerMessage } from '../../protocol/messages';
import { classCount, inputSize, parameterCount, sizeOf } from '../../protocol/model';
import { fullParams, stepPublished } from '../../protocol/params-delta';
import type { Limits } from '../config';
import type { DatasetRegistry } from '../data/dataset-registry';
import { type InferencePlan, planInference } from '../inference/plan';
import { inferAssignment, loadInferenceRun } from '../inference/run';
import type { Logger } from '../log';
import type { Job, Store } from '../store/index';
import { unpackCheckpoint } from './checkpoint';
import { newOptimizerState, type OptimizerState } from './optimizer';
import { ReplayGuard } from './replay-guard';
import { planRound, type Round, type Shard } from './round';

/** The live state of one job this coordinator owns. */
export interface Run {
  id: number;
  spec: JobSpec;
  state: 'running' | 'paused';
  totalRounds: number;
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
  version: number;
  round: Round;
  /** Results with a larger norm are refused; set from each closed round (none before the first). */
  normLimit?: number;
  replays: ReplayGuard;
  /** The ownership epoch this coordinator claimed the job at; every write for it is fenced on it. */
  epoch: number;
  /** Set for an inference job (which has no parameters of its own): its model, input and output as checked. */
  inference?: InferencePlan;
  /** What volunteers are told the job is (every assignment carries it). */
  about?: { job: string; owner: string; description?: string };
}

/** What loading a job needs besides the job: the allow-list and limits an inference job is checked against again. */
export interface LoadContext {
  owner: string;
  store: Store;
  datasets: DatasetRegistry;
  log: Logger;
  allowlist?: ReadonlySet<string>;
}

/** Rebuild a job's state from its row and latest checkpoint; throws (the job is then failed) if it cannot run. */
export async function loadRun(job: Job, ctx: LoadContext): Promise<Run> {
  const parsed = parseJobSpec(JSON.parse(job.spec));
  const run = parsed.mode === 'inference' ? await loadInferenceRun(job, parsed, ctx.store, ctx.datasets, ctx.allowlist) : await loadTraining(job, parsed, ctx);
  const owner = (await ctx.store.tokenName(job.token_id)) ?? 'the operator';
  run.about = { job: parsed.name, owner, ...(parsed.description ? { description: parsed.description } : {}) };
  return run;
}

async function loadTraining(job: Job, spec: TrainingSpec, { owner, store, datasets, log }: LoadContext): Promise<Run> {
  datasets.get(spec.dataset.name, spec.dataset.split); // the data set must still be there
  let params = initParams(spec.model, spec.seed);
  let opt = newOptimizerState(parameterCount(spec.model));
  let round = 0;
  let cursor = 0;
  let version = 0;
  const ckpt = await store.latestCheckpoint(job.id);
  if (ckpt) {
    const c = unpackCheckpoint(await store.checkpointData(ckpt.id), ckpt.sha256, spec.model);
    ({ params, round, cursor } = c);
    version = c.paramsVersion;
    opt = c.optimizer;
    log.info('job resumed from checkpoint', { job: job.id, round, sha256: ckpt.sha256 });
  }
  // Whatever a previous owner did after this point is redone here; fenced, like every write for the job.
  await store.fenced({ jobId: job.id, owner, epoch: job.owner_epoch }, (tx) => tx.supersedeAfter(job.id, round));
  const run: Run = {
    id: job.id,
    spec,
    state: job.state === 'paused' ? 'paused' : 'running',
    totalRounds: job.total_rounds,
    params,
    published: params,
    paramsFrame: new Uint8Array(0),
    opt,
    version,
    round: planRound(spec, round, cursor),
    replays: new ReplayGuard(),
    epoch: job.owner_epoch,
  };
  publish(run, true);
  return run;
}

/** A full copy of the published parameters at least this often (in versions), whatever the deltas. */
const FULL_COPY_EVERY = 50;

/**
 * Publish the parameters of `run.version`: with int8-delta downloads, move the shadow by one delta (a full reset to
 * the parameters when loaded and every FULL_COPY_EVERY versions); otherwise workers get the parameters themselves.
 */
export function publish(run: Run, loaded = false) {
  const deltas = run.spec.mode !== 'inference' && run.spec.download === 'int8-delta';
  run.delta = undefined;
  if (!deltas) run.published = run.params;
  else if (loaded || run.version % FULL_COPY_EVERY === 0) run.published = run.params.slice();
  else run.delta = stepPublished(run.published, run.params, run.id, run.version);
  run.paramsFrame = fullParams(run.published, run.id, run.version);
}

/** Bytes one shard of `run` moves at least: parameters down and the result up (training), or the outputs up. */
export function shardBytes(run: Run): number {
  const count = run.round.shards[0]?.count ?? 0;
  if (run.spec.mode === 'inference') return count * (run.inference?.kept ?? 1) * (run.spec.outputDtype === 'f16' ? 2 : 4);
  const n = run.params.length;
  return frameBytes('fp32', n) + frameBytes(run.spec.encoding, n);
}

/** The message that leases `shard` of `run` to a worker. */
export function assignmentFor(run: Run, shard: Shard, assignmentId: number): ServerMessage {
  const about = run.about ? { about: run.about } : {};
  if (run.spec.mode === 'inference' && run.inference) return { ...inferAssignment(run.id, run.spec, run.inference, shard, assignmentId), ...about };
  const spec = trainingSpec(run.spec);
  return {
    type: 'assign',
    assignmentId,
    jobId: run.id,
    round: run.round.index,
    shard: shard.index,
    model: spec.model,
    paramsVersion: run.version,
    paramsUrl: `/api/jobs/${run.id}/params?version=${run.version}`,
    data: { dataset: spec.dataset.name, split: spec.dataset.split, seed: spec.seed, cursor: shard.cursor, count: shard.count },
    task: { mode: spec.mode, steps: stepsPerShard(spec), batch: spec.shardSize, lr: spec.mode === 'local' ? spec.local.lr : 0, encoding: spec.encoding },
    ...about,
  };
}

/**
 * Parse a submitted spec and check it against its model and data set; every mismatch is a BAD_JOB_SPEC naming it.
 * `rounds` is what the job's progress counts to: rounds of training, or shards of inference.
 */
export async function checkSubmission(
  input: unknown,
  ctx: Pick<LoadContext, 'store' | 'datasets' | 'allowlist'>,
  limits: Pick<Limits, 'maxParams' | 'maxShardsPerRound'>,
): Promise<{ spec: JobSpec; rounds: number }> {
  const spec = parseJobSpec(input);
  if (spec.mode === 'inference') {
    const plan = await planInference(spec, ctx.store, ctx.datasets, ctx.allowlist);
    return { spec, rounds: Math.ceil(plan.samples / spec.shardSize) };
  }
  const { trainSamples } = checkTraining(spec, ctx.datasets, limits);
  return { spec, rounds: totalRounds(spec, trainSamples) };
}

function checkTraining(spec: TrainingSpec, datasets: DatasetRegistry, limits: Pick<Limits, 'maxParams' | 'maxShardsPerRound'>) {
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
  if (classCount(spec.model) < train.classes)
    throw new GridError('BAD_JOB_SPEC', `model has ${classCount(spec.model)} outputs but the data set has ${train.classes} classes`);
  if (spec.evalEvery && evalSplit && !datasets.has(name, evalSplit)) throw new GridError('BAD_JOB_SPEC', `eval split ${evalSplit} is not registered`);
  return { trainSamples: train.samples };
}

/** A running job's shards and, when nothing is leased and no connected worker may take them, why it waits. */
export function liveStatus(run: Run, eligibleWorkers: number) {
  const shards = run.round.shards.map((s) => ({ index: s.index, state: s.result ? 'done' : s.lease ? 'leased' : 'pending', worker: s.lease?.workerId }));
  const idle = run.state === 'running' && !shards.some((s) => s.state === 'leased') && eligibleWorkers === 0;
  const waiting = idle ? `no connected worker can run it${run.spec.workers === 'native' ? ' (native workers only)' : ''}` : undefined;
  return { round: run.round.index, version: run.version, shards, ...(waiting ? { waiting } : {}) };
}

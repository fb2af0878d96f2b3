import { initParams } from '../../kernels/models/index';
import { GridError } from '../../protocol/errors';
import { encodeFrame } from '../../protocol/frames';
import { type JobSpec, parseJobSpec, shardsPerRound } from '../../protocol/job';
import { classCount, inputSize, parameterCount, sizeOf } from '../../protocol/model';
import type { Limits } from '../config';
import type { DatasetRegistry } from '../data/dataset-registry';
import type { Logger } from '../log';
import type { Job, Store } from '../store/index';
import { unpackCheckpoint } from './checkpoint';
import { newOptimizerState, type OptimizerState } from './optimizer';
import { ReplayGuard } from './replay-guard';
import { planRound, type Round } from './round';

/** The live state of one job this coordinator owns. */
export interface Run {
  id: number;
  spec: JobSpec;
  state: 'running' | 'paused';
  totalRounds: number;
  params: Float32Array;
  /** The current parameters as one wire frame, served to every worker of this version. */
  paramsFrame: Uint8Array;
  opt: OptimizerState;
  version: number;
  round: Round;
  /** Results with a larger norm are refused; set from each closed round (none before the first). */
  normLimit?: number;
  replays: ReplayGuard;
  /** The ownership epoch this coordinator claimed the job at; every write for it is fenced on it. */
  epoch: number;
}

/** Rebuild a job's state from its row and latest checkpoint; throws (the job is then failed) if it cannot run. */
export async function loadRun(job: Job, owner: string, store: Store, datasets: DatasetRegistry, log: Logger): Promise<Run> {
  const spec = parseJobSpec(JSON.parse(job.spec));
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
    paramsFrame: new Uint8Array(0),
    opt,
    version,
    round: planRound(spec, round, cursor),
    replays: new ReplayGuard(),
    epoch: job.owner_epoch,
  };
  publish(run);
  return run;
}

export function publish(run: Run) {
  const p = run.params;
  const header = { kind: 'params', dtype: 'f32', job: run.id, round: run.round.index, shard: 0, count: p.length, blockSize: 0 } as const;
  run.paramsFrame = encodeFrame(header, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
}

/** Parse a submitted spec and check it against its data set; every mismatch is a BAD_JOB_SPEC naming it. */
export function checkSubmission(
  input: unknown,
  datasets: DatasetRegistry,
  limits: Pick<Limits, 'maxParams' | 'maxShardsPerRound'>,
): { spec: JobSpec; trainSamples: number } {
  const spec = parseJobSpec(input);
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
  return { spec, trainSamples: train.samples };
}

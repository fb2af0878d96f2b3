import { augmentSchema } from './augment';
import { GridError } from './errors';
import { inferenceJob, parsePostprocess } from './inference';
import { classCount, inputSize, modelSpec } from './model';
import { type Infer, int, lit, num, obj, opt, SchemaError, str, variant, withDefault } from './schema';

/** `cosine` decays the learning rate from `lr` to 0 over the job's rounds (half a cosine); `constant` keeps it. */
const schedule = withDefault(lit('constant', 'cosine'), 'constant');
const sgd = obj({
  kind: lit('sgd'),
  lr: num(0, 10),
  momentum: withDefault(num(0, 0.9999), 0),
  weightDecay: withDefault(num(0, 1), 0),
  schedule,
});
const adam = obj({
  kind: lit('adam', 'adamw'),
  lr: num(0, 10),
  beta1: withDefault(num(0, 0.9999), 0.9),
  beta2: withDefault(num(0, 0.999999), 0.999),
  eps: withDefault(num(0, 1), 1e-8),
  weightDecay: withDefault(num(0, 1), 0),
  schedule,
});

/** The root of trust's samples per round, unless a job says otherwise. */
export const REFERENCE_SAMPLES = 128;

/** Fields every job has, whatever its mode. */
const common = {
  name: str(200),
  /** Shown to the volunteers computing it: what it is for, in the submitter's words. */
  description: opt(str(1000)),
  model: modelSpec,
  /** `augment` varies training samples (images only): random shifts of up to `crop` pixels, left-right mirroring. */
  dataset: obj({ name: str(100), split: withDefault(str(40), 'train'), evalSplit: opt(str(40)), augment: opt(augmentSchema) }),
  optimizer: variant('kind', { sgd, adam, adamw: adam }),
  globalBatch: int(1, 1 << 20),
  shardSize: int(1, 1 << 20),
  rounds: opt(int(1, 10_000_000)),
  epochs: opt(num(0.001, 100_000)),
  /**
   * How results are combined and bounded. Robust rules (trimmed-mean, median, centered-clip) combine one vote per
   * worker. `maxAbs` bounds every element before anything is summed; `maxShare` is the largest fraction of a round's
   * shards one worker may take while others are connected. `reference` is the root of trust: the coordinator's own
   * gradient over that many samples of the training split each round (in a local-step job, its own local steps over
   * that many samples each), which every result is judged and weighted against (trusted-step.ts); 0 turns it off,
   * leaving the rule alone to decide.
   */
  aggregation: withDefault(
    obj({
      rule: withDefault(lit('mean', 'trimmed-mean', 'median', 'centered-clip'), 'mean'),
      clipNorm: opt(num(0)),
      trim: withDefault(num(0, 0.49), 0.1),
      maxNorm: opt(num(0)),
      maxAbs: withDefault(num(0, 1e30), 1000),
      maxShare: withDefault(num(0.01, 1), 0.5),
      reference: withDefault(int(0, 65_536), REFERENCE_SAMPLES),
    }),
    { rule: 'mean' as const, trim: 0.1, maxAbs: 1000, maxShare: 0.5, reference: REFERENCE_SAMPLES },
  ),
  /**
   * Validation by redundancy: `fraction` of shards (sampled unpredictably) is computed again by a worker of another
   * identity and token; results must agree within `tolerance` (relative L2, plus what their encodings round away).
   */
  redundancy: withDefault(obj({ fraction: withDefault(num(0, 1), 0), tolerance: withDefault(num(0, 1), 0.005) }), { fraction: 0, tolerance: 0.005 }),
  encoding: withDefault(lit('fp32', 'fp16', 'int8'), 'fp32'),
  /** Parameter downloads: full fp32 copies, or int8 deltas from the version a worker holds (params-delta.ts). */
  download: withDefault(lit('fp32', 'int8-delta'), 'fp32'),
  checkpointEvery: withDefault(int(1, 1_000_000), 10),
  evalEvery: withDefault(int(0, 1_000_000), 0),
  evalSamples: opt(int(1, 1 << 24)),
  leaseMs: withDefault(int(1000, 3_600_000), 30_000),
  seed: withDefault(int(0, 0xffffffff), 1),
  /** Workers that may run it: 'any', or 'native' for heavy jobs. */
  workers: withDefault(lit('any', 'native'), 'any'),
};

/**
 * sync: workers return gradients and the coordinator steps `optimizer`. `shardSizing: "by-rate"` cuts each round
 * into one shard per worker sized by its measured speed (multiples of shardSize), so every shard takes about as long;
 * "fixed" (the default) keeps shardSize shards, the same partition whoever is connected.
 */
const syncJob = obj({ ...common, mode: lit('sync'), shardSizing: withDefault(lit('fixed', 'by-rate'), 'fixed') });
/**
 * local: each worker runs `local.steps` AdamW steps and returns its parameter delta; the coordinator takes a Nesterov
 * outer step. The defaults are the volunteer mode's (README), which reach 88% on the Fashion-MNIST MLP.
 */
const LOCAL_DEFAULTS = { steps: 16, lr: 0.001, outerLr: 0.7, outerMomentum: 0.9 };
const localJob = obj({
  ...common,
  mode: lit('local'),
  local: withDefault(
    obj({
      steps: withDefault(int(1, 1000), LOCAL_DEFAULTS.steps),
      lr: withDefault(num(0, 10), LOCAL_DEFAULTS.lr),
      outerLr: withDefault(num(0, 10), LOCAL_DEFAULTS.outerLr),
      outerMomentum: withDefault(num(0, 0.9999), LOCAL_DEFAULTS.outerMomentum),
    }),
    LOCAL_DEFAULTS,
  ),
});

export const jobSpecSchema = variant('mode', { sync: syncJob, local: localJob, inference: inferenceJob }, 'sync');

export type JobSpec = Infer<typeof jobSpecSchema>;
/** A job that trains a model (synchronous or local steps). */
export type TrainingSpec = Exclude<JobSpec, { mode: 'inference' }>;
export type InferenceSpec = Extract<JobSpec, { mode: 'inference' }>;

/** Parse and cross-check a job spec; every problem is a BAD_JOB_SPEC with the path that is wrong. */
export function parseJobSpec(input: unknown): JobSpec {
  let spec: JobSpec;
  try {
    spec = jobSpecSchema(input, '');
  } catch (e) {
    if (e instanceof SchemaError) throw new GridError('BAD_JOB_SPEC', e.message);
    throw e;
  }
  const bad = (msg: string) => new GridError('BAD_JOB_SPEC', msg);
  if (spec.mode === 'inference') {
    if (!/^[0-9a-f]{64}$/.test(spec.model.sha256)) throw bad('model.sha256: expected the 64 hex digits of a registered model');
    if (!parsePostprocess(spec.postprocess)) throw bad(`postprocess: expected raw, argmax or topk:K, not ${JSON.stringify(spec.postprocess)}`);
    return spec;
  }
  if (spec.rounds === undefined && spec.epochs === undefined) throw bad('rounds or epochs is required');
  if (spec.shardSize > spec.globalBatch) throw bad('shardSize must not exceed globalBatch');
  // An imported model's shapes are known once the coordinator has read it.
  if ((spec.model.kind !== 'onnx' || spec.model.graph) && (inputSize(spec.model) <= 0 || classCount(spec.model) < 2))
    throw bad('model needs inputs and at least 2 classes');
  return spec;
}

/** The spec of a job that trains; an inference job here is a bug upstream, reported as a bad spec. */
export function trainingSpec(spec: JobSpec): TrainingSpec {
  if (spec.mode === 'inference') throw new GridError('BAD_JOB_SPEC', 'this is an inference job; it trains nothing');
  return spec;
}

/** Parse a spec that must be a training job's. */
export const parseTrainingSpec = (input: unknown) => trainingSpec(parseJobSpec(input));

export const shardsPerRound = (spec: TrainingSpec) => Math.ceil(spec.globalBatch / spec.shardSize);

/** Optimizer steps a worker takes per shard: one gradient in sync mode, `local.steps` in local mode. */
export const stepsPerShard = (spec: TrainingSpec) => (spec.mode === 'local' ? spec.local.steps : 1);

export function totalRounds(spec: TrainingSpec, trainSamples: number): number {
  if (spec.rounds !== undefined) return spec.rounds;
  return Math.max(1, Math.ceil(((spec.epochs ?? 1) * trainSamples) / (spec.globalBatch * stepsPerShard(spec))));
}

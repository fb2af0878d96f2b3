import { GridError } from '../../protocol/errors';
import { keptPerSample, type Postprocess, parsePostprocess } from '../../protocol/inference';
import type { InferenceSpec } from '../../protocol/job';
import { sizeOf } from '../../protocol/model';
import type { DatasetRegistry } from '../data/dataset-registry';
import { classLabels } from '../data/datasets';
import { newRound, type Round, type Shard } from '../jobs/round';
import type { TensorInfo } from '../models/inspect';
import type { Store } from '../store/index';

/** What running an inference job needs beyond its spec, checked against the model and data set once. */
export interface InferencePlan {
  post: Postprocess;
  input: string;
  output: string;
  /** The input's shape with -1 for a free batch dimension. */
  inputShape: number[];
  /** Output values per sample, and how many of them post-processing keeps. */
  width: number;
  kept: number;
  samples: number;
  /** The data set's labels when it has classes: accuracy is reported as shards come in. */
  labels?: Uint32Array;
  /** The model file's size in bytes: what a shard's work is counted by. */
  modelBytes: number;
}

/** The most values one shard's output frame may carry (16 MB of f32). */
const MAX_SHARD_VALUES = 4 << 20;
/** The most shards one inference job is cut into (all of them are one round, scanned at every dispatch). */
const MAX_SHARDS = 20_000;
const bad = (msg: string) => new GridError('BAD_JOB_SPEC', msg);

/** Check an inference spec against its registered model and its data set; every mismatch is named. */
export async function planInference(
  spec: InferenceSpec,
  store: Store,
  datasets: DatasetRegistry,
  allowlist: ReadonlySet<string> | undefined,
): Promise<InferencePlan> {
  const row = await store.model(spec.model.sha256);
  if (!row) throw bad(`model ${spec.model.sha256} is not registered (POST /api/models first)`);
  if (allowlist && !allowlist.has(row.sha256)) throw new GridError('MODEL_NOT_ALLOWED', `model ${row.sha256} is not on this coordinator's allow-list`);
  const { name, split } = spec.dataset;
  if (!datasets.has(name, split)) throw bad(`dataset ${name}/${split} is not registered`);
  const data = datasets.get(name, split);
  const input = pick(JSON.parse(row.inputs) as TensorInfo[], spec.model.input, 'input');
  const output = pick(JSON.parse(row.outputs) as TensorInfo[], spec.model.output, 'output');
  const [batch, ...sample] = input.shape;
  if (sample.some((d) => typeof d !== 'number' || d <= 0)) throw bad(`model input ${input.name} has shape [${input.shape}]: only its first dimension may vary`);
  const features = sizeOf(data.manifest.featureShape);
  if (sizeOf(sample as number[]) !== features)
    throw bad(
      `model input ${input.name} takes [${sample}] = ${sizeOf(sample as number[])} values per sample; ${name}/${split} has ${features} ([${data.manifest.featureShape}])`,
    );
  const outSample = output.shape.slice(1);
  if (outSample.some((d) => typeof d !== 'number' || d <= 0))
    throw bad(`model output ${output.name} has shape [${output.shape}]: its size per sample must be fixed`);
  const width = sizeOf(outSample as number[]);
  const post = parsePostprocess(spec.postprocess) as Postprocess;
  if (post.kind !== 'raw' && width < 2) throw bad(`${spec.postprocess} needs at least 2 output values per sample; ${output.name} has ${width}`);
  if (post.kind === 'topk' && post.k > width) throw bad(`topk:${post.k} asks for more than the ${width} values per sample`);
  const kept = keptPerSample(post, width);
  if (spec.shardSize * kept > MAX_SHARD_VALUES)
    throw bad(`a shard of ${spec.shardSize} samples would return ${spec.shardSize * kept} values; at most ${MAX_SHARD_VALUES}`);
  const samples = data.manifest.samples;
  if (Math.ceil(samples / spec.shardSize) > MAX_SHARDS)
    throw bad(`${Math.ceil(samples / spec.shardSize)} shards; an inference job takes at most ${MAX_SHARDS}: raise shardSize`);
  const fixed = typeof batch === 'number' && batch > 0 ? batch : -1;
  return {
    post,
    input: input.name,
    output: output.name,
    inputShape: [fixed, ...(sample as number[])],
    width,
    kept,
    samples,
    labels: data.manifest.classes > 0 ? classLabels(data) : undefined,
    modelBytes: row.bytes,
  };
}

function pick(all: TensorInfo[], named: string | undefined, what: 'input' | 'output'): TensorInfo {
  const names = all.map((t) => t.name).join(', ');
  const t = named === undefined ? (what === 'output' || all.length === 1 ? all[0] : undefined) : all.find((x) => x.name === named);
  if (!t)
    throw bad(
      named === undefined ? `the model has ${all.length} inputs (${names}): name one in model.input` : `the model has no ${what} ${named} (it has ${names})`,
    );
  if (t.type !== 'float32') throw bad(`model ${what} ${t.name} is ${t.type}; inference jobs feed and read float32`);
  return t;
}

/**
 * All of the job as one round: consecutive shards in input order, then a redundant copy of each shard sampled with
 * probability `fraction`, unpredictably (as training rounds are checked).
 */
export function planShards(samples: number, shardSize: number, fraction: number, random = Math.random): Round {
  const shards: Shard[] = [];
  for (let cursor = 0; cursor < samples; cursor += shardSize) shards.push({ index: shards.length, cursor, count: Math.min(shardSize, samples - cursor) });
  return newRound(0, 0, shards, fraction, random);
}

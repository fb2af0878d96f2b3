import { GridError } from '../../protocol/errors';
import { allFinite, decodeTensor, type Frame } from '../../protocol/frames';
import { f32ToF16 } from '../../protocol/half';
import { keptPerSample, predictedClasses } from '../../protocol/inference';
import type { InferenceSpec } from '../../protocol/job';
import { encodeNpy } from '../../protocol/npy';
import type { ResultMeta } from '../jobs/kind';
import { agree, type Computation } from '../jobs/redundancy';
import type { Shard } from '../jobs/round';
import type { InferencePlan } from './plan';

/**
 * Check one inference shard's output frame from an untrusted worker: kind, dtype, size, finiteness, and for class
 * outputs whole numbers in range. Returns the decoded values or throws the refusal.
 */
export function checkOutput(spec: InferenceSpec, plan: InferencePlan, shard: Shard, meta: ResultMeta, frame: Frame): Float32Array {
  if (frame.kind !== 'output') throw new GridError('BAD_FRAME', `inference jobs expect output frames, got ${frame.kind}`);
  if (frame.dtype !== spec.outputDtype) throw new GridError('BAD_DTYPE', `the job keeps ${spec.outputDtype} outputs, got ${frame.dtype}`);
  if (meta.samples !== shard.count) throw new GridError('BAD_MESSAGE', `result covers ${meta.samples} samples, the shard has ${shard.count}`);
  if (frame.count !== shard.count * plan.kept)
    throw new GridError('WRONG_SIZE', `output has ${frame.count} values; ${shard.count} samples x ${plan.kept} were expected`);
  const values = decodeTensor(frame);
  if (!allFinite(values)) throw new GridError('NON_FINITE', 'output holds NaN or Infinity');
  if (plan.post.kind !== 'raw')
    for (const v of values)
      if (!Number.isInteger(v) || v < 0 || v >= plan.width) throw new GridError('VALUE_TOO_LARGE', `class index ${v} is not in 0..${plan.width - 1}`);
  return values;
}

/** Samples of the shard whose predicted class is their label (0 without labels). */
export function correctIn(plan: InferencePlan, shard: Shard, values: Float32Array): number {
  if (!plan.labels) return 0;
  const predicted = predictedClasses(values, shard.count, plan.width, plan.post);
  let correct = 0;
  for (let i = 0; i < shard.count; i++) if (predicted[i] === plan.labels[shard.cursor + i]) correct++;
  return correct;
}

/** Scores this close to a row's best, relative to the row's largest magnitude, are a near tie engines may order either way. */
const NEAR_TIE = 1e-3;

/**
 * Whether a worker's kept outputs for `n` samples are what the coordinator's own run of the model gave (`raw`, a
 * row of plan.width scores per sample): raw outputs within the job's tolerance; class indices each scoring what the
 * class in that place of the ranking scores, up to a near tie (so engines that sum in another order still agree).
 */
export function matchesRecomputed(plan: InferencePlan, tolerance: number, result: Computation, raw: Float32Array, n: number): boolean {
  if (plan.post.kind === 'raw') return agree(result, { values: raw, rounding: 0 }, tolerance);
  const k = keptPerSample(plan.post, plan.width);
  for (let i = 0; i < n; i++) {
    const row = raw.subarray(i * plan.width, (i + 1) * plan.width);
    const ranked = Float32Array.from(row).sort().reverse();
    const nearTie = NEAR_TIE * Math.max(1, Math.abs(ranked[0]), Math.abs(ranked[plan.width - 1]));
    for (let j = 0; j < k; j++) if (!(Math.abs(row[result.values[i * k + j]] - ranked[j]) <= nearTie)) return false;
  }
  return true;
}

/** Standing outputs as stored: one per shard is enough, they agree. */
export interface StoredOutput {
  shard: number;
  provider: string;
  data: Uint8Array;
}

/** Each shard's decoded outputs with its first row and row count, once per shard (a checked shard is stored twice, alike). */
function* shardsDone(spec: InferenceSpec, plan: InferencePlan, outputs: StoredOutput[]) {
  const seen = new Set<number>();
  for (const o of outputs) {
    if (seen.has(o.shard)) continue;
    seen.add(o.shard);
    const start = o.shard * spec.shardSize;
    const count = Math.min(spec.shardSize, plan.samples - start);
    yield { start, count, values: decodeTensor({ dtype: spec.outputDtype, count: count * plan.kept, payload: o.data } as Frame) };
  }
}

/**
 * The job's outputs in input order, whatever has arrived: rows of shards not done yet are NaN (raw outputs) or -1
 * (class indices). Raw outputs keep the job's dtype; class indices are int32.
 */
export function assemble(spec: InferenceSpec, plan: InferencePlan, outputs: StoredOutput[]): { npy: Uint8Array; rows: number; rowsDone: number } {
  const classes = plan.post.kind !== 'raw';
  const rows = plan.samples;
  const data = new Uint8Array(rows * plan.kept * 4);
  const view = new DataView(data.buffer);
  const missing = classes ? -1 : Number.NaN;
  for (let i = 0; i < rows * plan.kept; i++) classes ? view.setInt32(i * 4, missing, true) : view.setFloat32(i * 4, missing, true);
  let rowsDone = 0;
  for (const { start, count, values } of shardsDone(spec, plan, outputs)) {
    for (let i = 0; i < values.length; i++)
      classes ? view.setInt32((start * plan.kept + i) * 4, values[i], true) : view.setFloat32((start * plan.kept + i) * 4, values[i], true);
    rowsDone += count;
  }
  const shape = plan.kept === 1 && classes ? [rows] : [rows, plan.kept];
  if (!classes && spec.outputDtype === 'f16') return { npy: encodeNpy('<f2', shape, toHalf(data)), rows, rowsDone };
  return { npy: encodeNpy(classes ? '<i4' : '<f4', shape, data), rows, rowsDone };
}

/** The f32 bytes as f16 (the stored values were f16 to begin with, so nothing is lost). */
function toHalf(f32: Uint8Array): Uint8Array {
  const src = new Float32Array(f32.buffer, f32.byteOffset, f32.byteLength / 4);
  const half = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) half[i] = f32ToF16(src[i]);
  return new Uint8Array(half.buffer);
}

/** The outputs as CSV: `index` then the kept values of each sample, one line per sample; missing rows are left out. */
export function outputCsv(spec: InferenceSpec, plan: InferencePlan, outputs: StoredOutput[]): string {
  const header = [
    'index',
    ...Array.from({ length: plan.kept }, (_, i) => (plan.post.kind === 'raw' ? `v${i}` : plan.post.kind === 'argmax' ? 'class' : `top${i + 1}`)),
  ];
  const lines = [header.join(',')];
  for (const { start, count, values } of shardsDone(spec, plan, outputs)) {
    for (let i = 0; i < count; i++) lines.push([start + i, ...values.subarray(i * plan.kept, (i + 1) * plan.kept)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

import { GridError } from '../../protocol/errors';
import { decodeTensor, type Frame } from '../../protocol/frames';
import type { TrainingSpec } from '../../protocol/job';
import { wireRange } from '../../protocol/lora';
import type { ResultMeta } from '../jobs/kind';
import type { Shard } from '../jobs/round';
import { clipByNorm } from './aggregate';
import { sharedFloat32 } from './aggregate-pool';
import type { TrainingRun } from './job-run';
import { vectorStats } from './simd.mjs';

/** A result whose norm is this many times the last round's median is refused before it counts. */
export const NORM_FACTOR = 10;

/** A loss above this is not a training signal but a broken or hostile worker (and would overflow the round's sums). */
export const MAX_LOSS = 1e6;

/**
 * Check one result from an untrusted worker against its shard, without side effects: the frame's kind, dtype and
 * size, the reported numbers, finiteness and norm. Returns the decoded values (clipped when the job clips) or
 * throws a GridError whose code is the refusal.
 */
export function checkResult(
  spec: TrainingSpec,
  shard: Shard,
  paramCount: number,
  meta: ResultMeta,
  frame: Frame,
  paramsVersion: number,
): { values: Float32Array; norm: number; fingerprint: string } {
  if (meta.paramsVersion !== paramsVersion)
    throw new GridError('STALE_VERSION', `computed on parameters ${meta.paramsVersion}, the lease was for ${paramsVersion}`);
  const wantKind = spec.mode === 'local' ? 'delta' : 'gradient';
  if (frame.kind !== wantKind) throw new GridError('BAD_FRAME', `job expects ${wantKind} frames, got ${frame.kind}`);
  if (frame.dtype === 'u8') throw new GridError('BAD_DTYPE', 'results must be f32, f16 or int8');
  const wire = wireRange(spec.model, paramCount); // a LoRA job's results carry its adapters only; the rest is zero
  if (frame.count !== wire.count) throw new GridError('WRONG_SIZE', `result has ${frame.count} elements, the model sends ${wire.count}`);
  if (meta.samples !== shard.count) throw new GridError('BAD_MESSAGE', `result covers ${meta.samples} samples, the shard has ${shard.count}`);
  if (!(meta.loss >= 0 && meta.loss <= MAX_LOSS)) throw new GridError('BAD_MESSAGE', `loss ${meta.loss} is outside [0, ${MAX_LOSS}]`);
  const correct = meta.correct ?? 0;
  if (correct > meta.samples) throw new GridError('BAD_MESSAGE', `${correct} correct out of ${meta.samples} samples`);
  const values = inPlace(frame, paramCount) ?? sharedFloat32(paramCount); // shared so the aggregation threads read it in place
  if (values.buffer !== frame.payload.buffer) decodeTensor(frame, values.subarray(wire.start, wire.start + wire.count));
  const stats = vectorStats(values); // finiteness, bound, norm and fingerprint in one pass
  if (!Number.isFinite(stats.maxAbs)) throw new GridError('NON_FINITE', 'result holds NaN or Infinity');
  const { clipNorm, maxNorm, maxAbs } = spec.aggregation;
  if (stats.maxAbs > maxAbs) throw new GridError('VALUE_TOO_LARGE', `an element of magnitude ${stats.maxAbs.toExponential(2)} exceeds ${maxAbs}`);
  const norm = clipNorm ? clipByNorm(values, clipNorm, stats.norm) : stats.norm;
  if (maxNorm && norm > maxNorm) throw new GridError('NORM_TOO_LARGE', `norm ${norm.toFixed(3)} exceeds ${maxNorm}`);
  return { values, norm, fingerprint: stats.fingerprint };
}

/** An f32 result of every parameter that arrived in shared memory (worker-socket.ts), as it lies: no second copy. */
function inPlace(frame: Frame, paramCount: number): Float32Array | undefined {
  const p = frame.payload;
  if (frame.dtype !== 'f32' || frame.count !== paramCount || !(p.buffer instanceof SharedArrayBuffer) || p.byteOffset % 4 !== 0) return undefined;
  return new Float32Array(p.buffer, p.byteOffset, paramCount);
}

/**
 * Every check of a training result: its frame and numbers (above), not a replay of another result, and a norm not
 * far above the last round's median. That last is a comparison with other results, not evidence against the worker:
 * the operator's own (`trusted`) are not held to it, or a real jump in the gradient (a loss spike) would refuse the
 * same shard from them for ever and quarantine them.
 */
export function checkTrainingResult(
  run: TrainingRun,
  shard: Shard,
  meta: ResultMeta,
  frame: Frame,
  paramsVersion: number,
  trusted = false,
): { values: Float32Array; norm: number } {
  const { spec, params, replays, normLimit } = run.data;
  const checked = checkResult(spec, shard, params.length, meta, frame, paramsVersion);
  // Keyed by the samples' shard: a redundant copy computed to the same bytes is agreement, not a replay.
  const replayed = replays.replayOf(checked.fingerprint, { round: run.round.index, shard: shard.copyOf ?? shard.index });
  if (replayed) throw new GridError('REPLAYED', `this result was already received for round ${replayed.round} shard ${replayed.shard}`);
  if (normLimit && !trusted && checked.norm > normLimit)
    throw new GridError('NORM_TOO_LARGE', `norm ${checked.norm.toExponential(2)} is over ${NORM_FACTOR}x the last round's median`);
  const { clipNorm } = spec.aggregation;
  return { values: checked.values, norm: clipNorm ? Math.min(checked.norm, clipNorm) : checked.norm };
}

import { GridError } from './errors';
import { decodeFrame, decodeTensor, encodeFrame, encodeTensor, type Frame } from './frames';

/**
 * Compressed parameter downloads. Workers compute on the *published* parameters, a shadow of the coordinator's own
 * that moves by int8-quantised deltas: published[v] = published[v-1] + dequant(quant(params[v] - published[v-1])).
 * What quantisation drops is not lost but carried into the next delta (it is measured against the shadow), so the
 * shadow never drifts from the parameters by more than one delta's rounding; every so often it is reset to them
 * exactly (a full copy). Coordinator and worker apply a delta with this one function, so both hold the same bits,
 * and each delta frame carries a hash of the result that the worker checks.
 */

/** FNV-1a over the parameters' bytes: a cheap check that a worker's copy is the coordinator's, bit for bit. */
export function paramsHash(values: Float32Array): number {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** Add a decoded delta to `published` in place; the one way both sides do it. */
export function applyDelta(published: Float32Array, delta: Float32Array) {
  for (let i = 0; i < published.length; i++) published[i] += delta[i];
}

/**
 * Move `published` towards `params` by one int8 delta; returns the delta frame (its header's reserved word holds
 * the hash of the result, `round` the version it leads to).
 */
export function stepPublished(published: Float32Array, params: Float32Array, job: number, version: number): Uint8Array {
  const diff = new Float32Array(params.length);
  for (let i = 0; i < diff.length; i++) diff[i] = params[i] - published[i];
  const frame = encodeTensor({ kind: 'params-delta', job, round: version, shard: 0 }, diff, 'int8');
  applyDelta(published, decodeTensor(decodeFrame(frame)));
  new DataView(frame.buffer, frame.byteOffset).setUint32(28, paramsHash(published), true);
  return frame;
}

/** A full copy of the published parameters as a frame, for version `version`. */
export function fullParams(published: Float32Array, job: number, version: number): Uint8Array {
  const header = { kind: 'params', dtype: 'f32', job, round: version, shard: 0, count: published.length, blockSize: 0 } as const;
  return encodeFrame(header, new Uint8Array(published.buffer, published.byteOffset, published.byteLength));
}

/**
 * What a worker holds after reading a parameters frame: a full copy replaces what it had; a delta is applied to
 * the copy it had (which must be of the version before) and checked against the hash it carries.
 */
export function readParams(bytes: Uint8Array, held?: Float32Array): Float32Array {
  const frame: Frame = decodeFrame(bytes);
  if (frame.kind === 'params') return f32View(frame) ?? decodeTensor(frame);
  if (frame.kind !== 'params-delta' || !held || held.length !== frame.count)
    throw new GridError('BAD_FRAME', 'a parameters delta needs the copy it applies to');
  const next = held.slice();
  applyDelta(next, decodeTensor(frame));
  const want = new DataView(bytes.buffer, bytes.byteOffset).getUint32(28, true);
  if (paramsHash(next) !== want) throw new GridError('BAD_FRAME', 'parameters after the delta do not match the coordinator’s');
  return next;
}

/**
 * An f32 frame's values in place, when its payload is aligned (a frame the socket handed over whole): the worker's
 * parameters each round without a copy of megabytes, which on a language model drove a full GC a round.
 */
function f32View(frame: Frame): Float32Array | undefined {
  const p = frame.payload;
  return frame.dtype === 'f32' && p.byteOffset % 4 === 0 ? new Float32Array(p.buffer, p.byteOffset, frame.count) : undefined;
}

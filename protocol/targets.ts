import { GridError } from './errors';

/**
 * What a data set's samples are labelled with: one class (u8, or u16 past 256 classes: a language model's tokens)
 * per sample or, with `width` over 1, per position of a sequence (the next token at each position); several 0/1
 * labels (multi-label, u8 each); or regression values (f32 each). A manifest without `targets` is one u8 class per
 * sample, as every data set was before.
 */
export interface Targets {
  kind: 'class' | 'multi-label' | 'regression';
  /** Values per sample: 1 for a class (the positions for a class per position). */
  width: number;
  dtype: 'u8' | 'u16' | 'f32';
}

export const CLASS_U8: Targets = { kind: 'class', width: 1, dtype: 'u8' };
export const MAX_CLASSES = 1 << 16;
/** Target values per sample a data set may have (multi-label or regression). */
export const MAX_TARGET_WIDTH = 4096;

const BYTES = { u8: 1, u16: 2, f32: 4 } as const;

/** Bytes of one sample's targets in a chunk. */
export const targetBytes = (t: Targets) => t.width * BYTES[t.dtype];

/** The loss a model must train with on these targets. */
export const lossFor = (t: Targets) => (t.kind === 'class' ? 'cross-entropy' : t.kind === 'multi-label' ? 'binary-cross-entropy' : 'mse');

/** The targets of `count` samples as chunk bytes (little-endian). */
export function encodeTargets(values: ArrayLike<number>, t: Targets): Uint8Array {
  if (t.dtype === 'u8') return Uint8Array.from(values);
  const out = new Uint8Array(values.length * BYTES[t.dtype]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) t.dtype === 'u16' ? view.setUint16(i * 2, values[i], true) : view.setFloat32(i * 4, values[i], true);
  return out;
}

/** Target value `k` of the sample whose targets start at `offset` in `bytes`. */
export function readTarget(bytes: Uint8Array, offset: number, k: number, t: Targets): number {
  if (t.dtype === 'u8') return bytes[offset + k];
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return t.dtype === 'u16' ? view.getUint16(offset + k * 2, true) : view.getFloat32(offset + k * 4, true);
}

/** Targets as a CSV upload names them (`?targets=regression&targetColumns=3`), checked. */
export function targetsFromQuery(kind: string | null, columns: string | null): Omit<Targets, 'dtype'> {
  const k = kind ?? 'class';
  if (k !== 'class' && k !== 'multi-label' && k !== 'regression') throw new GridError('BAD_REQUEST', `targets=${k}: expected class, multi-label or regression`);
  const width = columns === null ? 1 : Number(columns);
  if (!Number.isInteger(width) || width < 1 || width > MAX_TARGET_WIDTH || (k === 'class' && width !== 1))
    throw new GridError('BAD_REQUEST', `targetColumns=${columns}: ${k === 'class' ? 'a class is one column' : `1..${MAX_TARGET_WIDTH} columns`}`);
  return { kind: k, width };
}

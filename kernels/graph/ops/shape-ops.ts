import { GridError } from '../../../protocol/errors';
import { sizeOfDims } from '../broadcast';
import type { Dim, HostTensor, Shape } from '../ir';

/** Reshape `x` to an ONNX target (0 copies the input's dimension, -1 is inferred), on concrete shapes. */
export function reshapeTo(x: HostTensor, target: readonly number[]): HostTensor {
  const dims = target.map((d, i) => (d === 0 ? x.shape[i] : d));
  const known = sizeOfDims(dims.filter((d) => d !== -1));
  const shape = dims.map((d) => (d === -1 ? x.data.length / known : d));
  if (sizeOfDims(shape) !== x.data.length) throw new Error(`cannot reshape [${x.shape}] to [${target}]`);
  return { shape, data: x.data };
}

/** The same on symbolic shapes: the inferred dimension may be a symbol (the batch) times nothing else. */
export function reshapeShape(from: Shape, target: readonly number[]): Dim[] {
  const copied = new Set(target.flatMap((d, i) => (d === 0 ? [i] : [])));
  const symbols = from.filter((d, i) => typeof d === 'string' && !copied.has(i));
  const numeric = (s: readonly Dim[]) => sizeOfDims(s.filter((d): d is number => typeof d === 'number' && d !== -1));
  const fromKnown = numeric(from.filter((_, i) => !copied.has(i)));
  const toKnown = numeric(target.filter((d) => d !== 0));
  return target.map((d, i) => {
    if (d === 0) return from[i];
    if (d !== -1) return d;
    if (symbols.length === 0) return fromKnown / toKnown;
    if (symbols.length === 1 && fromKnown === toKnown) return symbols[0];
    throw new GridError('UNSUPPORTED_OP', `Reshape of [${from}] to [${target}] would mix the batch with other dimensions`);
  });
}

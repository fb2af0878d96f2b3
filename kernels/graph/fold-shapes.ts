import { GridError } from '../../protocol/errors';
import { axisOf } from './broadcast';
import type { Attrs, Dim } from './ir';

/**
 * A value an exporter computes from shapes (`x.view(x.size(0), -1)` becomes Shape, Gather, Unsqueeze, Concat,
 * Reshape): a small int tensor known when the model is read, whose entries may be the batch's symbol. Importing
 * folds these; the ops that read them (Reshape, an If's condition) get constants.
 */
export interface Folded {
  shape: number[];
  values: Dim[];
}

const unsupported = (msg: string) => new GridError('UNSUPPORTED_OP', msg);
const numeric = (v: Dim, op: string): number => {
  if (typeof v !== 'number') throw unsupported(`${op} on the batch size: the grid folds shape arithmetic only where it is constant`);
  return v;
};
const list = (values: Dim[]): Folded => ({ shape: [values.length], values });
const scalarOrList = (values: Dim[], shape: number[]): Folded => ({ shape, values });

function elementwise(f: (a: number, b: number) => number, op: string) {
  return ([a, b]: Folded[]): Folded => {
    const n = Math.max(a.values.length, b.values.length);
    const at = (t: Folded, i: number) => (t.values.length === 1 ? t.values[0] : t.values[i]);
    // x · 1, x + 0 keep a symbol; anything else about the batch cannot be known when the model is read
    const values = Array.from({ length: n }, (_, i) => {
      const [x, y] = [at(a, i), at(b, i)];
      if (typeof x === 'string' && (((op === 'Mul' || op === 'Div') && y === 1) || ((op === 'Add' || op === 'Sub') && y === 0))) return x;
      if (typeof y === 'string' && op === 'Mul' && x === 1) return y;
      return f(numeric(x, op), numeric(y, op));
    });
    return scalarOrList(values, a.values.length >= b.values.length ? a.shape : b.shape);
  };
}

function gather([data, index]: Folded[], attrs: Attrs): Folded {
  if (data.shape.length !== 1 || (attrs.axis ?? 0) !== 0) throw unsupported('Gather of shape values other than from a list');
  const values = index.values.map((i) => data.values[axisOf(numeric(i, 'Gather'), data.values.length)]);
  return scalarOrList(values, index.shape);
}

function slice([data, starts, ends]: Folded[]): Folded {
  const n = data.values.length;
  const clamp = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
  return list(data.values.slice(clamp(numeric(starts.values[0], 'Slice')), clamp(numeric(ends.values[0], 'Slice'))));
}

/** Folders by op: each takes its folded inputs (constant lists after the first input become inputs here too). */
export const FOLDERS: Record<string, (inputs: Folded[], attrs: Attrs) => Folded> = {
  Identity: ([x]) => x,
  Cast: ([x]) => x,
  Gather: gather,
  Slice: slice,
  Unsqueeze: ([x]) => list(x.values),
  Squeeze: ([x]) => (x.values.length === 1 ? scalarOrList(x.values, []) : x),
  Concat: (parts) => list(parts.flatMap((p) => p.values)),
  Add: elementwise((a, b) => a + b, 'Add'),
  Sub: elementwise((a, b) => a - b, 'Sub'),
  Mul: elementwise((a, b) => a * b, 'Mul'),
  Div: elementwise((a, b) => Math.trunc(a / b), 'Div'),
  Equal: elementwise((a, b) => Number(a === b), 'Equal'),
  Greater: elementwise((a, b) => Number(a > b), 'Greater'),
  Less: elementwise((a, b) => Number(a < b), 'Less'),
  Not: ([x]) =>
    scalarOrList(
      x.values.map((v) => Number(!numeric(v, 'Not'))),
      x.shape,
    ),
  ReduceProd: ([x]) => scalarOrList([x.values.reduce<number>((p, v) => p * numeric(v, 'ReduceProd'), 1)], []),
};

/** Shape(x) of a value of the graph, its `start` and `end` attributes (opset 15) applied. */
export function shapeValue(dims: readonly Dim[], attrs: Attrs): Folded {
  const n = dims.length;
  const clamp = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
  const start = clamp(typeof attrs.start === 'number' ? attrs.start : 0);
  const end = clamp(typeof attrs.end === 'number' ? attrs.end : n);
  return list(dims.slice(start, end));
}

/**
 * A folded Reshape target as ONNX reads it against the input's shape: the batch's symbol becomes 0 (copy) where the
 * input has the batch at that position, else -1 (inferred), which only one entry may be.
 */
export function reshapeTarget(target: Dim[], input: readonly Dim[]): number[] {
  const out = target.map((d, i) => (typeof d === 'number' ? d : input[i] === d ? 0 : -1));
  if (out.filter((d) => d === -1).length > 1) throw unsupported(`Reshape to [${target}]: more than one dimension left to infer`);
  return out;
}

/** Folded values as plain numbers (an attribute, an If's condition), or a refusal naming what needed them. */
export function constantValues(f: Folded, what: string): number[] {
  return f.values.map((v) => numeric(v, what));
}

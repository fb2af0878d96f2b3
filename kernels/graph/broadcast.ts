import type { Dim, HostTensor, Shape } from './ir';

const bad = (msg: string) => new Error(msg);

/** numpy broadcasting of two shapes; a symbol matches only itself (or a 1). */
export function broadcastShapes(a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else throw bad(`shapes [${a}] and [${b}] do not broadcast`);
  }
  return out;
}

/** The axes of `from` to sum over so that what is left reshapes to `to` (which broadcasts to `from`). */
export function reducedAxes(from: Shape, to: Shape): number[] {
  const lead = from.length - to.length;
  const axes: number[] = [];
  for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
  return axes;
}

export const sizeOfDims = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Row-major strides; a broadcast (size-1 or missing) dimension of `shape` within `out` gets stride 0. */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array(out.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1, j = out.length - 1; i >= 0; i--, j--) {
    strides[j] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

/** Visit every index of `shape` in row-major order, with the matching flat offsets into each operand. */
export function forEachIndex(shape: readonly number[], strides: number[][], visit: (offsets: number[], flat: number) => void) {
  const n = sizeOfDims(shape);
  const index = new Array(shape.length).fill(0);
  const offsets = strides.map(() => 0);
  for (let flat = 0; flat < n; flat++) {
    visit(offsets, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      for (let k = 0; k < strides.length; k++) offsets[k] += strides[k][d];
      if (index[d] < shape[d]) break;
      for (let k = 0; k < strides.length; k++) offsets[k] -= strides[k][d] * shape[d];
      index[d] = 0;
    }
  }
}

/** An elementwise op over broadcast operands. */
export function mapBroadcast(inputs: HostTensor[], f: (...v: number[]) => number): HostTensor {
  const shape = inputs.map((t) => t.shape).reduce((a, b) => broadcastShapes(a, b) as number[]);
  const strides = inputs.map((t) => broadcastStrides(t.shape, shape));
  const data = new Float32Array(sizeOfDims(shape));
  const args = new Array(inputs.length);
  forEachIndex(shape, strides, (off, flat) => {
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k].data[off[k]];
    data[flat] = f(...args);
  });
  return { shape, data };
}

/** Sum `t` down to `shape` (which broadcasts to t's shape): the gradient of a broadcast. */
export function sumTo(t: HostTensor, shape: readonly number[]): HostTensor {
  const data = new Float32Array(sizeOfDims(shape));
  const strides = [broadcastStrides(shape, t.shape)];
  forEachIndex(t.shape, strides, (off, flat) => {
    data[off[0]] += t.data[flat];
  });
  return { shape: [...shape], data };
}

/** A positive axis from one that may count from the end. */
export const axisOf = (axis: number, rank: number) => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw bad(`axis ${axis} is outside a rank-${rank} tensor`);
  return a;
};

import { type GpuRuntime, Uniforms } from '../gpu/runtime';
import { launchShared, SHARED_FROM, type SharedReduction } from '../gpu/shared-reduction';
import { COORDS, contiguous, launch, padded, vec4 } from './gpu-kernels';

type ReduceOp = 'sum' | 'mean' | 'max';

const combine = (op: ReduceOp, a: string, b: string) => (op === 'max' ? `max(${a}, ${b})` : `${a} + ${b}`);

const REDUCE_UNIFORMS = 'dout: vec4u, red: vec4u, sin: vec4u, n: u32, count: u32';

/** y[out] = sum, mean or max of x over the axes where `out` has 1 and x does not (out padded like x). */
export function reduceTo(rt: GpuRuntime, op: ReduceOp, x: { buffer: GPUBuffer; shape: number[] }, y: GPUBuffer, out: number[]) {
  const din = padded(x.shape);
  const dout = padded(out);
  const red = din.map((d, i) => (dout[i] === 1 ? d : 1));
  const n = dout.reduce((p, q) => p * q, 1);
  const count = red.reduce((p, q) => p * q, 1);
  const uniforms = vec4(vec4(vec4(new Uniforms(), dout), red), contiguous(din))
    .u32(n)
    .u32(count).buffer;
  if (count >= SHARED_FROM) {
    const p: SharedReduction = {
      key: `graph_reduce_shared:${op}`,
      uniforms: REDUCE_UNIFORMS,
      inputs: ['X'],
      outputs: 'u.n',
      count: 'u.count',
      setup: '',
      value: 'X[dot(coords(i, u.dout), u.sin) + dot(coords(k, u.red), u.sin)]',
      combine: (a, b) => combine(op, a, b),
      start: op === 'max' ? 'first' : 'zero',
      finish: (total) => (op === 'mean' ? `${total} / f32(u.count)` : total),
      fns: COORDS,
    };
    return launchShared(rt, p, [x.buffer], y, uniforms, n);
  }
  // Few values per output: one invocation each, in order.
  const p = {
    key: `graph_reduce:${op}`,
    uniforms: REDUCE_UNIFORMS,
    inputs: ['X'],
    count: 'u.n',
    body: `let base = dot(coords(i, u.dout), u.sin);
  var acc = X[base];
  for (var k = 1u; k < u.count; k++) {
    let v = X[base + dot(coords(k, u.red), u.sin)];
    acc = ${combine(op, 'acc', 'v')};
  }
  Y[i] = ${op === 'mean' ? 'acc / f32(u.count)' : 'acc'};`,
  };
  launch(rt, p, [x.buffer], y, uniforms, n);
}

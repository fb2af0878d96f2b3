import { GridError } from '../../protocol/errors';
import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, programBindings, Uniforms } from '../gpu/runtime';

/**
 * The few generic WGSL programs graph ops run as (their `gpu` form): shapes go in uniforms as four dimensions and
 * four strides each, so one compiled program serves every shape of rank 4 or less.
 */
export const MAX_RANK = 4;

/** `shape` padded on the left with 1s to rank 4 (broadcasting aligns axes from the right). */
export function padded(shape: readonly number[]): number[] {
  if (shape.length > MAX_RANK) throw new GridError('UNSUPPORTED_OP', `a tensor of rank ${shape.length} (our WGSL kernels take rank ${MAX_RANK} or less)`);
  return [...Array(MAX_RANK - shape.length).fill(1), ...shape];
}

export const contiguous = (dims: number[]) => dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));

/** Strides that read `shape` at each index of `out` (0 along the axes it is broadcast on). */
export const broadcastStrides = (shape: readonly number[], out: number[]) => {
  const dims = padded(shape);
  return contiguous(dims).map((s, i) => (dims[i] === 1 && out[i] !== 1 ? 0 : s));
};

export const vec4 = (u: Uniforms, v: number[]) => v.reduce((w, x) => w.u32(x), u);

/** Coordinates of linear index `i` in `d` (row-major), as a vec4u. */
export const COORDS = /* wgsl */ `
fn coords(i: u32, d: vec4u) -> vec4u {
  var r = i;
  let c3 = r % d.w; r /= d.w;
  let c2 = r % d.z; r /= d.z;
  let c1 = r % d.y;
  return vec4u(r / d.y, c1, c2, c3);
}`;

/**
 * A graph program: one invocation per element it writes (`i`, while `i < count`), its uniform struct's fields, its
 * f32 inputs bound in order after the uniforms, then the output `Y`; `fns` are WGSL helpers it calls. Every graph
 * kernel is one of these, so only its body is its own.
 */
export interface PerElement {
  key: string;
  uniforms: string;
  inputs: string[];
  count: string;
  body: string;
  fns?: string;
}

const shader = (p: PerElement) => /* wgsl */ `${p.fns ?? ''}
${programBindings(p.uniforms, p.inputs)}
${LINEAR_INDEX}
${COORDS}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= ${p.count}) { return; }
  ${p.body}
}`;

const programs = new Map<string, { key: string; code: string }>();

/** Dispatch `p` over `n` invocations; its code is generated once per key. */
export function launch(rt: GpuRuntime, p: PerElement, inputs: GPUBuffer[], y: GPUBuffer, uniforms: ArrayBuffer, n: number) {
  let program = programs.get(p.key);
  if (!program) {
    program = { key: p.key, code: shader(p) };
    programs.set(p.key, program);
  }
  rt.run({ program, inputs, outputs: [y], uniforms, workgroups: linearWorkgroups(n) });
}

/** y = f(x) elementwise; `expr` is WGSL in `x`, which may call the functions in `fns`. */
export function unary(rt: GpuRuntime, expr: string, x: GPUBuffer, y: GPUBuffer, n: number, fns = '') {
  const p = { key: `graph_unary:${expr}`, uniforms: 'n: u32', inputs: ['X'], count: 'u.n', body: `let x = X[i];\n  Y[i] = ${expr};`, fns };
  launch(rt, p, [x], y, new Uniforms().u32(n).buffer, n);
}

/** y = f(a, b) with a and b broadcast to `out`; `expr` is WGSL in `a` and `b`, which may call the functions in `fns`. */
export function binary(
  rt: GpuRuntime,
  expr: string,
  a: { buffer: GPUBuffer; shape: number[] },
  b: { buffer: GPUBuffer; shape: number[] },
  y: GPUBuffer,
  out: number[],
  fns = '',
) {
  const d = padded(out);
  const n = d.reduce((p, q) => p * q, 1);
  const p = {
    key: `graph_binary:${expr}`,
    uniforms: 'd: vec4u, sa: vec4u, sb: vec4u, n: u32',
    inputs: ['A', 'B'],
    count: 'u.n',
    body: `let c = coords(i, u.d);
  let a = A[dot(c, u.sa)];
  let b = B[dot(c, u.sb)];
  Y[i] = ${expr};`,
    fns,
  };
  const uniforms = vec4(vec4(vec4(new Uniforms(), d), broadcastStrides(a.shape, d)), broadcastStrides(b.shape, d)).u32(n).buffer;
  launch(rt, p, [a.buffer, b.buffer], y, uniforms, n);
}

/** y = x with its axes permuted (y's axis i is x's axis perm[i]). */
export function permute(rt: GpuRuntime, x: { buffer: GPUBuffer; shape: number[] }, y: GPUBuffer, perm: number[]) {
  const lead = MAX_RANK - perm.length;
  const full = [...Array.from({ length: lead }, (_, i) => i), ...perm.map((p) => p + lead)];
  const din = padded(x.shape);
  const sin = contiguous(din);
  const dout = full.map((p) => din[p]);
  const n = dout.reduce((p, q) => p * q, 1);
  const p = { key: 'graph_permute', uniforms: 'dout: vec4u, s: vec4u, n: u32', inputs: ['X'], count: 'u.n', body: 'Y[i] = X[dot(coords(i, u.dout), u.s)];' };
  const uniforms = vec4(
    vec4(new Uniforms(), dout),
    full.map((q) => sin[q]),
  ).u32(n).buffer;
  launch(rt, p, [x.buffer], y, uniforms, n);
}

/**
 * Softmax (or its log) along one axis of `outer x n x inner` values: one invocation per slice, which it reads with
 * stride `inner`, shifted by the slice's maximum.
 */
export function softmaxAlong(rt: GpuRuntime, log: boolean, x: GPUBuffer, y: GPUBuffer, outer: number, n: number, inner: number) {
  const p = {
    key: `graph_softmax:${log}`,
    uniforms: 'slices: u32, n: u32, inner: u32',
    inputs: ['X'],
    count: 'u.slices',
    body: `let base = (i / u.inner) * u.n * u.inner + i % u.inner;
  var m = X[base];
  for (var k = 1u; k < u.n; k++) { m = max(m, X[base + k * u.inner]); }
  var s = 0.0;
  for (var k = 0u; k < u.n; k++) { s += exp(X[base + k * u.inner] - m); }
  let lse = m + log(s);
  for (var k = 0u; k < u.n; k++) {
    let at = base + k * u.inner;
    Y[at] = ${log ? 'X[at] - lse' : 'exp(X[at] - lse)'};
  }`,
  };
  const slices = outer * inner;
  launch(rt, p, [x], y, new Uniforms().u32(slices).u32(n).u32(inner).buffer, slices);
}

/**
 * [..., m, k] x [..., k, n] with the leading (batch) axes broadcast, one invocation per output element: the graph
 * form of MatMul beyond two axes (two-axis products go to the tiled matmul kernels).
 */
export function batchedMatmul(
  rt: GpuRuntime,
  a: { buffer: GPUBuffer; shape: number[] },
  b: { buffer: GPUBuffer; shape: number[] },
  y: GPUBuffer,
  out: number[],
) {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batch = padded(out).slice(0, 2);
  const strides = (t: { shape: number[] }, per: number) => {
    const dims = padded(t.shape).slice(0, 2);
    return [dims[1] === 1 && batch[1] !== 1 ? 0 : per, dims[0] === 1 && batch[0] !== 1 ? 0 : dims[1] * per].reverse();
  };
  const total = batch[0] * batch[1] * m * n;
  const p = {
    key: 'graph_batched_matmul',
    uniforms: 'm: u32, n: u32, k: u32, b1: u32, sa: vec2u, sb: vec2u, total: u32',
    inputs: ['A', 'B'],
    count: 'u.total',
    body: `let col = i % u.n;
  let row = (i / u.n) % u.m;
  let bi = i / (u.m * u.n);
  let c = vec2u(bi / u.b1, bi % u.b1);
  let ao = dot(c, u.sa) + row * u.k;
  let bo = dot(c, u.sb) + col;
  var s = 0.0;
  for (var q = 0u; q < u.k; q++) { s += A[ao + q] * B[bo + q * u.n]; }
  Y[i] = s;`,
  };
  const [sa, sb] = [strides(a, m * k), strides(b, k * n)];
  const uniforms = new Uniforms().u32(m).u32(n).u32(k).u32(batch[1]).u32(sa[0]).u32(sa[1]).u32(sb[0]).u32(sb[1]).u32(total).buffer;
  launch(rt, p, [a.buffer, b.buffer], y, uniforms, total);
}

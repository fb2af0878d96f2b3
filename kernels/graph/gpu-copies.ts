import { type GpuRuntime, Uniforms } from '../gpu/runtime';
import { broadcastStrides, contiguous, launch, MAX_RANK, padded, vec4 } from './gpu-kernels';

/** y[i] = value for every element. */
export function fill(rt: GpuRuntime, y: GPUBuffer, n: number, value: number) {
  const p = { key: 'graph_fill', uniforms: 'n: u32, v: f32', inputs: [], count: 'u.n', body: 'Y[i] = u.v;' };
  launch(rt, p, [], y, new Uniforms().u32(n).f32(value).buffer, n);
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

/**
 * A box of `box` elements copied from `src` (a tensor of shape `srcShape`, starting at `srcStart`) into `dst` (shape
 * `dstShape`, at `dstStart`): Slice, Split, Concat and Slice's gradient are all such copies.
 */
export function copyBox(
  rt: GpuRuntime,
  src: GPUBuffer,
  dst: GPUBuffer,
  c: { box: number[]; srcShape: number[]; srcStart: number[]; dstShape: number[]; dstStart: number[] },
) {
  const [box, ss, ds] = [padded(c.box), contiguous(padded(c.srcShape)), contiguous(padded(c.dstShape))];
  // Offsets pad with 0 on the left, where shapes pad with 1.
  const base = (shape: number[], start: number[]) => dot([...Array(MAX_RANK - start.length).fill(0), ...start], contiguous(padded(shape)));
  const n = box.reduce((p, q) => p * q, 1);
  if (n === 0) return;
  const p = {
    key: 'graph_copy_box',
    uniforms: 'extent: vec4u, ss: vec4u, ds: vec4u, src0: u32, dst0: u32',
    inputs: ['X'],
    count: 'u.extent.x * u.extent.y * u.extent.z * u.extent.w',
    body: `let k = coords(i, u.extent);
  Y[u.dst0 + dot(k, u.ds)] = X[u.src0 + dot(k, u.ss)];`,
  };
  const uniforms = vec4(vec4(vec4(new Uniforms(), box), ss), ds)
    .u32(base(c.srcShape, c.srcStart))
    .u32(base(c.dstShape, c.dstStart)).buffer;
  launch(rt, p, [src], dst, uniforms, n);
}

/** y = c != 0 ? a : b, the three broadcast to `out`. */
export function where(
  rt: GpuRuntime,
  c: { buffer: GPUBuffer; shape: number[] },
  a: { buffer: GPUBuffer; shape: number[] },
  b: { buffer: GPUBuffer; shape: number[] },
  y: GPUBuffer,
  out: number[],
) {
  const d = padded(out);
  const n = d.reduce((p, q) => p * q, 1);
  const p = {
    key: 'graph_where',
    uniforms: 'd: vec4u, sc: vec4u, sa: vec4u, sb: vec4u',
    inputs: ['C', 'A', 'B'],
    count: 'u.d.x * u.d.y * u.d.z * u.d.w',
    body: `let k = coords(i, u.d);
  Y[i] = select(B[dot(k, u.sb)], A[dot(k, u.sa)], C[dot(k, u.sc)] != 0.0);`,
  };
  const uniforms = vec4(vec4(vec4(vec4(new Uniforms(), d), broadcastStrides(c.shape, d)), broadcastStrides(a.shape, d)), broadcastStrides(b.shape, d)).buffer;
  launch(rt, p, [c.buffer, a.buffer, b.buffer], y, uniforms, n);
}

/**
 * Rows of `data` picked by float `indices` (Gather on axis 0), or, backward, each row of dY summed into the row it
 * came from: one invocation per output element, which for the gradient scans every index (no float atomics in WGSL).
 */
export function gatherRows(rt: GpuRuntime, grad: boolean, src: GPUBuffer, indices: GPUBuffer, y: GPUBuffer, count: number, row: number, rows: number) {
  const body = grad
    ? `let r = i / u.row;
  var s = 0.0;
  for (var k = 0u; k < u.count; k++) { if (u32(round(I[k])) == r) { s += X[k * u.row + i % u.row]; } }
  Y[i] = s;`
    : `let k = u32(clamp(round(I[i / u.row]), 0.0, f32(u.rows - 1u)));
  Y[i] = X[k * u.row + i % u.row];`;
  const n = (grad ? rows : count) * row;
  const p = { key: `graph_gather:${grad}`, uniforms: 'n: u32, row: u32, count: u32, rows: u32', inputs: ['X', 'I'], count: 'u.n', body };
  launch(rt, p, [src, indices], y, new Uniforms().u32(n).u32(row).u32(count).u32(rows).buffer, n);
}

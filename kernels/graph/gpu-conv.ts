import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';
import { program } from './gpu-kernels';
import type { Geometry } from './ops/conv-geometry';

/**
 * Direct convolutions for graph Conv and its two gradients, NCHW, group 1: one invocation per element of what is
 * written, looping over the taps that reach it. Plain, not fast: the shapes a layer list or an import brings are
 * checked against the CPU reference here; the presets keep their tuned kernels (kernels/ops/conv2d.ts).
 */
export interface ConvDims {
  x: number[];
  w: number[];
  y: number[];
  g: Geometry;
}

const HEADER = /* wgsl */ `
struct U { n: u32, c: u32, h: u32, w: u32, m: u32, oh: u32, ow: u32, kh: u32, kw: u32, sh: u32, sw: u32, pt: u32, pl: u32, dh: u32, dw: u32, total: u32 }
@group(0) @binding(0) var<uniform> u: U;
${LINEAR_INDEX}
// The input row or column a tap reads, or -1 outside the image (pads).
fn inY(o: u32, k: u32) -> i32 { let v = i32(o * u.sh + k * u.dh) - i32(u.pt); return select(-1, v, v >= 0 && v < i32(u.h)); }
fn inX(o: u32, k: u32) -> i32 { let v = i32(o * u.sw + k * u.dw) - i32(u.pl); return select(-1, v, v >= 0 && v < i32(u.w)); }`;

function uniforms(d: ConvDims, total: number) {
  const [n, c, h, w] = d.x;
  const [m, , kh, kw] = d.w;
  const [, , oh, ow] = d.y;
  const u = new Uniforms();
  for (const v of [n, c, h, w, m, oh, ow, kh, kw, d.g.s[0], d.g.s[1], d.g.p[0], d.g.p[1], d.g.d[0], d.g.d[1], total]) u.u32(v);
  return u.buffer;
}

const MAIN = '@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {';

/** y = conv(x, w) (+ bias per output channel). */
export function conv(rt: GpuRuntime, x: GPUBuffer, w: GPUBuffer, bias: GPUBuffer | undefined, y: GPUBuffer, d: ConvDims) {
  const total = d.y.reduce((p, q) => p * q, 1);
  const code = () => /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
${bias ? '@group(0) @binding(3) var<storage, read> B: array<f32>;' : ''}
@group(0) @binding(${bias ? 4 : 3}) var<storage, read_write> Y: array<f32>;
${MAIN}
  let i = linearIndex(gid, nwg);
  if (i >= u.total) { return; }
  let ox = i % u.ow; let oy = (i / u.ow) % u.oh; let m = (i / (u.ow * u.oh)) % u.m; let n = i / (u.ow * u.oh * u.m);
  var s = ${bias ? 'B[m]' : '0.0'};
  for (var c = 0u; c < u.c; c++) {
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = inY(oy, ky);
      if (iy < 0) { continue; }
      for (var kx = 0u; kx < u.kw; kx++) {
        let ix = inX(ox, kx);
        if (ix < 0) { continue; }
        s += X[((n * u.c + c) * u.h + u32(iy)) * u.w + u32(ix)] * W[((m * u.c + c) * u.kh + ky) * u.kw + kx];
      }
    }
  }
  Y[i] = s;
}`;
  const inputs = bias ? [x, w, bias] : [x, w];
  rt.run({ program: program(`graph_conv:${Boolean(bias)}`, code), inputs, outputs: [y], uniforms: uniforms(d, total), workgroups: linearWorkgroups(total) });
}

/** dX: for each input element, the taps of every output position and channel that read it. */
export function convGradInput(rt: GpuRuntime, dy: GPUBuffer, w: GPUBuffer, dx: GPUBuffer, d: ConvDims) {
  const total = d.x.reduce((p, q) => p * q, 1);
  const code = () => /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${MAIN}
  let i = linearIndex(gid, nwg);
  if (i >= u.total) { return; }
  let ix = i % u.w; let iy = (i / u.w) % u.h; let c = (i / (u.w * u.h)) % u.c; let n = i / (u.w * u.h * u.c);
  var s = 0.0;
  for (var ky = 0u; ky < u.kh; ky++) {
    // oy * sh = iy + pt - ky * dh, when that is a whole, in-range output row
    let ty = i32(iy + u.pt) - i32(ky * u.dh);
    if (ty < 0 || ty % i32(u.sh) != 0 || ty / i32(u.sh) >= i32(u.oh)) { continue; }
    for (var kx = 0u; kx < u.kw; kx++) {
      let tx = i32(ix + u.pl) - i32(kx * u.dw);
      if (tx < 0 || tx % i32(u.sw) != 0 || tx / i32(u.sw) >= i32(u.ow)) { continue; }
      let o = u32(ty / i32(u.sh)) * u.ow + u32(tx / i32(u.sw));
      for (var m = 0u; m < u.m; m++) { s += DY[(n * u.m + m) * u.oh * u.ow + o] * W[((m * u.c + c) * u.kh + ky) * u.kw + kx]; }
    }
  }
  DX[i] = s;
}`;
  rt.run({ program: program('graph_conv_dx', code), inputs: [dy, w], outputs: [dx], uniforms: uniforms(d, total), workgroups: linearWorkgroups(total) });
}

/** dW: for each weight, the sum over the batch and output positions of dY times the input its tap read. */
export function convGradWeight(rt: GpuRuntime, x: GPUBuffer, dy: GPUBuffer, dw: GPUBuffer, d: ConvDims) {
  const total = d.w.reduce((p, q) => p * q, 1);
  const code = () => /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> DY: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;
${MAIN}
  let i = linearIndex(gid, nwg);
  if (i >= u.total) { return; }
  let kx = i % u.kw; let ky = (i / u.kw) % u.kh; let c = (i / (u.kw * u.kh)) % u.c; let m = i / (u.kw * u.kh * u.c);
  var s = 0.0;
  for (var n = 0u; n < u.n; n++) {
    for (var oy = 0u; oy < u.oh; oy++) {
      let iy = inY(oy, ky);
      if (iy < 0) { continue; }
      for (var ox = 0u; ox < u.ow; ox++) {
        let ix = inX(ox, kx);
        if (ix < 0) { continue; }
        s += DY[((n * u.m + m) * u.oh + oy) * u.ow + ox] * X[((n * u.c + c) * u.h + u32(iy)) * u.w + u32(ix)];
      }
    }
  }
  DW[i] = s;
}`;
  rt.run({ program: program('graph_conv_dw', code), inputs: [x, dy], outputs: [dw], uniforms: uniforms(d, total), workgroups: linearWorkgroups(total) });
}

export type PoolMode = 'max' | 'avg' | 'maxGrad' | 'avgGrad';

/**
 * Pools whose windows tile the image (stride = kernel, no pads), forward per output element, backward per input
 * element: a max-pool's gradient goes to the inputs equal to their window's maximum, an average's is spread evenly.
 */
export function pool(rt: GpuRuntime, mode: PoolMode, inputs: GPUBuffer[], out: GPUBuffer, [planes, h, w]: number[], [oh, ow]: number[], [kh, kw]: number[]) {
  const forward = mode === 'max' || mode === 'avg';
  const total = planes * (forward ? oh * ow : h * w);
  const body = forward
    ? `let ox = i % u.ow; let oy = (i / u.ow) % u.oh; let p = i / (u.ow * u.oh);
  var acc = ${mode === 'max' ? 'X[(p * u.h + oy * u.kh) * u.w + ox * u.kw]' : '0.0'};
  for (var ky = 0u; ky < u.kh; ky++) {
    for (var kx = 0u; kx < u.kw; kx++) {
      let v = X[(p * u.h + oy * u.kh + ky) * u.w + ox * u.kw + kx];
      ${mode === 'max' ? 'acc = max(acc, v);' : 'acc += v;'}
    }
  }
  Y[i] = ${mode === 'max' ? 'acc' : 'acc / f32(u.kh * u.kw)'};`
    : `let ix = i % u.w; let iy = (i / u.w) % u.h; let p = i / (u.w * u.h);
  let oy = iy / u.kh; let ox = ix / u.kw;
  if (oy >= u.oh || ox >= u.ow) { Y[i] = 0.0; return; }
  let o = (p * u.oh + oy) * u.ow + ox;
  Y[i] = ${mode === 'maxGrad' ? 'select(0.0, DY[o], X[i] == P[o])' : 'DY[o] / f32(u.kh * u.kw)'};`;
  const bindings = mode === 'maxGrad' ? ['DY', 'X', 'P'] : mode === 'avgGrad' ? ['DY'] : ['X'];
  const code = () => /* wgsl */ `
struct U { total: u32, h: u32, w: u32, oh: u32, ow: u32, kh: u32, kw: u32 }
@group(0) @binding(0) var<uniform> u: U;
${bindings.map((b, k) => `@group(0) @binding(${k + 1}) var<storage, read> ${b}: array<f32>;`).join('\n')}
@group(0) @binding(${bindings.length + 1}) var<storage, read_write> Y: array<f32>;
${LINEAR_INDEX}
${MAIN}
  let i = linearIndex(gid, nwg);
  if (i >= u.total) { return; }
  ${body}
}`;
  const uniforms = new Uniforms().u32(total).u32(h).u32(w).u32(oh).u32(ow).u32(kh).u32(kw).buffer;
  rt.run({
    program: program(`graph_pool:${mode}`, code),
    inputs: inputs.slice(0, bindings.length),
    outputs: [out],
    uniforms,
    workgroups: linearWorkgroups(total),
  });
}

import { type GpuRuntime, Uniforms } from '../gpu/runtime';
import { launchShared, type SharedReduction } from '../gpu/shared-reduction';
import { launch } from './gpu-kernels';
import type { Geometry } from './ops/conv-geometry';

/**
 * Direct convolutions for graph Conv and its two gradients, NCHW, grouped: one invocation per element of what is
 * written, looping over the taps that reach it. Plain, not fast: the shapes a layer list or an import brings are
 * checked against the CPU reference here; the presets keep their tuned kernels (kernels/ops/conv2d.ts).
 */
export interface ConvDims {
  x: number[];
  w: number[];
  y: number[];
  g: Geometry;
}

// cg and mg: input and output channels per group (c and m when ungrouped).
const UNIFORMS =
  'n: u32, c: u32, h: u32, w: u32, m: u32, oh: u32, ow: u32, kh: u32, kw: u32, sh: u32, sw: u32, pt: u32, pl: u32, dh: u32, dw: u32, total: u32, cg: u32, mg: u32';

/** The input row or column a tap reads, or -1 outside the image (pads). */
const TAPS = /* wgsl */ `
fn inY(o: u32, k: u32) -> i32 { let v = i32(o * u.sh + k * u.dh) - i32(u.pt); return select(-1, v, v >= 0 && v < i32(u.h)); }
fn inX(o: u32, k: u32) -> i32 { let v = i32(o * u.sw + k * u.dw) - i32(u.pl); return select(-1, v, v >= 0 && v < i32(u.w)); }`;

function uniforms(d: ConvDims, total: number) {
  const [n, c, h, w] = d.x;
  const [m, cg, kh, kw] = d.w;
  const [, , oh, ow] = d.y;
  const u = new Uniforms();
  for (const v of [n, c, h, w, m, oh, ow, kh, kw, d.g.s[0], d.g.s[1], d.g.p[0], d.g.p[1], d.g.d[0], d.g.d[1], total, cg, m / (c / cg)]) u.u32(v);
  return u.buffer;
}

/** One invocation per element of `shape` (the tensor written), with the convolution's geometry in uniforms. */
function run(rt: GpuRuntime, key: string, inputs: [string, GPUBuffer][], y: GPUBuffer, d: ConvDims, shape: number[], body: string) {
  const total = shape.reduce((p, q) => p * q, 1);
  const p = { key, uniforms: UNIFORMS, inputs: inputs.map(([name]) => name), count: 'u.total', body, fns: TAPS };
  launch(
    rt,
    p,
    inputs.map(([, b]) => b),
    y,
    uniforms(d, total),
    total,
  );
}

/** y = conv(x, w) (+ bias per output channel). */
export function conv(rt: GpuRuntime, x: GPUBuffer, w: GPUBuffer, bias: GPUBuffer | undefined, y: GPUBuffer, d: ConvDims) {
  const inputs: [string, GPUBuffer][] = [
    ['X', x],
    ['W', w],
  ];
  if (bias) inputs.push(['B', bias]);
  run(
    rt,
    `graph_conv:${Boolean(bias)}`,
    inputs,
    y,
    d,
    d.y,
    /* wgsl */ `
  let ox = i % u.ow; let oy = (i / u.ow) % u.oh; let m = (i / (u.ow * u.oh)) % u.m; let n = i / (u.ow * u.oh * u.m);
  var s = ${bias ? 'B[m]' : '0.0'};
  let first = (m / u.mg) * u.cg; // the group's first input channel
  for (var cc = 0u; cc < u.cg; cc++) {
    let c = first + cc;
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = inY(oy, ky);
      if (iy < 0) { continue; }
      for (var kx = 0u; kx < u.kw; kx++) {
        let ix = inX(ox, kx);
        if (ix < 0) { continue; }
        s += X[((n * u.c + c) * u.h + u32(iy)) * u.w + u32(ix)] * W[((m * u.cg + cc) * u.kh + ky) * u.kw + kx];
      }
    }
  }
  Y[i] = s;`,
  );
}

/** dX: for each input element, the taps of every output position and channel that read it. */
export function convGradInput(rt: GpuRuntime, dy: GPUBuffer, w: GPUBuffer, dx: GPUBuffer, d: ConvDims) {
  const inputs: [string, GPUBuffer][] = [
    ['DY', dy],
    ['W', w],
  ];
  run(
    rt,
    'graph_conv_dx',
    inputs,
    dx,
    d,
    d.x,
    /* wgsl */ `
  let ix = i % u.w; let iy = (i / u.w) % u.h; let c = (i / (u.w * u.h)) % u.c; let n = i / (u.w * u.h * u.c);
  let cc = c % u.cg; let first = (c / u.cg) * u.mg; // its weight channel; its group's first output channel
  var s = 0.0;
  for (var ky = 0u; ky < u.kh; ky++) {
    // oy * sh = iy + pt - ky * dh, when that is a whole, in-range output row
    let ty = i32(iy + u.pt) - i32(ky * u.dh);
    if (ty < 0 || ty % i32(u.sh) != 0 || ty / i32(u.sh) >= i32(u.oh)) { continue; }
    for (var kx = 0u; kx < u.kw; kx++) {
      let tx = i32(ix + u.pl) - i32(kx * u.dw);
      if (tx < 0 || tx % i32(u.sw) != 0 || tx / i32(u.sw) >= i32(u.ow)) { continue; }
      let o = u32(ty / i32(u.sh)) * u.ow + u32(tx / i32(u.sw));
      for (var m = first; m < first + u.mg; m++) { s += DY[(n * u.m + m) * u.oh * u.ow + o] * W[((m * u.cg + cc) * u.kh + ky) * u.kw + kx]; }
    }
  }
  Y[i] = s;`,
  );
}

/**
 * dW: for each weight, the sum over the batch and output positions of dY times the input its tap read; a workgroup
 * per weight shares that sum (a ResNet's 3x3 weights each gather 32k products at batch 32).
 */
export function convGradWeight(rt: GpuRuntime, x: GPUBuffer, dy: GPUBuffer, dw: GPUBuffer, d: ConvDims) {
  const total = d.w.reduce((p, q) => p * q, 1);
  const p: SharedReduction = {
    key: 'graph_conv_dw',
    uniforms: UNIFORMS,
    inputs: ['X', 'DY'],
    outputs: 'u.total',
    count: 'u.n * u.oh * u.ow',
    setup: `let kx = i % u.kw; let ky = (i / u.kw) % u.kh; let cc = (i / (u.kw * u.kh)) % u.cg; let m = i / (u.kw * u.kh * u.cg);
  let c = (m / u.mg) * u.cg + cc;
  let ox = k % u.ow; let oy = (k / u.ow) % u.oh; let n = k / (u.ow * u.oh);
  let iy = inY(oy, ky); let ix = inX(ox, kx);
  if (iy < 0 || ix < 0) { return 0.0; }`,
    value: 'DY[((n * u.m + m) * u.oh + oy) * u.ow + ox] * X[((n * u.c + c) * u.h + u32(iy)) * u.w + u32(ix)]',
    combine: (a, b) => `${a} + ${b}`,
    start: 'zero',
    finish: (sum) => sum,
    fns: TAPS,
  };
  launchShared(rt, p, [x, dy], dw, uniforms(d, total), total);
}

export type PoolMode = 'max' | 'avg' | 'maxGrad' | 'avgGrad';

/** A window's size: its taps inside the image, or all of them where pads count. */
const WINDOW_COUNT = /* wgsl */ `
fn windowCount(oy: u32, ox: u32) -> f32 {
  if (u.includePad == 1u) { return f32(u.kh * u.kw); }
  let y0 = i32(oy * u.sh) - i32(u.pt); let x0 = i32(ox * u.sw) - i32(u.pl);
  let rows = min(y0 + i32(u.kh), i32(u.h)) - max(y0, 0);
  let cols = min(x0 + i32(u.kw), i32(u.w)) - max(x0, 0);
  return f32(rows * cols);
}`;

/**
 * Pooling windows with strides and pads, which may overlap. Forward: one invocation per output, over its window's taps
 * inside the image. Backward: one per input, over the windows that read it: a max-pool's gradient goes to the inputs
 * equal to their window's maximum, an average's is spread over each window's size.
 */
export function pool(
  rt: GpuRuntime,
  mode: PoolMode,
  buffers: GPUBuffer[],
  out: GPUBuffer,
  [planes, h, w]: number[],
  [oh, ow]: number[],
  g: Geometry,
  includePad: boolean,
) {
  const forward = mode === 'max' || mode === 'avg';
  const total = planes * (forward ? oh * ow : h * w);
  const body = forward
    ? `let ox = i % u.ow; let oy = (i / u.ow) % u.oh; let p = i / (u.ow * u.oh);
  var acc = ${mode === 'max' ? '-3.4e38' : '0.0'}; // pads are smaller than the window: some tap is inside
  for (var ky = 0u; ky < u.kh; ky++) {
    let iy = i32(oy * u.sh + ky) - i32(u.pt);
    if (iy < 0 || iy >= i32(u.h)) { continue; }
    for (var kx = 0u; kx < u.kw; kx++) {
      let ix = i32(ox * u.sw + kx) - i32(u.pl);
      if (ix < 0 || ix >= i32(u.w)) { continue; }
      let v = X[(p * u.h + u32(iy)) * u.w + u32(ix)];
      ${mode === 'max' ? 'acc = max(acc, v);' : 'acc += v;'}
    }
  }
  Y[i] = ${mode === 'max' ? 'acc' : 'acc / windowCount(oy, ox)'};`
    : `let ix = i % u.w; let iy = (i / u.w) % u.h; let p = i / (u.w * u.h);
  var s = 0.0;
  for (var ky = 0u; ky < u.kh; ky++) {
    // oy * sh = iy + pt - ky, when that is a whole, in-range output row
    let ty = i32(iy + u.pt) - i32(ky);
    if (ty < 0 || ty % i32(u.sh) != 0 || ty / i32(u.sh) >= i32(u.oh)) { continue; }
    for (var kx = 0u; kx < u.kw; kx++) {
      let tx = i32(ix + u.pl) - i32(kx);
      if (tx < 0 || tx % i32(u.sw) != 0 || tx / i32(u.sw) >= i32(u.ow)) { continue; }
      let oy = u32(ty / i32(u.sh)); let ox = u32(tx / i32(u.sw));
      let o = (p * u.oh + oy) * u.ow + ox;
      ${mode === 'maxGrad' ? 'if (X[i] == P[o]) { s += DY[o]; }' : 's += DY[o] / windowCount(oy, ox);'}
    }
  }
  Y[i] = s;`;
  const inputs = mode === 'maxGrad' ? ['DY', 'X', 'P'] : mode === 'avgGrad' ? ['DY'] : ['X'];
  const uniforms = 'total: u32, h: u32, w: u32, oh: u32, ow: u32, kh: u32, kw: u32, sh: u32, sw: u32, pt: u32, pl: u32, includePad: u32';
  const p = { key: `graph_pool:${mode}`, uniforms, inputs, count: 'u.total', body, fns: mode === 'avg' || mode === 'avgGrad' ? WINDOW_COUNT : '' };
  const u = new Uniforms();
  for (const v of [total, h, w, oh, ow, g.k[0], g.k[1], g.s[0], g.s[1], g.p[0], g.p[1], includePad ? 1 : 0]) u.u32(v);
  launch(rt, p, buffers.slice(0, inputs.length), out, u.buffer, total);
}

import type { Conv2dDims } from '../backend';
import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';

const DIMS = /* wgsl */ `struct U { batch: u32, inC: u32, h: u32, w: u32, outC: u32, k: u32, chunk: u32 }
@group(0) @binding(0) var<uniform> u: U;`;

const forward = {
  key: 'conv2d',
  code: /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.batch * u.outC * u.h * u.w) { return; }
  let ox = i % u.w; let oy = (i / u.w) % u.h; let o = (i / (u.w * u.h)) % u.outC; let n = i / (u.w * u.h * u.outC);
  let p = i32(u.k / 2u);
  var s = bias[o];
  for (var c = 0u; c < u.inC; c++) {
    for (var ky = 0u; ky < u.k; ky++) {
      let iy = i32(oy + ky) - p;
      if (iy < 0 || iy >= i32(u.h)) { continue; }
      for (var kx = 0u; kx < u.k; kx++) {
        let ix = i32(ox + kx) - p;
        if (ix < 0 || ix >= i32(u.w)) { continue; }
        s += x[((n * u.inC + c) * u.h + u32(iy)) * u.w + u32(ix)] * wt[((o * u.inC + c) * u.k + ky) * u.k + kx];
      }
    }
  }
  y[i] = s;
}`,
};

const inputGrad = {
  key: 'conv2d_dx',
  code: /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.batch * u.inC * u.h * u.w) { return; }
  let ix = i % u.w; let iy = (i / u.w) % u.h; let c = (i / (u.w * u.h)) % u.inC; let n = i / (u.w * u.h * u.inC);
  let p = i32(u.k / 2u);
  var s = 0.0;
  for (var o = 0u; o < u.outC; o++) {
    for (var ky = 0u; ky < u.k; ky++) {
      let oy = i32(iy) - i32(ky) + p;
      if (oy < 0 || oy >= i32(u.h)) { continue; }
      for (var kx = 0u; kx < u.k; kx++) {
        let ox = i32(ix) - i32(kx) + p;
        if (ox < 0 || ox >= i32(u.w)) { continue; }
        s += dy[((n * u.outC + o) * u.h + u32(oy)) * u.w + u32(ox)] * wt[((o * u.inC + c) * u.k + ky) * u.k + kx];
      }
    }
  }
  dx[i] = s;
}`,
};

// Weight gradients reduce over batch and space; one invocation per (weight, batch chunk) writes a partial sum,
// and sum_rows finishes the reduction, so a handful of weights still fill the GPU.
const weightGradPartial = {
  key: 'conv2d_dw_partial',
  code: /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  let weights = u.outC * u.inC * u.k * u.k + u.outC;   // the last outC entries are bias partials
  let chunks = (u.batch + u.chunk - 1u) / u.chunk;
  if (i >= weights * chunks) { return; }
  let wi = i % weights;
  let chunk = i / weights;
  let n0 = chunk * u.chunk;
  let n1 = min(u.batch, n0 + u.chunk);
  var s = 0.0;
  if (wi >= u.outC * u.inC * u.k * u.k) {
    let o = wi - u.outC * u.inC * u.k * u.k;
    for (var n = n0; n < n1; n++) {
      for (var q = 0u; q < u.h * u.w; q++) { s += dy[(n * u.outC + o) * u.h * u.w + q]; }
    }
  } else {
    let kx = wi % u.k; let ky = (wi / u.k) % u.k; let c = (wi / (u.k * u.k)) % u.inC; let o = wi / (u.k * u.k * u.inC);
    let p = i32(u.k / 2u);
    for (var n = n0; n < n1; n++) {
      for (var oy = 0u; oy < u.h; oy++) {
        let iy = i32(oy + ky) - p;
        if (iy < 0 || iy >= i32(u.h)) { continue; }
        for (var ox = 0u; ox < u.w; ox++) {
          let ix = i32(ox + kx) - p;
          if (ix < 0 || ix >= i32(u.w)) { continue; }
          s += dy[((n * u.outC + o) * u.h + oy) * u.w + ox] * x[((n * u.inC + c) * u.h + u32(iy)) * u.w + u32(ix)];
        }
      }
    }
  }
  partial[chunk * weights + wi] = s;
}`,
};

const uniforms = (d: Conv2dDims, chunk = 0) => new Uniforms().u32(d.batch).u32(d.inC).u32(d.h).u32(d.w).u32(d.outC).u32(d.k).u32(chunk).buffer;

export function conv2d(rt: GpuRuntime, x: GPUBuffer, w: GPUBuffer, b: GPUBuffer, y: GPUBuffer, d: Conv2dDims) {
  const n = d.batch * d.outC * d.h * d.w;
  rt.run({ program: forward, inputs: [x, w, b], outputs: [y], uniforms: uniforms(d), workgroups: linearWorkgroups(n) });
}

export function conv2dInputGrad(rt: GpuRuntime, dy: GPUBuffer, w: GPUBuffer, dx: GPUBuffer, d: Conv2dDims) {
  const n = d.batch * d.inC * d.h * d.w;
  rt.run({ program: inputGrad, inputs: [dy, w], outputs: [dx], uniforms: uniforms(d), workgroups: linearWorkgroups(n) });
}

/** Batch samples per partial sum in the weight gradient. */
export const CONV_DW_CHUNK = 4;

/** Writes [chunks, weights + outC] partial sums (weights then bias) into `partial`; reduce with sumRows. */
export function conv2dWeightGradPartial(rt: GpuRuntime, dy: GPUBuffer, x: GPUBuffer, partial: GPUBuffer, d: Conv2dDims) {
  const weights = d.outC * d.inC * d.k * d.k + d.outC;
  const chunks = Math.ceil(d.batch / CONV_DW_CHUNK);
  rt.run({
    program: weightGradPartial,
    inputs: [dy, x],
    outputs: [partial],
    uniforms: uniforms(d, CONV_DW_CHUNK),
    workgroups: linearWorkgroups(weights * chunks),
  });
}

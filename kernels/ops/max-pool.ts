import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';

const forward = {
  key: 'max_pool2',
  code: /* wgsl */ `
struct U { planes: u32, h: u32, w: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  let oh = u.h / 2u; let ow = u.w / 2u;
  if (i >= u.planes * oh * ow) { return; }
  let ox = i % ow; let oy = (i / ow) % oh; let c = i / (ow * oh);
  var best = -3.4e38;
  var arg = 0u;
  for (var dy = 0u; dy < 2u; dy++) {
    for (var dx = 0u; dx < 2u; dx++) {
      let j = (c * u.h + 2u * oy + dy) * u.w + 2u * ox + dx;
      if (x[j] > best) { best = x[j]; arg = j; }
    }
  }
  y[i] = best;
  argmax[i] = f32(arg);
}`,
};

// Windows do not overlap, so each input element has at most one output: a gather per input, no atomics.
const backward = {
  key: 'max_pool2_backward',
  code: /* wgsl */ `
struct U { planes: u32, h: u32, w: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = linearIndex(gid, nwg);
  if (j >= u.planes * u.h * u.w) { return; }
  let ix = j % u.w; let iy = (j / u.w) % u.h; let c = j / (u.w * u.h);
  let oh = u.h / 2u; let ow = u.w / 2u;
  let ox = ix / 2u; let oy = iy / 2u;
  var g = 0.0;
  if (ox < ow && oy < oh) {
    let o = (c * oh + oy) * ow + ox;
    if (u32(argmax[o]) == j) { g = dy[o]; }
  }
  dx[j] = g;
}`,
};

export function maxPool2(rt: GpuRuntime, x: GPUBuffer, y: GPUBuffer, argmax: GPUBuffer, planes: number, h: number, w: number) {
  const n = planes * (h >> 1) * (w >> 1);
  rt.run({ program: forward, inputs: [x], outputs: [y, argmax], uniforms: new Uniforms().u32(planes).u32(h).u32(w).buffer, workgroups: linearWorkgroups(n) });
}

export function maxPool2Backward(rt: GpuRuntime, dy: GPUBuffer, argmax: GPUBuffer, dx: GPUBuffer, planes: number, h: number, w: number) {
  rt.run({
    program: backward,
    inputs: [dy, argmax],
    outputs: [dx],
    uniforms: new Uniforms().u32(planes).u32(h).u32(w).buffer,
    workgroups: linearWorkgroups(planes * h * w),
  });
}

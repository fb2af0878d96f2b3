import type { AdamWHyper } from '../backend';
import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';

const sgd = {
  key: 'sgd_momentum',
  code: /* wgsl */ `
struct U { n: u32, lr: f32, mu: f32, wd: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.n) { return; }
  v[i] = u.mu * v[i] + g[i] + u.wd * p[i];
  p[i] -= u.lr * v[i];
}`,
};

const adamw = {
  key: 'adamw',
  code: /* wgsl */ `
struct U { n: u32, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, c1: f32, c2: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.n) { return; }
  let gi = g[i];
  m[i] = u.b1 * m[i] + (1.0 - u.b1) * gi;
  v[i] = u.b2 * v[i] + (1.0 - u.b2) * gi * gi;
  p[i] -= u.lr * (m[i] / u.c1 / (sqrt(v[i] / u.c2) + u.eps) + u.wd * p[i]);
}`,
};

export function sgdStep(rt: GpuRuntime, p: GPUBuffer, g: GPUBuffer, v: GPUBuffer, n: number, lr: number, mu: number, wd: number) {
  rt.run({ program: sgd, inputs: [g], outputs: [p, v], uniforms: new Uniforms().u32(n).f32(lr).f32(mu).f32(wd).buffer, workgroups: linearWorkgroups(n) });
}

export function adamwStep(rt: GpuRuntime, p: GPUBuffer, g: GPUBuffer, m: GPUBuffer, v: GPUBuffer, n: number, h: AdamWHyper) {
  const u = new Uniforms()
    .u32(n)
    .f32(h.lr)
    .f32(h.beta1)
    .f32(h.beta2)
    .f32(h.eps)
    .f32(h.weightDecay)
    .f32(1 - h.beta1 ** h.step)
    .f32(1 - h.beta2 ** h.step);
  rt.run({ program: adamw, inputs: [g], outputs: [p, m, v], uniforms: u.buffer, workgroups: linearWorkgroups(n) });
}

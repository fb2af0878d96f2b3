import type { Activation } from '../backend';
import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';

// Activations and their derivatives share one generated kernel per kind; tanh-approximated GELU as in GPT-2/BERT.
const FORWARD: Record<Activation, string> = {
  relu: 'max(x, 0.0)',
  tanh: 'tanh(x)',
  gelu: '0.5 * x * (1.0 + tanh(0.7978845608 * (x + 0.044715 * x * x * x)))',
};
const DERIVATIVE: Record<Activation, string> = {
  relu: 'select(0.0, 1.0, x > 0.0)',
  tanh: '1.0 - tanh(x) * tanh(x)',
  gelu: 'gelu_grad(x)',
};
const GELU_GRAD = /* wgsl */ `
fn gelu_grad(x: f32) -> f32 {
  let t = tanh(0.7978845608 * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608 * (1.0 + 0.134145 * x * x);
}`;

const forwardProgram = (kind: Activation) => ({
  key: `act_${kind}`,
  code: /* wgsl */ `
struct U { n: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read_write> ys: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.n) { return; }
  let x = xs[i];
  ys[i] = ${FORWARD[kind]};
}`,
});

/** x += bias per column, in place, and y = act(x): a dense layer's bias and activation in one pass. */
const biasProgram = (kind: Activation) => ({
  key: `bias_act_${kind}`,
  code: /* wgsl */ `
struct U { n: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> xs: array<f32>;
@group(0) @binding(3) var<storage, read_write> ys: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.n) { return; }
  let x = xs[i] + bias[i % u.cols];
  xs[i] = x;
  ys[i] = ${FORWARD[kind]};
}`,
});

const backwardProgram = (kind: Activation) => ({
  key: `act_${kind}_backward`,
  code: /* wgsl */ `
struct U { n: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> xs: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${LINEAR_INDEX}
${kind === 'gelu' ? GELU_GRAD : ''}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.n) { return; }
  let x = xs[i];
  dx[i] = dy[i] * (${DERIVATIVE[kind]});
}`,
});

/**
 * dx = dy · act'(x) and its column sums (the layer's bias gradient) in one pass: a workgroup per column, its
 * invocations striding down the rows, their partial sums folded in workgroup memory.
 */
const backwardSumProgram = (kind: Activation) => ({
  key: `act_${kind}_backward_sum`,
  code: /* wgsl */ `
struct U { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> xs: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<storage, read_write> sums: array<f32>;
${kind === 'gelu' ? GELU_GRAD : ''}
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let j = wg.x + wg.y * nwg.x;
  if (j >= u.cols) { return; }
  var acc = 0.0;
  for (var r = t; r < u.rows; r += 64u) {
    let i = r * u.cols + j;
    let x = xs[i];
    let d = dy[i] * (${DERIVATIVE[kind]});
    dx[i] = d;
    acc += d;
  }
  part[t] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] += part[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { sums[j] = part[0]; }
}`,
});

const cache = new Map<string, { key: string; code: string }>();
const memo = (key: string, make: () => { key: string; code: string }) => cache.get(key) ?? cache.set(key, make()).get(key)!;

export function activation(rt: GpuRuntime, kind: Activation, x: GPUBuffer, y: GPUBuffer, n: number) {
  rt.run({
    program: memo(`f${kind}`, () => forwardProgram(kind)),
    inputs: [x],
    outputs: [y],
    uniforms: new Uniforms().u32(n).buffer,
    workgroups: linearWorkgroups(n),
  });
}

export function biasActivation(rt: GpuRuntime, kind: Activation, x: GPUBuffer, bias: GPUBuffer, y: GPUBuffer, n: number, cols: number) {
  rt.run({
    program: memo(`a${kind}`, () => biasProgram(kind)),
    inputs: [bias],
    outputs: [x, y],
    uniforms: new Uniforms().u32(n).u32(cols).buffer,
    workgroups: linearWorkgroups(n),
  });
}

/** dx [rows, cols] = dy · act'(x), and sums [cols] its column sums. */
export function activationBackwardSum(
  rt: GpuRuntime,
  kind: Activation,
  dy: GPUBuffer,
  x: GPUBuffer,
  dx: GPUBuffer,
  sums: GPUBuffer,
  rows: number,
  cols: number,
) {
  rt.run({
    program: memo(`s${kind}`, () => backwardSumProgram(kind)),
    inputs: [dy, x],
    outputs: [dx, sums],
    uniforms: new Uniforms().u32(rows).u32(cols).buffer,
    workgroups: linearWorkgroups(cols, 1),
  });
}

export function activationBackward(rt: GpuRuntime, kind: Activation, dy: GPUBuffer, x: GPUBuffer, dx: GPUBuffer, n: number) {
  rt.run({
    program: memo(`b${kind}`, () => backwardProgram(kind)),
    inputs: [dy, x],
    outputs: [dx],
    uniforms: new Uniforms().u32(n).buffer,
    workgroups: linearWorkgroups(n),
  });
}

import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';

const program = {
  key: 'softmax_cross_entropy',
  code: /* wgsl */ `
struct U { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> correct: array<f32>;
@group(0) @binding(5) var<storage, read_write> dz: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.rows) { return; }
  let base = i * u.cols;
  var mx = z[base];
  var arg = 0u;
  for (var j = 1u; j < u.cols; j++) { if (z[base + j] > mx) { mx = z[base + j]; arg = j; } }
  var s = 0.0;
  for (var j = 0u; j < u.cols; j++) { s += exp(z[base + j] - mx); }
  let y = labels[i];
  loss[i] = log(s) + mx - z[base + y];
  correct[i] = select(0.0, 1.0, arg == y);
  let inv = 1.0 / (s * f32(u.rows));
  for (var j = 0u; j < u.cols; j++) {
    dz[base + j] = exp(z[base + j] - mx) * inv - select(0.0, 1.0 / f32(u.rows), j == y);
  }
}`,
};

/** Per-row loss and correctness, and the gradient of the mean loss w.r.t. the logits. */
export function softmaxCrossEntropy(
  rt: GpuRuntime,
  z: GPUBuffer,
  labels: GPUBuffer,
  loss: GPUBuffer,
  correct: GPUBuffer,
  dz: GPUBuffer,
  rows: number,
  cols: number,
) {
  rt.run({
    program,
    inputs: [z, labels],
    outputs: [loss, correct, dz],
    uniforms: new Uniforms().u32(rows).u32(cols).buffer,
    workgroups: linearWorkgroups(rows),
  });
}

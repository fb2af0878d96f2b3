import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';

const program = {
  key: 'bias_add',
  code: /* wgsl */ `
struct U { n: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= u.n) { return; }
  x[i] += bias[i % u.cols];
}`,
};

/** x[M,N] += bias[N] in place. */
export function biasAdd(rt: GpuRuntime, x: GPUBuffer, bias: GPUBuffer, n: number, cols: number) {
  rt.run({ program, inputs: [bias], outputs: [x], uniforms: new Uniforms().u32(n).u32(cols).buffer, workgroups: linearWorkgroups(n) });
}

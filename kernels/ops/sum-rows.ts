import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';

const program = {
  key: 'sum_rows',
  code: /* wgsl */ `
struct U { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = linearIndex(gid, nwg);
  if (j >= u.cols) { return; }
  var s = 0.0;
  for (var i = 0u; i < u.rows; i++) { s += x[i * u.cols + j]; }
  out[j] = s;
}`,
};

/** Column reduction [rows, cols] -> [cols]: one invocation per column, rows summed in order. */
export function sumRows(rt: GpuRuntime, x: GPUBuffer, out: GPUBuffer, rows: number, cols: number) {
  rt.run({ program, inputs: [x], outputs: [out], uniforms: new Uniforms().u32(rows).u32(cols).buffer, workgroups: linearWorkgroups(cols) });
}

import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';

/** Rows one invocation sums per pass; taller inputs are summed in chunks first (a bias gradient over 4096 samples). */
const CHUNK = 64;

const program = {
  key: 'sum_rows',
  code: /* wgsl */ `
struct U { rows: u32, cols: u32, chunk: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = linearIndex(gid, nwg);
  if (j >= u.cols) { return; }
  // Invocations past the first row of workgroups sum the later chunks of rows (z picks the chunk).
  let first = gid.z * u.chunk;
  let last = min(u.rows, first + u.chunk);
  var s = 0.0;
  for (var i = first; i < last; i++) { s += x[i * u.cols + j]; }
  out[gid.z * u.cols + j] = s;
}`,
};

/** Column reduction [rows, cols] -> [cols], rows summed in order within chunks of 64 and the chunks in order. */
export function sumRows(rt: GpuRuntime, x: GPUBuffer, out: GPUBuffer, rows: number, cols: number) {
  const chunks = Math.ceil(rows / CHUNK);
  const [gx, gy] = linearWorkgroups(cols);
  const pass = (input: GPUBuffer, output: GPUBuffer, r: number, z: number, chunk: number) =>
    rt.run({ program, inputs: [input], outputs: [output], uniforms: new Uniforms().u32(r).u32(cols).u32(chunk).buffer, workgroups: [gx, gy, z] });
  if (chunks <= 1 || chunks > 65535) return pass(x, out, rows, 1, rows);
  const partial = rt.acquire(chunks * cols * 4, 'sum_rows_partial');
  pass(x, partial, rows, chunks, CHUNK);
  sumRows(rt, partial, out, chunks, cols);
  rt.releaseBuffer(partial); // queue order: the next user of this buffer runs after the sums
}

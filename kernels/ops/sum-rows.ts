import { type GpuRuntime, LINEAR_INDEX, linearWorkgroups, Uniforms } from '../gpu/runtime';
import { launchShared, SHARED_FROM, type SharedReduction } from '../gpu/shared-reduction';

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

/** Below this many columns one invocation per column leaves a GPU idle; from it, chunks keep reads coalesced. */
const FEW_COLUMNS = 4096;

/** Tall columns (a bias gradient over a batch): a workgroup per column, whose rows its invocations share. */
const SHARED: SharedReduction = {
  key: 'sum_rows_shared',
  uniforms: 'rows: u32, cols: u32',
  inputs: ['x'],
  outputs: 'u.cols',
  count: 'u.rows',
  setup: '',
  value: 'x[k * u.cols + i]',
  combine: (a, b) => `${a} + ${b}`,
  start: 'zero',
  finish: (sum) => sum,
};

/**
 * Column reduction [rows, cols] -> [cols]. A few rows (split-K partials): one invocation per column, in order; tall
 * and narrow (a bias gradient): a workgroup per column; tall and wide: in chunks of 64 rows, then the chunks.
 */
export function sumRows(rt: GpuRuntime, x: GPUBuffer, out: GPUBuffer, rows: number, cols: number) {
  if (rows >= SHARED_FROM && cols < FEW_COLUMNS) return launchShared(rt, SHARED, [x], out, new Uniforms().u32(rows).u32(cols).buffer, cols);
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

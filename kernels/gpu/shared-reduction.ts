import { type GpuRuntime, linearWorkgroups, programBindings } from './runtime';

/** From this many values per output, a workgroup shares each output (batch-norm statistics: 32k values each). */
export const SHARED_FROM = 128;
const WG = 256;

/**
 * A program in which each workgroup writes one output `Y[i]` (while `i < outputs`): its invocations stride through the
 * output's `count` values (`value`, WGSL in `k` and what `setup` defines), then fold their partial results in
 * workgroup memory. Used where few outputs each gather many values (batch-norm statistics, a conv's weight gradient).
 */
export interface SharedReduction {
  key: string;
  uniforms: string;
  inputs: string[];
  outputs: string;
  count: string;
  setup: string;
  value: string;
  /** WGSL combining `a` and `b`. */
  combine: (a: string, b: string) => string;
  /** What each invocation's partial starts from: zero (a sum), or the output's first value (a max, idempotent). */
  start: 'zero' | 'first';
  finish: (total: string) => string;
  fns?: string;
}

const sharedReductionCode = (p: SharedReduction) => /* wgsl */ `${p.fns ?? ''}
${programBindings(p.uniforms, p.inputs)}
var<workgroup> part: array<f32, ${WG}>;
fn valueAt(i: u32, k: u32) -> f32 {
  ${p.setup}
  return ${p.value};
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = wg.x + wg.y * nwg.x;
  if (i >= ${p.outputs}) { return; }
  var acc = ${p.start === 'first' ? 'valueAt(i, 0u)' : '0.0'};
  for (var k = t; k < ${p.count}; k += ${WG}u) { acc = ${p.combine('acc', 'valueAt(i, k)')}; }
  part[t] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] = ${p.combine('part[t]', 'part[t + s]')}; }
    workgroupBarrier();
  }
  if (t == 0u) { Y[i] = ${p.finish('part[0]')}; }
}`;

const sharedPrograms = new Map<string, { key: string; code: string }>();

/** Dispatch `p` with one workgroup per output. */
export function launchShared(rt: GpuRuntime, p: SharedReduction, inputs: GPUBuffer[], y: GPUBuffer, uniforms: ArrayBuffer, outputs: number) {
  const program = sharedPrograms.get(p.key) ?? sharedPrograms.set(p.key, { key: p.key, code: sharedReductionCode(p) }).get(p.key)!;
  rt.run({ program, inputs, outputs: [y], uniforms, workgroups: linearWorkgroups(outputs, 1) });
}

import type { GpuForm, OpDef } from './op';

/** `op` with the form our WGSL kernels run it in (kernels/graph/gpu-run.ts). */
export const onGpu = (op: OpDef, gpu: GpuForm): OpDef => ({ ...op, gpu });

/** A number as a WGSL f32 literal. */
export const f32 = (v: number) => (Number.isInteger(v) ? `${v}.0` : `${v}`);

/** erf in WGSL (Abramowitz and Stegun 7.1.26: within 1.5e-7), which WGSL lacks. */
export const ERF_WGSL = /* wgsl */ `
fn erf_(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign(x) * (1.0 - p * exp(-x * x));
}`;

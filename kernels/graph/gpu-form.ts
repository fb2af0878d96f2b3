import type { GpuForm, OpDef } from './op';

/** `op` with the form our WGSL kernels run it in (kernels/graph/gpu-run.ts). */
export const onGpu = (op: OpDef, gpu: GpuForm): OpDef => ({ ...op, gpu });

/** A number as a WGSL f32 literal. */
export const f32 = (v: number) => (Number.isInteger(v) ? `${v}.0` : `${v}`);

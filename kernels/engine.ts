import type { ModelSpec } from '../protocol/model';
import type { Backend } from './backend';
import { graphGpuGap } from './graph/gpu-run';
import { buildModel } from './models/index';
import type { TrainableModel } from './models/model';

export type { TrainableModel };

/**
 * A way to run models on this machine: our kernels on a backend (WebGPU, or the CPU reference), or onnxruntime
 * with one execution provider. `name` says which; `adapter` what it runs on, as the engine itself reported it.
 */
export interface Engine {
  readonly name: string;
  readonly adapter: string;
  supports(spec: ModelSpec): boolean;
  build(spec: ModelSpec): Promise<TrainableModel>;
}

/** Our kernels on `backend`: 'webgpu' on a GPU, 'cpu' for the reference. */
export function kernelsEngine(backend: Backend): Engine {
  return {
    name: backend.name === 'cpu' ? 'cpu' : 'webgpu',
    adapter: backend.adapter,
    // A graph model runs on our WGSL kernels when every op of its graphs has a `gpu` form.
    supports: (spec) => (spec.kind !== 'layers' && spec.kind !== 'onnx') || backend.name === 'cpu' || !graphGpuGap(spec),
    build: async (spec) => buildModel(spec, backend),
  };
}

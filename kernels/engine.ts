import type { ModelSpec } from '../protocol/model';
import type { AdamWHyper, Backend } from './backend';
import type { InnerState } from './inner-state';
import { buildModel } from './models/index';
import type { Batch, StepResult } from './models/model';

/** What the worker loop trains and evaluates with, whichever engine runs it. */
export interface TrainableModel {
  readonly paramCount: number;
  readonly inputSize: number;
  readonly classes: number;
  lossAndGradients(flat: Float32Array, batch: Batch): Promise<StepResult & { grads: Float32Array }>;
  localSteps(flat: Float32Array, batches: Batch[], h: Omit<AdamWHyper, 'step'>, state?: InnerState): Promise<StepResult & { delta: Float32Array }>;
  predict(flat: Float32Array, x: Float32Array): Promise<Float32Array>;
  evaluate(flat: Float32Array, data: Batch, batchSize?: number): Promise<{ loss: number; accuracy: number }>;
  dispose(): void;
}

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
    supports: () => true,
    build: async (spec) => buildModel(spec, backend),
  };
}

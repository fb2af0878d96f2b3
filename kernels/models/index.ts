import { GridError } from '../../protocol/errors';
import type { ModelSpec } from '../../protocol/model';
import { parameterShapes, sizeOf } from '../../protocol/model';
import type { Backend } from '../backend';
import type { GpuBackend } from '../gpu/backend';
import { GraphCpuModel, GraphModel } from '../graph/cpu-model';
import { graphGpuGap, runOnGpu } from '../graph/gpu-run';
import { Cnn } from './cnn';
import { Mlp } from './mlp';
import type { Model } from './model';

export type { Batch, Model, StepResult } from './model';

/**
 * The model on `backend`: our fused kernels for the two presets; a layer list or an imported graph runs as its
 * graphs, on the CPU reference or on our WGSL kernels when every op of them has a `gpu` form (else UNSUPPORTED_OP).
 */
export function buildModel(spec: ModelSpec, backend: Backend): Model | GraphModel {
  if (spec.kind === 'layers' || spec.kind === 'onnx') {
    if (backend.name === 'cpu') return new GraphCpuModel(spec);
    const gap = graphGpuGap(spec);
    if (gap) throw new GridError('UNSUPPORTED_OP', gap);
    return new GraphModel(spec, (graph, feeds, wanted) => runOnGpu(backend as GpuBackend, graph, feeds, wanted));
  }
  return spec.kind === 'mlp' ? new Mlp(spec, backend) : new Cnn(spec, backend);
}

/** He-normal weights and zero biases from a seed, so every coordinator starts a job the same way. */
/** GPT-2's and nanoGPT's std for token and position tables: with He's (sqrt(2 / vocab)) a tied head started at 5.8 nats on 79 characters, not ln(79) = 4.4, and nanoGPT's CPU configuration ended 0.11 nats/char worse. */
export const EMBEDDING_STD = 0.02;

export function initParams(spec: ModelSpec, seed: number): Float32Array {
  const shapes = parameterShapes(spec);
  const out = new Float32Array(shapes.reduce((n, s) => n + sizeOf(s.shape), 0));
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  let off = 0;
  for (const s of shapes) {
    const n = sizeOf(s.shape);
    if (s.init === 'ones') out.fill(1, off, off + n);
    else if (s.init === 'embedding') for (let i = 0; i < n; i++) out[off + i] = normal() * EMBEDDING_STD;
    else if (s.shape.length > 1 && s.init !== 'zeros') {
      const fanIn = s.shape.length === 4 ? s.shape[1] * s.shape[2] * s.shape[3] : s.shape[0];
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < n; i++) out[off + i] = normal() * std;
    }
    off += n;
  }
  return out;
}

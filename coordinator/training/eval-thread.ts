import * as ort from 'onnxruntime-node';
import { OnnxModel } from '../../kernels/onnx/engine';
import type { ModelSpec } from '../../protocol/model';

/** One evaluation task: the data set arrives in shared memory (not copied), the parameters as a copy. */
export interface EvalTask {
  spec: ModelSpec;
  params: Float32Array;
  x: Float32Array;
  y: Uint32Array;
  targets?: Float32Array;
  samples: number;
}

// Sessions are built once per model spec and kept while the thread lives.
const models = new Map<string, Promise<OnnxModel>>();

/** Test loss and accuracy with onnxruntime-node, in a piscina thread off the coordinator's event loop. */
export default async function evaluate({ spec, params, x, y, targets, samples }: EvalTask) {
  const key = JSON.stringify(spec);
  if (!models.has(key)) models.set(key, OnnxModel.open(ort, spec, 'cpu'));
  const m = await (models.get(key) as Promise<OnnxModel>);
  const n = Math.min(samples, y.length);
  // onnxruntime-node refuses tensors over shared memory: one copy of the samples evaluated, in this thread.
  const kept = targets && { targets: targets.slice(0, n * m.classes) };
  const r = await m.evaluate(params, { x: x.slice(0, n * m.inputSize), y: y.slice(0, n), ...kept }, 1000);
  return { ...r, samples: n };
}

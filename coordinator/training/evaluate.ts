import { CpuBackend } from '../../kernels/cpu/backend';
import { buildModel } from '../../kernels/models/index';
import { gatherBatch } from '../../protocol/dataset';
import type { ModelSpec } from '../../protocol/model';
import type { LoadedDataset } from '../data/datasets';

export type Evaluator = (
  spec: ModelSpec,
  params: Float32Array,
  data: LoadedDataset,
  samples?: number,
) => Promise<{ loss: number; accuracy: number; samples: number }>;

/** Test-set loss and accuracy on the coordinator's CPU backend, yielding to the event loop between chunks. */
export const evaluateOnCpu: Evaluator = async (spec, params, data, samples) => {
  const model = buildModel(spec, new CpuBackend());
  const n = Math.min(samples ?? data.manifest.samples, data.manifest.samples);
  let loss = 0;
  let correct = 0;
  const CHUNK = 250;
  for (let s = 0; s < n; s += CHUNK) {
    const idx = Uint32Array.from({ length: Math.min(CHUNK, n - s) }, (_, i) => s + i);
    const batch = gatherBatch(data.manifest, (c) => data.chunks[c], idx);
    const r = await model.evaluate(params, batch, CHUNK);
    loss += r.loss * idx.length;
    correct += r.accuracy * idx.length;
    await new Promise((r) => setImmediate(r));
  }
  return { loss: loss / n, accuracy: correct / n, samples: n };
};

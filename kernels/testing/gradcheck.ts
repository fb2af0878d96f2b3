import { type ModelSpec, stateRanges } from '../../protocol/model';
import type { Backend } from '../backend';
import { type Batch, buildModel, initParams } from '../models/index';
import { sampleBatch } from '../models/sample-batch';

/**
 * Central finite differences of the mean loss on `count` parameters spread over every tensor, against the
 * analytic gradient, on `batch` (a fixed sample batch unless given: token ids for a language model). Returns the worst relative error among coordinates whose gradient is not tiny.
 */
export async function finiteDifferenceCheck(
  backend: Backend,
  spec: ModelSpec,
  count = 24,
  eps = 1e-2,
  batch: Batch = sampleBatch(spec, 6),
): Promise<{ worst: number; checked: number }> {
  const model = buildModel(spec, backend);
  const params = initParams(spec, 3);
  for (let i = 0; i < params.length; i++) params[i] += 0.01 * Math.sin(i); // biases non-zero too
  const { grads } = await model.lossAndGradients(params, batch);
  // State (running statistics) is not a function of the loss: its slots carry steps, checked elsewhere.
  const state = [...stateRanges(spec, 'running'), ...stateRanges(spec, 'kept')];
  const trained = Array.from(params.keys()).filter((i) => !state.some((r) => i >= r.start && i < r.end));
  let worst = 0;
  let checked = 0;
  for (let k = 0; k < count; k++) {
    const i = trained[Math.floor(((k + 0.5) / count) * trained.length)];
    const saved = params[i];
    params[i] = saved + eps;
    const up = (await model.lossAndGradients(params, batch)).loss;
    params[i] = saved - eps;
    const down = (await model.lossAndGradients(params, batch)).loss;
    params[i] = saved;
    const numeric = (up - down) / (2 * eps);
    const err = Math.abs(numeric - grads[i]) / Math.max(1e-2, Math.abs(numeric) + Math.abs(grads[i]));
    worst = Math.max(worst, err);
    checked++;
  }
  model.dispose();
  return { worst, checked };
}

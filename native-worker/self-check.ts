import type { Backend } from '../kernels/backend';
import { CpuBackend } from '../kernels/cpu/backend';
import { buildModel, initParams } from '../kernels/models/index';
import { sampleBatch } from '../kernels/models/sample-batch';
import type { ModelSpec } from '../protocol/model';

const MLP: ModelSpec = { kind: 'mlp', layers: [784, 256, 128, 10] };

/**
 * `--check`: verify the backend computes what the CPU reference computes, then run MLP training steps
 * (batch 256) for `seconds` and report samples/s. Throws when the machine cannot serve.
 */
export async function selfCheck(backend: Backend, seconds: number) {
  const params = initParams(MLP, 5);
  const small = sampleBatch(MLP, 8);
  const want = await buildModel(MLP, new CpuBackend()).lossAndGradients(params, small);
  const model = buildModel(MLP, backend);
  const got = await model.lossAndGradients(params, small);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.grads.length; i++) scale = Math.max(scale, Math.abs(want.grads[i]));
  for (let i = 0; i < want.grads.length; i++) err = Math.max(err, Math.abs(got.grads[i] - want.grads[i]) / scale);
  if (!(err < 1e-3)) throw new Error(`backend gradients differ from the CPU reference by ${err}`);
  const batch = sampleBatch(MLP, 256);
  let steps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await model.lossAndGradients(params, batch);
    steps++;
  }
  const s = (performance.now() - t0) / 1000;
  model.dispose();
  return { gradientError: err, steps, samplesPerSecond: (steps * 256) / s };
}

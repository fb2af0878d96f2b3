import { CpuBackend } from '../kernels/cpu/backend';
import { type Engine, kernelsEngine } from '../kernels/engine';
import { initParams } from '../kernels/models/index';
import { sampleBatch } from '../kernels/models/sample-batch';
import { measure, REFERENCE_MODEL } from '../worker/engine-choice';

/** Largest gradient difference from the CPU reference, relative to the largest gradient, on a small batch. */
async function gradientError(engine: Engine): Promise<number> {
  const params = initParams(REFERENCE_MODEL, 5);
  const small = sampleBatch(REFERENCE_MODEL, 8);
  const [model, reference] = await Promise.all([engine.build(REFERENCE_MODEL), kernelsEngine(new CpuBackend()).build(REFERENCE_MODEL)]);
  const [got, want] = await Promise.all([model.lossAndGradients(params, small), reference.lossAndGradients(params, small)]);
  model.dispose();
  let scale = 0;
  let err = 0;
  for (const g of want.grads) scale = Math.max(scale, Math.abs(g));
  for (let i = 0; i < want.grads.length; i++) err = Math.max(err, Math.abs(got.grads[i] - want.grads[i]) / scale);
  return err;
}

/**
 * `--check`: each engine's gradients against the CPU reference, then its training speed on the Fashion-MNIST MLP
 * (batch 256) for `seconds`; fastest first. Throws when no engine computes correctly.
 */
export async function selfCheck(engines: Engine[], seconds: number) {
  const rows = [];
  for (const engine of engines) {
    const error = await gradientError(engine).catch(() => Number.POSITIVE_INFINITY);
    const ok = error < 1e-3;
    const samplesPerSec = ok ? Math.round(await measure(engine, REFERENCE_MODEL, seconds * 1000)) : 0;
    rows.push({ engine: engine.name, adapter: engine.adapter, gradientError: Number(error.toExponential(2)), ok, samplesPerSec });
  }
  rows.sort((a, b) => b.samplesPerSec - a.samplesPerSec);
  if (!rows.some((r) => r.ok)) throw new Error(`no engine matches the CPU reference: ${JSON.stringify(rows)}`);
  return rows;
}

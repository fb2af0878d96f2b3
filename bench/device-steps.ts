import * as ortNode from 'onnxruntime-node';
import type { Backend } from '../kernels/backend';
import { type Engine, kernelsEngine } from '../kernels/engine';
import type { GpuBackend } from '../kernels/gpu/backend';
import { DispatchProfiler } from '../kernels/gpu/profiler';
import { buildModel, initParams, type Model } from '../kernels/models/index';
import { sampleBatch } from '../kernels/models/sample-batch';
import { onnxEngine } from '../kernels/onnx/engine';
import { type ModelSpec, modelSpec } from '../protocol/model';
import { measure } from '../worker/engine-choice';
import { BENCH_CNN, BENCH_GPT, BENCH_MLP } from './workloads';

const ms = (x: number) => x.toFixed(3);

/** Milliseconds per call of `fn` over at least `floorMs`, after one call that compiles and allocates. */
async function msPer(fn: () => Promise<unknown>, floorMs = 500) {
  await fn();
  let n = 0;
  const t0 = performance.now();
  while (n < 5 || performance.now() - t0 < floorMs) {
    await fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

/**
 * Where a training step's time goes on this adapter: the parameters and batch going up, the gradients coming back,
 * and the step with both (what a worker does each shard) against steps whose parameters stay on the device
 * (local steps, read once per 16).
 */
export async function stepAnatomy(backend: Backend, spec: ModelSpec, batch: number) {
  const model = buildModel(spec, backend) as Model; // the MLP and CNN, whose parameters can be set without a step
  const params = initParams(spec, 1);
  const data = sampleBatch(spec, batch);
  const resident = model.setParams(params);
  const probe = backend.upload(new Float32Array(4), [4]);
  const idle = await msPer(() => backend.read(probe));
  const up = await msPer(() => {
    model.setParams(params);
    const x = backend.upload(data.x, [batch, model.inputSize]);
    const y = backend.uploadLabels(data.y);
    backend.release(x);
    backend.release(y);
    return backend.read(probe);
  });
  const down = await msPer(() => backend.readConcat(resident));
  const step = await msPer(() => model.lossAndGradients(params, data));
  const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  const local = (await msPer(() => model.localSteps(params, Array(16).fill(data), h))) / 16;
  backend.release(probe);
  model.dispose();
  console.log(
    `${spec.kind} batch ${batch} step anatomy (ms): idle read ${ms(idle)} | parameters+batch up ${ms(up)} | gradients down ${ms(down)}` +
      ` | whole step ${ms(step)} (${(batch / step).toFixed(1)}k samples/s) | a local step, parameters resident ${ms(local)} (${(batch / local).toFixed(1)}k)`,
  );
}

/** ResNet-20 for 32x32 colour images (He et al.'s CIFAR form) and nanoGPT's "CPU" GPT (bench/workloads.ts). */
export const RESNET20 = modelSpec({ kind: 'resnet', input: [3, 32, 32], widths: [16, 32, 64], blocks: 3, classes: 10 }, 'model') as ModelSpec;
export const GPT = BENCH_GPT;

/** Training-step rates of the graph presets on each engine: images/s for the ResNet, tokens/s for the GPT. */
export async function graphSteps(backend: Backend, cpu: Engine) {
  const engines = [kernelsEngine(backend), cpu];
  for (const [name, spec, batches, per] of [
    ['ResNet-20 3x32x32', RESNET20, [32, 128], 1],
    ['GPT 4x128 block 64', GPT, [12, 64], 64],
  ] as const) {
    for (const batch of batches) {
      const rates: string[] = [];
      for (const e of engines) {
        let rate = Number.NaN;
        try {
          rate = await measure(e, spec, 3000, batch);
        } catch (err) {
          console.error(`${e.name} on ${name}: ${(err as Error).message}`);
        }
        rates.push(`${e.name === 'webgpu' ? 'ours' : e.name} ${(rate * per).toFixed(0)}`);
      }
      console.log(`${name} batch ${batch} training step ${per > 1 ? 'tokens' : 'samples'}/s: ${rates.join(' | ')}`);
    }
  }
}

/** GPU time per program in one training step (and one resident local step) of `spec`, from timestamp queries. */
export async function profileStep(backend: GpuBackend, spec: ModelSpec, batch: number, reps = 20) {
  const model = buildModel(spec, backend);
  const params = initParams(spec, 1);
  const data = sampleBatch(spec, batch);
  const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  const profiler = new DispatchProfiler(backend.rt.device);
  for (const [what, steps, run] of [
    ['step', 1, () => model.lossAndGradients(params, data)],
    ['local step', 16, () => model.localSteps(params, Array(16).fill(data), h)],
  ] as const) {
    await run();
    backend.rt.profiler = profiler;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await run();
    const per = reps * steps; // training steps timed
    const wall = (performance.now() - t0) / per;
    backend.rt.profiler = null;
    const totals = [...(await profiler.collect()).entries()].sort((a, b) => b[1].ns - a[1].ns);
    const gpu = totals.reduce((n, [, t]) => n + t.ns, 0) / per / 1e6;
    const rows = totals.slice(0, 8).map(([key, t]) => `${key} x${(t.count / per).toFixed(0)} ${(t.ns / per / 1e3).toFixed(1)}`);
    console.log(
      `${spec.kind} batch ${batch} ${what} (${backend.matmulVariant}), profiled: wall ${ms(wall)} ms, GPU ${ms(gpu)} ms; per step (µs): ${rows.join(' | ')}`,
    );
    profiler.reset();
  }
  model.dispose();
}

/** GPU time per program for the MLP (the tuned matmul and the small 64x64 tile side by side), ResNet-20 and the GPT. */
export async function profileSteps(backend: GpuBackend, small: GpuBackend) {
  for (const batch of [256, 4096]) for (const b of [backend, small]) await profileStep(b, BENCH_MLP, batch);
  await profileStep(backend, RESNET20, 32, 3);
  for (const batch of [12, 64]) await profileStep(backend, GPT, batch, 5);
}

/** Training-step rates of every model on our kernels and onnxruntime-node's CPU path (what a worker measures). */
export async function trainingSteps(backend: GpuBackend, anatomy: boolean, only?: 'mlp') {
  const cpu = onnxEngine(ortNode, 'cpu', 'ort-node', 'onnxruntime-node cpu');
  const engines = [kernelsEngine(backend), cpu];
  for (const [name, spec, batches] of [
    ['MLP 784-256-128-10', BENCH_MLP, [256, 4096]],
    ['CNN conv8-pool-conv16-pool-dense', BENCH_CNN, [64, 1024]],
  ] as const) {
    if (only && spec !== BENCH_MLP) continue;
    for (const batch of batches) {
      const rates = [];
      for (const e of engines) rates.push(`${e.name === 'webgpu' ? 'ours' : e.name} ${(await measure(e, spec, 3000, batch)).toFixed(0)}`);
      console.log(`${name} batch ${batch} training step samples/s (params up, gradients back): ${rates.join(' | ')}`);
    }
  }
  if (anatomy) for (const batch of [256, 4096]) await stepAnatomy(backend, BENCH_MLP, batch);
  if (!only) await graphSteps(backend, cpu);
}

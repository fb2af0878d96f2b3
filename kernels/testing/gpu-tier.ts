import type { ModelSpec } from '../../protocol/model';
import { CpuBackend } from '../cpu/backend';
import { GpuBackend } from '../gpu/backend';
import { describeAdapter, type GpuHandle } from '../gpu/device';
import { buildModel, initParams } from '../models/index';
import { sampleBatch } from '../models/sample-batch';
import { MATMUL_VARIANTS } from '../ops/matmul';
import { KERNEL_CASES } from './cases';
import { type CaseResult, runKernelCases } from './run-cases';

export const TIER_MODELS: Record<string, ModelSpec> = {
  'MLP 784-64-10': { kind: 'mlp', layers: [784, 64, 10] },
  'MLP gelu 50-33-7': { kind: 'mlp', layers: [50, 33, 7], activation: 'gelu' },
  'CNN 1x28x28 [4,8] k5': { kind: 'cnn', input: [1, 28, 28], channels: [4, 8], kernel: 5, classes: 10 },
};

export interface TierReport {
  adapter: string;
  software: boolean;
  cases: Record<string, CaseResult[]>;
  /** Worst relative difference between GPU and CPU model gradients, per model. */
  models: Record<string, { gradError: number; lossError: number }>;
}

/** The whole GPU tier on one device: every kernel case with the scalar matmuls, the matmul cases with each vec4 tile, then the models vs the CPU. */
export async function runGpuTier(gpu: GpuHandle): Promise<TierReport> {
  const report: TierReport = { adapter: describeAdapter(gpu.adapter), software: gpu.software, cases: {}, models: {} };
  for (const variant of MATMUL_VARIANTS) {
    const onlyMatmul = variant !== 'register' && variant !== 'tiled';
    report.cases[variant] = await runKernelCases(new GpuBackend(gpu, variant), onlyMatmul ? KERNEL_CASES.filter((c) => c.op === 'matmul') : undefined);
  }
  const gpuBackend = new GpuBackend(gpu);
  for (const [name, spec] of Object.entries(TIER_MODELS)) {
    const params = initParams(spec, 11);
    const batch = sampleBatch(spec, 16);
    const want = await buildModel(spec, new CpuBackend()).lossAndGradients(params, batch);
    const got = await buildModel(spec, gpuBackend).lossAndGradients(params, batch);
    let scale = 0;
    for (const g of want.grads) scale = Math.max(scale, Math.abs(g));
    let gradError = 0;
    for (let i = 0; i < want.grads.length; i++) gradError = Math.max(gradError, Math.abs(got.grads[i] - want.grads[i]) / scale);
    report.models[name] = { gradError, lossError: Math.abs(got.loss - want.loss) / want.loss };
  }
  return report;
}

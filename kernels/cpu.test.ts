import { describe, expect, it } from 'vitest';
import type { ModelSpec } from '../protocol/model';
import { CpuBackend } from './cpu/backend';
import { kernelsEngine } from './engine';
import { buildModel, initParams } from './models/index';
import { sampleBatch } from './models/sample-batch';
import { KERNEL_CASES } from './testing/cases';
import { compareWithReference, MODEL_CASES } from './testing/engine-check';
import { finiteDifferenceCheck } from './testing/gradcheck';
import { runKernelCases } from './testing/run-cases';

const cpu = new CpuBackend();
console.log(`kernel tier: CPU reference, adapter "${cpu.adapter}"`);

describe('kernel cases on the CPU reference backend', () => {
  it.each(KERNEL_CASES.filter((c) => c.expected).map((c) => [c.name, c]))('%s', async (_, c) => {
    const [r] = await runKernelCases(cpu, [c]);
    expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
  });
});

describe('model gradients match finite differences', () => {
  const specs = {
    'MLP tanh': { kind: 'mlp', layers: [12, 7, 5, 3], activation: 'tanh' },
    'MLP gelu': { kind: 'mlp', layers: [12, 6, 4], activation: 'gelu' },
    'MLP relu': { kind: 'mlp', layers: [12, 6, 4] },
    CNN: { kind: 'cnn', input: [1, 8, 8], channels: [3, 4], kernel: 3, classes: 3 },
  } as const;
  for (const [name, spec] of Object.entries(specs)) {
    it(name, async () => {
      const { worst, checked } = await finiteDifferenceCheck(cpu, spec as never, 30, 1e-3);
      expect(checked).toBe(30);
      expect(worst).toBeLessThan(2e-2);
    });
  }

  it('a wrong gradient is caught (the check can fail)', async () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [12, 6, 4] };
    const broken = new CpuBackend();
    const sumRows = broken.sumRows.bind(broken);
    broken.sumRows = (x) => {
      const t = sumRows(x);
      (t as unknown as { data: Float32Array }).data[0] *= 2;
      return t;
    };
    const { worst } = await finiteDifferenceCheck(broken, spec, 40, 1e-3);
    expect(worst).toBeGreaterThan(0.1);
  });
});

describe('training on the CPU backend', () => {
  it('an MLP fits a fixed batch: loss falls and accuracy rises', async () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [12, 16, 4] };
    const model = buildModel(spec, cpu);
    const params = initParams(spec, 1);
    const batch = sampleBatch(spec, 32);
    const first = await model.lossAndGradients(params, batch);
    let last = first;
    for (let i = 0; i < 300; i++) {
      last = await model.lossAndGradients(params, batch);
      for (let j = 0; j < params.length; j++) params[j] -= 0.5 * last.grads[j];
    }
    expect(last.loss).toBeLessThan(first.loss * 0.5);
    expect(last.correct).toBeGreaterThan(first.correct);
  });

  it('local AdamW steps return a delta that lowers the loss', async () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [12, 16, 4] };
    const model = buildModel(spec, cpu);
    const params = initParams(spec, 1);
    const batch = sampleBatch(spec, 32);
    const before = (await model.lossAndGradients(params, batch)).loss;
    const { delta, samples } = await model.localSteps(params, [batch, batch, batch, batch], { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    expect(samples).toBe(128);
    const after = (
      await model.lossAndGradients(
        params.map((p, i) => p - delta[i]),
        batch,
      )
    ).loss;
    expect(after).toBeLessThan(before);
  });

  it('carries the inner AdamW state from one round of local steps to the next, on the MLP and the CNN', async () => {
    for (const c of MODEL_CASES.filter((x) => x.name === 'mlp relu 3 layers' || x.name === 'cnn k3'))
      expect((await compareWithReference(kernelsEngine(cpu), c.spec)).resumed, c.name).toBeLessThan(1e-6);
  });

  it('refuses a batch whose size does not match the model', async () => {
    const model = buildModel({ kind: 'mlp', layers: [12, 4] }, cpu);
    await expect(model.lossAndGradients(initParams(model.spec, 1), { x: new Float32Array(11), y: new Uint32Array(1) })).rejects.toThrow(/features/);
  });
});

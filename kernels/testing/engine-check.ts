import type { ModelSpec } from '../../protocol/model';
import { parameterShapes, sizeOf } from '../../protocol/model';
import { CpuBackend } from '../cpu/backend';
import { type Engine, kernelsEngine } from '../engine';
import { newInnerState } from '../inner-state';
import { initParams } from '../models/index';
import { sampleBatch } from '../models/sample-batch';

/** Models every engine is checked on: MLPs with each activation and depth, CNNs with both kernel sizes, layer lists as graphs. */
export const MODEL_CASES: { name: string; spec: ModelSpec }[] = [
  { name: 'mlp relu 3 layers', spec: { kind: 'mlp', layers: [20, 16, 12, 5] } },
  { name: 'mlp gelu', spec: { kind: 'mlp', layers: [20, 16, 5], activation: 'gelu' } },
  { name: 'mlp tanh', spec: { kind: 'mlp', layers: [20, 16, 5], activation: 'tanh' } },
  { name: 'cnn k3', spec: { kind: 'cnn', input: [1, 12, 12], channels: [3, 4], kernel: 3, classes: 5 } },
  { name: 'cnn k5 2 channels, odd size', spec: { kind: 'cnn', input: [2, 10, 11], channels: [3, 2], kernel: 5, classes: 4 } },
  {
    name: 'layers: gelu, a residual block with layer norm, tanh',
    spec: {
      kind: 'layers',
      input: [20],
      layers: [
        { type: 'dense', units: 16 },
        { type: 'gelu' },
        { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'dense', units: 16 }, { type: 'tanh' }] },
        { type: 'dense', units: 5 },
      ],
    },
  },
  {
    // Sigmoid first: squashed just before the last dense, nine samples' logits sit in near-ties a GPU's summation flips.
    name: 'layers: sigmoid, leaky relu, image input',
    spec: {
      kind: 'layers',
      input: [1, 4, 5],
      layers: [{ type: 'dense', units: 12 }, { type: 'sigmoid' }, { type: 'dense', units: 12 }, { type: 'leakyRelu', alpha: 0.1 }, { type: 'dense', units: 3 }],
    },
  },
  {
    name: 'layers: a small residual CNN (conv same and strided, max-pool, global average pool)',
    spec: {
      kind: 'layers',
      input: [2, 7, 6],
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3 },
        { type: 'relu' },
        { type: 'residual', layers: [{ type: 'conv2d', filters: 4, kernel: [3, 1] }, { type: 'gelu' }] },
        { type: 'maxPool', size: 2 },
        { type: 'conv2d', filters: 5, kernel: 2, stride: 2, padding: 'valid' },
        { type: 'globalAvgPool' },
        { type: 'dense', units: 3 },
      ],
    },
  },
];

const relativeL2 = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-12);
};

/**
 * Run `engine` and the CPU reference on the same parameters and batch: the worst relative L2 error over each
 * parameter's gradient, the loss, the correct count, the logits, and a local-steps delta.
 */
export async function compareWithReference(engine: Engine, spec: ModelSpec) {
  const [model, ref] = await Promise.all([engine.build(spec), kernelsEngine(new CpuBackend()).build(spec)]);
  const params = initParams(spec, 5);
  for (let i = 0; i < params.length; i++) params[i] += 0.01 * Math.sin(i);
  const batch = sampleBatch(spec, 9);
  const [a, b] = await Promise.all([model.lossAndGradients(params, batch), ref.lossAndGradients(params, batch)]);
  let gradients = 0;
  let off = 0;
  for (const s of parameterShapes(spec)) {
    const n = sizeOf(s.shape);
    gradients = Math.max(gradients, relativeL2(a.grads.subarray(off, off + n), b.grads.subarray(off, off + n)));
    off += n;
  }
  const logits = relativeL2(await model.predict(params, batch.x), await ref.predict(params, batch.x));
  const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const halves = [0, 1].map((k) => ({ x: batch.x.subarray((k * batch.x.length) / 3, ((k + 1) * batch.x.length) / 3), y: batch.y.subarray(k * 3, k * 3 + 3) }));
  const whole = (await model.localSteps(params, halves, h)).delta;
  const local = relativeL2(whole, (await ref.localSteps(params, halves, h)).delta);
  // The same two steps as two rounds of one step, the inner state carried between them: the same trajectory.
  const state = newInnerState(params.length);
  const first = (await model.localSteps(params, halves.slice(0, 1), h, state)).delta;
  const second = (
    await model.localSteps(
      params.map((p, i) => p - first[i]),
      halves.slice(1),
      h,
      state,
    )
  ).delta;
  const resumed = relativeL2(
    first.map((d, i) => d + second[i]),
    whole,
  );
  model.dispose();
  ref.dispose();
  return { gradients, loss: Math.abs(a.loss - b.loss) / b.loss, correct: a.correct - b.correct, logits, local, resumed };
}

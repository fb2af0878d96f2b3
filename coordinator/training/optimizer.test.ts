import { describe, expect, it } from 'vitest';
import { parseTrainingSpec } from '../../protocol/job';
import { newOptimizerState, optimizerStep } from './optimizer';

const base = { name: 't', model: { kind: 'mlp', layers: [1, 2] }, dataset: { name: 'd' }, globalBatch: 4, shardSize: 2, rounds: 1 };

// Minimise f(x) = (x - 3)^2 / 2 with each optimizer; its gradient is x - 3.
function minimise(optimizer: object, steps = 300, extra: object = {}) {
  const spec = parseTrainingSpec({ ...base, optimizer, ...extra });
  const p = Float32Array.of(0);
  const s = newOptimizerState(1);
  for (let i = 0; i < steps; i++) optimizerStep(spec, p, Float32Array.of(p[0] - 3), s);
  return p[0];
}

describe('optimizers', () => {
  it('SGD with momentum converges', () => expect(minimise({ kind: 'sgd', lr: 0.1, momentum: 0.9 })).toBeCloseTo(3, 3));
  it('Adam converges', () => expect(minimise({ kind: 'adam', lr: 0.05 }, 1000)).toBeCloseTo(3, 2));
  it('AdamW decays weights decoupled from the gradient', () => {
    const x = minimise({ kind: 'adamw', lr: 0.05, weightDecay: 0.1 }, 2000);
    expect(x).toBeLessThan(2.99);
    expect(x).toBeGreaterThan(2);
  });
  it('SGD takes exactly one momentum step', () => {
    const spec = parseTrainingSpec({ ...base, optimizer: { kind: 'sgd', lr: 0.5, momentum: 0.9 } });
    const p = Float32Array.of(1);
    const s = newOptimizerState(1);
    optimizerStep(spec, p, Float32Array.of(2), s);
    optimizerStep(spec, p, Float32Array.of(2), s);
    expect(p[0]).toBeCloseTo(1 - 0.5 * 2 - 0.5 * (0.9 * 2 + 2));
  });
  it('the outer Nesterov step of local mode moves against the delta', () => {
    const x = minimise({ kind: 'adamw', lr: 0.01 }, 200, { mode: 'local', local: { steps: 4, lr: 0.01, outerLr: 0.5, outerMomentum: 0.5 } });
    expect(x).toBeCloseTo(3, 2);
  });

  it('decays the learning rate along half a cosine when asked: full at the start, half midway, none at the end', () => {
    const spec = parseTrainingSpec({ ...base, optimizer: { kind: 'sgd', lr: 0.5, schedule: 'cosine' } });
    const step = (progress: number) => {
      const p = Float32Array.of(1);
      optimizerStep(spec, p, Float32Array.of(2), newOptimizerState(1), progress);
      return 1 - p[0];
    };
    expect(step(0)).toBeCloseTo(1, 6);
    expect(step(0.5)).toBeCloseTo(0.5, 6);
    expect(step(1)).toBeCloseTo(0, 6);
    expect(parseTrainingSpec({ ...base, optimizer: { kind: 'adamw', lr: 0.001 } }).optimizer.schedule).toBe('constant');
  });
});

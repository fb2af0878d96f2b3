import { RUNNING_MOMENTUM, type StateLayout, stepLeavingState } from '../../kernels/state-step';
import type { TrainingSpec } from '../../protocol/job';
import { adamStep } from './simd.mjs';

/** Optimizer state that goes into checkpoints: step count and moment buffers. */
export interface OptimizerState {
  t: number;
  m: Float32Array;
  v: Float32Array;
}

export const newOptimizerState = (n: number): OptimizerState => ({ t: 0, m: new Float32Array(n), v: new Float32Array(n) });

/**
 * One coordinator step at `progress` (rounds done / all rounds) through the job. Sync mode: `update` is the
 * averaged gradient. Local mode: it is the averaged delta (old - new) and the outer step is Nesterov SGD.
 */
export function optimizerStep(spec: TrainingSpec, params: Float32Array, update: Float32Array, s: OptimizerState, progress = 0): void {
  s.t++;
  const o = spec.optimizer;
  const f = o.schedule === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, progress)))) : 1;
  if (spec.mode === 'local') nesterov(params, update, s, f * spec.local.outerLr, spec.local.outerMomentum);
  else if (o.kind === 'sgd') sgd(params, update, s, f * o.lr, o.momentum, o.weightDecay);
  else adam(params, update, s, f * o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.kind === 'adamw');
}

/** The optimizer step, leaving the model's state: frozen tensors keep their values, running statistics follow the batches. */
export function stepParams(spec: TrainingSpec, params: Float32Array, update: Float32Array, s: OptimizerState, layout: StateLayout, progress = 0) {
  // A gradient's running slot is batch minus running; a local-step delta's is old minus new.
  const rate = spec.mode === 'local' ? -1 : RUNNING_MOMENTUM;
  stepLeavingState(params, update, layout, rate, () => optimizerStep(spec, params, update, s, progress));
}

function sgd(p: Float32Array, g: Float32Array, s: OptimizerState, lr: number, mu: number, wd: number) {
  const m = s.m;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] + wd * p[i];
    m[i] = mu * m[i] + gi;
    p[i] -= lr * m[i];
  }
}

function adam(p: Float32Array, g: Float32Array, s: OptimizerState, lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean) {
  // Bias corrections and decay folded into per-step constants; the loop is SIMD (simd.wat): it is on the round's critical path.
  adamStep(p, g, s.m, s.v, {
    b1,
    b2,
    mScale: lr / (1 - b1 ** s.t),
    vScale: 1 / (1 - b2 ** s.t),
    eps,
    keep: decoupled ? 1 - lr * wd : 1,
    l2: decoupled ? 0 : wd,
  });
}

function nesterov(p: Float32Array, delta: Float32Array, s: OptimizerState, lr: number, mu: number) {
  const m = s.m;
  for (let i = 0; i < p.length; i++) {
    m[i] = mu * m[i] + delta[i];
    p[i] -= lr * (delta[i] + mu * m[i]);
  }
}

import type { Tensor } from '../kernels/backend';
import { CpuBackend } from '../kernels/cpu/backend';
import { type Engine, kernelsEngine } from '../kernels/engine';

export type Hostility = 'scale' | 'flip' | 'replay' | 'huge' | 'nan' | 'noise' | 'alie';

/**
 * The CPU reference backend, lying about the gradients it reads back (the models read gradients, then loss and
 * correct count, in one readConcat). Run by the real worker loop, it is a hostile volunteer that speaks the
 * protocol perfectly.
 */
export class HostileBackend extends CpuBackend {
  private first?: Float32Array;

  /** `coalition` is shared by colluding backends: ALIE computes its lie from all their latest honest gradients. */
  constructor(
    private readonly how: Hostility,
    private readonly coalition: Float32Array[] = [],
  ) {
    super();
  }

  override async readConcat(ts: readonly Tensor[]) {
    const out = await super.readConcat(ts);
    const tail = ts.slice(-2).reduce((n, t) => n + t.size, 0);
    const grads = out.subarray(0, out.length - tail);
    if (this.how === 'scale') for (let i = 0; i < grads.length; i++) grads[i] *= 1000;
    if (this.how === 'flip') for (let i = 0; i < grads.length; i++) grads[i] = -grads[i];
    if (this.how === 'huge') grads.fill(1e30);
    if (this.how === 'nan') grads[grads.length >> 1] = Number.NaN;
    if (this.how === 'noise') addNoise(grads, 2); // points roughly the right way, at a plausible norm: only a recomputation shows it
    if (this.how === 'alie') aLittleIsEnough(grads, this.coalition);
    if (this.how === 'replay') {
      this.first ??= grads.slice();
      grads.set(this.first);
    }
    return out;
  }
}

/** Add Gaussian noise of `ratio` times the gradient's own norm. */
function addNoise(grads: Float32Array, ratio: number) {
  let norm = 0;
  for (const g of grads) norm += g * g;
  const sigma = (ratio * Math.sqrt(norm)) / Math.sqrt(grads.length);
  for (let i = 0; i < grads.length; i++) grads[i] += sigma * Math.sqrt(-2 * Math.log(Math.random() || 1e-12)) * Math.cos(2 * Math.PI * Math.random());
}

/**
 * "A little is enough" (Baruch, Baruch and Goldberg, 2019): the coalition's mean minus one standard deviation, per
 * coordinate, over its members' latest honest gradients: close enough to the honest ones to pass a majority's checks.
 */
function aLittleIsEnough(grads: Float32Array, coalition: Float32Array[], z = 1) {
  coalition.push(grads.slice());
  if (coalition.length > 4) coalition.shift();
  if (coalition.length < 2) return;
  for (let i = 0; i < grads.length; i++) {
    let mean = 0;
    for (const g of coalition) mean += g[i] / coalition.length;
    let variance = 0;
    for (const g of coalition) variance += (g[i] - mean) ** 2 / coalition.length;
    grads[i] = mean - z * Math.sqrt(variance);
  }
}

/**
 * Our CPU kernels, lying about the local steps' delta they return (a hostile volunteer in a local-step job): turned
 * against the model (`flip`) or scaled by 1000. Honest in everything else, the delta's own checks included.
 */
export function hostileLocalEngine(how: 'flip' | 'scale'): Engine {
  const honest = kernelsEngine(new CpuBackend());
  const lie = (delta: Float32Array) => {
    for (let i = 0; i < delta.length; i++) delta[i] *= how === 'flip' ? -1 : 1000;
  };
  return {
    ...honest,
    build: async (spec) => {
      const model = await honest.build(spec);
      const localSteps = model.localSteps.bind(model);
      model.localSteps = async (...args) => {
        const out = await localSteps(...args);
        lie(out.delta);
        return out;
      };
      return model;
    },
  };
}

import type { Tensor } from '../kernels/backend';
import { CpuBackend } from '../kernels/cpu/backend';

export type Hostility = 'scale' | 'flip' | 'replay' | 'huge' | 'nan';

/**
 * The CPU reference backend, lying about the gradients it reads back (the models read gradients, then loss and
 * correct count, in one readConcat). Run by the real worker loop, it is a hostile volunteer that speaks the
 * protocol perfectly.
 */
export class HostileBackend extends CpuBackend {
  private first?: Float32Array;

  constructor(private readonly how: Hostility) {
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
    if (this.how === 'replay') {
      this.first ??= grads.slice();
      grads.set(this.first);
    }
    return out;
  }
}

import type { MlpSpec } from '../../protocol/model';
import type { Activation, Backend, Tensor } from '../backend';
import { type DevicePass, Model } from './model';

/** Dense layers with an activation between them; the last layer gives logits. */
export class Mlp extends Model {
  private readonly act: Activation;
  constructor(spec: MlpSpec, backend: Backend) {
    super(spec, backend);
    this.act = spec.activation ?? 'relu';
  }

  private layers(p: Tensor[], x: Tensor) {
    const b = this.backend;
    const pre: Tensor[] = [];
    const inputs: Tensor[] = [x];
    const L = p.length / 2;
    for (let i = 0; i < L; i++) {
      const z = b.matmul(inputs[i], p[2 * i]);
      if (i + 1 < L) inputs.push(b.biasActivation(z, p[2 * i + 1], this.act));
      else b.addBias(z, p[2 * i + 1]); // the logits: no activation
      pre.push(z);
    }
    return { pre, inputs };
  }

  protected forward(p: Tensor[], x: Tensor) {
    const { pre, inputs } = this.layers(p, x);
    return { logits: pre[pre.length - 1], scratch: [...pre.slice(0, -1), ...inputs.slice(1)] };
  }

  protected forwardBackward(p: Tensor[], x: Tensor, y: Tensor): DevicePass {
    const b = this.backend;
    const { pre, inputs } = this.layers(p, x);
    const L = pre.length;
    const { loss, correct, dlogits } = b.softmaxCrossEntropy(pre[L - 1], y);
    const grads: Tensor[] = new Array(2 * L);
    const scratch: Tensor[] = [...pre, ...inputs.slice(1)];
    let dz = dlogits;
    let db = b.sumRows(dlogits);
    for (let i = L - 1; i >= 0; i--) {
      grads[2 * i] = b.matmul(inputs[i], dz, true, false);
      grads[2 * i + 1] = db;
      if (i > 0) {
        const dh = b.matmul(dz, p[2 * i], false, true);
        // The layer below's pre-activation gradient and its bias gradient in one pass.
        const next = b.activationBackwardSum(dh, pre[i - 1], this.act);
        scratch.push(dh, dz);
        [dz, db] = [next.dx, next.sum];
      } else scratch.push(dz);
    }
    return { loss, correct, grads, scratch };
  }
}

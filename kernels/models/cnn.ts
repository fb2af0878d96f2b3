import type { CnnSpec } from '../../protocol/model';
import type { Backend, Conv2dDims, Tensor } from '../backend';
import { type DevicePass, Model } from './model';

/** conv-relu-pool, conv-relu-pool, dense: the small CNN for 28x28 images. */
export class Cnn extends Model {
  constructor(
    readonly cnn: CnnSpec,
    backend: Backend,
  ) {
    super(cnn, backend);
  }

  private dims(batch: number) {
    const [c0, h, w] = this.cnn.input;
    const [c1, c2] = this.cnn.channels;
    const k = this.cnn.kernel;
    const d1: Conv2dDims = { batch, inC: c0, h, w, outC: c1, k };
    const d2: Conv2dDims = { batch, inC: c1, h: h >> 1, w: w >> 1, outC: c2, k };
    return { d1, d2, flat: c2 * (h >> 2) * (w >> 2) };
  }

  private features(p: Tensor[], x: Tensor, batch: number) {
    const b = this.backend;
    const { d1, d2, flat } = this.dims(batch);
    const c1 = b.conv2d(b.reshape(x, [batch, d1.inC, d1.h, d1.w]), p[0], p[1], d1);
    const r1 = b.activation(c1, 'relu');
    const p1 = b.maxPool2(r1, batch * d1.outC, d1.h, d1.w);
    const c2 = b.conv2d(p1.y, p[2], p[3], d2);
    const r2 = b.activation(c2, 'relu');
    const p2 = b.maxPool2(r2, batch * d2.outC, d2.h, d2.w);
    const f = b.reshape(p2.y, [batch, flat]);
    const logits = b.matmul(f, p[4]);
    b.addBias(logits, p[5]);
    return { d1, d2, c1, r1, p1, c2, r2, p2, f, logits };
  }

  protected forward(p: Tensor[], x: Tensor, batch: number) {
    const s = this.features(p, x, batch);
    return { logits: s.logits, scratch: [s.c1, s.r1, s.p1.y, s.p1.argmax, s.c2, s.r2, s.p2.y, s.p2.argmax] };
  }

  protected forwardBackward(p: Tensor[], x: Tensor, y: Tensor, batch: number): DevicePass {
    const b = this.backend;
    const s = this.features(p, x, batch);
    const { loss, correct, dlogits } = b.softmaxCrossEntropy(s.logits, y);
    const dwFc = b.matmul(s.f, dlogits, true, false);
    const dbFc = b.sumRows(dlogits);
    const df = b.matmul(dlogits, p[4], false, true);
    const dr2 = b.maxPool2Backward(b.reshape(df, s.p2.y.shape), s.p2.argmax, batch * s.d2.outC, s.d2.h, s.d2.w);
    const dc2 = b.activationBackward(dr2, s.c2, 'relu');
    const g2 = b.conv2dBackward(b.reshape(dc2, [batch, s.d2.outC, s.d2.h, s.d2.w]), s.p1.y, p[2], s.d2);
    const dr1 = b.maxPool2Backward(b.reshape(g2.dx, s.p1.y.shape), s.p1.argmax, batch * s.d1.outC, s.d1.h, s.d1.w);
    const dc1 = b.activationBackward(dr1, s.c1, 'relu');
    const g1 = b.conv2dBackward(b.reshape(dc1, [batch, s.d1.outC, s.d1.h, s.d1.w]), x, p[0], s.d1);
    const scratch = [s.c1, s.r1, s.p1.y, s.p1.argmax, s.c2, s.r2, s.p2.y, s.p2.argmax, s.logits, dlogits, df, dr2, dc2, g2.dx, dr1, dc1, g1.dx];
    return { loss, correct, grads: [g1.dw, g1.db, g2.dw, g2.db, dwFc, dbFc], scratch };
  }
}

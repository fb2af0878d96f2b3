import { sizeOf } from '../../protocol/model';
import type { Activation, AdamWHyper, Backend, Conv2dDims, Tensor } from '../backend';

/** A CPU tensor: the data is a plain typed array. */
class CpuTensor implements Tensor {
  readonly size: number;
  constructor(
    readonly shape: readonly number[],
    readonly data: Float32Array | Uint32Array,
    readonly dtype: 'f32' | 'u32' = 'f32',
  ) {
    this.size = sizeOf(shape);
  }
}

const f = (t: Tensor) => (t as CpuTensor).data as Float32Array;
const make = (shape: readonly number[], data = new Float32Array(sizeOf(shape))) => new CpuTensor(shape, data);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** The reference backend: plain TypeScript over Float32Array. Tests compare every GPU kernel against it. */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly adapter = 'cpu (TypeScript reference)';

  upload(data: Float32Array, shape: readonly number[]): Tensor {
    return make(shape, data.slice());
  }
  uploadLabels(labels: Uint32Array): Tensor {
    return new CpuTensor([labels.length], labels.slice(), 'u32');
  }
  write(t: Tensor, data: Float32Array) {
    f(t).set(data);
  }
  async read(t: Tensor) {
    return Float32Array.from((t as CpuTensor).data);
  }
  async readConcat(ts: readonly Tensor[]) {
    const out = new Float32Array(ts.reduce((n, t) => n + t.size, 0));
    let off = 0;
    for (const t of ts) {
      out.set((t as CpuTensor).data, off);
      off += t.size;
    }
    return out;
  }
  release() {}
  reshape(t: Tensor, shape: readonly number[]): Tensor {
    if (sizeOf(shape) !== t.size) throw new Error(`reshape: ${t.shape} to ${shape}`);
    return new CpuTensor(shape, (t as CpuTensor).data, t.dtype);
  }
  flush() {}
  destroy() {}

  matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
    const [M, K] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    const N = transB ? b.shape[0] : b.shape[1];
    const A = f(a);
    const B = f(b);
    const C = new Float32Array(M * N);
    // i-k-j order keeps the inner loop contiguous in B and C for the common non-transposed case.
    for (let i = 0; i < M; i++) {
      const row = i * N;
      for (let k = 0; k < K; k++) {
        const av = transA ? A[k * M + i] : A[i * K + k];
        if (av === 0) continue;
        if (transB) for (let j = 0; j < N; j++) C[row + j] += av * B[j * K + k];
        else {
          const bRow = k * N;
          for (let j = 0; j < N; j++) C[row + j] += av * B[bRow + j];
        }
      }
    }
    return make([M, N], C);
  }

  addBias(x: Tensor, bias: Tensor) {
    const X = f(x);
    const b = f(bias);
    const N = b.length;
    for (let i = 0; i < X.length; i++) X[i] += b[i % N];
  }

  activation(x: Tensor, kind: Activation): Tensor {
    const X = f(x);
    const Y = new Float32Array(X.length);
    for (let i = 0; i < X.length; i++) Y[i] = act(X[i], kind);
    return make(x.shape, Y);
  }

  biasActivation(x: Tensor, bias: Tensor, kind: Activation): Tensor {
    this.addBias(x, bias);
    return this.activation(x, kind);
  }

  activationBackward(dy: Tensor, x: Tensor, kind: Activation): Tensor {
    const X = f(x);
    const D = f(dy);
    const out = new Float32Array(X.length);
    for (let i = 0; i < X.length; i++) out[i] = D[i] * actGrad(X[i], kind);
    return make(x.shape, out);
  }

  activationBackwardSum(dy: Tensor, x: Tensor, kind: Activation) {
    const dx = this.activationBackward(dy, x, kind);
    return { dx, sum: this.sumRows(dx) };
  }

  softmaxCrossEntropy(logits: Tensor, labels: Tensor) {
    const [M, N] = logits.shape;
    const Z = f(logits);
    const Y = (labels as CpuTensor).data;
    const loss = new Float32Array(M);
    const correct = new Float32Array(M);
    const d = new Float32Array(M * N);
    for (let i = 0; i < M; i++) {
      let max = -Infinity;
      let arg = 0;
      for (let j = 0; j < N; j++) if (Z[i * N + j] > max) [max, arg] = [Z[i * N + j], j];
      let sum = 0;
      for (let j = 0; j < N; j++) sum += Math.exp(Z[i * N + j] - max);
      const y = Y[i];
      loss[i] = Math.log(sum) + max - Z[i * N + y];
      correct[i] = arg === y ? 1 : 0;
      for (let j = 0; j < N; j++) d[i * N + j] = (Math.exp(Z[i * N + j] - max) / sum - (j === y ? 1 : 0)) / M;
    }
    return { loss: make([M], loss), correct: make([M], correct), dlogits: make([M, N], d) };
  }

  sumRows(x: Tensor): Tensor {
    const [M, N] = x.shape;
    const X = f(x);
    const out = new Float32Array(N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) out[j] += X[i * N + j];
    return make([N], out);
  }

  conv2d(x: Tensor, w: Tensor, b: Tensor, d: Conv2dDims): Tensor {
    const { batch, inC, h, w: W, outC, k } = d;
    const X = f(x);
    const Wt = f(w);
    const B = f(b);
    const p = (k - 1) >> 1;
    const Y = new Float32Array(batch * outC * h * W);
    for (let n = 0; n < batch; n++)
      for (let o = 0; o < outC; o++)
        for (let y = 0; y < h; y++)
          for (let xx = 0; xx < W; xx++) {
            let s = B[o];
            for (let c = 0; c < inC; c++)
              for (let ky = 0; ky < k; ky++) {
                const iy = y + ky - p;
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < k; kx++) {
                  const ix = xx + kx - p;
                  if (ix < 0 || ix >= W) continue;
                  s += X[((n * inC + c) * h + iy) * W + ix] * Wt[((o * inC + c) * k + ky) * k + kx];
                }
              }
            Y[((n * outC + o) * h + y) * W + xx] = s;
          }
    return make([batch, outC, h, W], Y);
  }

  conv2dBackward(dy: Tensor, x: Tensor, w: Tensor, d: Conv2dDims) {
    const { batch, inC, h, w: W, outC, k } = d;
    const X = f(x);
    const Wt = f(w);
    const D = f(dy);
    const p = (k - 1) >> 1;
    const dx = new Float32Array(X.length);
    const dw = new Float32Array(Wt.length);
    const db = new Float32Array(outC);
    for (let n = 0; n < batch; n++)
      for (let o = 0; o < outC; o++)
        for (let y = 0; y < h; y++)
          for (let xx = 0; xx < W; xx++) {
            const g = D[((n * outC + o) * h + y) * W + xx];
            db[o] += g;
            for (let c = 0; c < inC; c++)
              for (let ky = 0; ky < k; ky++) {
                const iy = y + ky - p;
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < k; kx++) {
                  const ix = xx + kx - p;
                  if (ix < 0 || ix >= W) continue;
                  const xi = ((n * inC + c) * h + iy) * W + ix;
                  const wi = ((o * inC + c) * k + ky) * k + kx;
                  dx[xi] += g * Wt[wi];
                  dw[wi] += g * X[xi];
                }
              }
          }
    return { dx: make(x.shape, dx), dw: make(w.shape, dw), db: make([outC], db) };
  }

  maxPool2(x: Tensor, bc: number, h: number, w: number) {
    const X = f(x);
    const oh = h >> 1;
    const ow = w >> 1;
    const Y = new Float32Array(bc * oh * ow);
    const A = new Float32Array(bc * oh * ow);
    for (let c = 0; c < bc; c++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let best = -Infinity;
          let arg = 0;
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++) {
              const i = (c * h + 2 * y + dy) * w + 2 * xx + dx;
              if (X[i] > best) [best, arg] = [X[i], i];
            }
          Y[(c * oh + y) * ow + xx] = best;
          A[(c * oh + y) * ow + xx] = arg;
        }
    return { y: make([bc, oh, ow], Y), argmax: make([bc, oh, ow], A) };
  }

  maxPool2Backward(dy: Tensor, argmax: Tensor, planes: number, h: number, w: number): Tensor {
    const D = f(dy);
    const A = f(argmax);
    const out = new Float32Array(planes * h * w);
    for (let i = 0; i < D.length; i++) out[A[i]] += D[i];
    return make([planes, h, w], out);
  }

  sgdStep(p: Tensor, g: Tensor, v: Tensor, lr: number, mu: number, wd: number) {
    const P = f(p);
    const G = f(g);
    const V = f(v);
    for (let i = 0; i < P.length; i++) {
      V[i] = mu * V[i] + G[i] + wd * P[i];
      P[i] -= lr * V[i];
    }
  }

  adamwStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWHyper) {
    adamwUpdate(f(p), f(g), f(m), f(v), h);
  }
}

function act(x: number, kind: Activation): number {
  if (kind === 'relu') return Math.max(x, 0);
  if (kind === 'tanh') return Math.tanh(x);
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

function actGrad(x: number, kind: Activation): number {
  if (kind === 'relu') return x > 0 ? 1 : 0;
  if (kind === 'tanh') return 1 - Math.tanh(x) ** 2;
  const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  const t = Math.tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}

/** One AdamW step in place on plain arrays: the reference, and what engines without device optimizers run. */
export function adamwUpdate(P: Float32Array, G: Float32Array, M: Float32Array, V: Float32Array, h: AdamWHyper) {
  const c1 = 1 - h.beta1 ** h.step;
  const c2 = 1 - h.beta2 ** h.step;
  for (let i = 0; i < P.length; i++) {
    M[i] = h.beta1 * M[i] + (1 - h.beta1) * G[i];
    V[i] = h.beta2 * V[i] + (1 - h.beta2) * G[i] * G[i];
    P[i] -= h.lr * (M[i] / c1 / (Math.sqrt(V[i] / c2) + h.eps) + h.weightDecay * P[i]);
  }
}

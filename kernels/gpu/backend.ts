import { sizeOf } from '../../protocol/model';
import type { Activation, AdamWHyper, Backend, Conv2dDims, Tensor } from '../backend';
import { biasAdd } from '../ops/bias-add';
import { CONV_DW_CHUNK, conv2d, conv2dInputGrad, conv2dWeightGradPartial } from '../ops/conv2d';
import { activation, activationBackward, activationBackwardSum, biasActivation } from '../ops/elementwise';
import { type MatmulVariant, matmul, type ScalarVariant } from '../ops/matmul';
import { maxPool2, maxPool2Backward } from '../ops/max-pool';
import { adamwStep, sgdStep } from '../ops/optimizers';
import { softmaxCrossEntropy } from '../ops/softmax-cross-entropy';
import { sumRows } from '../ops/sum-rows';
import { describeAdapter, type GpuHandle } from './device';
import { GpuRuntime } from './runtime';

class GpuTensor implements Tensor {
  readonly size: number;
  constructor(
    readonly shape: readonly number[],
    readonly buffer: GPUBuffer,
    readonly dtype: 'f32' | 'u32' = 'f32',
  ) {
    this.size = sizeOf(shape);
  }
}

const buf = (t: Tensor) => (t as GpuTensor).buffer;
/** The GPU buffer behind one of this backend's tensors (graph programs bind it directly). */
export const bufferOf = buf;

/** WebGPU backend over any GPUDevice: Chromium's (page or Worker) or Dawn's in Node. */
export class GpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly adapter: string;
  readonly rt: GpuRuntime;
  /** Register tiling on software adapters, shared-memory tiling on real GPUs, until `tuneMatmul` times them. */
  matmulVariant: MatmulVariant;
  /** What runs shapes the vec4 kernels cannot (a contiguous dimension not a multiple of 4). */
  matmulFallback: ScalarVariant;

  constructor(
    readonly gpu: GpuHandle,
    variant?: MatmulVariant,
  ) {
    this.rt = new GpuRuntime(gpu.device);
    this.adapter = describeAdapter(gpu.adapter) || 'unknown adapter';
    this.matmulFallback = gpu.software ? 'register' : 'tiled';
    this.matmulVariant = variant ?? this.matmulFallback;
  }

  /** An f32 tensor of `shape` from the pool, contents undefined. */
  empty(shape: readonly number[], label: string): Tensor {
    return this.alloc(shape, label);
  }

  private alloc(shape: readonly number[], label: string, dtype: 'f32' | 'u32' = 'f32') {
    return new GpuTensor(shape, this.rt.acquire(sizeOf(shape) * 4, label), dtype);
  }

  upload(data: Float32Array, shape: readonly number[], label = 'tensor'): Tensor {
    const t = this.alloc(shape, label);
    this.rt.write(t.buffer, data);
    return t;
  }
  uploadLabels(labels: Uint32Array): Tensor {
    const t = this.alloc([labels.length], 'labels', 'u32');
    this.rt.write(t.buffer, labels);
    return t;
  }
  write(t: Tensor, data: Float32Array) {
    this.rt.write(buf(t), data);
  }
  read(t: Tensor) {
    return this.rt.read([{ buffer: buf(t), bytes: t.size * 4 }]);
  }
  readConcat(ts: readonly Tensor[]) {
    return this.rt.read(ts.map((t) => ({ buffer: buf(t), bytes: t.size * 4 })));
  }
  release(t: Tensor) {
    this.rt.releaseBuffer(buf(t));
  }
  reshape(t: Tensor, shape: readonly number[]): Tensor {
    if (sizeOf(shape) !== t.size) throw new Error(`reshape: ${t.shape} to ${shape}`);
    return new GpuTensor(shape, buf(t), t.dtype);
  }
  flush() {
    this.rt.flush();
  }
  destroy() {
    this.rt.destroy();
  }

  matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
    const [M, K] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    const N = transB ? b.shape[0] : b.shape[1];
    const kb = transB ? b.shape[1] : b.shape[0];
    if (K !== kb) throw new Error(`matmul: inner dimensions ${K} and ${kb} differ`);
    const out = this.alloc([M, N], 'matmul');
    matmul(this.rt, this.matmulVariant, this.matmulFallback, buf(a), buf(b), out.buffer, M, N, K, transA, transB);
    return out;
  }
  addBias(x: Tensor, bias: Tensor) {
    biasAdd(this.rt, buf(x), buf(bias), x.size, bias.size);
  }
  activation(x: Tensor, kind: Activation): Tensor {
    const y = this.alloc(x.shape, kind);
    activation(this.rt, kind, buf(x), y.buffer, x.size);
    return y;
  }
  biasActivation(x: Tensor, bias: Tensor, kind: Activation): Tensor {
    const y = this.alloc(x.shape, `bias_${kind}`);
    biasActivation(this.rt, kind, buf(x), buf(bias), y.buffer, x.size, bias.size);
    return y;
  }
  activationBackward(dy: Tensor, x: Tensor, kind: Activation): Tensor {
    const dx = this.alloc(x.shape, `${kind}_grad`);
    activationBackward(this.rt, kind, buf(dy), buf(x), dx.buffer, x.size);
    return dx;
  }
  activationBackwardSum(dy: Tensor, x: Tensor, kind: Activation) {
    const [M, N] = x.shape;
    const dx = this.alloc(x.shape, `${kind}_grad`);
    const sum = this.alloc([N], 'sum_rows');
    activationBackwardSum(this.rt, kind, buf(dy), buf(x), dx.buffer, sum.buffer, M, N);
    return { dx, sum };
  }
  softmaxCrossEntropy(logits: Tensor, labels: Tensor) {
    const [M, N] = logits.shape;
    const loss = this.alloc([M], 'loss');
    const correct = this.alloc([M], 'correct');
    const dlogits = this.alloc([M, N], 'dlogits');
    softmaxCrossEntropy(this.rt, buf(logits), buf(labels), loss.buffer, correct.buffer, dlogits.buffer, M, N);
    return { loss, correct, dlogits };
  }
  sumRows(x: Tensor): Tensor {
    const [M, N] = x.shape;
    const out = this.alloc([N], 'sum_rows');
    sumRows(this.rt, buf(x), out.buffer, M, N);
    return out;
  }
  conv2d(x: Tensor, w: Tensor, b: Tensor, d: Conv2dDims): Tensor {
    const y = this.alloc([d.batch, d.outC, d.h, d.w], 'conv2d');
    conv2d(this.rt, buf(x), buf(w), buf(b), y.buffer, d);
    return y;
  }
  conv2dBackward(dy: Tensor, x: Tensor, w: Tensor, d: Conv2dDims) {
    const dx = this.alloc(x.shape, 'conv2d_dx');
    conv2dInputGrad(this.rt, buf(dy), buf(w), dx.buffer, d);
    const weights = d.outC * d.inC * d.k * d.k;
    const chunks = Math.ceil(d.batch / CONV_DW_CHUNK);
    const partial = this.alloc([chunks, weights + d.outC], 'conv2d_dw_partial');
    conv2dWeightGradPartial(this.rt, buf(dy), buf(x), partial.buffer, d);
    const both = this.sumRows(partial);
    this.release(partial);
    const dw = this.alloc(w.shape, 'conv2d_dw');
    const db = this.alloc([d.outC], 'conv2d_db');
    this.rt.copy(buf(both), 0, dw.buffer, 0, weights * 4);
    this.rt.copy(buf(both), weights * 4, db.buffer, 0, d.outC * 4);
    this.release(both);
    return { dx, dw, db };
  }
  maxPool2(x: Tensor, planes: number, h: number, w: number) {
    const shape = [planes, h >> 1, w >> 1];
    const y = this.alloc(shape, 'max_pool');
    const argmax = this.alloc(shape, 'max_pool_argmax');
    maxPool2(this.rt, buf(x), y.buffer, argmax.buffer, planes, h, w);
    return { y, argmax };
  }
  maxPool2Backward(dy: Tensor, argmax: Tensor, planes: number, h: number, w: number): Tensor {
    const dx = this.alloc([planes, h, w], 'max_pool_dx');
    maxPool2Backward(this.rt, buf(dy), buf(argmax), dx.buffer, planes, h, w);
    return dx;
  }
  sgdStep(p: Tensor, g: Tensor, v: Tensor, lr: number, momentum: number, weightDecay: number) {
    sgdStep(this.rt, buf(p), buf(g), buf(v), p.size, lr, momentum, weightDecay);
  }
  adamwStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWHyper) {
    adamwStep(this.rt, buf(p), buf(g), buf(m), buf(v), p.size, h);
  }
}

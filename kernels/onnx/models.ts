import type { LayersSpec } from '../../protocol/layers';
import { type CnnSpec, classCount, inputSize, type MlpSpec, type ModelSpec, parameterShapes, sizeOf } from '../../protocol/model';
import { inferenceStepGraph, languageModelGraph, trainingStepGraph } from '../graph/model-graphs';
import { emitOnnx } from '../graph/onnx-emit';
import { GraphBuilder } from './graph';
import { activation, activationGrad, batchSize, crossEntropy, denseGrad } from './layers';

/**
 * Our models as standard ONNX graphs (opset 17, no training ops): an inference graph (input → logits) and a
 * training-step graph (input, one-hot labels, parameters → mean loss, correct count, one gradient per parameter,
 * in wire order). Backward rules are written once per layer kind in layers.ts and below.
 */

/** Names of the parameter inputs (or initializers), in wire order. */
export const paramNames = (spec: ModelSpec) => parameterShapes(spec).map((s) => s.name);

interface Forward {
  logits: string;
  /** Runs the backward pass from dLoss/dLogits; returns gradients in wire order. */
  backward(dlogits: string): string[];
}

function mlp(g: GraphBuilder, spec: MlpSpec, x: string, p: string[]): Forward {
  const act = spec.activation ?? 'relu';
  const layers = spec.layers.length - 1;
  const h = [x];
  const z: string[] = [];
  for (let i = 0; i < layers; i++) {
    z.push(g.op('Gemm', [h[i], p[2 * i], p[2 * i + 1]]));
    if (i + 1 < layers) h.push(activation(g, z[i], act));
  }
  return {
    logits: z[layers - 1],
    backward(dlogits) {
      const grads: string[] = [];
      let dz = dlogits;
      for (let i = layers - 1; i >= 0; i--) {
        const { dw, db, dx } = denseGrad(g, h[i], p[2 * i], dz, i > 0);
        grads.unshift(dw, db);
        if (dx) dz = activationGrad(g, dx, z[i - 1], h[i], act);
      }
      return grads;
    },
  };
}

/** conv(same)-relu-maxpool2, twice, then dense: the layout of kernels/models/cnn.ts (NCHW, flattened C·H·W). */
function cnn(g: GraphBuilder, spec: CnnSpec, x: string, p: string[]): Forward {
  const [c0, h, w] = spec.input;
  const pad = (spec.kernel - 1) >> 1;
  const conv = { pads: [pad, pad, pad, pad], kernel_shape: [spec.kernel, spec.kernel], strides: [1, 1], dilations: [1, 1] };
  const pool = { kernel_shape: [2, 2], strides: [2, 2] };
  const x4 = g.op('Reshape', [x, g.ints([-1, c0, h, w])]);
  const c1 = g.op('Conv', [x4, p[0], p[1]], conv);
  const r1 = g.op('Relu', [c1]);
  const p1 = g.op('MaxPool', [r1], pool);
  const c2 = g.op('Conv', [p1, p[2], p[3]], conv);
  const r2 = g.op('Relu', [c2]);
  const p2 = g.op('MaxPool', [r2], pool);
  const flat = spec.channels[1] * (h >> 2) * (w >> 2);
  const f = g.op('Reshape', [p2, g.ints([-1, flat])]);
  return {
    logits: g.op('Gemm', [f, p[4], p[5]]),
    backward(dlogits) {
      const fc = denseGrad(g, f, p[4], dlogits, true);
      const dc2 = reluGrad(g, maxPoolGrad(g, g.op('Reshape', [fc.dx as string, g.op('Shape', [p2])]), p2, r2, [h >> 1, w >> 1]), c2);
      const conv2 = convGrad(g, p1, p[2], dc2, spec.kernel, [h >> 1, w >> 1], true);
      const dc1 = reluGrad(g, maxPoolGrad(g, conv2.dx as string, p1, r1, [h, w]), c1);
      const conv1 = convGrad(g, x4, p[0], dc1, spec.kernel, [h, w], false);
      return [conv1.dw, conv1.db, conv2.dw, conv2.db, fc.dw, fc.db];
    },
  };
}

const reluGrad = (g: GraphBuilder, dy: string, z: string) => g.op('Where', [g.op('Greater', [z, g.scalar(0)]), dy, g.scalar(0)]);

/**
 * 2x2 max-pool backward without indices (which some providers cannot produce): each window's gradient goes where
 * the input equals the window's maximum. Exact ties share it; the ones that occur, zeros from ReLU, get nothing
 * anyway from the ReLU backward that follows. An odd last row or column took no part and gets zero.
 */
function maxPoolGrad(g: GraphBuilder, dy: string, pooled: string, input: string, [h, w]: [number, number]): string {
  const [eh, ew] = [h & ~1, w & ~1];
  const even = g.op('Slice', [input, g.ints([0, 0]), g.ints([eh, ew]), g.ints([2, 3])]);
  const up = (t: string) => g.op('Resize', [t, '', g.weight(`scales_${t}`, [4], Float32Array.of(1, 1, 2, 2))], { mode: 'nearest' });
  const routed = g.op('Mul', [g.op('Cast', [g.op('Equal', [even, up(pooled)])], { to: 1 }), up(dy)]);
  return eh === h && ew === w ? routed : g.op('Pad', [routed, g.ints([0, 0, 0, 0, 0, 0, h - eh, w - ew])]);
}

/**
 * Gradients of a stride-1 'same' convolution y = conv(x, W) + b: dx = ConvTranspose(dy, W); dW is the
 * correlation of x with dy over the batch, i.e. a Conv with batch and channels swapped; db sums dy.
 */
function convGrad(g: GraphBuilder, x: string, w: string, dy: string, k: number, [h, wd]: [number, number], wantDx: boolean) {
  const pad = (k - 1) >> 1;
  const pads = [pad, pad, pad, pad];
  const unit = { strides: [1, 1], dilations: [1, 1] }; // spelled out: some providers cannot infer them from a runtime-shaped kernel
  const swap = (t: string) => g.op('Transpose', [t], { perm: [1, 0, 2, 3] });
  const dw = swap(g.op('Conv', [swap(x), swap(dy)], { pads, kernel_shape: [h, wd], ...unit }));
  const db = g.op('ReduceSum', [dy, g.ints([0, 2, 3])], { keepdims: 0 });
  const dx = wantDx ? g.op('ConvTranspose', [dy, w], { pads, kernel_shape: [k, k], ...unit }) : undefined;
  return { dw, db, dx };
}

const forward = (g: GraphBuilder, spec: MlpSpec | CnnSpec, x: string, p: string[]) => (spec.kind === 'mlp' ? mlp(g, spec, x, p) : cnn(g, spec, x, p));

/** The training step: inputs `x` [batch, inputs], `y` one-hot [batch, classes] and the parameters. */
export function trainingGraph(spec: ModelSpec): Uint8Array {
  if (spec.kind === 'layers' || spec.kind === 'onnx') return emitOnnx(trainingStepGraph(spec), { params: 'inputs', name: `${spec.kind}-train` });
  const g = new GraphBuilder();
  const x = g.input('x', ['batch', inputSize(spec)]);
  const y = g.input('y', ['batch', classCount(spec)]);
  const shapes = parameterShapes(spec);
  const p = shapes.map((s) => g.input(s.name, s.shape));
  const model = forward(g, spec, x, p);
  const { loss, correct, dlogits } = crossEntropy(g, model.logits, y, batchSize(g, x));
  g.output(loss, 'loss', []);
  g.output(correct, 'correct', []);
  model.backward(dlogits).forEach((grad, i) => g.output(grad, `grad.${shapes[i].name}`, shapes[i].shape));
  return g.build(`${spec.kind}-train`);
}

/**
 * The inference graph: `input` [batch, inputs] → `logits` and `probabilities` [batch, classes]. With `weights`
 * (the flat parameter vector) they are stored in the model, for export; without, they are inputs, for workers.
 */
export function inferenceGraph(spec: ModelSpec, weights?: Float32Array, metadata: Record<string, string> = {}): Uint8Array {
  if (spec.kind === 'layers' || spec.kind === 'onnx')
    return emitOnnx(inferenceStepGraph(spec, weights), { params: weights ? 'initializers' : 'inputs', name: `${spec.kind}-inference`, metadata });
  const g = new GraphBuilder();
  const x = g.input('input', ['batch', inputSize(spec)]);
  let offset = 0;
  const p = parameterShapes(spec).map((s) => {
    if (!weights) return g.input(s.name, s.shape);
    const n = sizeOf(s.shape);
    offset += n;
    return g.weight(s.name, s.shape, weights.subarray(offset - n, offset));
  });
  if (weights && offset !== weights.length) throw new Error(`model has ${offset} parameters, got ${weights.length}`);
  const { logits } = forward(g, spec, x, p);
  g.output(logits, 'logits', ['batch', classCount(spec)]);
  g.output(g.op('Softmax', [logits], { axis: 1 }), 'probabilities', ['batch', classCount(spec)]);
  return g.build(`${spec.kind}-inference`, metadata);
}

/** A language model as an ONNX file with its weights: `input_ids` int64 [batch, sequence] to `logits` [batch, sequence, vocab]. */
export function languageModelOnnx(spec: LayersSpec, weights: Float32Array, metadata: Record<string, string> = {}): Uint8Array {
  return emitOnnx(languageModelGraph(spec, weights), { params: 'initializers', name: 'language-model', metadata, int64Inputs: ['input_ids'] });
}

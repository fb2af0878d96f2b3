import { type CnnSpec, classCount, inputSize, type MlpSpec, type ModelSpec, parameterShapes } from '../../protocol/model';
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
function cnn(g: GraphBuilder, spec: CnnSpec, x: string, p: string[], training: boolean): Forward {
  const [c0, h, w] = spec.input;
  const pad = (spec.kernel - 1) >> 1;
  const conv = { pads: [pad, pad, pad, pad], kernel_shape: [spec.kernel, spec.kernel] };
  const pool = { kernel_shape: [2, 2], strides: [2, 2] };
  const x4 = g.op('Reshape', [x, g.ints([-1, c0, h, w])]);
  const c1 = g.op('Conv', [x4, p[0], p[1]], conv);
  const r1 = g.op('Relu', [c1]);
  // Indices only for training (the backward pass routes by them): an exported model has plain max-pools.
  const [p1, i1] = g.ops('MaxPool', [r1], training ? 2 : 1, pool);
  const c2 = g.op('Conv', [p1, p[2], p[3]], conv);
  const r2 = g.op('Relu', [c2]);
  const [p2, i2] = g.ops('MaxPool', [r2], training ? 2 : 1, pool);
  const flat = spec.channels[1] * (h >> 2) * (w >> 2);
  const f = g.op('Reshape', [p2, g.ints([-1, flat])]);
  return {
    logits: g.op('Gemm', [f, p[4], p[5]]),
    backward(dlogits) {
      const fc = denseGrad(g, f, p[4], dlogits, true);
      const dc2 = reluGrad(g, maxPoolGrad(g, g.op('Reshape', [fc.dx as string, g.op('Shape', [p2])]), i2, r2), c2);
      const conv2 = convGrad(g, p1, p[2], dc2, pad, true);
      const dc1 = reluGrad(g, maxPoolGrad(g, conv2.dx as string, i1, r1), c1);
      const conv1 = convGrad(g, x4, p[0], dc1, pad, false);
      return [conv1.dw, conv1.db, conv2.dw, conv2.db, fc.dw, fc.db];
    },
  };
}

const reluGrad = (g: GraphBuilder, dy: string, z: string) => g.op('Where', [g.op('Greater', [z, g.scalar(0)]), dy, g.scalar(0)]);

/** Max-pool backward: each gradient goes to the input its window took (flat indices from MaxPool), zeros elsewhere. */
function maxPoolGrad(g: GraphBuilder, dy: string, indices: string, input: string): string {
  const shape = g.op('Shape', [input]);
  const zeros = g.op('Reshape', [g.op('ConstantOfShape', [shape]), g.ints([-1])]);
  const flat = (t: string) => g.op('Reshape', [t, g.ints([-1])]);
  return g.op('Reshape', [g.op('ScatterElements', [zeros, flat(indices), flat(dy)], { axis: 0 }), shape]);
}

/**
 * Gradients of a stride-1 'same' convolution y = conv(x, W) + b: dx = ConvTranspose(dy, W); dW is the
 * correlation of x with dy over the batch, i.e. a Conv with batch and channels swapped; db sums dy.
 */
function convGrad(g: GraphBuilder, x: string, w: string, dy: string, pad: number, wantDx: boolean) {
  const swap = (t: string) => g.op('Transpose', [t], { perm: [1, 0, 2, 3] });
  const dw = swap(g.op('Conv', [swap(x), swap(dy)], { pads: [pad, pad, pad, pad] }));
  const db = g.op('ReduceSum', [dy, g.ints([0, 2, 3])], { keepdims: 0 });
  const dx = wantDx ? g.op('ConvTranspose', [dy, w], { pads: [pad, pad, pad, pad] }) : undefined;
  return { dw, db, dx };
}

const forward = (g: GraphBuilder, spec: ModelSpec, x: string, p: string[], training: boolean) =>
  spec.kind === 'mlp' ? mlp(g, spec, x, p) : cnn(g, spec, x, p, training);

/** The training step: inputs `x` [batch, inputs], `y` one-hot [batch, classes] and the parameters. */
export function trainingGraph(spec: ModelSpec): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', ['batch', inputSize(spec)]);
  const y = g.input('y', ['batch', classCount(spec)]);
  const shapes = parameterShapes(spec);
  const p = shapes.map((s) => g.input(s.name, s.shape));
  const model = forward(g, spec, x, p, true);
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
  const g = new GraphBuilder();
  const x = g.input('input', ['batch', inputSize(spec)]);
  let offset = 0;
  const p = parameterShapes(spec).map((s) => {
    if (!weights) return g.input(s.name, s.shape);
    const n = s.shape.reduce((a, b) => a * b, 1);
    offset += n;
    return g.weight(s.name, s.shape, weights.subarray(offset - n, offset));
  });
  if (weights && offset !== weights.length) throw new Error(`model has ${offset} parameters, got ${weights.length}`);
  const { logits } = forward(g, spec, x, p, false);
  g.output(logits, 'logits', ['batch', classCount(spec)]);
  g.output(g.op('Softmax', [logits], { axis: 1 }), 'probabilities', ['batch', classCount(spec)]);
  return g.build(`${spec.kind}-inference`, metadata);
}

import type { HostTensor } from '../ir';
import type { OpDef } from '../op';
import { image, onnxGeometry } from './conv-geometry';
import { equalityRouting } from './pool-onnx';
import { pooledShape, poolGeometry, poolShape, windows } from './pool-windows';

/** Max over each window (pads never win); a last row or column no window reaches is dropped, as ONNX does. */
export const MaxPool: OpDef = {
  name: 'MaxPool',
  gpu: { kind: 'pool', mode: 'max' },
  shape: ([x], attrs) => [poolShape(x, attrs, 'MaxPool')],
  cpu: ([x], attrs) => {
    const shape = pooledShape(x.shape, poolGeometry(attrs));
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1)).fill(Number.NEGATIVE_INFINITY);
    windows(x.shape, poolGeometry(attrs), (o, i) => {
      data[o] = Math.max(data[o], x.data[i]);
    });
    return [{ shape, data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('MaxPoolGrad', [dy, node.inputs[0], node.outputs[0]], node.attrs)],
  onnx: (w, n) => void w.node('MaxPool', [...n.inputs], onnxGeometry(poolGeometry(n.attrs)), [...n.outputs]),
};

/**
 * dX of a max-pool: each window's gradient goes to the inputs equal to its maximum (exact ties each get it, on every
 * engine: ONNX routes by equality too); an input in several windows sums what each gives it, one in none gets zero.
 */
export const MaxPoolGrad: OpDef = {
  name: 'MaxPoolGrad',
  gpu: { kind: 'pool', mode: 'maxGrad' },
  shape: ([, x]) => [x],
  cpu: ([dy, x, y]: HostTensor[], attrs) => {
    const data = new Float32Array(x.data.length);
    windows(x.shape, poolGeometry(attrs), (o, i) => {
      if (x.data[i] === y.data[o]) data[i] += dy.data[o];
    });
    return [{ shape: x.shape, data }];
  },
  backward: () => [undefined, undefined, undefined],
  onnx: (w, n) => equalityRouting(w, n.inputs as [string, string, string], poolGeometry(n.attrs), [...n.outputs]),
};

/** Mean over each channel's image: [N, C, H, W] to [N, C, 1, 1]; its backward spreads dY evenly. */
export const GlobalAveragePool: OpDef = {
  name: 'GlobalAveragePool',
  gpu: { kind: 'compose', build: (g, node) => [g.op('ReduceMean', [node.inputs[0]], { axes: [2, 3], keepdims: 1 })] },
  shape: ([x]) => {
    const [n, c] = image(x, 'GlobalAveragePool');
    return [[n, c, 1, 1]];
  },
  cpu: ([x]) => {
    const [n, c, h, w] = x.shape;
    const data = new Float32Array(n * c);
    for (let i = 0; i < n * c; i++) {
      let s = 0;
      for (let k = 0; k < h * w; k++) s += x.data[i * h * w + k];
      data[i] = s / (h * w);
    }
    return [{ shape: [n, c, 1, 1], data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined];
    const [h, w] = (g.shapeOf(node.inputs[0]) as number[]).slice(2);
    return [g.op('Div', [g.op('ExpandAs', [dy, node.inputs[0]]), g.constant(h * w)])];
  },
};

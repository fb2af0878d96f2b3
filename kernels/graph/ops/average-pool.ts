import type { OpDef } from '../op';
import { onnxGeometry, outSize } from './conv-geometry';
import { at4, padToInput, poolShape, tiling, upsample } from './pool';

/** Mean over each window (windows that tile the image, like MaxPool's); its gradient spreads dY over the window. */
export const AveragePool: OpDef = {
  name: 'AveragePool',
  gpu: { kind: 'pool', mode: 'avg' },
  shape: ([x], attrs) => [poolShape(x, attrs, 'AveragePool')],
  cpu: ([x], attrs) => {
    const g = tiling(attrs);
    const shape = [x.shape[0], x.shape[1], outSize(x.shape[2], g, 0), outSize(x.shape[3], g, 1)];
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1));
    const area = g.k[0] * g.k[1];
    for (let n = 0; n < shape[0]; n++)
      for (let c = 0; c < shape[1]; c++)
        for (let y = 0; y < shape[2] * g.k[0]; y++)
          for (let xx = 0; xx < shape[3] * g.k[1]; xx++)
            data[at4(shape, n, c, Math.floor(y / g.k[0]), Math.floor(xx / g.k[1]))] += x.data[at4(x.shape, n, c, y, xx)] / area;
    return [{ shape, data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('AveragePoolGrad', [dy, node.inputs[0]], node.attrs)],
  onnx: (w, n) => {
    const { dilations: _, ...geometry } = onnxGeometry(tiling(n.attrs)); // opset 17's AveragePool has no dilations
    w.node('AveragePool', [...n.inputs], geometry, [...n.outputs]);
  },
};

/** dX of an average pool: each window's dY over its area, to every input it covers; inputs no window reached get zero. */
export const AveragePoolGrad: OpDef = {
  name: 'AveragePoolGrad',
  gpu: { kind: 'pool', mode: 'avgGrad' },
  shape: ([, x]) => [x],
  cpu: ([dy, x], attrs) => {
    const g = tiling(attrs);
    const data = new Float32Array(x.data.length);
    for (let n = 0; n < dy.shape[0]; n++)
      for (let c = 0; c < dy.shape[1]; c++)
        for (let y = 0; y < dy.shape[2] * g.k[0]; y++)
          for (let xx = 0; xx < dy.shape[3] * g.k[1]; xx++)
            data[at4(x.shape, n, c, y, xx)] = dy.data[at4(dy.shape, n, c, Math.floor(y / g.k[0]), Math.floor(xx / g.k[1]))] / (g.k[0] * g.k[1]);
    return [{ shape: x.shape, data }];
  },
  backward: ({ g, node, dOutputs: [d] }) => [d && g.op('AveragePool', [d], node.attrs), undefined],
  onnx: (w, n) => {
    const [dy, x] = n.inputs;
    const g = tiling(n.attrs);
    padToInput(w, upsample(w, w.node('Div', [dy, w.floats([g.k[0] * g.k[1]])]), g), x, g, [...n.outputs]);
  },
};

import type { Attrs } from '../ir';
import type { OpDef } from '../op';
import { onnxGeometry } from './conv-geometry';
import { spreadMean } from './pool-onnx';
import { pooledShape, poolGeometry, poolShape, windowCounts, windows } from './pool-windows';

/** Whether pads count toward a window's size (ONNX's count_include_pad; off by default, as in PyTorch's exports of it). */
export const includesPad = (attrs: Attrs) => attrs.count_include_pad === 1;

/** Each output's window size, repeated over the planes: what its sum is divided by. */
function divisors(x: readonly number[], attrs: Attrs) {
  const counts = windowCounts(poolGeometry(attrs), x[2], x[3], includesPad(attrs));
  return (o: number) => counts[o % counts.length];
}

/** Mean over each window (pads excluded unless count_include_pad); windows may overlap. */
export const AveragePool: OpDef = {
  name: 'AveragePool',
  gpu: { kind: 'pool', mode: 'avg' },
  shape: ([x], attrs) => [poolShape(x, attrs, 'AveragePool')],
  cpu: ([x], attrs) => {
    const shape = pooledShape(x.shape, poolGeometry(attrs));
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1));
    windows(x.shape, poolGeometry(attrs), (o, i) => {
      data[o] += x.data[i];
    });
    const count = divisors(x.shape, attrs);
    for (let o = 0; o < data.length; o++) data[o] /= count(o);
    return [{ shape, data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('AveragePoolGrad', [dy, node.inputs[0]], node.attrs)],
  onnx: (w, n) => {
    const { dilations: _, ...geometry } = onnxGeometry(poolGeometry(n.attrs)); // opset 17's AveragePool has no dilations
    w.node('AveragePool', [...n.inputs], { ...geometry, count_include_pad: includesPad(n.attrs) ? 1 : 0 }, [...n.outputs]);
  },
};

/** dX of an average pool: each window's dY over its size, to every input it covers; inputs no window reached get zero. */
export const AveragePoolGrad: OpDef = {
  name: 'AveragePoolGrad',
  gpu: { kind: 'pool', mode: 'avgGrad' },
  shape: ([, x]) => [x],
  cpu: ([dy, x], attrs) => {
    const data = new Float32Array(x.data.length);
    const count = divisors(x.shape, attrs);
    windows(x.shape, poolGeometry(attrs), (o, i) => {
      data[i] += dy.data[o] / count(o);
    });
    return [{ shape: x.shape, data }];
  },
  backward: ({ g, node, dOutputs: [d] }) => [d && g.op('AveragePool', [d], node.attrs), undefined],
  onnx: (w, n) => spreadMean(w, n.inputs as [string, string], poolGeometry(n.attrs), includesPad(n.attrs), [...n.outputs]),
};

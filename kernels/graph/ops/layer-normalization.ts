import type { Attrs } from '../ir';
import type { OpDef } from '../op';
import { alongAxis } from './softmax';

const axisOf = (attrs: Attrs) => (typeof attrs.axis === 'number' ? attrs.axis : -1);
const epsOf = (attrs: Attrs) => (typeof attrs.epsilon === 'number' ? attrs.epsilon : 1e-5);

/**
 * ONNX's LayerNormalization (opset 17, what PyTorch exports nn.LayerNorm as), over the last axis: (x - mean) /
 * sqrt(var + eps) * scale + bias. Its backward is the decomposed form's, written with the ops it decomposes into.
 */
export const LayerNormalization: OpDef = {
  name: 'LayerNormalization',
  gpu: {
    kind: 'compose',
    build: (g, node) => {
      const [x, scale, bias] = node.inputs;
      const d = g.op('Sub', [x, g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 })]);
      const variance = g.op('ReduceMean', [g.op('Mul', [d, d])], { axes: [-1], keepdims: 1 });
      const scaled = g.op('Mul', [g.op('Div', [d, g.op('Sqrt', [g.op('Add', [variance, g.constant(epsOf(node.attrs))])])]), scale]);
      return [bias === undefined ? scaled : g.op('Add', [scaled, bias])];
    },
  },
  shape: ([x]) => [x],
  cpu: ([x, scale, bias], attrs) => {
    if (axisOf(attrs) !== -1 && axisOf(attrs) !== x.shape.length - 1) throw new Error('LayerNormalization over other than the last axis');
    const eps = epsOf(attrs);
    return [
      alongAxis(x, -1, (get, set, n) => {
        let mean = 0;
        for (let k = 0; k < n; k++) mean += get(k);
        mean /= n;
        let variance = 0;
        for (let k = 0; k < n; k++) variance += (get(k) - mean) ** 2;
        const inv = 1 / Math.sqrt(variance / n + eps);
        for (let k = 0; k < n; k++) set(k, (get(k) - mean) * inv * scale.data[k] + (bias ? bias.data[k] : 0));
      }),
    ];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined, undefined, undefined];
    const [x, scale, bias] = node.inputs;
    // y = n · scale + bias with n = d / s, d = x - mean, s = sqrt(var + eps): rebuilt so autodiff-style rules apply.
    const mean = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
    const d = g.op('Sub', [x, mean]);
    const s = g.op('Sqrt', [g.op('Add', [g.op('ReduceMean', [g.op('Mul', [d, d])], { axes: [-1], keepdims: 1 }), g.constant(epsOf(node.attrs))])]);
    const n = g.op('Div', [d, s]);
    const dn = g.op('Mul', [dy, scale]);
    // dx = (dn - mean(dn) - n · mean(dn · n)) / s
    const centred = g.op('Sub', [dn, g.op('ReduceMean', [dn], { axes: [-1], keepdims: 1 })]);
    const along = g.op('Mul', [n, g.op('ReduceMean', [g.op('Mul', [dn, n])], { axes: [-1], keepdims: 1 })]);
    const dx = g.op('Div', [g.op('Sub', [centred, along]), s]);
    const dscale = g.op('SumAs', [g.op('Mul', [dy, n]), scale]);
    return [dx, dscale, bias === undefined ? undefined : g.op('SumAs', [dy, bias])];
  },
  onnx: (w, n) => void w.node('LayerNormalization', [...n.inputs], { axis: -1, epsilon: { float: epsOf(n.attrs) } }, [...n.outputs]),
};

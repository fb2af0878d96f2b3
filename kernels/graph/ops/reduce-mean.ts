import type { OpDef } from '../op';
import { reducedAxesOf, reducedShape, reduceSum, spreadBack } from './reduce';

/** Mean over `axes`; its backward divides by the reduced count, known only at run time when the batch is reduced. */
export const ReduceMean: OpDef = {
  name: 'ReduceMean',
  gpu: { kind: 'reduce', op: 'mean' },
  shape: ([x], attrs) => [reducedShape(x, attrs)],
  cpu: ([x], attrs) => {
    const sum = reduceSum(x, attrs);
    const count = x.data.length / Math.max(1, sum.data.length);
    return [{ shape: sum.shape, data: sum.data.map((v) => v / count) }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined];
    const x = node.inputs[0];
    const axes = reducedAxesOf(node.attrs, g.shapeOf(x).length);
    return [g.op('Div', [spreadBack(g, dy, x, node.attrs), g.op('SizeOf', [x], { axes })])];
  },
  // Opset 17 still takes ReduceMean's axes as an attribute.
  onnx: (w, n) => {
    const axes = reducedAxesOf(n.attrs, w.shapeOf(n.inputs[0]).length);
    w.node('ReduceMean', [n.inputs[0]], { axes, keepdims: n.attrs.keepdims === 0 ? 0 : 1 }, [...n.outputs]);
  },
};

import type { OpDef } from '../op';
import { reducedAxesOf, reducedShape, reduceSum, spreadBack } from './reduce';

/** Sum over `axes` (all when none), keeping them as size 1 unless keepdims is 0; ONNX takes the axes as an input (13+). */
export const ReduceSum: OpDef = {
  name: 'ReduceSum',
  gpu: { kind: 'reduce', op: 'sum' },
  shape: ([x], attrs) => [reducedShape(x, attrs)],
  cpu: ([x], attrs) => [reduceSum(x, attrs)],
  backward: ({ g, node, dOutputs: [dy] }) => [dy && spreadBack(g, dy, node.inputs[0], node.attrs)],
  onnx: (w, n) => {
    const axes = reducedAxesOf(n.attrs, w.shapeOf(n.inputs[0]).length);
    w.node('ReduceSum', [n.inputs[0], w.ints(axes)], { keepdims: n.attrs.keepdims === 0 ? 0 : 1 }, [...n.outputs]);
  },
};

import { broadcastShapes, mapBroadcast } from '../broadcast';
import type { OpDef } from '../op';

const shapeOf = (attrs: { shape?: unknown }) => attrs.shape as number[];

/** ONNX's Expand with a constant target (its shape input, read as an attribute): a broadcast; its gradient sums back. */
export const Expand: OpDef = {
  name: 'Expand',
  gpu: { kind: 'binary', wgsl: 'a' },
  shape: ([x], attrs) => [broadcastShapes(x, shapeOf(attrs))],
  cpu: ([x], attrs) => {
    const target = shapeOf(attrs);
    return [mapBroadcast([x, { shape: target, data: new Float32Array(target.reduce((a, b) => a * b, 1)) }], (v) => v)];
  },
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('SumAs', [dy, node.inputs[0]])],
  onnx: (w, n) => void w.node('Expand', [n.inputs[0], w.ints(shapeOf(n.attrs))], {}, [...n.outputs]),
};

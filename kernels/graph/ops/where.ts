import { broadcastShapes, mapBroadcast } from '../broadcast';
import type { OpDef } from '../op';

/** cond ? a : b, with cond a 0/1 float (a comparison's output); ONNX reads it as a boolean. */
export const Where: OpDef = {
  name: 'Where',
  gpu: { kind: 'where' },
  shape: ([c, a, b]) => [broadcastShapes(c, broadcastShapes(a, b))],
  cpu: (inputs) => [mapBroadcast(inputs, (c, a, b) => (c !== 0 ? a : b))],
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined, undefined, undefined];
    const [c, a, b] = node.inputs;
    const zero = g.constant(0);
    return [undefined, g.op('SumAs', [g.op('Where', [c, dy, zero]), a]), g.op('SumAs', [g.op('Where', [c, zero, dy]), b])];
  },
  onnx: (w, n) => void w.node('Where', [w.node('Cast', [n.inputs[0]], { to: 9 }), n.inputs[1], n.inputs[2]], {}, [...n.outputs]),
};

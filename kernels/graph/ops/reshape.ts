import type { OpDef } from '../op';
import { reshapeShape, reshapeTo } from './shape-ops';

const targetOf = (attrs: { shape?: unknown }) => attrs.shape as number[];

/** Reshape with the target as an attribute (0 copies a dimension, -1 is inferred); ONNX takes it as an int64 input. */
export const Reshape: OpDef = {
  name: 'Reshape',
  gpu: { kind: 'alias' },
  shape: ([x], attrs) => [reshapeShape(x, targetOf(attrs))],
  cpu: ([x], attrs) => [reshapeTo(x, targetOf(attrs))],
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('ReshapeAs', [dy, node.inputs[0]])],
  onnx: (w, n) => void w.node('Reshape', [n.inputs[0], w.ints(targetOf(n.attrs))], {}, [...n.outputs]),
};

/** `a` reshaped to the shape of `like` (the backward of every reshaping op). */
export const ReshapeAs: OpDef = {
  name: 'ReshapeAs',
  gpu: { kind: 'alias' },
  shape: ([, like]) => [like],
  cpu: ([a, like]) => [{ shape: like.shape, data: a.data }],
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('ReshapeAs', [dy, node.inputs[0]]), undefined],
  onnx: (w, n) => void w.node('Reshape', [n.inputs[0], w.node('Shape', [n.inputs[1]])], {}, [...n.outputs]),
};

import { broadcastShapes, mapBroadcast, reducedAxes, sizeOfDims, sumTo } from '../broadcast';
import type { OpDef } from '../op';

/** `a` broadcast to the shape of `like`: the backward of a reduction. ONNX: Expand to Shape(like). */
export const ExpandAs: OpDef = {
  name: 'ExpandAs',
  gpu: { kind: 'binary', wgsl: 'a' },
  shape: ([a, like]) => [broadcastShapes(a, like)],
  cpu: ([a, like]) => [mapBroadcast([a, like], (x) => x)],
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('SumAs', [dy, node.inputs[0]]), undefined],
  onnx: (w, n) => void w.node('Expand', [n.inputs[0], w.node('Shape', [n.inputs[1]])], {}, [...n.outputs]),
};

/** `a` summed down to the shape of `like`, which broadcasts to it: the backward of a broadcast. */
export const SumAs: OpDef = {
  name: 'SumAs',
  gpu: { kind: 'reduce', op: 'sum' },
  shape: ([, like]) => [like],
  cpu: ([a, like]) => [sumTo(a, like.shape)],
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('ExpandAs', [dy, node.inputs[0]]), undefined],
  onnx: (w, n) => {
    const [a, like] = n.inputs;
    const axes = reducedAxes(w.shapeOf(a), w.shapeOf(like));
    const summed = axes.length ? w.node('ReduceSum', [a, w.ints(axes)], { keepdims: 1 }) : a;
    w.node('Reshape', [summed, w.node('Shape', [like])], {}, [...n.outputs]);
  },
};

const axesOf = (attrs: { axes?: unknown }, rank: number) =>
  Array.isArray(attrs.axes) && attrs.axes.length ? (attrs.axes as number[]).map((a) => (a < 0 ? a + rank : a)) : Array.from({ length: rank }, (_, i) => i);

/** How many elements `x` has along `axes` (all when none), as a float scalar: a mean's divisor when the batch is among them. */
export const SizeOf: OpDef = {
  name: 'SizeOf',
  gpu: { kind: 'host' },
  shape: () => [[]],
  cpu: ([x], attrs) => [{ shape: [], data: Float32Array.of(sizeOfDims(axesOf(attrs, x.shape.length).map((a) => x.shape[a]))) }],
  backward: () => [undefined],
  onnx: (w, n) => {
    const dims = w.node('Gather', [w.node('Shape', [n.inputs[0]]), w.ints(axesOf(n.attrs, w.shapeOf(n.inputs[0]).length))], { axis: 0 });
    w.node('Cast', [w.node('ReduceProd', [dims], { keepdims: 0 })], { to: 1 }, [...n.outputs]);
  },
};

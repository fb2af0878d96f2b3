import { axisOf } from '../broadcast';
import type { Dim, Shape } from '../ir';
import type { OpDef } from '../op';

const axesAttr = (attrs: { axes?: unknown }) => (Array.isArray(attrs.axes) ? (attrs.axes as number[]) : []);

function unsqueezed(x: Shape, axes: number[]): Dim[] {
  const rank = x.length + axes.length;
  const at = new Set(axes.map((a) => axisOf(a, rank)));
  const out: Dim[] = [];
  for (let i = 0, j = 0; i < rank; i++) out.push(at.has(i) ? 1 : x[j++]);
  return out;
}

function squeezed(x: Shape, axes: number[]): Dim[] {
  const at = new Set(axes.length ? axes.map((a) => axisOf(a, x.length)) : x.flatMap((d, i) => (d === 1 ? [i] : [])));
  return x.filter((_, i) => !at.has(i));
}

/** Size-1 axes inserted at `axes` (of the output); ONNX takes them as an int64 input (opset 13+). */
export const Unsqueeze: OpDef = {
  name: 'Unsqueeze',
  gpu: { kind: 'alias' },
  shape: ([x], attrs) => [unsqueezed(x, axesAttr(attrs))],
  cpu: ([x], attrs) => [{ shape: unsqueezed(x.shape, axesAttr(attrs)) as number[], data: x.data }],
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('ReshapeAs', [dy, node.inputs[0]])],
  onnx: (w, n) => void w.node('Unsqueeze', [n.inputs[0], w.ints(axesAttr(n.attrs))], {}, [...n.outputs]),
};

/** Size-1 axes removed (all of them when `axes` is empty). */
export const Squeeze: OpDef = {
  name: 'Squeeze',
  gpu: { kind: 'alias' },
  shape: ([x], attrs) => [squeezed(x, axesAttr(attrs))],
  cpu: ([x], attrs) => [{ shape: squeezed(x.shape, axesAttr(attrs)) as number[], data: x.data }],
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('ReshapeAs', [dy, node.inputs[0]])],
  onnx: (w, n) => {
    const axes = axesAttr(n.attrs);
    w.node('Squeeze', axes.length ? [n.inputs[0], w.ints(axes)] : [n.inputs[0]], {}, [...n.outputs]);
  },
};

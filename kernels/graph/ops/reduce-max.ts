import type { OpDef } from '../op';
import { reducedAxesOf, reducedShape } from './reduce';
import { alongAxis } from './softmax';

/**
 * Maximum over `axes` (one axis, or all); its gradient goes to the elements equal to the maximum, shared evenly
 * among ties. Opset 17 takes the axes as an attribute.
 */
export const ReduceMax: OpDef = {
  name: 'ReduceMax',
  gpu: { kind: 'reduce', op: 'max' },
  shape: ([x], attrs) => [reducedShape(x, attrs)],
  cpu: ([x], attrs) => {
    const axes = reducedAxesOf(attrs, x.shape.length);
    // Reduce one axis at a time, keeping it (size 1), then drop the kept axes if asked.
    let t = x;
    for (const axis of axes) {
      const maxima: number[] = [];
      alongAxis(t, axis, (get, _set, n) => {
        let m = get(0);
        for (let k = 1; k < n; k++) m = Math.max(m, get(k));
        maxima.push(m);
      });
      t = { shape: t.shape.map((d, i) => (i === axis ? 1 : d)), data: Float32Array.from(maxima) };
    }
    return [{ shape: reducedShape(x.shape, attrs) as number[], data: t.data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined];
    const x = node.inputs[0];
    const axes = reducedAxesOf(node.attrs, g.shapeOf(x).length);
    const keep = (v: string) => (node.attrs.keepdims === 0 ? g.op('Unsqueeze', [v], { axes }) : v);
    const hit = g.op('Equal', [x, g.op('ExpandAs', [keep(node.outputs[0]), x])]);
    const ties = g.op('ReduceSum', [hit], { axes, keepdims: 1 });
    return [g.op('Mul', [hit, g.op('ExpandAs', [g.op('Div', [keep(dy), ties]), x])])];
  },
  onnx: (w, n) => {
    const axes = reducedAxesOf(n.attrs, w.shapeOf(n.inputs[0]).length);
    w.node('ReduceMax', [n.inputs[0]], { axes, keepdims: n.attrs.keepdims === 0 ? 0 : 1 }, [...n.outputs]);
  },
};

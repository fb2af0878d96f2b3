import { GridError } from '../../../protocol/errors';
import { axisOf } from '../broadcast';
import type { Attrs, Shape } from '../ir';
import type { OpDef } from '../op';

/** The parts' sizes along the axis: `split` as given, else `num_outputs` equal parts (the last one smaller, as ONNX says). */
function parts(x: Shape, attrs: Attrs): { axis: number; sizes: number[] } {
  const axis = axisOf(typeof attrs.axis === 'number' ? attrs.axis : 0, x.length);
  const d = x[axis];
  if (typeof d !== 'number') throw new GridError('UNSUPPORTED_OP', 'Split along the batch axis');
  if (Array.isArray(attrs.split)) {
    if (attrs.split.reduce((a, b) => a + b, 0) !== d) throw new GridError('BAD_MODEL', `Split of ${d} into [${attrs.split}]`);
    return { axis, sizes: attrs.split };
  }
  const n = Number(attrs.num_outputs);
  if (!(n >= 1)) throw new GridError('BAD_MODEL', 'Split without split sizes or num_outputs');
  const each = Math.ceil(d / n);
  return { axis, sizes: Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, d - i * each))) };
}

/** The input cut along `axis` into consecutive parts; its gradient joins the parts' gradients (zeros where unused). */
export const Split: OpDef = {
  name: 'Split',
  gpu: {
    kind: 'copies',
    plan: ([x], attrs) => {
      const { axis, sizes } = parts(x, attrs);
      let at = 0;
      const copies = sizes.map((size, to) => {
        const src = x.map((_, i) => (i === axis ? at : 0));
        at += size;
        return { from: 0, to, box: x.map((d, i) => (i === axis ? size : d)), src, dst: x.map(() => 0) };
      });
      return { copies };
    },
  },
  shape: ([x], attrs) => {
    const { axis, sizes } = parts(x, attrs);
    return sizes.map((s) => x.map((dim, i) => (i === axis ? s : dim)));
  },
  cpu: ([x], attrs) => {
    const { axis, sizes } = parts(x.shape, attrs);
    const outer = x.shape.slice(0, axis).reduce((p, q) => p * q, 1);
    const inner = x.shape.slice(axis + 1).reduce((p, q) => p * q, 1);
    let at = 0;
    return sizes.map((s) => {
      const data = new Float32Array(outer * s * inner);
      for (let o = 0; o < outer; o++) data.set(x.data.subarray((o * x.shape[axis] + at) * inner, (o * x.shape[axis] + at + s) * inner), o * s * inner);
      at += s;
      return { shape: x.shape.map((dim, i) => (i === axis ? s : dim)), data };
    });
  },
  backward: ({ g, node, dOutputs }) => {
    if (dOutputs.every((d) => d === undefined)) return [undefined];
    const { axis } = parts(g.shapeOf(node.inputs[0]), node.attrs);
    const each = node.outputs.map((o, i) => dOutputs[i] ?? g.op('ExpandAs', [g.constant(0), o]));
    return [each.length === 1 ? each[0] : g.op('Concat', each, { axis })];
  },
  onnx: (w, n) => {
    const { axis, sizes } = parts(w.shapeOf(n.inputs[0]), n.attrs);
    w.node('Split', [n.inputs[0], w.ints(sizes)], { axis }, [...n.outputs]);
  },
};

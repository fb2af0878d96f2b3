import { GridError } from '../../../protocol/errors';
import { axisOf } from '../broadcast';
import type { Attrs, Dim } from '../ir';
import type { OpDef } from '../op';

/** Constant starts and ends (steps of 1) per axis, clamped to the dimension, as ONNX reads them. */
function ranges(attrs: Attrs, shape: readonly Dim[]) {
  const starts = (attrs.starts as number[]) ?? [];
  const ends = (attrs.ends as number[]) ?? [];
  const axes = ((attrs.axes as number[]) ?? starts.map((_, i) => i)).map((a) => axisOf(a, shape.length));
  if (Array.isArray(attrs.steps) && attrs.steps.some((s) => s !== 1)) throw new GridError('UNSUPPORTED_OP', 'Slice with steps other than 1');
  return axes.map((axis, i) => {
    const d = shape[axis];
    if (typeof d !== 'number') throw new GridError('UNSUPPORTED_OP', 'Slice along the batch axis');
    const clamp = (v: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
    return { axis, start: clamp(starts[i]), end: Math.max(clamp(starts[i]), clamp(ends[i])) };
  });
}

/** A box of the input, given by constant starts and ends on some axes; its gradient pads dY back with zeros. */
export const Slice: OpDef = {
  name: 'Slice',
  gpu: {
    kind: 'copies',
    plan: ([x], attrs) => {
      const start = x.map(() => 0);
      for (const r of ranges(attrs, x)) start[r.axis] = r.start;
      const box = Slice.shape([x], attrs)[0] as number[];
      return { copies: [{ from: 0, to: 0, box, src: start, dst: x.map(() => 0) }] };
    },
  },
  shape: ([x], attrs) => {
    const out = [...x];
    for (const r of ranges(attrs, x)) out[r.axis] = r.end - r.start;
    return [out];
  },
  cpu: ([x], attrs) => {
    const box = x.shape.map((d) => ({ start: 0, end: d }));
    for (const r of ranges(attrs, x.shape)) box[r.axis] = r;
    const shape = box.map((b) => b.end - b.start);
    const data = new Float32Array(shape.reduce((p, d) => p * d, 1));
    const strides = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((p, d) => p * d, 1));
    const index = new Array(shape.length).fill(0);
    for (let flat = 0; flat < data.length; flat++) {
      let off = 0;
      for (let i = 0; i < shape.length; i++) off += (index[i] + box[i].start) * strides[i];
      data[flat] = x.data[off];
      for (let i = shape.length - 1; i >= 0 && ++index[i] === shape[i]; i--) index[i] = 0;
    }
    return [{ shape, data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('SliceGrad', [dy, node.inputs[0]], node.attrs)],
  onnx: (w, n) => {
    const r = ranges(n.attrs, w.shapeOf(n.inputs[0]));
    w.node('Slice', [n.inputs[0], w.ints(r.map((x) => x.start)), w.ints(r.map((x) => x.end)), w.ints(r.map((x) => x.axis))], {}, [...n.outputs]);
  },
};

/** dX of a Slice: dY placed in a zero tensor shaped like X (the second operand). ONNX: Pad. */
export const SliceGrad: OpDef = {
  name: 'SliceGrad',
  gpu: {
    kind: 'copies',
    plan: ([dy, like], attrs) => {
      const start = like.map(() => 0);
      for (const r of ranges(attrs, like)) start[r.axis] = r.start;
      return { zero: true, copies: [{ from: 0, to: 0, box: dy, src: dy.map(() => 0), dst: start }] };
    },
  },
  shape: ([, like]) => [like],
  cpu: ([dy, like], attrs) => {
    const box = like.shape.map((d) => ({ start: 0, end: d }));
    for (const r of ranges(attrs, like.shape)) box[r.axis] = r;
    const data = new Float32Array(like.data.length);
    const strides = like.shape.map((_, i) => like.shape.slice(i + 1).reduce((p, d) => p * d, 1));
    const index = new Array(dy.shape.length).fill(0);
    for (let flat = 0; flat < dy.data.length; flat++) {
      let off = 0;
      for (let i = 0; i < dy.shape.length; i++) off += (index[i] + box[i].start) * strides[i];
      data[off] = dy.data[flat];
      for (let i = dy.shape.length - 1; i >= 0 && ++index[i] === dy.shape[i]; i--) index[i] = 0;
    }
    return [{ shape: like.shape, data }];
  },
  backward: ({ g, node, dOutputs: [d] }) => [d && g.op('Slice', [d], node.attrs), undefined],
  onnx: (w, n) => {
    const shape = w.shapeOf(n.inputs[1]);
    const before = shape.map(() => 0);
    const after = shape.map(() => 0);
    for (const r of ranges(n.attrs, shape)) {
      before[r.axis] = r.start;
      after[r.axis] = (shape[r.axis] as number) - r.end;
    }
    w.node('Pad', [n.inputs[0], w.ints([...before, ...after])], {}, [...n.outputs]);
  },
};

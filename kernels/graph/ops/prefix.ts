import { GridError } from '../../../protocol/errors';
import type { Attrs, Dim } from '../ir';
import type { OpDef } from '../op';
import { Slice } from './slice';

const axesOf = (attrs: Attrs) => ({ axes: attrs.axes as number[], dims: attrs.dims as number[] });

/**
 * The leading part of `x` on `axes`, as long as `like` is on its dimensions `dims`: a table of positions cut to the
 * sequence a model is given, when that length is a symbol (a language model exported for any length up to its block).
 * Only exports use it: it has no gradient, and no WGSL form (onnxruntime and the CPU reference run it).
 */
export const Prefix: OpDef = {
  name: 'Prefix',
  shape: ([x, like], attrs) => [cut(x, like, attrs)],
  cpu: ([x, like], attrs) => {
    const { axes, dims } = axesOf(attrs);
    return Slice.cpu([x], { starts: axes.map(() => 0), ends: dims.map((d) => like.shape[d]), axes });
  },
  backward: () => {
    throw new GridError('UNSUPPORTED_OP', 'Prefix has no gradient: only exported inference graphs use it');
  },
  onnx: (w, n) => {
    const { axes, dims } = axesOf(n.attrs);
    const ends = w.node('Gather', [w.node('Shape', [n.inputs[1]]), w.ints(dims)], { axis: 0 });
    w.node('Slice', [n.inputs[0], w.ints(axes.map(() => 0)), ends, w.ints(axes)], {}, [...n.outputs]);
  },
};

/** `x`'s shape with each of `axes` as long as `like`'s matching dimension (a symbol stays one). */
function cut(x: readonly Dim[], like: readonly Dim[], attrs: Attrs): Dim[] {
  const { axes, dims } = axesOf(attrs);
  const out = [...x];
  axes.forEach((axis, i) => {
    const d = like[dims[i]];
    if (typeof d === 'number' && typeof x[axis] === 'number' && d > x[axis])
      throw new GridError('BAD_MODEL', `a sequence of ${d} is longer than the ${x[axis]} positions the model has`);
    out[axis] = d;
  });
  return out;
}

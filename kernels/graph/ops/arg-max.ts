import type { Attrs } from '../ir';
import type { OpDef } from '../op';
import { reducedShape } from './reduce';
import { alongAxis } from './softmax';

const axisAttr = (attrs: Attrs) => (typeof attrs.axis === 'number' ? attrs.axis : 0);

/** The index of the first maximum along `axis`, as a float (ONNX's int64 is cast); no gradient. */
export const ArgMax: OpDef = {
  name: 'ArgMax',
  shape: ([x], attrs) => [reducedShape(x, { axes: [axisAttr(attrs)], keepdims: attrs.keepdims ?? 1 })],
  cpu: ([x], attrs) => {
    const axis = axisAttr(attrs);
    const firsts: number[] = [];
    alongAxis(x, axis, (get, _set, n) => {
      let best = 0;
      for (let k = 1; k < n; k++) if (get(k) > get(best)) best = k;
      firsts.push(best);
    });
    return [{ shape: reducedShape(x.shape, { axes: [axis], keepdims: attrs.keepdims ?? 1 }) as number[], data: Float32Array.from(firsts) }];
  },
  backward: () => [undefined],
  onnx: (w, n) =>
    void w.node('Cast', [w.node('ArgMax', [...n.inputs], { axis: axisAttr(n.attrs), keepdims: n.attrs.keepdims === 0 ? 0 : 1 })], { to: 1 }, [...n.outputs]),
};

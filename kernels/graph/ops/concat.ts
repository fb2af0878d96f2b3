import { GridError } from '../../../protocol/errors';
import { axisOf } from '../broadcast';
import type { Dim } from '../ir';
import type { OpDef } from '../op';

const axisAttr = (attrs: { axis?: unknown }) => (typeof attrs.axis === 'number' ? attrs.axis : 0);

/** Inputs joined along `axis`; each input's gradient is its slice of dY. */
export const Concat: OpDef = {
  name: 'Concat',
  gpu: {
    kind: 'copies',
    plan: (inputs, attrs) => {
      const a = axisOf(axisAttr(attrs), inputs[0].length);
      let at = 0;
      const copies = inputs.map((box, from) => {
        const dst = box.map((_, i) => (i === a ? at : 0));
        at += box[a];
        return { from, to: 0, box, src: box.map(() => 0), dst };
      });
      return { copies };
    },
  },
  shape: (inputs, attrs) => {
    const a = axisOf(axisAttr(attrs), inputs[0].length);
    const out: Dim[] = [...inputs[0]];
    let total = 0;
    for (const s of inputs) {
      if (s.length !== out.length || s.some((d, i) => i !== a && d !== out[i]))
        throw new GridError('BAD_MODEL', `Concat of [${inputs.join('], [')}] along ${a}`);
      if (typeof s[a] !== 'number') throw new GridError('UNSUPPORTED_OP', 'Concat along the batch axis');
      total += s[a] as number;
    }
    out[a] = total;
    return [out];
  },
  cpu: (inputs, attrs) => {
    const a = axisOf(axisAttr(attrs), inputs[0].shape.length);
    const shape = [...inputs[0].shape];
    shape[a] = inputs.reduce((n, t) => n + t.shape[a], 0);
    const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
    const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
    const data = new Float32Array(outer * shape[a] * inner);
    let at = 0;
    for (const t of inputs) {
      const rows = t.shape[a] * inner;
      for (let o = 0; o < outer; o++) data.set(t.data.subarray(o * rows, (o + 1) * rows), o * shape[a] * inner + at * inner);
      at += t.shape[a];
    }
    return [{ shape, data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return node.inputs.map(() => undefined);
    const a = axisOf(axisAttr(node.attrs), g.shapeOf(dy).length);
    let at = 0;
    return node.inputs.map((input) => {
      const n = g.shapeOf(input)[a] as number;
      const part = g.op('Slice', [dy], { starts: [at], ends: [at + n], axes: [a] });
      at += n;
      return part;
    });
  },
};

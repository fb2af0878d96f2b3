import { GridError } from '../../../protocol/errors';
import { axisOf, sizeOfDims } from '../broadcast';
import type { Dim, Shape } from '../ir';
import type { OpDef } from '../op';

const axisAttr = (attrs: { axis?: unknown }) => (typeof attrs.axis === 'number' ? attrs.axis : 1);

/** The product of dimensions: a lone symbol stays itself, numbers multiply. */
function product(dims: Shape): Dim {
  const symbols = dims.filter((d) => typeof d === 'string');
  const known = sizeOfDims(dims.filter((d): d is number => typeof d === 'number'));
  if (!symbols.length) return known;
  if (symbols.length === 1 && known === 1) return symbols[0];
  throw new GridError('UNSUPPORTED_OP', `Flatten would mix the batch with other dimensions ([${dims}])`);
}

/** [d0 ... d(axis-1)] and [d(axis) ...] each collapsed to one dimension. */
export const Flatten: OpDef = {
  name: 'Flatten',
  gpu: { kind: 'alias' },
  shape: ([x], attrs) => {
    const a = axisAttr(attrs) === x.length ? x.length : axisOf(axisAttr(attrs), x.length);
    return [[product(x.slice(0, a)), product(x.slice(a))]];
  },
  cpu: ([x], attrs) => {
    const a = axisAttr(attrs) === x.shape.length ? x.shape.length : axisOf(axisAttr(attrs), x.shape.length);
    return [{ shape: [sizeOfDims(x.shape.slice(0, a)), sizeOfDims(x.shape.slice(a))], data: x.data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('ReshapeAs', [dy, node.inputs[0]])],
};

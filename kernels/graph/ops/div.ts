import { onGpu } from '../gpu-form';
import { binaryOp } from './binary';

/** d(a/b) = da / b - db · y / b. */
export const Div = onGpu(
  binaryOp(
    'Div',
    (a, b) => a / b,
    ({ g, dy, b, y }) => {
      const da = g.op('Div', [dy, b]);
      return [da, g.op('Neg', [g.op('Mul', [da, y])])];
    },
  ),
  { kind: 'binary', wgsl: 'a / b' },
);

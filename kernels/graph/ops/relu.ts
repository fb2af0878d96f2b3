import { unaryOp } from './unary';

export const Relu = unaryOp(
  'Relu',
  (x) => Math.max(0, x),
  ({ g, dy, x }) => g.op('Mul', [dy, g.op('Greater', [x, g.constant(0)])]),
);

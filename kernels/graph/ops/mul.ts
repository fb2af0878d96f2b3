import { binaryOp } from './binary';

export const Mul = binaryOp(
  'Mul',
  (a, b) => a * b,
  ({ g, dy, a, b }) => [g.op('Mul', [dy, b]), g.op('Mul', [dy, a])],
);

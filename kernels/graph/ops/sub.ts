import { binaryOp } from './binary';

export const Sub = binaryOp(
  'Sub',
  (a, b) => a - b,
  ({ g, dy }) => [dy, g.op('Neg', [dy])],
);

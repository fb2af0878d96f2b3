import { unaryOp } from './unary';

export const Neg = unaryOp(
  'Neg',
  (x) => -x,
  ({ g, dy }) => g.op('Neg', [dy]),
);

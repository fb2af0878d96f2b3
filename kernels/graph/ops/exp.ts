import { unaryOp } from './unary';

export const Exp = unaryOp('Exp', Math.exp, ({ g, dy, y }) => g.op('Mul', [dy, y]));

import { unaryOp } from './unary';

export const Tanh = unaryOp('Tanh', Math.tanh, ({ g, dy, y }) => g.op('Mul', [dy, g.op('Sub', [g.constant(1), g.op('Mul', [y, y])])]));

import { unaryOp } from './unary';

export const Sqrt = unaryOp('Sqrt', Math.sqrt, ({ g, dy, y }) => g.op('Div', [dy, g.op('Mul', [g.constant(2), y])]));

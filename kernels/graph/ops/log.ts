import { unaryOp } from './unary';

export const Log = unaryOp('Log', Math.log, ({ g, dy, x }) => g.op('Div', [dy, x]));

import { onGpu } from '../gpu-form';
import { unaryOp } from './unary';

export const Exp = onGpu(
  unaryOp('Exp', Math.exp, ({ g, dy, y }) => g.op('Mul', [dy, y])),
  { kind: 'unary', wgsl: () => 'exp(x)' },
);

import { onGpu } from '../gpu-form';
import { unaryOp } from './unary';

export const Sqrt = onGpu(
  unaryOp('Sqrt', Math.sqrt, ({ g, dy, y }) => g.op('Div', [dy, g.op('Mul', [g.constant(2), y])])),
  { kind: 'unary', wgsl: () => 'sqrt(x)' },
);

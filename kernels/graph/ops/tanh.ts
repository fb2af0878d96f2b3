import { onGpu } from '../gpu-form';
import { unaryOp } from './unary';

export const Tanh = onGpu(
  unaryOp('Tanh', Math.tanh, ({ g, dy, y }) => g.op('Mul', [dy, g.op('Sub', [g.constant(1), g.op('Mul', [y, y])])])),
  { kind: 'unary', wgsl: () => 'tanh(clamp(x, -15.0, 15.0))' },
);

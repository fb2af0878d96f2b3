import { onGpu } from '../gpu-form';
import { unaryOp } from './unary';

export const Sigmoid = onGpu(
  unaryOp(
    'Sigmoid',
    (x) => 1 / (1 + Math.exp(-x)),
    ({ g, dy, y }) => g.op('Mul', [dy, g.op('Mul', [y, g.op('Sub', [g.constant(1), y])])]),
  ),
  { kind: 'unary', wgsl: () => '1.0 / (1.0 + exp(-x))' },
);

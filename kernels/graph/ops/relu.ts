import { onGpu } from '../gpu-form';
import { unaryOp } from './unary';

export const Relu = onGpu(
  unaryOp(
    'Relu',
    (x) => Math.max(0, x),
    ({ g, dy, x }) => g.op('Mul', [dy, g.op('Greater', [x, g.constant(0)])]),
  ),
  { kind: 'unary', wgsl: () => 'max(x, 0.0)' },
);

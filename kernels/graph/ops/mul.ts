import { onGpu } from '../gpu-form';
import { binaryOp } from './binary';

export const Mul = onGpu(
  binaryOp(
    'Mul',
    (a, b) => a * b,
    ({ g, dy, a, b }) => [g.op('Mul', [dy, b]), g.op('Mul', [dy, a])],
  ),
  { kind: 'binary', wgsl: 'a * b' },
);

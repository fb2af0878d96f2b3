import { onGpu } from '../gpu-form';
import { binaryOp } from './binary';

export const Sub = onGpu(
  binaryOp(
    'Sub',
    (a, b) => a - b,
    ({ g, dy }) => [dy, g.op('Neg', [dy])],
  ),
  { kind: 'binary', wgsl: 'a - b' },
);

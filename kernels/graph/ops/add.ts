import { onGpu } from '../gpu-form';
import { binaryOp } from './binary';

export const Add = onGpu(
  binaryOp(
    'Add',
    (a, b) => a + b,
    ({ dy }) => [dy, dy],
  ),
  { kind: 'binary', wgsl: 'a + b' },
);

import { onGpu } from '../gpu-form';
import { unaryOp } from './unary';

export const Identity = onGpu(
  unaryOp(
    'Identity',
    (x) => x,
    ({ dy }) => dy,
  ),
  { kind: 'alias' },
);

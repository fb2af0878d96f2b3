import { onGpu } from '../gpu-form';
import { unaryOp } from './unary';

export const Neg = onGpu(
  unaryOp(
    'Neg',
    (x) => -x,
    ({ g, dy }) => g.op('Neg', [dy]),
  ),
  { kind: 'unary', wgsl: () => '-x' },
);

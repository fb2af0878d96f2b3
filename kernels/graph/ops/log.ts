import { onGpu } from '../gpu-form';
import { unaryOp } from './unary';

export const Log = onGpu(
  unaryOp('Log', Math.log, ({ g, dy, x }) => g.op('Div', [dy, x])),
  { kind: 'unary', wgsl: () => 'log(x)' },
);

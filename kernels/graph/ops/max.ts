import { onGpu } from '../gpu-form';
import { binaryOp } from './binary';

/** Elementwise maximum; a tie sends the gradient to the first input (as the CPU reference and ONNX pick it). */
export const Max = onGpu(
  binaryOp(
    'Max',
    (a, b) => Math.max(a, b),
    ({ g, dy, a, b }) => {
      const first = g.op('GreaterOrEqual', [a, b]);
      return [g.op('Mul', [dy, first]), g.op('Mul', [dy, g.op('Sub', [g.constant(1), first])])];
    },
  ),
  { kind: 'binary', wgsl: 'max(a, b)' },
);

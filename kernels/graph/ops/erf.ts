import { ERF_WGSL, onGpu } from '../gpu-form';
import { unaryOp } from './unary';

/** erf: its Maclaurin series below 3, the asymptotic series of erfc above (both well under float32's precision). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a >= 3) {
    const r = 1 / (a * a);
    const erfc = (Math.exp(-a * a) / (a * Math.sqrt(Math.PI))) * (1 - r / 2 + (3 * r * r) / 4 - (15 * r * r * r) / 8);
    return Math.sign(x) * (1 - erfc);
  }
  let sum = a;
  let term = a;
  for (let n = 1; n < 80 && Math.abs(term) > 1e-17; n++) {
    term *= (-a * a) / n;
    sum += term / (2 * n + 1);
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
}

/** d erf(x) = 2/√π · e^(-x²). */
export const Erf = onGpu(
  unaryOp('Erf', erf, ({ g, dy, x }) =>
    g.op('Mul', [dy, g.op('Mul', [g.constant(2 / Math.sqrt(Math.PI)), g.op('Exp', [g.op('Neg', [g.op('Mul', [x, x])])])])]),
  ),
  { kind: 'unary', wgsl: () => 'erf_(x)', fns: ERF_WGSL },
);

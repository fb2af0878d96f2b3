import { onGpu } from '../gpu-form';
import { binaryOp } from './binary';

/** a^b as JavaScript computes it (WGSL's pow is undefined for a <= 0): integer powers of negatives, 0^0 = 1. */
const POW_WGSL = /* wgsl */ `
fn pow_(a: f32, b: f32) -> f32 {
  // Infinity and NaN from bits that depend on b: WGSL refuses them as constants.
  let zero = bitcast<u32>(b) & 0u;
  if (b == 0.0) { return 1.0; }
  if (b == 2.0) { return a * a; }
  if (a > 0.0) { return pow(a, b); }
  if (a == 0.0) { return select(0.0, bitcast<f32>(zero | 0x7f800000u), b < 0.0); }
  if (fract(b) != 0.0) { return bitcast<f32>(zero | 0x7fc00000u); }
  let m = pow(-a, b);
  return select(m, -m, abs(b) % 2.0 == 1.0);
}`;

/** d(a^b) = b · a^(b-1) da + ln(a) · y db (the exponent's gradient needs a > 0, as its value does for non-integer b). */
export const Pow = onGpu(
  binaryOp(
    'Pow',
    (a, b) => a ** b,
    ({ g, dy, a, b, y }) => {
      const da = g.op('Mul', [dy, g.op('Mul', [b, g.op('Pow', [a, g.op('Sub', [b, g.constant(1)])])])]);
      return [da, g.op('Mul', [dy, g.op('Mul', [g.op('Log', [a]), y])])];
    },
  ),
  { kind: 'binary', wgsl: 'pow_(a, b)', fns: POW_WGSL },
);
